"""The e-wallet Flask application: create_app wires config, extensions, blueprints and error handlers."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from webapp import assets
from webapp import config as settings
from webapp.extensions import CookieSessions, csrf, htmx, init_database, limiter, login_manager
from webapp.logs import configure_logging, init_request_logging


def create_app(test_config: dict | None = None) -> Flask:
    # static_folder=None: WhiteNoise serves /static/ (hashed names, long cache, gzip; webapp/assets.py),
    # so exactly one thing answers there and an unhashed name is a 404, never a stale file.
    app = Flask(__name__, instance_path=str(settings.INSTANCE_DIR), static_folder=None)
    app.config.update(settings.from_environment())
    if test_config:
        app.config.update(test_config)
    settings.check_production(app.config)
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config["REDIS_URL"] or "memory://")
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)

    configure_logging(app.config["LOG_LEVEL"])
    app.session_interface = CookieSessions()
    init_database(app)
    csrf.init_app(app)
    htmx.init_app(app)
    login_manager.init_app(app)
    limiter.init_app(app)
    init_request_logging(app)
    _register_blueprints(app)
    _security_headers(app)
    assets.init_app(app)
    _trust_proxies(app)
    return app


def _trust_proxies(app: Flask) -> None:
    """Behind PROXY_FIX_HOPS proxies, take the client's address, scheme and host from the X-Forwarded-*
    headers those proxies set (and nothing a client sent past them). Rate limits and login blocks are per
    client address: without this every client would share the proxy's. Outermost, so all of the app,
    static files included, sees the same request."""
    hops = app.config["PROXY_FIX_HOPS"]
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)


def _register_blueprints(app: Flask) -> None:
    from webapp import errorhandlers, ops
    from webapp.admin import bp as admin_bp
    from webapp.api import bp as api_bp
    from webapp.web import bp as web_bp

    ops.init_metrics(app)
    app.register_blueprint(ops.bp)
    app.register_blueprint(api_bp, url_prefix="/api/v1")
    csrf.exempt(api_bp)  # bearer tokens, never cookies: there is no ambient credential to forge
    app.register_blueprint(web_bp)
    app.register_blueprint(admin_bp)
    errorhandlers.init_app(app)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _stripe_sources(config) -> dict[str, str]:
    """What the card page's Stripe.js needs and nothing more (PCI SAQ A: card data goes from Stripe's own
    frames straight to Stripe). Real Stripe.js loads from js.stripe.com, draws the Payment Element in frames
    from *.js.stripe.com, shows 3-D Secure from hooks.stripe.com and calls api.stripe.com
    (https://docs.stripe.com/security/guide#content-security-policy). In dev and tests both the stand-in
    script and the API are localstripe, so its one origin is all there is."""
    js = _origin(config["STRIPE_JS_URL"])
    api = _origin(config["STRIPE_API_BASE"]) if config["STRIPE_API_BASE"] else "https://api.stripe.com"
    if js != "https://js.stripe.com":
        return {"script": js, "frame": js, "connect": " ".join(dict.fromkeys([js, api]))}
    return {"script": f"{js} https://*.js.stripe.com", "frame": f"{js} https://*.js.stripe.com https://hooks.stripe.com",
            "connect": api}


def _security_headers(app: Flask) -> None:
    stripe = _stripe_sources(app.config)
    csp = "; ".join([
        "default-src 'self'",
        f"script-src 'self' {stripe['script']}",
        f"frame-src {stripe['frame']}",
        f"connect-src 'self' {stripe['connect']}",
        "img-src 'self' data: blob:",
        "style-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ])

    defaults = [
        ("Content-Security-Policy", csp),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "same-origin"),
        ("X-Frame-Options", "DENY"),
        ("Permissions-Policy", "camera=(self), geolocation=(), microphone=()"),
        # Balances, history, receipts, fragments and API answers must never sit in a browser or proxy
        # cache, and a no-store page is fetched again on Back, which the send flow relies on. A view that
        # sets its own Cache-Control keeps it; static files never come here (WhiteNoise answers first).
        ("Cache-Control", "no-store"),
    ]
    if app.config["EWALLET_ENV"] == "production":
        defaults.append(("Strict-Transport-Security", "max-age=63072000; includeSubDomains"))
    # Every response pays for this hook. A Headers.setdefault call per default scans the list each time;
    # one pass collecting the names present does the same job (a view's own header still wins).
    defaults = tuple((name.lower(), name, value) for name, value in defaults)

    @app.after_request
    def _headers(response):
        headers = response.headers
        present = {name.lower() for name, _ in headers}
        for lowered, name, value in defaults:
            if lowered not in present:
                headers.add(name, value)
        return response
