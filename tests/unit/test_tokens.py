"""Access tokens: the per-process cache of verified tokens never accepts what PyJWT would refuse, and the
claims that say who may use a token (key, issuer, audience, epoch) are all checked."""

import time
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from webapp.errors import Unauthorized
from webapp.services import tokens

CONFIG = {"JWT_SECRET_KEY": "unit-secret-" + "x" * 32, "JWT_ACCESS_TTL": 60, "JWT_ISSUER": "ewallet",
          "JWT_AUDIENCE": "ewallet-api", "SECRET_KEY": "the-session-key-" + "y" * 32}


def test_a_verified_token_is_remembered_but_a_changed_one_is_checked_again():
    token = tokens.issue_access(CONFIG, "user-1", 3)
    assert tokens.verify_access(CONFIG, token) == ("user-1", 3)
    assert tokens.verify_access(CONFIG, token) == ("user-1", 3)  # from the cache
    with pytest.raises(Unauthorized):
        tokens.verify_access(CONFIG, token[:-2] + ("AA" if token[-2:] != "AA" else "BB"))
    with pytest.raises(Unauthorized):
        tokens.verify_access({**CONFIG, "JWT_SECRET_KEY": "another-secret-" + "y" * 32}, token)


def test_a_remembered_token_still_expires():
    short = {**CONFIG, "JWT_ACCESS_TTL": 1}
    token = tokens.issue_access(short, "user-2", 0)
    assert tokens.verify_access(short, token) == ("user-2", 0)
    time.sleep(2.1)  # exp has whole seconds
    with pytest.raises(Unauthorized):
        tokens.verify_access(short, token)


def test_tokens_are_signed_with_the_jwt_key_not_the_session_key():
    token = tokens.issue_access(CONFIG, "user-3", 0)
    assert jwt.decode(token, CONFIG["JWT_SECRET_KEY"], algorithms=["HS256"], audience="ewallet-api")["ep"] == 0
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, CONFIG["SECRET_KEY"], algorithms=["HS256"], audience="ewallet-api")


def claims(**overrides) -> dict:
    now = datetime.now(UTC)
    return {"sub": "user-4", "typ": "access", "iat": now, "exp": now + timedelta(minutes=5), "ep": 0,
            "iss": "ewallet", "aud": "ewallet-api", **overrides}


@pytest.mark.parametrize("changed", [{"iss": "someone-else"}, {"aud": "another-api"}, {"aud": ["x", "y"]},
                                     {"ep": None}, {"ep": "0"}, {"ep": True}, {"iss": None}, {"aud": None}])
def test_issuer_audience_and_epoch_are_required_and_checked(changed):
    good = jwt.encode(claims(), CONFIG["JWT_SECRET_KEY"], "HS256")
    assert tokens.verify_access(CONFIG, good) == ("user-4", 0)
    payload = {key: value for key, value in claims(**changed).items() if value is not None}
    with pytest.raises(Unauthorized):
        tokens.verify_access(CONFIG, jwt.encode(payload, CONFIG["JWT_SECRET_KEY"], "HS256"))


def test_a_token_for_another_issuer_or_audience_configuration_is_refused():
    token = tokens.issue_access(CONFIG, "user-5", 0)
    for other in ({**CONFIG, "JWT_ISSUER": "staging"}, {**CONFIG, "JWT_AUDIENCE": "admin-api"}):
        with pytest.raises(Unauthorized):
            tokens.verify_access(other, token)
