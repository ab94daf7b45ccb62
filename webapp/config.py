"""Settings from the environment (names fixed by DESIGN §3), with safe embedded defaults for development."""

from __future__ import annotations

import os
import re
from pathlib import Path

from argon2.profiles import get_default_parameters

from webapp.errors import ConfigurationError
from webapp.strength import MAX_LENGTH, estimate

INSTANCE_DIR = Path(os.environ.get("EWALLET_INSTANCE_DIR", Path.cwd() / "instance"))
DEV_SECRET = "dev-only-secret-never-use-in-production"
DEV_JWT_SECRET = "dev-only-jwt-secret-never-use-in-production"  # its own, so a leak of one is not both
ENVIRONMENTS = ("development", "test", "production")
ARGON2_RECOMMENDED = get_default_parameters()  # argon2-cffi's: RFC 9106's low-memory profile, argon2id


def _bool(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return int(raw) if raw else default


def _limits(raw: str) -> dict[str, int]:
    """Parse "USD:10000,EUR:9000,*:10000" (major units per currency; `*` for any other currency)."""
    limits = {}
    for part in filter(None, (p.strip() for p in raw.split(","))):
        code, _, amount = part.partition(":")
        limits[code.strip().upper()] = int(amount)
    return limits


# Limits by KYC tier, in major units per currency ("USD:5000,EUR:4000,*:10000"; `*` is any other currency,
# an empty value means no limit), from LIMIT_<TIER>_<OPERATION>_<KIND>, e.g. LIMIT_UNVERIFIED_SEND_DAILY.
# "unverified" covers everyone whose identity is not verified (unverified, pending, rejected). "send" is
# money the person pays to someone else: transfers, institution payments and airtime top-ups (one daily
# total, the wallet's daily_sent). Payouts go to the person's own bank and have their own limits; the
# unverified tier has no payouts at all (KYC_REQUIRED), which is the law's, not a setting.
LIMIT_TIERS = ("unverified", "verified")
LIMIT_OPERATIONS = ("deposit", "send", "payout")
LIMIT_KINDS = ("min", "per_tx", "daily")
LIMIT_DEFAULTS = {  # (min, per transaction, daily)
    ("unverified", "deposit"): ("*:1", "*:500", "*:500"),
    ("unverified", "send"): ("", "*:1000", "*:1000"),
    ("verified", "deposit"): ("*:1", "*:5000", "*:10000"),
    ("verified", "send"): ("", "*:10000", "*:25000"),
    ("verified", "payout"): ("", "*:10000", "*:25000"),
}


# The names this table replaced: set, they would be ignored, and a deployment's stricter limits with them.
RETIRED_LIMITS = ("TRANSFER_LIMIT_PER_TX", "TRANSFER_LIMIT_DAILY", "KYC_FREE_TRANSFER_LIMIT", "DEPOSIT_LIMIT_MIN",
                  "DEPOSIT_LIMIT_PER_TX", "DEPOSIT_LIMIT_DAILY", "DEPOSIT_LIMIT_DAILY_UNVERIFIED")


def limit_table(environ) -> dict[str, dict[str, dict[str, dict[str, int]] | None]]:
    """{tier: {operation: {kind: {currency: major units}}, or None where the tier may not do it at all}}."""
    if retired := [name for name in RETIRED_LIMITS if name in environ]:
        raise ConfigurationError(f"{', '.join(retired)} no longer apply: set LIMIT_<TIER>_<OPERATION>_<KIND> "
                                 "instead (README, \"Limits by KYC tier\")")
    table: dict = {tier: dict.fromkeys(LIMIT_OPERATIONS) for tier in LIMIT_TIERS}
    for (tier, operation), defaults in LIMIT_DEFAULTS.items():
        table[tier][operation] = {
            kind: _limits(environ.get(f"LIMIT_{tier}_{operation}_{kind}".upper(), default))
            for kind, default in zip(LIMIT_KINDS, defaults, strict=True)}
    return table


# Automatic risk holds (services/risk.py): each rule freezes outgoing money and flags the account for the
# back office. A count of 0 (or RISK_NEGATIVE_BALANCE=false) turns a rule off.
def risk_rules(environ) -> dict[str, dict[str, int | bool]]:
    def number(name: str, default: int) -> int:
        return int(environ.get(name) or default)

    return {
        # More than `count` transfers to people the sender never paid before, within `minutes`.
        "new_recipients": {"count": number("RISK_NEW_RECIPIENTS_COUNT", 5),
                           "minutes": number("RISK_NEW_RECIPIENTS_MINUTES", 10)},
        # `count` PIN lockouts of the person within `hours` (sign-in lockouts don't count: strangers cause them).
        "lockouts": {"count": number("RISK_LOCKOUTS_COUNT", 2), "hours": number("RISK_LOCKOUTS_HOURS", 24)},
        # A card refund or lost dispute left a wallet below zero.
        "negative_balance": {"enabled": _bool(environ.get("RISK_NEGATIVE_BALANCE"), True)},
    }


def from_environment() -> dict:
    env = os.environ.get("EWALLET_ENV", "development")
    return {
        "EWALLET_ENV": env,
        "SECRET_KEY": os.environ.get("SECRET_KEY", DEV_SECRET),
        "DATABASE_URL": os.environ.get("DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'ewallet.db'}"),
        # Seconds a unit of work keeps retrying deadlocks and lost connections (webapp/db.py), then 503.
        "DB_RETRY_BUDGET": float(os.environ.get("DB_RETRY_BUDGET") or 2.0),
        "REDIS_URL": os.environ.get("REDIS_URL", ""),
        "STRIPE_SECRET_KEY": os.environ.get("STRIPE_SECRET_KEY", ""),
        "STRIPE_PUBLISHABLE_KEY": os.environ.get("STRIPE_PUBLISHABLE_KEY", ""),
        "STRIPE_WEBHOOK_SECRET": os.environ.get("STRIPE_WEBHOOK_SECRET", ""),
        "STRIPE_API_BASE": os.environ.get("STRIPE_API_BASE", ""),
        "STRIPE_JS_URL": os.environ.get("STRIPE_JS_URL", "https://js.stripe.com/v3/"),
        "UPLOAD_DIR": os.environ.get("UPLOAD_DIR", str(INSTANCE_DIR / "uploads")),
        "JWT_ACCESS_TTL": _int("JWT_ACCESS_TTL", 900),  # seconds
        "JWT_REFRESH_TTL": _int("JWT_REFRESH_TTL", 30 * 24 * 3600),  # seconds
        "JWT_SECRET_KEY": os.environ.get("JWT_SECRET_KEY", DEV_JWT_SECRET),  # signs access tokens only
        "JWT_ISSUER": os.environ.get("JWT_ISSUER", "ewallet"),  # `iss` of every access token, checked
        "JWT_AUDIENCE": os.environ.get("JWT_AUDIENCE", "ewallet-api"),  # `aud`, checked
        # Proxies in front of the app whose X-Forwarded-For/-Proto/-Host are trusted (Werkzeug's ProxyFix):
        # 0 when clients connect directly; behind one TLS proxy, 1. More than there are lets clients forge
        # their address, fewer makes every client look like the proxy.
        "PROXY_FIX_HOPS": _int("PROXY_FIX_HOPS", 0),
        "SESSION_IDLE_TIMEOUT": _int("SESSION_IDLE_TIMEOUT", 30 * 60),  # seconds without a request
        "SESSION_MAX_AGE": _int("SESSION_MAX_AGE", 12 * 3600),  # seconds since sign-in, however active
        # The cost of every new argon2id hash of a password or PIN (services/accounts.hasher_for): passes, and
        # KiB of memory per hash. The library's recommended cost, or more; production refuses less.
        "ARGON2_TIME_COST": _int("ARGON2_TIME_COST", ARGON2_RECOMMENDED.time_cost),
        "ARGON2_MEMORY_COST": _int("ARGON2_MEMORY_COST", ARGON2_RECOMMENDED.memory_cost),
        "RATELIMIT_ENABLED": _bool(os.environ.get("RATELIMIT_ENABLED"), True),
        "DEFAULT_PHONE_REGION": os.environ.get("DEFAULT_PHONE_REGION", "US").upper(),
        "DEFAULT_CURRENCY": os.environ.get("DEFAULT_CURRENCY", "USD").upper(),
        # Limits by KYC tier × operation (limit_table above), and the automatic risk holds' rules (risk_rules).
        "LIMITS": limit_table(os.environ),
        "RISK_RULES": risk_rules(os.environ),
        # Seconds a card deposit may stay unpaid; then the periodic sweep cancels its PaymentIntent and it
        # ends failed, no longer counting toward the day's limit (services/deposit_expiry.py).
        "DEPOSIT_PENDING_TTL": _int("DEPOSIT_PENDING_TTL", 3600),
        # Wrong transaction PINs in a row that lock the person's outgoing money, and for how many seconds.
        "PIN_MAX_FAILURES": _int("PIN_MAX_FAILURES", 5),
        "PIN_LOCK_SECONDS": _int("PIN_LOCK_SECONDS", 15 * 60),
        "LOGIN_MAX_FAILURES": _int("LOGIN_MAX_FAILURES", 5),
        "LOGIN_LOCKOUT_SECONDS": _int("LOGIN_LOCKOUT_SECONDS", 15 * 60),
        "MAX_CONTENT_LENGTH": _int("MAX_CONTENT_LENGTH", 16 * 1024 * 1024),  # bytes; KYC images fit
        "API_MAX_JSON_BYTES": _int("API_MAX_JSON_BYTES", 64 * 1024),
        "LOG_LEVEL": os.environ.get("LOG_LEVEL", "INFO"),
        # smtp://[user:pass@]host:port[?starttls=1], smtps://… (implicit TLS), dummy: (drop all mail);
        # unset prints each message to the console (webapp/mail.py turns this into Flask-Mailman settings).
        "MAIL_URL": os.environ.get("MAIL_URL", ""),
        "MAIL_FROM": os.environ.get("MAIL_FROM", "E-Wallet <no-reply@localhost>"),
        # Where people reach the wallet, for links in emails (a worker has no request to take a host from,
        # and a request's Host header is the attacker's to choose). Unset: the request's host, else loopback.
        "PUBLIC_URL": os.environ.get("PUBLIC_URL", "").rstrip("/"),
        "PASSWORD_RESET_TTL": _int("PASSWORD_RESET_TTL", 3600),  # seconds a reset link stays usable
        "EMAIL_VERIFY_TTL": _int("EMAIL_VERIFY_TTL", 24 * 3600),  # seconds an email confirmation link works
        "PHONE_CODE_TTL": _int("PHONE_CODE_TTL", 600),  # seconds a texted confirmation code works
        # "sandbox" prints texts (never in production) and keeps them for tests; "package.module:Class" is
        # a real gateway, called as Class(config).send(to, text) (webapp/providers/sms.py).
        "SMS_PROVIDER": os.environ.get("SMS_PROVIDER", "sandbox"),
        # "sandbox" (the default) tokenizes bank accounts locally and pays out by the account's last four digits
        # (DESIGN §9); "package.module:Class" is a real payout provider, called as Class(config) (providers/bank.py).
        "PAYOUT_PROVIDER": os.environ.get("PAYOUT_PROVIDER", "sandbox"),
        # A payout whose bank timed out is tried again PAYOUT_RETRY_MAX times, PAYOUT_RETRY_BASE seconds
        # after the first failure and twice as long after each next one; then it fails, its hold released.
        "PAYOUT_RETRY_MAX": _int("PAYOUT_RETRY_MAX", 5),
        "PAYOUT_RETRY_BASE": _int("PAYOUT_RETRY_BASE", 30),
        # Seconds a payout attempt may take before another worker may take it over (its worker died): more
        # than the provider's own timeout. The scheduler's sweep finds such payouts (services/payout_runs.py).
        "PAYOUT_LEASE": _int("PAYOUT_LEASE", 300),
        # Seconds the sandbox bank takes per payout call (0): a slow bank, for tests and benchmarks.
        "SANDBOX_PAYOUT_DELAY": float(os.environ.get("SANDBOX_PAYOUT_DELAY") or 0),
        # "sandbox" (the default) tops up nothing and behaves by the number's last four digits (DESIGN §9);
        # "package.module:Class" is a real airtime aggregator, called as Class(config) (providers/airtime.py).
        "TOPUP_PROVIDER": os.environ.get("TOPUP_PROVIDER", "sandbox"),
        # As the PAYOUT_ ones, for top-ups (services/topup_runs.py): an aggregator that timed out, or whose
        # operator has not confirmed yet, is asked again TOPUP_RETRY_MAX times, TOPUP_RETRY_BASE seconds
        # after the first and twice as long after each next; TOPUP_LEASE seconds before a worker counts as lost.
        "TOPUP_RETRY_MAX": _int("TOPUP_RETRY_MAX", 5),
        "TOPUP_RETRY_BASE": _int("TOPUP_RETRY_BASE", 30),
        "TOPUP_LEASE": _int("TOPUP_LEASE", 300),
        # Reloadly, when TOPUP_PROVIDER=webapp.providers.reloadly:ReloadlyTopups (providers/reloadly.py): the API
        # client's id and secret; its sandbox (the default, which delivers nothing) or live; a local stand-in's
        # base URL (tests; unset = Reloadly); seconds per HTTP request; our operator ids → Reloadly's ("us-att:1234,…").
        "RELOADLY_CLIENT_ID": os.environ.get("RELOADLY_CLIENT_ID", ""),
        "RELOADLY_CLIENT_SECRET": os.environ.get("RELOADLY_CLIENT_SECRET", ""),
        "RELOADLY_SANDBOX": _bool(os.environ.get("RELOADLY_SANDBOX"), True),
        "RELOADLY_API_BASE": os.environ.get("RELOADLY_API_BASE", ""),
        "RELOADLY_TIMEOUT": float(os.environ.get("RELOADLY_TIMEOUT") or 20),
        "RELOADLY_OPERATORS": os.environ.get("RELOADLY_OPERATORS", ""),
        # Seconds between runs of the workers' periodic work (jobs/periodic.py): hold expiry, key expiry, sweeps.
        "PERIODIC_INTERVAL": _int("PERIODIC_INTERVAL", 60),
        # Seconds between two settlements of one institution's balance to its bank (services/settlements.py):
        # a day, so each institution gets one payout a day rather than one a minute.
        "SETTLEMENT_INTERVAL": _int("SETTLEMENT_INTERVAL", 86400),
        "JOB_QUEUE": os.environ.get("JOB_QUEUE", "default"),  # the RQ queue; lets deployments share a Redis
        # /metrics answers only "Authorization: Bearer <token>"; unset, it is a 404 (not public by default).
        "METRICS_TOKEN": os.environ.get("METRICS_TOKEN", ""),
        # Where the content-hashed static files are built (webapp/assets.py); unset = instance/static-build.
        "STATIC_BUILD_DIR": os.environ.get("STATIC_BUILD_DIR", ""),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": env == "production",
        "REMEMBER_COOKIE_SECURE": env == "production",
        "WTF_CSRF_TIME_LIMIT": None,  # token lives as long as the session; forms left open still submit
    }


def check_production(config: dict) -> None:
    """Any environment refuses an EWALLET_ENV it does not know (a typo must not quietly mean "not
    production"); production also refuses weak or shared secrets, SQLite, no Redis and no rate limits."""
    if config["EWALLET_ENV"] not in ENVIRONMENTS:
        raise ConfigurationError(f"EWALLET_ENV must be one of {', '.join(ENVIRONMENTS)}, "
                                 f"not {config['EWALLET_ENV']!r}")
    if config["PROXY_FIX_HOPS"] < 0:
        raise ConfigurationError("PROXY_FIX_HOPS must be 0 or more")
    if config["EWALLET_ENV"] != "production":
        return
    problems = []
    for key in ("SECRET_KEY", "JWT_SECRET_KEY"):
        if weak_secret(config[key]) or config[key] in (DEV_SECRET, DEV_JWT_SECRET):
            problems.append(f"{key} must be a random value of at least 32 characters (e.g. `openssl rand "
                            f"-hex 32`), without repeats or words")
    if config["SECRET_KEY"] == config["JWT_SECRET_KEY"]:
        problems.append("JWT_SECRET_KEY must differ from SECRET_KEY")
    if not config["RATELIMIT_ENABLED"]:
        problems.append("RATELIMIT_ENABLED must stay on (login and money endpoints rely on it)")
    if config["DATABASE_URL"].startswith("sqlite"):
        problems.append("DATABASE_URL must point at MySQL/MariaDB")
    if (config.get("ARGON2_TIME_COST", ARGON2_RECOMMENDED.time_cost) < ARGON2_RECOMMENDED.time_cost
            or config.get("ARGON2_MEMORY_COST", ARGON2_RECOMMENDED.memory_cost) < ARGON2_RECOMMENDED.memory_cost):
        problems.append(f"ARGON2_TIME_COST / ARGON2_MEMORY_COST must be at least {ARGON2_RECOMMENDED.time_cost} / "
                        f"{ARGON2_RECOMMENDED.memory_cost} (argon2-cffi's recommended cost)")
    if not config["REDIS_URL"]:
        problems.append("REDIS_URL must be set (jobs and rate limits)")
    if not config["PUBLIC_URL"].startswith("https://"):
        problems.append("PUBLIC_URL must be the wallet's https:// address (links in emails)")
    for key in ("STRIPE_SECRET_KEY", "STRIPE_PUBLISHABLE_KEY", "STRIPE_WEBHOOK_SECRET"):
        if not config[key]:
            problems.append(f"{key} must be set")
    if config["STRIPE_API_BASE"]:  # a local Stripe (localstripe) in production would take no real money
        problems.append("STRIPE_API_BASE must be unset in production (it points the SDK away from Stripe)")
    for provider in ("PAYOUT_PROVIDER", "TOPUP_PROVIDER"):  # a sandbox would take people's money and send none
        if config[provider] == "sandbox":
            problems.append(f"{provider} must name a real provider in production, not the sandbox")
    if config["TOPUP_PROVIDER"].replace(":", ".") == "webapp.providers.reloadly.ReloadlyTopups":
        from webapp.providers.reloadly import production_problems  # only then: it imports requests

        problems += production_problems(config)
    if problems:
        raise ConfigurationError("; ".join(problems))


# A secret worth the name: long, many distinct characters, not one chunk over and over ("abcabc…", a
# uuid twice), and hardly any of it guessable by zxcvbn (words, keyboard walks, sequences, dates).
# zxcvbn prices an unknown character at 10 guesses, so a random key scores about 10^length: random hex
# keys of 32 characters scored at least 10^28.3 in 1,500 tries, a phrase such as
# "my-wallet-secret-key-for-production" 10^23.4. zxcvbn reads at most 72 characters.
MIN_SECRET_LENGTH = 32
MIN_GUESSES_LOG10_PER_CHARACTER = 0.75


def weak_secret(secret: str) -> bool:
    if len(secret) < MIN_SECRET_LENGTH or len(set(secret)) < 8:
        return True
    if re.fullmatch(rf"(.+?)\1+.{{0,{len(secret) // 3}}}", secret, re.DOTALL):
        return True  # a repeated unit, allowing a short tail: "Tr0ub4dor&3-Tr0ub4dor&3-Tr0ub4dor&3"
    checked = min(len(secret), MAX_LENGTH)
    return estimate(secret)["guesses_log10"] < MIN_GUESSES_LOG10_PER_CHARACTER * checked
