"""`ewallet dev`: the wallet on its embedded defaults (SQLite under instance/, jobs inline), with two
demo users holding money, an admin for the back office, a college, a utility and a shop to pay, and
localstripe for card top-ups, so a newcomer can sign in, add money with a test card and send or pay it
straight away."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask
from sqlalchemy import select
from werkzeug.serving import run_simple

from webapp import create_app
from webapp.devtools.dev_stripe import local_stripe
from webapp.extensions import new_uow
from webapp.migrate import upgrade
from webapp.models import Institution, User
from webapp.money import Money
from webapp.services import accounts, adjustments, institutions, staff

DEMO_USERS = (
    # email, password, phone, opening balance in minor units (USD), display name
    ("alice@example.com", "alice-wallet-demo", "+14155550101", 50_000, "Alice Demo"),
    ("bob@example.com", "bob-wallet-demo", "+14155550102", 25_000, "Bob Demo"),
)

DEMO_ADMIN = ("admin@example.com", "admin-wallet-demo", "+14155550109")  # the back office at /admin
DEMO_INSTITUTIONS = (
    # name, kind, reference fields: (name, pattern, example)
    ("Riverside Community College", "college", (("student_id", r"S\d{6}", "S123456"),
                                                ("term", r"(spring|summer|fall)-20\d\d", "fall-2026"))),
    ("City Power & Water", "utility", (("account_number", r"\d{8}", "40012345"),)),
    ("Corner Books", "merchant", (("invoice_number", r"INV-\d{5}", "INV-00042"),)),
)


def run(app: Flask, *, port: int, seed: bool) -> None:
    url = app.config["DATABASE_URL"]
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    upgrade(url)
    if seed:
        seed_demo_users()
        click.echo("\nDemo users (USD wallets; identity, email and phone verified):")
        for email, password, phone, *_ in DEMO_USERS:
            click.echo(f"  {email:<20} password: {password:<18} phone: {phone}")
        click.echo(f"  {DEMO_ADMIN[0]:<20} password: {DEMO_ADMIN[1]:<18} the back office at /admin")
        click.echo("To pay: " + ", ".join(name for name, *_ in DEMO_INSTITUTIONS) + " (examples on their forms)")
    with local_stripe(app.config, port) as stripe_settings:
        # The CSP is built from the Stripe settings when an app is made, so localstripe gets an app of its own.
        served = create_app(stripe_settings) if stripe_settings else app
        click.echo(f"\nE-Wallet on http://127.0.0.1:{port}/  (database: {url})\n")
        # Flask refuses app.run() inside its own CLI, so serve with werkzeug directly; loopback only.
        run_simple("127.0.0.1", port, served, threaded=True, use_reloader=False)


def seed_demo_users() -> None:
    for email, password, phone, opening, name in DEMO_USERS:
        with new_uow() as uow:
            if uow.session.scalar(select(User).where(User.email == email)):
                continue
        # Verified at once: they can receive money by email or phone without a mailed link or a text.
        user = accounts.register(new_uow(), email=email, password=password, phone=phone, display_name=name,
                                 verified=True)
        with new_uow() as uow:
            uow.session.get(User, user.id).kyc_status = "verified"
            uow.commit()
        adjustments.credit(new_uow(), email=email, amount=Money(opening, "USD"), reason="demo opening balance",
                           actor="ewallet dev")
    with new_uow() as uow:
        has_admin = uow.session.scalar(select(User.id).where(User.email == DEMO_ADMIN[0]))
    if not has_admin:
        staff.make_admin(new_uow(), email=DEMO_ADMIN[0], password=DEMO_ADMIN[1], phone=DEMO_ADMIN[2])
    seed_demo_institutions()


def seed_demo_institutions() -> None:
    """USD institutions to pay from the College payment, Pay bills and Shopping tiles."""
    with new_uow() as uow:
        known = set(uow.session.scalars(select(Institution.name)))
    for name, kind, fields in DEMO_INSTITUTIONS:
        if name not in known:
            schema = [institutions.define_field(field, pattern, example=example) for field, pattern, example in fields]
            institutions.add(new_uow(), name=name, kind=kind, country="US", currency="USD", fields=schema)
