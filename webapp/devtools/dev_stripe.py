"""Card payments for `ewallet dev`: localstripe on loopback, wired to the dev server, so a newcomer can add
money with a test card at once. It starts with the server and stops with it; nothing is left on disk."""

from __future__ import annotations

import secrets
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import click

from webapp.devtools import localstripe
from webapp.devtools.stripe_standin import STANDIN_PATH

TEST_CARDS = (
    ("4242 4242 4242 4242", "succeeds"),
    ("4000 0000 0000 0341", "is declined"),
    ("4000 0027 6000 3184", "asks for 3-D Secure (Complete or Fail)"),
)


@contextmanager
def local_stripe(config: dict, port: int) -> Iterator[dict]:
    """Yield the settings that point the app at a fresh localstripe, or {} when the developer has chosen a
    Stripe already (STRIPE_API_BASE, or a real test-mode STRIPE_SECRET_KEY): theirs win."""
    if config["STRIPE_API_BASE"] or config["STRIPE_SECRET_KEY"]:
        click.echo(f"Card payments: the configured Stripe ({config['STRIPE_API_BASE'] or 'api.stripe.com'})")
        yield {}
        return
    server = localstripe.start()
    # A plain `kill` ends Python without unwinding, which would leave localstripe running: unwind instead.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        webhook, secret = f"http://127.0.0.1:{port}/api/v1/webhooks/stripe", f"whsec_{secrets.token_hex(24)}"
        server.register_webhook(webhook, secret)
        _describe(server.url, webhook)
        # localstripe takes any sk_/pk_ key; these only look like Stripe's so the SDK and the page accept them.
        yield {"STRIPE_API_BASE": server.url, "STRIPE_JS_URL": server.url + STANDIN_PATH,
               "STRIPE_SECRET_KEY": "sk_test_localstripe", "STRIPE_PUBLISHABLE_KEY": "pk_test_localstripe",
               "STRIPE_WEBHOOK_SECRET": secret}
    finally:
        server.stop()


def _describe(url: str, webhook: str) -> None:
    click.echo(f"\nCard payments: localstripe on {url} (in memory; it stops with this server)")
    click.echo(f"  webhooks go to {webhook}, signed with a secret made for this run")
    click.echo(f"  the card form uses the Stripe.js stand-in at {url}{STANDIN_PATH}")
    click.echo("  test cards (any future expiry, any 3-digit CVC):")
    for number, outcome in TEST_CARDS:
        click.echo(f"    {number}  {outcome}")
