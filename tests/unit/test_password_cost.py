"""Argon2id at the library's recommended cost unless configured higher; the suite's cheap cost (tests/conftest.py)
is for tests only, since production refuses anything less."""

import pytest
from argon2 import PasswordHasher, Type, extract_parameters
from argon2.profiles import RFC_9106_LOW_MEMORY

from tests.unit.test_config import production, refusal
from webapp import config as settings
from webapp.services import accounts
from webapp.services.accounts import hasher_for


def test_by_default_a_password_is_hashed_with_argon2id_at_the_recommended_cost(monkeypatch):
    monkeypatch.delenv("ARGON2_TIME_COST", raising=False)
    monkeypatch.delenv("ARGON2_MEMORY_COST", raising=False)
    made = extract_parameters(hasher_for(settings.from_environment()).hash("correct-horse-battery"))
    assert made.type is Type.ID and (made.time_cost, made.memory_cost, made.parallelism) == (3, 65536, 4)
    assert made == RFC_9106_LOW_MEMORY == extract_parameters(PasswordHasher().hash("x"))  # the library's default
    assert extract_parameters(accounts.hasher.hash("x")) == made  # for callers with no config at hand


def test_a_configured_cost_is_what_new_hashes_get_and_the_dummy_check_costs_the_same():
    cheap = hasher_for({"ARGON2_TIME_COST": 1, "ARGON2_MEMORY_COST": 256})
    made = extract_parameters(cheap.hash("correct-horse-battery"))
    assert (made.type, made.time_cost, made.memory_cost) == (Type.ID, 1, 256)
    assert extract_parameters(accounts._dummy_hash(cheap)) == made
    assert hasher_for({}).check_needs_rehash(cheap.hash("x"))  # at the next login, production rehashes it


@pytest.mark.parametrize("setting", [{"ARGON2_TIME_COST": 2}, {"ARGON2_MEMORY_COST": 65535},
                                     {"ARGON2_TIME_COST": 1, "ARGON2_MEMORY_COST": 256}])
def test_production_refuses_a_cost_below_the_recommended_one(setting):
    assert "ARGON2_TIME_COST / ARGON2_MEMORY_COST must be at least 3 / 65536" in refusal(production(**setting))
    settings.check_production(production(ARGON2_TIME_COST=4, ARGON2_MEMORY_COST=131072))  # more is fine
