"""The "Mobile top-up" pages with the Flask test client: the tile, the form's problems all at once next to
their fields, the inline number check, the review whose double tap tops up once, and the receipt's status
that polls only while the top-up is on its way (jobs queued on the real Redis there)."""

from __future__ import annotations

from sqlalchemy import select

from tests.integration.test_web_deposit import sign_in
from tests.integration.worker_support import queued_app, work
from webapp.extensions import new_uow
from webapp.models import Topup

POLLING = 'hx-trigger="load delay:1s"'


def review(client, user, number: str = "+1 415 555 0123", operator: str = "us-att", amount: str = "10.00"):
    return client.post("/topup", data={"wallet": user.wallet()["id"], "mobile_number": number,
                                       "operator": operator, "amount": amount})


def test_the_mobile_topup_tile_leads_to_the_form(client, wallets):
    sign_in(client, wallets.user(balance=1_000))
    assert 'href="/topup"' in client.get("/").get_data(as_text=True)
    html = client.get("/topup").get_data(as_text=True)
    assert 'name="mobile_number"' in html and '<optgroup label="Kenya">' in html


def test_a_form_with_problems_comes_back_with_each_problem_next_to_its_field(client, wallets):
    user = wallets.user(balance=5_000)
    sign_in(client, user)
    response = review(client, user, "+254 20 2123456", "", "2.00")
    assert response.status_code == 303 and response.location == "/topup"
    html = client.get("/topup").get_data(as_text=True)
    assert "This is not a mobile number" in html and 'value="+254 20 2123456"' in html
    review(client, user, "+1 415 555 0123", "", "2.00")
    html = client.get("/topup").get_data(as_text=True)
    assert "choose it from the list" in html
    review(client, user, "+1 415 555 0123", "us-att", "2.00")
    assert "AT&amp;T top-ups are $5.00 to $100.00." in client.get("/topup").get_data(as_text=True)
    review(client, user, "+254 712 340001", "", "10.00")
    assert "Safaricom top-ups are paid in KES" in client.get("/topup").get_data(as_text=True)


def test_the_number_is_checked_inline(client, wallets):
    sign_in(client, wallets.user())
    assert client.post("/topup/check/number", data={"mobile_number": "12"}).get_data(as_text=True).startswith(
        "Enter a valid mobile number")
    assert client.post("/topup/check/number", data={"mobile_number": "(415) 555-0123"}).get_data(as_text=True) == ""
    assert client.post("/topup/check/number", data={"mobile_number": ""}).get_data(as_text=True) == ""


def test_a_double_tap_tops_up_once_and_the_receipt_shows_the_operators_reference(client, wallets, app):
    user = wallets.user(balance=5_000)
    sign_in(client, user)
    confirm = review(client, user, "(415) 555-0123").location  # their own country's number, written locally
    html = client.get(confirm).get_data(as_text=True)
    assert 'data-testid="confirm-amount">$10.00<' in html and "+1 415-555-0123" in html and "AT&amp;T" in html
    first, second = client.post(confirm), client.post(confirm)
    assert first.location == second.location and first.location.startswith("/transactions/")
    assert client.get(confirm).location == first.location  # the review, reached again, offers the receipt
    html = client.get(first.location).get_data(as_text=True)
    assert 'data-status="completed"' in html and POLLING not in html and "Mobile top-up" in html
    assert 'data-testid="receipt-provider-ref">sandbox_tu_' in html
    with app.app_context(), new_uow() as uow:
        assert len(uow.session.scalars(select(Topup).where(Topup.user_id == user.id)).all()) == 1
    assert user.wallet()["balance"] == 4_000


def test_the_status_polls_while_the_topup_is_on_its_way_then_stops(database_url, wallets):
    with queued_app(database_url) as app:
        client = app.test_client()
        user = wallets.user(balance=5_000)
        sign_in(client, user)
        receipt = client.post(review(client, user, "+1 415 555 0002").location).location
        html = client.get(receipt).get_data(as_text=True)
        assert 'data-status="pending"' in html and POLLING in html
        work(app)
        fragment = client.get(f"/topup/{receipt.rsplit('/', 1)[1]}/status", headers={"HX-Request": "true"})
        text = fragment.get_data(as_text=True)
        assert 'data-status="failed"' in text and POLLING not in text and "can&#39;t receive top-ups" in text
        assert 'id="receipt-status" hx-swap-oob="true"' in text
