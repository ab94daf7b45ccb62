"""Home: balances first, then the actions, then the last few movements."""

from __future__ import annotations

from flask import redirect, render_template, url_for
from flask_login import current_user

from webapp.extensions import new_uow
from webapp.services import history, profile_photos, wallets
from webapp.web import bp

RECENT = 5

# The tiles people know from the original app. Only the ones that work are links; the rest say "soon".
TILES = [
    ("send", "Send money", "web.send_form"),
    ("deposit", "Add money", "web.deposit_form"),
    ("bank", "Bank transfer", "web.withdraw_form"),
    ("history", "History", "web.history"),
    ("college", "College payment", "web.pay_college"),
    ("phone", "Mobile top-up", "web.topup_form"),
    ("bills", "Pay bills", "web.pay_bills"),
    ("shopping", "Shopping", "web.pay_shopping"),
]


@bp.get("/")
def dashboard():
    """Home. Visitors who are not signed in go to the sign-in page, without a "please sign in" nag."""
    if not current_user.is_authenticated:
        return redirect(url_for("web.login"))
    mine = wallets.list_wallets(new_uow(), user_id=current_user.id)
    recent, _ = history.page(new_uow(), user_id=current_user.id, limit=RECENT)
    photo = profile_photos.current(new_uow(), user_id=current_user.id)
    return render_template("dashboard/page.html", wallets=mine, recent=recent, tiles=TILES, photo=photo)
