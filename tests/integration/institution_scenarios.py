"""Institutions for tests, and the documented responses of the institution endpoints, produced for
tests/integration/test_api_spec.py (which merges these into its SCENARIOS)."""

from __future__ import annotations

import uuid

from tests.integration.test_api_support import set_user
from webapp.extensions import new_uow
from webapp.services import institutions

LIST = "/institutions"
PAY = "/institution-payments"
STUDENT = {"student_id": "S123456", "term": "2026-fall"}


def add_institution(app, *, name: str | None = None, kind: str = "college", currency: str = "USD",
                    fields: list[tuple[str, str, str | None]] | None = None) -> str:
    """A new institution (a college asking for a student id and a term, unless told otherwise); its id."""
    fields = fields or [("student_id", r"^S\d{6}$", "S123456"), ("term", r"20\d\d-(spring|fall)", "2026-fall")]
    with app.app_context():
        schema = [institutions.define_field(name_, pattern, example=example) for name_, pattern, example in fields]
        added = institutions.add(new_uow(), name=name or f"Test {kind} {uuid.uuid4().hex[:8]}", kind=kind,
                                 country="US", currency=currency, fields=schema)
    return added.id


def payment(user, institution_id, amount=2_500, *, currency="USD", reference=None, key=None, **overrides) -> dict:
    return {"wallet_id": user.wallet(currency)["id"], "institution_id": institution_id, "amount": amount,
            "currency": currency, "reference": STUDENT if reference is None else reference,
            "idempotency_key": key or uuid.uuid4().hex, **overrides}


def college(world) -> str:
    if not hasattr(world, "college_id"):
        world.college_id = add_institution(world.app)
    return world.college_id


def pay(world, amount=2_500, sender=None, **overrides):
    sender = sender or world.alice
    return sender.post(PAY, json=payment(sender, college(world), amount, **overrides))


def frozen_payer(world):
    payer = world.wallets.user(balance=10_000)
    set_user(world.app, payer.id, is_frozen=True)
    return pay(world, sender=payer)


def conflicting_key(world):
    assert pay(world, key="tuition-once").status_code == 201
    return pay(world, amount=2_600, key="tuition-once")


def listed(world):
    college(world)
    return [world.call("get", LIST), world.call("get", f"{LIST}?kind=college")]


def euro_institution(world):
    euro = add_institution(world.app, currency="EUR")
    return world.alice.post(PAY, json=payment(world.alice, euro, 100))


SCENARIOS = {
    ("get", LIST, "200"): listed,
    ("get", LIST, "422"): lambda w: [w.call("get", f"{LIST}?kind=bank")],
    ("post", PAY, "201"): lambda w: [pay(w)],
    ("post", PAY, "403"): lambda w: [frozen_payer(w),
                                     pay(w, 100_001, sender=w.wallets.user(balance=100_001))],
    ("post", PAY, "404"): lambda w: [w.alice.post(PAY, json=payment(w.alice, str(uuid.uuid4()))),
                                     pay(w, wallet_id=w.bob.wallet()["id"])],
    ("post", PAY, "409"): conflicting_key,
    ("post", PAY, "422"): lambda w: [pay(w, reference={"student_id": "123"}), pay(w, 10_001), euro_institution(w),
                                     pay(w, 1_000_001, sender=w.wallets.user(balance=1_000_001, kyc="verified"))],
}
