"""Stripe Payouts behind the PayoutProvider interface (PAYOUT_PROVIDER=stripe), through the SDK's
StripeClient like providers/stripe.py.

A bank account becomes a Stripe bank account token (https://docs.stripe.com/api/tokens/create_bank_account);
a payout is `POST /v1/payouts` (https://docs.stripe.com/api/payouts/create) with that destination, our
payout id in its metadata and an idempotency key derived from it, so a second call returns the first
payout (https://docs.stripe.com/api/idempotent_requests). Stripe accepts a payout before the bank has it:
`payout.paid` and `payout.failed` webhooks tell how it ends (services/payout_events.py); a `payout.failed`
can come days after `payout.paid` when the bank returns the money.

Stripe pays out only to an external account of the paying Stripe account, so paying people's own banks
needs them attached as external accounts of Connect accounts; that set-up is the deployment's. localstripe
takes EUR payouts only, with a field of its own (DESIGN §8): the webhook handling is tested with signed
events instead (tests/integration/test_payout_webhooks.py).
"""

from __future__ import annotations

import stripe

from webapp.providers import stripe as stripe_provider
from webapp.providers.bank import (
    AccountDetails,
    AccountRejected,
    PayoutOrder,
    PayoutReceipt,
    PayoutRejected,
    ProviderDown,
)


class StripePayoutProvider:
    def __init__(self, config: dict):
        self.client = stripe_provider.from_config(config).client

    def tokenize_account(self, account: AccountDetails) -> str:
        params = {"country": account.country, "currency": account.currency.lower(),
                  "account_holder_name": account.holder_name, "account_holder_type": "individual",
                  "account_number": account.number}
        if account.routing_number:
            params["routing_number"] = account.routing_number
        with _translated(AccountRejected, "The bank account was not accepted."):
            return self.client.v1.tokens.create(params={"bank_account": params}).id

    def send_payout(self, order: PayoutOrder) -> PayoutReceipt:
        params = {"amount": order.amount, "currency": order.currency.lower(), "destination": order.token,
                  "metadata": {"payout_id": order.payout_id}}
        with _translated(PayoutRejected, "The bank transfer was refused."):
            payout = self.client.v1.payouts.create(params=params, options={"idempotency_key": order.idempotency_key})
        return PayoutReceipt(ref=payout.id, paid=False)  # accepted; the webhooks say paid or failed


class _translated:
    """StripeError → ProviderDown (a network failure, 429 or 5xx: worth retrying) or `refused` (any other
    4xx: never will work). Stripe's own message may quote the account, so only its type goes on."""

    def __init__(self, refused: type[Exception], message: str):
        self.refused, self.message = refused, message

    def __enter__(self):
        return self

    def __exit__(self, kind, error, _traceback):
        if error is None or not isinstance(error, stripe.StripeError):
            return False
        status = error.http_status or 0
        if isinstance(error, stripe.APIConnectionError | stripe.RateLimitError) or status >= 500 or status == 429:
            raise ProviderDown(f"Stripe unavailable: {type(error).__name__} {status or ''}".strip()) from error
        raise self.refused(self.message) from error
