"""The back office's two proofs (issue 12, point 5): the reconciliation page shows clean, then the wallet
whose cached balance was made to drift; the audit page shows the chain check intact, then the tampered
row; each run is audited on the operator's own stream with what it found."""

from __future__ import annotations

import re

from sqlalchemy import select, update

from tests.integration.test_backoffice import events, sign_in, staff
from webapp.extensions import new_uow
from webapp.models import AuditLog, Wallet
from webapp.services import audit


def test_the_reconciliation_page_shows_clean_then_the_drifting_wallet(app, client, wallets):
    reviewer, user = staff(app, wallets), wallets.user(balance=900)
    sign_in(client, reviewer)
    assert "Run the reconciliation" in client.get("/admin/reconciliation").get_data(as_text=True)
    clean = client.post("/admin/reconciliation").get_data(as_text=True)
    assert "Clean:" in clean and "DRIFT" not in clean
    wallet_id = user.wallet()["id"]
    with app.app_context(), new_uow() as uow:
        uow.session.execute(update(Wallet).where(Wallet.id == wallet_id).values(balance=Wallet.balance + 5))
        uow.commit()
    try:
        drift = client.post("/admin/reconciliation").get_data(as_text=True)
        assert "Drift found" in drift and f'<td class="mono">{wallet_id}</td>' in drift
        assert "<td>905</td><td>900</td>" in drift
    finally:
        with app.app_context(), new_uow() as uow:
            uow.session.execute(update(Wallet).where(Wallet.id == wallet_id).values(balance=900))
            uow.commit()
    runs = [e for e in events(app, reviewer.id) if e[0] == "reconciliation_run"]
    assert [run[2]["ok"] for run in runs] == [True, False] and runs[1][1] == reviewer.id
    assert runs[1][2]["drifts"][0]["wallet_id"] == wallet_id


def test_the_audit_page_shows_the_chain_check_and_a_tampered_row(app, client, wallets):
    reviewer, user = staff(app, wallets), wallets.user()
    sign_in(client, reviewer)
    page = client.get("/admin/audit").get_data(as_text=True)
    assert "Check the chain" in page and "<td>register</td>" in page
    assert "Audit trail intact" in client.post("/admin/audit/verify").get_data(as_text=True)
    with app.app_context(), new_uow() as uow:
        row = uow.session.scalars(select(AuditLog).where(AuditLog.stream == audit.user_stream(user.id))).first()
        original = row.data
        uow.session.execute(update(AuditLog).where(AuditLog.id == row.id).values(data={"edited": True}))
        uow.commit()
    try:
        broken = client.post("/admin/audit/verify").get_data(as_text=True)
        assert "Audit trail BROKEN" in broken and f"row id {row.id}" in broken
    finally:
        with app.app_context(), new_uow() as uow:
            uow.session.execute(update(AuditLog).where(AuditLog.id == row.id).values(data=original))
            uow.commit()
    checks = [e for e in events(app, reviewer.id) if e[0] == "audit_verified"]
    assert [check[2]["intact"] for check in checks] == [True, False]


def test_the_audit_log_pages_back_and_ignores_a_bad_cursor(app, client, wallets):
    sign_in(client, staff(app, wallets))
    for _ in range(3):
        wallets.user()
    first = client.get("/admin/audit").get_data(as_text=True)
    older = re.search(r'href="/admin/audit\?before=(\d+)"', first)
    if older:  # more than a page of rows in this run's database
        assert client.get(f"/admin/audit?before={older.group(1)}").status_code == 200
    for bad in ("abc", "-1", "9" * 40):
        assert client.get(f"/admin/audit?before={bad}").status_code == 200
