"""The transaction PIN from the app (services/pins.py): whether one is set, and setting or changing it
with the account password. The money endpoints take it as `pin` in their bodies."""

from __future__ import annotations

from flask import g

from webapp.api import bp
from webapp.api.envelope import json_body, login_required, ok, require_fields, require_strings
from webapp.api.serializers import timestamp
from webapp.extensions import limiter, new_uow
from webapp.services import pins


def pin_status(status: pins.Status) -> dict:
    return {"is_set": status.is_set,
            "locked_until": timestamp(status.locked_until) if status.locked_until else None}


@bp.get("/pin")
@login_required
def get_pin():
    return ok({"pin": pin_status(pins.status(new_uow(), user_id=g.user_id))})


@bp.put("/pin")
@login_required
@limiter.shared_limit(pins.SET_LIMIT, scope="pin-set")  # with the profile's form: the password is guessed here
def set_pin():
    body = json_body()
    require_fields(body, "password", "pin")
    require_strings(body, "password", "pin")
    status = pins.set_pin(new_uow(), user_id=g.user_id, password=body["password"], pin=body["pin"])
    return ok({"pin": pin_status(status)})
