"""Production refuses to start unsafe (issue 8, point 8), and no environment starts under a name it does
not know."""

import secrets
import uuid

import pytest

from webapp import config as settings
from webapp.errors import ConfigurationError


def production(**overrides) -> dict:
    """Settings that pass every production check; each test breaks exactly one."""
    config = settings.from_environment()
    config.update({
        "EWALLET_ENV": "production", "SECRET_KEY": secrets.token_hex(32), "JWT_SECRET_KEY": secrets.token_urlsafe(48),
        "DATABASE_URL": "mysql+pymysql://wallet:pw@db/wallet", "REDIS_URL": "redis://redis:6379/0",
        "PUBLIC_URL": "https://wallet.example.com", "STRIPE_SECRET_KEY": "sk_live_x", "RATELIMIT_ENABLED": True,
        "STRIPE_PUBLISHABLE_KEY": "pk_live_x", "STRIPE_WEBHOOK_SECRET": "whsec_x", "PROXY_FIX_HOPS": 1,
        "PAYOUT_PROVIDER": "stripe", "TOPUP_PROVIDER": "aggregator.adapter:Topups",
    })
    config.update(overrides)
    return config


def refusal(config: dict) -> str:
    with pytest.raises(ConfigurationError) as refused:
        settings.check_production(config)
    return str(refused.value)


def test_good_production_settings_start():
    settings.check_production(production())


@pytest.mark.parametrize("env", ["prod", "Production", "staging", "", "production "])
def test_an_unknown_environment_never_starts(env):
    assert "EWALLET_ENV must be one of development, test, production" in refusal(production(EWALLET_ENV=env))


@pytest.mark.parametrize("key", ["SECRET_KEY", "JWT_SECRET_KEY"])
@pytest.mark.parametrize("value", [
    "",
    secrets.token_hex(15),  # 30 characters: too short
    "abc" * 20,  # one chunk, repeated
    uuid.uuid4().hex * 2,  # random, but twice
    "Tr0ub4dor&3-Tr0ub4dor&3-Tr0ub4dor&3",
    "0123456789abcdefghijklmnopqrstuvwxyz",  # a sequence
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" + "bcdefghijk",  # few distinct characters
    "my-wallet-secret-key-for-production",  # words
    settings.DEV_SECRET,
    settings.DEV_JWT_SECRET,
])
def test_weak_or_patterned_secrets_are_refused(key, value):
    assert f"{key} must be a random value" in refusal(production(**{key: value}))


def test_the_two_keys_must_differ():
    same = secrets.token_hex(32)
    assert "JWT_SECRET_KEY must differ from SECRET_KEY" in refusal(production(SECRET_KEY=same, JWT_SECRET_KEY=same))


def test_the_jwt_key_must_be_set_in_production(monkeypatch):
    monkeypatch.delenv("JWT_SECRET_KEY", raising=False)
    config = production()
    config["JWT_SECRET_KEY"] = settings.from_environment()["JWT_SECRET_KEY"]
    assert config["JWT_SECRET_KEY"] == settings.DEV_JWT_SECRET != settings.DEV_SECRET
    assert "JWT_SECRET_KEY must be a random value" in refusal(config)


def test_rate_limits_cannot_be_turned_off_in_production():
    assert "RATELIMIT_ENABLED must stay on" in refusal(production(RATELIMIT_ENABLED=False))
    settings.check_production(production(EWALLET_ENV="test", RATELIMIT_ENABLED=False))  # benchmarks may


def test_every_problem_is_named_at_once():
    message = refusal(production(SECRET_KEY="short", JWT_SECRET_KEY="short", RATELIMIT_ENABLED=False))
    assert all(part in message for part in ("SECRET_KEY must", "JWT_SECRET_KEY must", "differ", "RATELIMIT"))


def test_proxy_hops_cannot_be_negative():
    assert "PROXY_FIX_HOPS" in refusal(production(EWALLET_ENV="development", PROXY_FIX_HOPS=-1))


def test_defaults(monkeypatch):
    for name in ("PROXY_FIX_HOPS", "SESSION_IDLE_TIMEOUT", "SESSION_MAX_AGE", "JWT_ISSUER", "JWT_AUDIENCE"):
        monkeypatch.delenv(name, raising=False)
    config = settings.from_environment()
    assert (config["PROXY_FIX_HOPS"], config["SESSION_IDLE_TIMEOUT"], config["SESSION_MAX_AGE"]) == (0, 1800, 43200)
    assert (config["JWT_ISSUER"], config["JWT_AUDIENCE"]) == ("ewallet", "ewallet-api")


@pytest.mark.parametrize("provider", ["PAYOUT_PROVIDER", "TOPUP_PROVIDER"])
def test_production_refuses_a_sandbox_that_would_take_money_and_send_none(provider):
    assert f"{provider} must name a real provider in production" in refusal(production(**{provider: "sandbox"}))


def test_a_retired_limit_setting_refuses_to_start_rather_than_be_ignored():
    with pytest.raises(ConfigurationError, match="TRANSFER_LIMIT_DAILY no longer apply"):
        settings.limit_table({"TRANSFER_LIMIT_DAILY": "*:100"})
