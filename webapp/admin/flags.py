"""Automatic risk holds in the back office: the flagged list (reviewers and admins), and an admin clearing a
flag with a reason on the person's page. The service checks the role again (a reviewer's hand-made POST is
a 403) and audits the clearing; unfreezing stays the person's page's own action."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_login import current_user

from webapp.admin import bp
from webapp.errors import Forbidden, NotFound, ValidationError
from webapp.extensions import new_uow
from webapp.services import freezes, risk_flags, staff
from webapp.web.forms import errors_for, redirect_back, text


@bp.get("/flags")
def flags():
    rows = risk_flags.open_flags(new_uow(), staff_id=current_user.id)
    return render_template("admin/flags.html", rows=rows, rule_names=risk_flags.RULE_NAMES, admin_area="flags")


@bp.post("/flags/<flag_id>/clear")
def flag_clear(flag_id: str):
    reason, user_id = text("reason", freezes.MAX_REASON + 100), text("user_id", 36)
    try:
        cleared = risk_flags.clear(new_uow(), admin_id=current_user.id, flag_id=flag_id, reason=reason)
    except (ValidationError, Forbidden) as error:
        if isinstance(error, Forbidden) and current_user.role not in staff.ADMIN_ROLES:
            raise  # a reviewer has no such form: only a hand-made request gets here
        if not user_id:
            raise NotFound("Flag not found.") from None
        url = url_for("admin.user_detail", user_id=user_id, _anchor=f"flag-{flag_id}")
        placed = errors_for(error)
        if "reason" not in placed:  # cleared already, or your own: the flag's form may be gone, say it on top
            flash(error.message, "error")
            return redirect(url, 303)
        return redirect_back(f"flag-{flag_id}", url, {"reason": reason}, placed)
    flash("Flag cleared. Unfreezing, if the account should send again, is its own action below.", "success")
    return redirect(url_for("admin.user_detail", user_id=cleared.user_id), 303)
