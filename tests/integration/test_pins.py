"""Setting and changing the transaction PIN: the password proves it is the holder, obvious PINs are refused
with the reason next to the field, the PIN is stored only as an argon2id hash, and both are audited."""

from __future__ import annotations

from datetime import timedelta

import pytest
from argon2 import PasswordHasher
from argon2.exceptions import VerifyMismatchError

from tests.conftest import PASSWORD
from tests.integration.pin_support import PIN, events, set_pin, user_row
from tests.integration.test_api_support import assert_field_error, assert_success, set_user
from webapp.errors import ValidationError
from webapp.extensions import new_uow
from webapp.models.base import utcnow
from webapp.services import pins


def put_pin(user, **body):
    return user.client.put("/api/v1/pin", json=body, headers=user.headers)


@pytest.mark.parametrize(("pin", "says"), [
    ("0000", "Four of the same digit"), ("7777", "Four of the same digit"),
    ("1234", "Digits in a row"), ("4321", "Digits in a row"), ("7890", "Digits in a row"), ("0987", "Digits in a row"),
    ("123", "exactly 4 digits"), ("12345", "exactly 4 digits"), ("12a4", "exactly 4 digits"),
    ("\u0664\u0668\u0662\u0669", "exactly 4 digits"),  # Arabic-Indic digits: str.isdigit() says yes, we say no
    ("4829\n", "exactly 4 digits"), ("", "exactly 4 digits"),
])
def test_obvious_or_malformed_pins_are_refused_next_to_the_field(app, wallets, pin, says):
    user = wallets.user()
    with app.app_context(), pytest.raises(ValidationError) as refused:
        pins.set_pin(new_uow(), user_id=user.id, password=PASSWORD, pin=pin, confirm=pin)
    assert set(refused.value.fields) == {"pin"} and says in refused.value.fields["pin"]
    assert user_row(app, user.id).pin_hash is None


def test_every_problem_at_once_and_nothing_stored(app, wallets):
    user = wallets.user()
    with app.app_context(), pytest.raises(ValidationError) as refused:
        pins.set_pin(new_uow(), user_id=user.id, password="not-my-password", pin="1111", confirm="1111")
    assert refused.value.fields == {"password": "This is not your password.",
                                    "pin": "Four of the same digit is among the first PINs anyone tries."}
    with app.app_context(), pytest.raises(ValidationError) as mismatch:
        pins.set_pin(new_uow(), user_id=user.id, password=PASSWORD, pin=PIN, confirm="4830")
    assert mismatch.value.fields == {"confirm": "The two PINs do not match."}
    assert user_row(app, user.id).pin_hash is None
    assert events(app, user.id).count("pin_change_refused") == 2


def test_the_pin_is_an_argon2id_hash_never_the_password_and_set_then_changed_is_audited(app, wallets):
    user = wallets.user()
    set_pin(app, user.id)
    stored = user_row(app, user.id).pin_hash
    assert stored.startswith("$argon2id$") and PIN not in stored
    assert PasswordHasher().verify(stored, PIN)
    with pytest.raises(VerifyMismatchError):  # the PIN's hash is not one of the password
        PasswordHasher().verify(stored, PASSWORD)
    assert user_row(app, user.id).password_hash != stored
    set_pin(app, user.id, "0852")
    assert PasswordHasher().verify(user_row(app, user.id).pin_hash, "0852")
    assert [e for e in events(app, user.id) if e.startswith("pin_")] == ["pin_set", "pin_changed"]


def test_changing_the_pin_does_not_lift_a_running_lock(app, wallets):
    user = wallets.user()
    set_pin(app, user.id)
    until = (utcnow() + timedelta(minutes=10)).replace(microsecond=0)
    set_user(app, user.id, pin_locked_until=until, pin_failures=0)
    set_pin(app, user.id, "0852")
    assert user_row(app, user.id).pin_locked_until == until


def test_the_app_sets_and_changes_it_with_the_password(wallets):
    user = wallets.user()
    assert assert_success(user.get("/pin")) == {"pin": {"is_set": False, "locked_until": None}}
    refused = assert_field_error(put_pin(user, password="not-my-password", pin="1234"), "password", "pin")
    assert "Digits in a row" in refused["details"]["fields"]["pin"]
    assert assert_success(put_pin(user, password=PASSWORD, pin=PIN)) == {"pin": {"is_set": True, "locked_until": None}}
    assert assert_success(user.get("/pin"))["pin"]["is_set"] is True
    assert_field_error(put_pin(user, password=PASSWORD, pin=4829), "pin")  # a number would lose leading zeros
    assert_success(put_pin(user, password=PASSWORD, pin="0852"))
    assert put_pin(user, password=PASSWORD).status_code == 422
