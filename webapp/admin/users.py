"""People in the back office: search by email, phone or name; a person's page with wallets, recent
transactions, identity checks, risk flags and audit events; and, for admins only, freeze / unfreeze with a reason and
role changes. The services check the role again (a reviewer's hand-made POST is refused with 403) and
audit every change with the operator as actor."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from webapp.admin import bp
from webapp.errors import Forbidden, ValidationError
from webapp.extensions import new_uow
from webapp.models.users import ROLES
from webapp.services import freezes, risk_flags, staff, user_search
from webapp.web.forms import errors_for, redirect_back, restore, text


@bp.get("/users")
def users():
    query = (request.args.get("q") or "")[: user_search.MAX_QUERY]
    found = user_search.search(new_uow(), staff_id=current_user.id, query=query)
    return render_template("admin/users.html", query=query, found=found, admin_area="users")


@bp.get("/users/<user_id>")
def user_detail(user_id: str):
    shown = user_search.detail(new_uow(), staff_id=current_user.id, user_id=user_id)
    values, errors = restore(f"user-{user_id}", {"reason": "", "role": shown.user.role})
    # Each open flag has its own "clear" form, whose problems come back to it alone (admin/flags.py).
    flag_forms = {flag.id: restore(f"flag-{flag.id}", {"reason": ""}) for flag in shown.flags if not flag.resolved_at}
    return render_template("admin/user.html", detail=shown, values=values, errors=errors, roles=ROLES,
                           is_admin=current_user.role in staff.ADMIN_ROLES, admin_area="users",
                           flag_forms=flag_forms, rule_names=risk_flags.RULE_NAMES)


@bp.post("/users/<user_id>/freeze")
def user_freeze(user_id: str):
    return _freeze_or_unfreeze(user_id, freezes.freeze, "Frozen: outgoing money is stopped.")


@bp.post("/users/<user_id>/unfreeze")
def user_unfreeze(user_id: str):
    return _freeze_or_unfreeze(user_id, freezes.unfreeze, "Unfrozen: the person can send money again.")


def _freeze_or_unfreeze(user_id: str, action, done: str):
    reason = text("reason", freezes.MAX_REASON + 100)
    try:
        action(new_uow(), admin_id=current_user.id, user_id=user_id, reason=reason)
    except (ValidationError, Forbidden) as error:
        return _back(user_id, {"reason": reason}, error)
    flash(done, "success")
    return redirect(url_for("admin.user_detail", user_id=user_id), 303)


@bp.post("/users/<user_id>/role")
def user_role(user_id: str):
    role = text("role", 16)
    try:
        changed = staff.set_role(new_uow(), admin_id=current_user.id, user_id=user_id, role=role)
    except (ValidationError, Forbidden) as error:
        return _back(user_id, {"role": role}, error)
    flash(f"{changed.email} is now a {changed.role}.", "success")
    return redirect(url_for("admin.user_detail", user_id=user_id), 303)


def _back(user_id: str, values: dict[str, str], error):
    """Problems show on the person's page. A reviewer's refusal is a plain 403: the forms are not theirs,
    so only a hand-made request gets here. An admin refused (their own account) is told on the page."""
    if isinstance(error, Forbidden) and current_user.role not in staff.ADMIN_ROLES:
        raise error
    return redirect_back(f"user-{user_id}", url_for("admin.user_detail", user_id=user_id), values, errors_for(error))
