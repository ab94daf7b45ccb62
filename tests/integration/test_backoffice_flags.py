"""The flagged list in the back office (issue 12, point 7): reviewers and admins see the accounts an
automatic risk hold froze, with the rule and what it saw, and each person's flags on their page; only an
admin clears a flag, with a reason, audited; clearing does not unfreeze; the admin JSON API does the same."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from tests.integration.payout_scenarios import reconciled
from tests.integration.test_backoffice import events, followed, sign_in, staff, user_row
from webapp.extensions import new_uow
from webapp.models.risk import RiskFlag
from webapp.services import risk


def flagged(app, wallets, rule: str = "lockouts", details: dict | None = None, **person):
    """A person an automatic rule has just put on hold (through the same service the rules call)."""
    user = wallets.user(**person)
    with app.app_context(), new_uow() as uow:
        flag = risk.flag(uow, user_id=user.id, rule=rule,
                         details=details or {"lockouts": 2, "threshold": 2, "hours": 24, "last": "login"})
        uow.commit()
    return user, flag


def flag_row(app, flag_id: str) -> RiskFlag:
    with app.app_context(), new_uow() as uow:
        return uow.session.get(RiskFlag, flag_id)


def test_reviewers_see_the_flagged_list_with_the_rule_what_it_saw_and_a_link(app, client, wallets):
    user, flag = flagged(app, wallets, rule="new_recipients",
                         details={"new_recipients": 7, "threshold": 5, "minutes": 10, "recipients": []})
    sign_in(client, staff(app, wallets))
    page = client.get("/admin/flags").get_data(as_text=True)
    assert 'aria-current="page">Flagged</a>' in page
    assert user.email in page and f'/admin/users/{user.id}#flag-{flag.id}' in page
    assert "Many new recipients" in page and "7 new recipients within 10 minutes (more than 5)" in page
    assert '<span class="pill pill-bad">Frozen</span>' in page
    person = client.get(f"/admin/users/{user.id}").get_data(as_text=True)
    assert f'id="flag-{flag.id}"' in person and "Open" in person
    assert "Automatic risk hold (new_recipients)" in person  # the freeze's reason, under outgoing money
    assert "<form" not in person  # a reviewer clears nothing


def test_a_below_zero_flag_says_how_far_below(app, client, wallets):
    user, _ = flagged(app, wallets, rule="negative_balance",
                      details={"wallet_id": "w", "balance": -1_500, "reserved": 0, "currency": "USD",
                               "transaction_id": "t"})
    sign_in(client, staff(app, wallets))
    assert re.search(r"USD wallet at [-\u2212]\$15\.00", client.get("/admin/flags").get_data(as_text=True))


def test_an_admin_clears_a_flag_with_a_reason_audited_and_the_account_stays_frozen(app, client, wallets):
    user, flag = flagged(app, wallets)
    admin = staff(app, wallets, "admin")
    sign_in(client, admin)
    page = client.get(f"/admin/users/{user.id}").get_data(as_text=True)
    assert f'action="/admin/flags/{flag.id}/clear"' in page
    done = client.post(f"/admin/flags/{flag.id}/clear", data={"reason": "The owner forgot the PIN; called them.",
                                                              "user_id": user.id})
    assert done.status_code == 303 and done.location == f"/admin/users/{user.id}"
    cleared = flag_row(app, flag.id)
    assert (cleared.resolved_by, cleared.resolution) == (admin.id, "The owner forgot the PIN; called them.")
    assert events(app, user.id)[-1] == ("risk_cleared", admin.id, {"flag_id": flag.id, "rule": "lockouts",
                                                                   "reason": "The owner forgot the PIN; called them."})
    assert user_row(app, user.id).is_frozen  # unfreezing is its own action
    shown = client.get(done.location).get_data(as_text=True)
    assert "Cleared" in shown and admin.email in shown and "Unfreeze this account" in shown
    assert user.email not in client.get("/admin/flags").get_data(as_text=True)
    again = followed(client, client.post(f"/admin/flags/{flag.id}/clear", data={"reason": "x", "user_id": user.id}))
    assert "This flag was cleared already." in again


def test_once_cleared_the_rule_may_fire_again(app, wallets):
    user, flag = flagged(app, wallets)
    admin = staff(app, wallets, "admin")
    with app.app_context():
        from webapp.services import risk_flags

        risk_flags.clear(new_uow(), admin_id=admin.id, flag_id=flag.id, reason="looked into it")
        with new_uow() as uow:
            assert risk.flag(uow, user_id=user.id, rule="lockouts", details={}) is not None
            uow.commit()
        with new_uow() as uow:
            rows = uow.session.scalars(select(RiskFlag).where(RiskFlag.user_id == user.id)).all()
    assert sorted(row.resolved_at is None for row in rows) == [False, True]


@pytest.mark.parametrize("reason, says", [("", "Say why, for the audit trail."),
                                          ("x" * 501, "Keep the reason under 501 characters.")])
def test_clearing_needs_a_reason_told_by_the_field(app, client, wallets, reason, says):
    user, flag = flagged(app, wallets)
    sign_in(client, staff(app, wallets, "admin"))
    page = followed(client, client.post(f"/admin/flags/{flag.id}/clear", data={"reason": reason, "user_id": user.id}))
    assert f'id="e-clear-{flag.id}" aria-live="polite">{says}' in page
    assert flag_row(app, flag.id).resolved_at is None


def test_reviewers_get_403_plain_users_404_and_nobody_clears_their_own(app, client, wallets):
    user, flag = flagged(app, wallets)
    sign_in(client, staff(app, wallets))
    assert client.post(f"/admin/flags/{flag.id}/clear", data={"reason": "x", "user_id": user.id}).status_code == 403
    plain = app.test_client()
    sign_in(plain, wallets.user())
    assert plain.get("/admin/flags").status_code == 404
    assert plain.post(f"/admin/flags/{flag.id}/clear", data={"reason": "x"}).status_code == 404
    admin = staff(app, wallets, "admin")
    with app.app_context(), new_uow() as uow:
        own = risk.flag(uow, user_id=admin.id, rule="lockouts", details={})
        uow.commit()
    mine = app.test_client()
    sign_in(mine, admin)
    page = followed(mine, mine.post(f"/admin/flags/{own.id}/clear", data={"reason": "mine", "user_id": admin.id}))
    assert "Another admin must clear a flag on your account." in page
    assert flag_row(app, flag.id).resolved_at is None and flag_row(app, own.id).resolved_at is None
    assert mine.post("/admin/flags/00000000-0000-0000-0000-000000000000/clear",
                     data={"reason": "x"}).status_code == 404


def test_the_admin_api_lists_and_clears_flags(app, wallets):
    user, flag = flagged(app, wallets)
    admin = staff(app, wallets, "admin")
    from tests.conftest import ApiUser

    api = ApiUser(app.test_client(), admin.email, admin.id, admin.phone)
    listed = api.get("/admin/risk-flags")
    assert listed.status_code == 200
    mine = [row for row in listed.json["data"]["risk_flags"] if row["id"] == flag.id]
    assert mine == [{**mine[0], "user_id": user.id, "email": user.email, "rule": "lockouts", "is_frozen": True,
                     "resolved_at": None}]
    assert user.get("/admin/risk-flags").status_code == 403
    assert api.post(f"/admin/risk-flags/{flag.id}/clear", json={}).json["error"]["code"] == "VALIDATION_ERROR"
    done = api.post(f"/admin/risk-flags/{flag.id}/clear", json={"reason": "checked with the owner"})
    assert done.status_code == 200 and done.json["data"]["risk_flag"]["resolution"] == "checked with the owner"
    assert done.json["data"]["risk_flag"]["resolved_by"] == admin.id
    assert events(app, user.id)[-1][0] == "risk_cleared" and reconciled(app)
