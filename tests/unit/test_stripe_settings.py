"""Stripe settings: production never talks to a local Stripe, and the CSP lets the card page reach Stripe's
own origins (or, in dev and tests, localstripe's one origin) and nothing else."""

from __future__ import annotations

import pytest

from tests.unit.test_config import production  # settings that pass every other production check
from webapp import _stripe_sources
from webapp.config import check_production
from webapp.errors import ConfigurationError


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
