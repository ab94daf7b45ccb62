"""Stripe settings: production never talks to a local Stripe, and the CSP lets the card page reach Stripe's
own origins (or, in dev and tests, localstripe's one origin) and nothing else."""

from __future__ import annotations

import pytest

from webapp import _stripe_sources
from webapp.config import check_production
from webapp.errors import ConfigurationError

STRONG = "b7f0c1e9a4d2f8e6c3a5b9d1e7f2a4c8b6d0e3f5a7c9b1d4"


def production(**overrides) -> dict:
    config = {"EWALLET_ENV": "production", "PROXY_FIX_HOPS": 0, "SECRET_KEY": STRONG, "JWT_SECRET_KEY": STRONG[::-1],
              "RATELIMIT_ENABLED": True, "DATABASE_URL": "mysql+pymysql://wallet@db/wallet",
              "REDIS_URL": "redis://redis:6379/0", "PUBLIC_URL": "https://wallet.example.com",
              "STRIPE_SECRET_KEY": "sk_live_x", "STRIPE_PUBLISHABLE_KEY": "pk_live_x",
              "STRIPE_WEBHOOK_SECRET": "whsec_x", "STRIPE_API_BASE": "", "STRIPE_JS_URL": "https://js.stripe.com/v3/"}
    return {**config, **overrides}


def test_production_starts_on_real_stripe():
    check_production(production())


def test_production_refuses_a_local_stripe():
    with pytest.raises(ConfigurationError, match="STRIPE_API_BASE"):
        check_production(production(STRIPE_API_BASE="http://127.0.0.1:8420"))


def test_development_may_use_localstripe():
    check_production(production(EWALLET_ENV="development", STRIPE_API_BASE="http://127.0.0.1:8420"))


def test_real_stripe_gets_its_documented_origins_only():
    sources = _stripe_sources({"STRIPE_JS_URL": "https://js.stripe.com/v3/", "STRIPE_API_BASE": ""})
    assert sources == {"script": "https://js.stripe.com https://*.js.stripe.com",
                       "frame": "https://js.stripe.com https://*.js.stripe.com https://hooks.stripe.com",
                       "connect": "https://api.stripe.com"}


def test_localstripe_is_one_origin_for_script_frames_and_api():
    base = "http://127.0.0.1:8420"
    sources = _stripe_sources({"STRIPE_JS_URL": f"{base}/js.stripe.com/v3/ewallet-standin.js", "STRIPE_API_BASE": base})
    assert sources == {"script": base, "frame": base, "connect": base}
