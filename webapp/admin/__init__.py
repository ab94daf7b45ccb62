"""The back office at /admin, for reviewers and admins: the KYC review queue, the flagged list (automatic
risk holds), people and their freezes and roles, the reconciliation and the audit log. Server-rendered
forms with CSRF tokens, no JavaScript needed. Views parse, call one service (which checks the role again
and audits the action) and redirect.

Anyone else gets the same 404 as for a page that does not exist, signed in or not, for every method and
every path under /admin: the back office does not tell strangers it is there."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, request, url_for
from flask_login import current_user

from webapp.services import staff

bp = Blueprint("admin", __name__, url_prefix="/admin")
PREFIX = "/admin"


@bp.app_url_value_preprocessor
def _staff_only(_endpoint: str | None, _values: dict | None) -> None:
    """URL value preprocessors run before every before_request hook (CSRF protection's among them) and
    also when no route matched (a wrong method, an unknown page), so a stranger's POST meets the 404 here
    rather than a CSRF or 405 answer that would give the back office away. The role is the one
    web/session.py loaded from the database for this request."""
    if request.path != PREFIX and not request.path.startswith(PREFIX + "/"):
        return
    if not (current_user.is_authenticated and staff.is_staff(current_user.role)):
        abort(404)


@bp.get("")
def home():
    return redirect(url_for("admin.kyc_queue"))


from webapp.admin import checks, flags, kyc, users  # noqa: E402,F401  (the modules register their routes on import)
