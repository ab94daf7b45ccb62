"""The dev/test launcher of localstripe (webapp/devtools/localstripe.py) and the Stripe adapter on it: loopback
only, nothing on disk, and Stripe's `created` filter for listing PaymentIntents."""

from __future__ import annotations

import socket
import tempfile
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from webapp.models.base import utcnow
from webapp.providers.payments import ProviderDown
from webapp.providers.stripe import StripeGateway


def test_it_listens_on_loopback_only_and_keeps_nothing_on_disk(localstripe):
    port = urlsplit(localstripe).port
    outside = [addr for *_, (addr, *_) in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)
               if not addr.startswith("127.")]
    for address in outside[:1]:
        with pytest.raises(OSError), socket.create_connection((address, port), timeout=1):
            pass
    gateway = StripeGateway("sk_test_launcher", localstripe, "whsec_unused")
    gateway.create_payment_intent(amount=100, currency="USD", metadata={}, idempotency_key="launcher")
    assert not (Path(tempfile.gettempdir()) / "localstripe.pickle").exists()


def test_payment_intents_are_listed_by_creation_time(localstripe):
    gateway = StripeGateway("sk_test_launcher", localstripe, "whsec_unused")
    since = utcnow() - timedelta(seconds=1)
    made = {gateway.create_payment_intent(amount=100 + n, currency="EUR", metadata={"n": str(n)},
                                          idempotency_key=f"list-{n}").id for n in range(3)}
    listed = [pi for pi in gateway.list_payment_intents(since=since)]
    assert made <= {pi.id for pi in listed}
    assert {pi.currency for pi in listed if pi.id in made} == {"EUR"}
    assert not [pi for pi in gateway.list_payment_intents(since=utcnow() + timedelta(minutes=1))]


def test_a_closed_port_is_provider_down():
    gateway = StripeGateway("sk_test_launcher", "http://127.0.0.1:9", "whsec_unused")
    with pytest.raises(ProviderDown):
        gateway.create_payment_intent(amount=100, currency="USD", metadata={}, idempotency_key="down")
