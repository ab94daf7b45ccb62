"""History paging (full page and HTMX rows), receipts, the profile, and the calm error pages."""

from __future__ import annotations

import re

from tests.conftest import PASSWORD, make_test_app
from webapp.extensions import new_uow
from webapp.money import Money
from webapp.services import adjustments

ROW = '<li class="tx">'


def sign_in(client, user):
    assert client.post("/login", data={"email": user.email, "password": PASSWORD}).status_code == 303


def credit_many(app, email, count):
    with app.app_context():
        for n in range(count):
            adjustments.credit(new_uow(), email=email, amount=Money(100 + n, "USD"), reason=f"top-up {n}")


def test_history_pages_with_load_more_and_htmx_gets_only_rows(app, client, wallets):
    alice = wallets.user()
    credit_many(app, alice.email, 23)
    sign_in(client, alice)
    first = client.get("/history").get_data(as_text=True)
    assert first.count(ROW) == 20 and "<html" in first
    more_url = re.search(r'hx-get="([^"]+)"', first).group(1).replace("&amp;", "&")
    rows = client.get(more_url, headers={"HX-Request": "true"})
    fragment = rows.get_data(as_text=True)
    assert rows.status_code == 200
    assert "<html" not in fragment and "tabbar" not in fragment
    assert fragment.count(ROW) == 3 and "Load more" not in fragment
    assert "+$1.00" in fragment  # the oldest credit comes last
    no_js = client.get(more_url).get_data(as_text=True)  # the same link without JavaScript: a whole page
    assert "<html" in no_js and no_js.count(ROW) == 3


def test_dashboard_shows_balances_and_recent_activity(app, client, wallets):
    alice = wallets.user(balance=4_250)
    sign_in(client, alice)
    html = client.get("/").get_data(as_text=True)
    assert 'data-testid="balance-USD">$42.50<' in html
    assert "+$42.50" in html and "Money added" in html
    assert 'href="/send"' in html and 'href="/topup"' in html and 'aria-disabled="true"' not in html  # every tile works


def test_the_receipt_is_yours_alone(wallets):
    alice, bob = wallets.user(balance=1_000), wallets.user()
    sent = alice.send(bob, 300).json["data"]["transaction"]
    owner, stranger = wallets.app.test_client(), wallets.app.test_client()
    sign_in(owner, alice)
    sign_in(stranger, bob)
    receipt = owner.get(f"/transactions/{sent['id']}")
    assert receipt.status_code == 200 and "\u2212$3.00" in receipt.get_data(as_text=True)
    other = stranger.get(f"/transactions/{sent['id']}")
    html = other.get_data(as_text=True)
    assert other.status_code == 404
    assert "We couldn&#39;t find that" in html and "$3.00" not in html
    assert stranger.get("/transactions/not-a-uuid").status_code == 404


def test_profile_shows_the_masked_phone_and_opens_a_wallet(client, wallets):
    alice = wallets.user()
    sign_in(client, alice)
    html = client.get("/profile").get_data(as_text=True)
    local, domain = alice.email.split("@")
    assert f"{local}<wbr>@{domain}" in html  # long addresses wrap before the @ on a phone
    assert alice.phone not in html and alice.phone[-2:] in html
    assert 'data-testid="kyc-status">Not verified<' in html
    opened = client.post("/profile/wallets", data={"currency": "EUR"})
    assert opened.status_code == 303
    assert "Euro" in client.get("/").get_data(as_text=True)
    again = client.post("/profile/wallets", data={"currency": "EUR"})
    assert again.status_code == 303 and again.location == "/profile"
    assert "You already have a EUR wallet." in client.get("/profile").get_data(as_text=True)


def test_the_currency_picker_offers_money_in_use_today_common_first(client, wallets):
    sign_in(client, wallets.user())
    html = client.get("/profile").get_data(as_text=True)
    offered = re.findall(r'<option value="([A-Z]{3})">', html)
    assert offered[:5] == ["EUR", "GBP", "KES", "NGN", "GHS"]  # USD is already held
    assert offered[11:] == sorted(offered[11:]) and len(offered) > 140
    assert not {"DEM", "HRK", "USN", "CLF", "XAU", "XTS", "XXX", "VEF"} & set(offered)
    refused = client.post("/profile/wallets", data={"currency": "DEM"})
    assert "Choose a currency in use today" in client.get(refused.location).get_data(as_text=True)


def test_unknown_pages_are_a_calm_404(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404 and "We couldn&#39;t find that" in response.get_data(as_text=True)


def test_a_crash_shows_a_reference_and_no_stack_trace(database_url):
    app = make_test_app(database_url)

    @app.get("/boom")
    def boom():
        raise RuntimeError("secret internals")

    try:
        response = app.test_client().get("/boom", headers={"X-Request-ID": "ref-12345"})
        html = response.get_data(as_text=True)
        assert response.status_code == 500
        assert "ref-12345" in html and "secret internals" not in html and "Traceback" not in html
        htmx = app.test_client().get("/boom", headers={"HX-Request": "true"}).get_data(as_text=True)
        assert "<html" not in htmx and "Something went wrong" in htmx
    finally:
        app.extensions["ewallet.db"].dispose()
