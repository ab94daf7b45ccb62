"""The operator's command line, run as a real process against the test database."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select, update

from webapp.extensions import new_uow
from webapp.models import AuditLog, User, Wallet
from webapp.services import audit

EWALLET = str(Path(sys.executable).parent / "ewallet")


def ewallet(database_url, *args, input=None):
    env = {**os.environ, "DATABASE_URL": database_url, "EWALLET_ENV": "test", "LOG_LEVEL": "WARNING"}
    return subprocess.run([EWALLET, *args], env=env, capture_output=True, text=True, input=input, timeout=60)


def test_credit_is_an_audited_adjustment(app, database_url, wallets):
    user = wallets.user()
    done = ewallet(database_url, "credit", "--email", user.email, "--amount", "1050", "--currency", "USD",
                   "--reason", "goodwill")
    assert done.returncode == 0, done.stderr
    assert "10.50 USD" in done.stdout
    assert user.wallet()["balance"] == 1050
    euro = ewallet(database_url, "credit", "--email", user.email, "--amount", "700", "--currency", "EUR",
                   "--reason", "opens a EUR wallet")
    assert euro.returncode == 0 and user.wallet("EUR")["balance"] == 700
    with app.app_context(), new_uow() as uow:
        events = uow.session.scalars(select(AuditLog.event).where(AuditLog.stream == audit.user_stream(user.id)))
        assert list(events).count("manual_credit") == 2


def test_credit_refuses_bad_input(database_url, wallets):
    user = wallets.user()
    for args in (["--amount", "-5", "--currency", "USD"], ["--amount", "5", "--currency", "ZZZ"]):
        done = ewallet(database_url, "credit", "--email", user.email, "--reason", "x", *args)
        assert done.returncode != 0 and "Traceback" not in done.stderr
    missing = ewallet(database_url, "credit", "--email", "nobody@example.com", "--amount", "5", "--currency", "USD",
                      "--reason", "x")
    assert missing.returncode == 1 and "No user" in missing.stderr


def test_reconcile_is_clean_then_names_the_drifting_wallet(app, database_url, wallets):
    assert ewallet(database_url, "reconcile").returncode == 0
    user = wallets.user(balance=900)
    wallet_id = user.wallet()["id"]
    with app.app_context(), new_uow() as uow:
        uow.session.execute(update(Wallet).where(Wallet.id == wallet_id).values(balance=Wallet.balance + 5))
        uow.commit()
    try:
        drift = ewallet(database_url, "reconcile")
        assert drift.returncode == 1
        assert f"DRIFT wallet {wallet_id}" in drift.stdout and "cached 905, ledger 900" in drift.stdout
    finally:
        with app.app_context(), new_uow() as uow:
            uow.session.execute(update(Wallet).where(Wallet.id == wallet_id).values(balance=900))
            uow.commit()
    assert ewallet(database_url, "reconcile").returncode == 0


def test_audit_verify_reports_an_edited_row(app, database_url, wallets):
    user = wallets.user(balance=100)
    assert ewallet(database_url, "audit", "verify").stdout.strip() == "audit trail intact"
    with app.app_context(), new_uow() as uow:
        row = uow.session.scalars(select(AuditLog).where(AuditLog.stream == audit.user_stream(user.id))
                                  .order_by(AuditLog.seq)).first()
        original = dict(row.data)
        uow.session.execute(update(AuditLog).where(AuditLog.id == row.id).values(data={"edited": True}))
        uow.commit()
    try:
        broken = ewallet(database_url, "audit", "verify")
        assert broken.returncode == 1
        assert f"row id {row.id}" in broken.stdout and "changed" in broken.stdout
    finally:
        with app.app_context(), new_uow() as uow:
            uow.session.execute(update(AuditLog).where(AuditLog.id == row.id).values(data=original))
            uow.commit()


def test_create_admin(app, database_url):
    done = ewallet(database_url, "create-admin", "ops@example.com", "--password", "a-long-admin-pass",
                   "--phone", "+442079460000")
    assert done.returncode == 0, done.stderr
    with app.app_context(), new_uow() as uow:
        assert uow.session.scalar(select(User.role).where(User.email == "ops@example.com")) == "admin"


def test_db_upgrade_builds_sqlite_from_nothing(tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    done = ewallet(url, "db", "upgrade")
    assert done.returncode == 0, done.stderr
    assert "upgraded" in done.stdout
