"""Access tokens: the per-process cache of verified tokens never accepts what PyJWT would refuse."""

import time

import pytest

from webapp.errors import Unauthorized
from webapp.services import tokens

CONFIG = {"SECRET_KEY": "unit-secret-" + "x" * 32, "JWT_ACCESS_TTL": 60}


def test_a_verified_token_is_remembered_but_a_changed_one_is_checked_again():
    token = tokens.issue_access(CONFIG, "user-1")
    assert tokens.verify_access(CONFIG, token) == "user-1"
    assert tokens.verify_access(CONFIG, token) == "user-1"  # from the cache
    with pytest.raises(Unauthorized):
        tokens.verify_access(CONFIG, token[:-2] + ("AA" if token[-2:] != "AA" else "BB"))
    with pytest.raises(Unauthorized):
        tokens.verify_access({**CONFIG, "SECRET_KEY": "another-secret-" + "y" * 32}, token)


def test_a_remembered_token_still_expires():
    short = {**CONFIG, "JWT_ACCESS_TTL": 1}
    token = tokens.issue_access(short, "user-2")
    assert tokens.verify_access(short, token) == "user-2"
    time.sleep(2.1)  # exp has whole seconds
    with pytest.raises(Unauthorized):
        tokens.verify_access(short, token)
