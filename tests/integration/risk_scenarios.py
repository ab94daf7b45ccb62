"""Scenarios for tests/integration/test_api_spec.py: every documented response of the admin API's risk flags
(webapp/api/admin.py) produced by a real request."""

from __future__ import annotations

import uuid

from tests.integration.deposit_scenarios import as_admin
from webapp.extensions import new_uow
from webapp.services import risk

FLAGS = "/admin/risk-flags"
CLEAR = "/admin/risk-flags/{flag_id}/clear"


def flag_on(world, user_id: str | None = None) -> str:
    """A fresh person (or `user_id`) put on hold by the lockouts rule; the flag's id."""
    user_id = user_id or world.wallets.user().id
    with world.app.app_context(), new_uow() as uow:
        flag = risk.flag(uow, user_id=user_id, rule="lockouts",
                         details={"lockouts": 2, "threshold": 2, "hours": 24, "last": "pin"})
        uow.commit()
    return flag.id


def clear(user, flag_id: str, **kwargs):
    return user.post(f"/admin/risk-flags/{flag_id}/clear", **kwargs)


def _forbidden(world):
    admin = as_admin(world)
    return [clear(world.alice, flag_on(world), json={"reason": "not mine to clear"}),
            clear(admin, flag_on(world, admin.id), json={"reason": "my own"})]


def _listed(world):
    flag_on(world)
    return [as_admin(world).get(FLAGS)]


def _too_large(world):
    padding = b'{"reason": "' + b"x" * (64 * 1024) + b'"}'
    return [clear(as_admin(world), flag_on(world), data=padding, content_type="application/json")]


SCENARIOS = {
    ("get", FLAGS, "200"): lambda w: _listed(w),
    ("get", FLAGS, "403"): lambda w: [w.alice.get(FLAGS)],
    ("post", CLEAR, "200"): lambda w: [clear(as_admin(w), flag_on(w), json={"reason": "called the owner"})],
    ("post", CLEAR, "403"): _forbidden,
    ("post", CLEAR, "404"): lambda w: [clear(as_admin(w), str(uuid.uuid4()), json={"reason": "gone"})],
    ("post", CLEAR, "413"): _too_large,
    ("post", CLEAR, "422"): lambda w: [clear(as_admin(w), flag_on(w), json={}),
                                       clear(as_admin(w), flag_on(w), json={"reason": 7})],
}
