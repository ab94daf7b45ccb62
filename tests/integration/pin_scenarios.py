"""The documented responses of GET/PUT /pin, and every money endpoint's PIN_REQUIRED / PIN_INVALID beside its
other 403s, produced for tests/integration/test_api_spec.py (which merges these into its SCENARIOS)."""

from __future__ import annotations

from tests.conftest import PASSWORD
from tests.integration.pin_support import MONEY_PATHS, PIN, WRONG, set_pin

ONE = "/pin"


def pin_refusals(world, path: str) -> list:
    """A sender who set a PIN: no `pin` is PIN_REQUIRED, a wrong one PIN_INVALID (with attempts_left)."""
    sender = MONEY_PATHS[path](world.wallets, world.app)
    set_pin(world.app, sender.user.id)
    return [sender.send(), sender.send(pin=WRONG)]


def with_pin_refusals(scenarios: dict) -> dict:
    """The money endpoints' 403 scenarios, each also refused for its PIN."""

    def extended(path, before):
        return lambda world: [*before(world), *pin_refusals(world, path)]

    return {("post", path, "403"): extended(path, scenarios["post", path, "403"]) for path in MONEY_PATHS}


def _status(world):
    newcomer = world.wallets.user()
    before = newcomer.get(ONE)
    set_pin(world.app, newcomer.id)
    return [before, newcomer.get(ONE)]


SCENARIOS = {
    ("get", ONE, "200"): _status,
    ("put", ONE, "200"): lambda w: [w.call("put", ONE, json={"password": PASSWORD, "pin": PIN}),
                                    w.call("put", ONE, json={"password": PASSWORD, "pin": "0852"})],
    ("put", ONE, "422"): lambda w: [w.call("put", ONE, json={}),
                                    w.call("put", ONE, json={"password": "not-my-password", "pin": PIN}),
                                    w.call("put", ONE, json={"password": PASSWORD, "pin": "1234"}),
                                    w.call("put", ONE, json={"password": PASSWORD, "pin": 4829})],
}
