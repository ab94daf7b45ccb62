"""Confirming the account's email and mobile number from the app (services/verification.py). The email
is confirmed through the mailed link, which opens the web page; the phone by the texted code, which the
app sends back here."""

from __future__ import annotations

from flask import current_app, g

from webapp.api import bp, serializers
from webapp.api.envelope import json_body, login_required, ok, require_fields
from webapp.extensions import limiter, new_uow
from webapp.services import accounts, verification


def _send(channel: str):
    json_body()  # an empty JSON object: nothing to say, but a body like every other POST
    sent_to = verification.request(new_uow(), user_id=g.user_id, channel=channel)
    return ok({"sent_to": sent_to, "expires_in": verification.ttl(current_app.config, channel)}, 202)


@bp.post("/verification/email")
@login_required
@limiter.shared_limit(verification.SEND_LIMIT, scope="verify-email-send")
def send_email_link():
    return _send(verification.EMAIL)


@bp.post("/verification/phone")
@login_required
@limiter.shared_limit(verification.SEND_LIMIT, scope="verify-phone-send")
def send_phone_code():
    return _send(verification.PHONE)


@bp.post("/verification/phone/confirm")
@login_required
@limiter.shared_limit(verification.CONFIRM_LIMIT, scope="verify-phone-confirm")
def confirm_phone():
    body = json_body()
    require_fields(body, "code")
    verification.confirm_phone(new_uow(), user_id=g.user_id, code=body["code"])
    return ok({"user": serializers.user(accounts.get_user(new_uow(), g.user_id))})
