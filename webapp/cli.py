"""`ewallet`: the operator's command line (DESIGN §4), a FlaskGroup so every command has the app."""

from __future__ import annotations

import sys
import time

import click
from flask.cli import FlaskGroup, with_appcontext

from webapp import create_app
from webapp.cli_institutions import institution_group
from webapp.errors import DomainError
from webapp.extensions import new_uow
from webapp.money import Money, check_currency


@click.group(cls=FlaskGroup, create_app=create_app, add_default_commands=False)
def cli():
    """E-Wallet operations."""


@cli.command("dev")
@click.option("--port", default=5000, show_default=True)
@click.option("--no-seed", is_flag=True, help="Skip the demo users.")
@with_appcontext
def dev(port: int, no_seed: bool):
    """Migrate the embedded SQLite database, seed two demo users and serve on 127.0.0.1."""
    from flask import current_app

    from webapp import devserver

    devserver.run(current_app._get_current_object(), port=port, seed=not no_seed)


@cli.group("db")
def db_group():
    """Database schema."""


@db_group.command("upgrade")
@click.option("--revision", default="head", show_default=True)
@with_appcontext
def db_upgrade(revision: str):
    """Apply Alembic migrations to DATABASE_URL."""
    from flask import current_app

    from webapp.migrate import upgrade

    upgrade(current_app.config["DATABASE_URL"], revision)
    click.echo(f"database upgraded to {revision}")


@cli.command("worker")
@click.option("--burst", is_flag=True, help="Exit once the queues are empty.")
@click.option("--fork", is_flag=True, help="Run each job in a forked work horse (RQ's default), not in the worker.")
@with_appcontext
def worker(burst: bool, fork: bool):
    """Run RQ jobs from the `payouts`, `topups` and `default` queues on REDIS_URL, in that order, with the
    scheduler that runs retries and periodic work (jobs/periodic.py).

    Jobs run in the worker process itself (RQ's SimpleWorker) unless --fork: a forked work horse starts
    with no database connection, and a new PyMySQL connection costs ~150 ms of CPU (it builds a TLS
    context from the system's certificates every time), so two forking workers paid out 3 payouts a
    second (bench/README.md). A job that runs too long is still stopped (RQ's SIGALRM death penalty)."""
    from flask import current_app
    from rq import SimpleWorker, Worker

    from jobs import periodic
    from webapp.background import QUEUES, queue_for

    config = current_app.config
    if not config["REDIS_URL"]:
        raise click.ClickException("REDIS_URL is not set; without it jobs run inline and need no worker")
    queues = [queue_for(config, name) for name in QUEUES]
    if not burst:  # a burst worker leaves once the queues are empty: periodic work is the others'
        periodic.schedule(config, after=time.time())
    # Jobs run in this app context (a forked work horse inherits it: jobs/__init__.py); the scheduler is
    # what runs failed jobs again after their Retry intervals, and the periodic tick when it is due.
    (Worker if fork else SimpleWorker)(queues, connection=queues[0].connection).work(burst=burst, with_scheduler=True)


@cli.command("create-admin")
@click.argument("email")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--phone", prompt=True)
@click.option("--role", type=click.Choice(["admin", "reviewer"]), default="admin", show_default=True,
              help="reviewer: the back office's KYC queue, users, reconciliation and audit log, without "
                   "freezes or role changes.")
@with_appcontext
def create_admin(email: str, password: str, phone: str, role: str):
    """Create an admin (or reviewer) account, or give an existing user the role."""
    from webapp.services import staff

    user = _run(lambda: staff.make_admin(new_uow(), email=email, password=password, phone=phone, role=role))
    click.echo(f"{user.email} is {'an' if role == 'admin' else 'a'} {role} (user id {user.id})")


@cli.command("credit")
@click.option("--email", required=True)
@click.option("--amount", required=True, type=int, help="Minor units, e.g. 1050 for 10.50 USD.")
@click.option("--currency", required=True)
@click.option("--reason", required=True)
@with_appcontext
def credit(email: str, amount: int, currency: str, reason: str):
    """An audited manual credit from the house adjustments account."""
    from webapp.services import adjustments

    money = Money(amount, _run(lambda: check_currency(currency)))
    tx = _run(lambda: adjustments.credit(new_uow(), email=email, amount=money, reason=reason))
    click.echo(f"credited {money} to {email} (transaction {tx.id})")


@cli.command("reconcile")
@click.option("--stripe", "with_stripe", is_flag=True, help="Also check card deposits against Stripe.")
@click.option("--since", type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"]), default=None,
              help="With --stripe: PaymentIntents created from this UTC date or time (default: 7 days ago).")
@with_appcontext
def reconcile(with_stripe: bool, since):
    """Check every wallet against the ledger and the global zero sum (and, with --stripe, card deposits
    against Stripe's PaymentIntents); exit 1 on any drift."""
    from webapp.services import reconciliation

    stripe_ok = _reconcile_stripe(since) if with_stripe else True
    report = reconciliation.reconcile(new_uow())
    click.echo(f"wallets checked: {report.wallets_checked}")
    for currency, total in sorted(report.currency_totals.items()):
        click.echo(f"  {currency}: postings sum {total} {'ok' if total == 0 else 'UNBALANCED'}")
    for drift in report.drifts:
        click.echo(f"  DRIFT wallet {drift.wallet_id} ({drift.currency}) {drift.what}: "
                   f"cached {drift.cached}, ledger {drift.ledger}")
    clean = report.ok and stripe_ok
    click.echo("reconciliation: clean" if clean else "reconciliation: DRIFT FOUND")
    sys.exit(0 if clean else 1)


def _reconcile_stripe(since) -> bool:
    from datetime import timedelta

    from webapp.models.base import utcnow
    from webapp.services import card_reconciliation

    since = since or utcnow() - timedelta(days=7)
    report = _run(lambda: card_reconciliation.reconcile_stripe(new_uow(), since=since))
    click.echo(f"stripe: {report.payment_intents_checked} PaymentIntents and {report.credits_checked} card credits "
               f"from {report.since:%Y-%m-%d %H:%M:%S} to {report.until:%Y-%m-%d %H:%M:%S} UTC")
    for finding in report.findings:
        click.echo(f"  {finding.problem.upper()} {finding.payment_intent_id} (transaction {finding.transaction_id}): "
                   f"stripe {finding.stripe_amount}, ledger {finding.ledger_amount} {finding.currency}")
    return report.ok


@cli.group("audit")
def audit_group():
    """The tamper-evident audit trail."""


@audit_group.command("verify")
@with_appcontext
def audit_verify():
    """Walk every audit stream; report the first changed, inserted or deleted row."""
    from webapp.services import audit

    finding = audit.verify(new_uow())
    if finding is None:
        click.echo("audit trail intact")
        return
    click.echo(f"audit trail BROKEN: {finding}")
    sys.exit(1)


cli.add_command(institution_group)


def _run(step):
    try:
        return step()
    except DomainError as error:
        raise click.ClickException(error.message) from None
