"""`ewallet dev`: the wallet on its embedded defaults (SQLite under instance/, jobs inline), with two
demo users holding money and localstripe for card top-ups, so a newcomer can sign in, add money with a test
card and send it straight away."""

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
from webapp.models import User
from webapp.money import Money
from webapp.services import accounts, adjustments

DEMO_USERS = (
    # email, password, phone, opening balance in minor units (USD), display name
    ("alice@example.com", "alice-wallet-demo", "+14155550101", 50_000, "Alice Demo"),
    ("bob@example.com", "bob-wallet-demo", "+14155550102", 25_000, "Bob Demo"),
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
