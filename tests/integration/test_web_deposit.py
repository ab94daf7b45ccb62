"""The "Add money" pages with the Flask test client, against localstripe: the form's problems all at once with
Post/Redirect/Get, the review whose double tap starts one deposit, the card page's wiring for Stripe.js and its
CSP, and the status fragment that polls only while the deposit is pending."""

from __future__ import annotations

from tests.conftest import PASSWORD
from webapp import _stripe_sources
from webapp.extensions import new_uow
from webapp.models import Transaction

AMOUNT_ERROR = 'id="e-amount" aria-live="polite">'


def sign_in(client, user) -> None:
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 303, response.get_data(as_text=True)


def card_page(client, user, amount="25.00") -> str:
    """Form → review → Continue: the card page's URL."""
    review = client.post("/add-money", data={"wallet": user.wallet()["id"], "amount": amount})
    assert review.status_code == 303 and review.location.startswith("/add-money/review/"), review.location
    started = client.post(review.location)
    assert started.status_code == 303 and started.location.startswith("/add-money/"), started.location
    return started.location.split("?")[0]  # the draft rides along only to prefill "Try again"


def test_the_dashboard_tile_leads_to_the_form(client, wallets):
    sign_in(client, wallets.user())
    assert 'href="/add-money"' in client.get("/").get_data(as_text=True)
    assert 'name="amount"' in client.get("/add-money").get_data(as_text=True)


def test_a_form_with_problems_comes_back_by_get_with_each_problem(client, wallets):
    user = wallets.user()
    sign_in(client, user)
    response = client.post("/add-money", data={"wallet": user.wallet()["id"], "amount": "12.345"})
    assert response.status_code == 303 and response.location == "/add-money"
    html = client.get("/add-money").get_data(as_text=True)
    assert f"{AMOUNT_ERROR}USD amounts have at most 2 decimal places.<" in html and 'value="12.345"' in html
    assert AMOUNT_ERROR + "<" in client.get("/add-money").get_data(as_text=True)  # shown once, then gone


def test_a_double_tap_on_continue_starts_one_deposit(client, wallets, app):
    user = wallets.user()
    sign_in(client, user)
    review = client.post("/add-money", data={"wallet": user.wallet()["id"], "amount": "25.00"})
    assert 'data-testid="confirm-amount">$25.00<' in client.get(review.location).get_data(as_text=True)
    first, second = client.post(review.location), client.post(review.location)
    assert first.location == second.location
    with app.app_context(), new_uow() as uow:
        deposits = uow.session.query(Transaction).filter_by(user_id=user.id, kind="deposit").all()
    assert [(tx.amount, tx.status) for tx in deposits] == [(2500, "pending")]


def test_the_card_page_wires_stripe_js_by_data_attributes_and_its_csp_allows_only_stripe(client, wallets, app):
    user = wallets.user()
    sign_in(client, user)
    response = client.get(card_page(client, user))
    html, csp = response.get_data(as_text=True), response.headers["Content-Security-Policy"]
    base = app.config["STRIPE_API_BASE"]
    assert f'<script src="{app.config["STRIPE_JS_URL"]}" defer></script>' in html
    assert 'data-client-secret="pi_' in html
    assert f'data-publishable-key="{app.config["STRIPE_PUBLISHABLE_KEY"]}"' in html
    assert "<script>" not in html and "The card form needs JavaScript" in html  # in <noscript>
    assert response.headers["Cache-Control"] == "no-store"  # the client secret never sits in a cache
    stripe = _stripe_sources(app.config)  # tests/unit/test_stripe_settings.py checks what these are
    assert f"script-src 'self' {stripe['script']};" in csp and f"frame-src {stripe['frame']};" in csp
    assert f"connect-src 'self' {stripe['connect']};" in csp and base in stripe["connect"]


def test_someone_elses_deposit_is_not_found(client, wallets):
    owner, other = wallets.user(), wallets.user()
    sign_in(client, owner)
    url = card_page(client, owner)
    client.post("/logout")
    sign_in(client, other)
    assert client.get(url).status_code == 404
    assert client.get(url + "/status").status_code == 404


def test_the_status_polls_while_pending_and_stops_once_final(client, wallets, app):
    user = wallets.user()
    sign_in(client, user)
    url = card_page(client, user)
    pending = client.get(url + "/status").get_data(as_text=True)
    assert 'data-status="pending"' in pending and 'hx-trigger="load delay:1s"' in pending
    transaction_id = url.split("/")[-1]
    with app.app_context(), new_uow() as uow:  # what the webhook records on a decline
        tx = uow.session.get(Transaction, transaction_id)
        tx.status, tx.meta = "failed", {"reason": "Your card was declined."}
        uow.commit()
    failed = client.get(url + "/status").get_data(as_text=True)
    assert 'data-status="failed"' in failed and "hx-trigger" not in failed and "Your card was declined." in failed
    page = client.get(url).get_data(as_text=True)
    assert "data-client-secret" not in page and "Try again" in page  # a failed deposit shows no card form


def test_coming_back_from_a_banks_page_shows_the_status_not_the_card_form(client, wallets):
    """Stripe sends people back to the return URL with `redirect_status` after a redirect-based check."""
    user = wallets.user()
    sign_in(client, user)
    url = card_page(client, user)
    back = client.get(url + "?payment_intent=pi_x&redirect_status=succeeded").get_data(as_text=True)
    assert "data-client-secret" not in back and 'data-status="pending"' in back and "hx-trigger" in back
    failed = client.get(url + "?payment_intent=pi_x&redirect_status=failed").get_data(as_text=True)
    assert 'data-status="failed"' in failed and "Your bank could not confirm the payment." in failed
