"""Paying an institution through the pages: the tiles, the lists, a form drawn from the schema with every
problem next to its field, review, pay, and the receipt with the reference."""

from __future__ import annotations

import re
import uuid

import pytest

from tests.integration.institution_scenarios import add_institution
from tests.integration.test_api_support import set_user
from tests.integration.test_web_send import followed, sign_in

METER = [("meter_number", r"\d{8}", "12345678")]


def error_slot(html: str, name: str) -> str:
    found = re.search(rf'<p class="error" id="e-{name}" aria-live="polite">([^<]*)</p>', html)
    assert found, f"no error slot for {name}"
    return found.group(1)


def form_data(wallet_id, amount="25.00", **reference):
    return {"wallet": wallet_id, "amount": amount, **{f"ref_{name}": value for name, value in reference.items()}}


def review_url(client, institution_id, data) -> str:
    response = client.post(f"/pay/to/{institution_id}", data=data)
    assert response.status_code == 303 and response.location.startswith("/pay/review/"), response.location
    return response.location


def test_the_tiles_lead_to_the_lists_of_their_kinds(app, client, wallets):
    college, school = add_institution(app, kind="college"), add_institution(app, kind="school")
    utility = add_institution(app, kind="utility", fields=METER)
    shop = add_institution(app, kind="merchant", fields=[("order", r"[A-Z]{2}\d{4}", "AB1234")])
    sign_in(client, wallets.user())
    home = client.get("/").get_data(as_text=True)
    for path in ("/pay/college", "/pay/bills", "/pay/shopping"):
        assert f'href="{path}"' in home
    listed = {path: client.get(path).get_data(as_text=True) for path in ("/pay/college", "/pay/bills", "/pay/shopping")}
    assert college in listed["/pay/college"] and school in listed["/pay/college"]
    assert utility not in listed["/pay/college"] and utility in listed["/pay/bills"]
    assert shop in listed["/pay/shopping"] and college not in listed["/pay/shopping"]


def test_the_form_is_drawn_from_the_schema(app, client, wallets):
    utility = add_institution(app, kind="utility", fields=[*METER, ("customer_name", r"[A-Za-z ]{2,40}", None)])
    sign_in(client, wallets.user(balance=1_000))
    html = client.get(f"/pay/to/{utility}").get_data(as_text=True)
    assert '<label for="f-ref_meter_number">Meter number</label>' in html
    assert '<p class="hint" id="h-ref_meter_number">For example 12345678</p>' in html
    meter = re.search(r'<input id="f-ref_meter_number"[^>]*>', html).group(0)
    assert 'inputmode="numeric"' in meter and 'aria-describedby="h-ref_meter_number e-ref_meter_number"' in meter
    name = re.search(r'<input id="f-ref_customer_name"[^>]*>', html).group(0)
    assert 'inputmode="text"' in name and 'aria-describedby="e-ref_customer_name"' in name
    assert "<legend>Payment reference</legend>" in html and "<script" not in html.split("</head>")[1]


def test_a_bad_reference_comes_back_with_each_problem_next_to_its_field(app, client, wallets):
    college = add_institution(app)
    payer = wallets.user(balance=1_000)
    sign_in(client, payer)
    response = client.post(f"/pay/to/{college}", data=form_data(payer.wallet()["id"], "5000", student_id="12345",
                                                                term=""))
    assert response.status_code == 303 and response.location == f"/pay/to/{college}"  # Post/Redirect/Get
    html = followed(client, response)
    assert "S123456" in error_slot(html, "ref_student_id")
    assert error_slot(html, "ref_term") == "Term is required."
    assert "available" in error_slot(html, "amount")
    assert 'value="12345"' in html  # what was typed comes back
    assert 'aria-invalid="true"' in re.search(r'<input id="f-ref_student_id"[^>]*>', html).group(0)
    assert "Check these 3 fields" in html and 'href="#f-ref_term"' in html
    assert payer.wallet()["balance"] == 1_000


def test_review_pay_and_the_receipt_shows_the_reference(app, client, wallets):
    college = add_institution(app, name="Riverside College")
    payer = wallets.user(balance=5_000)
    sign_in(client, payer)
    url = review_url(client, college, form_data(payer.wallet()["id"], "25", student_id="S123456", term="2026-fall"))
    review = client.get(url).get_data(as_text=True)
    assert 'data-testid="confirm-amount">$25.00<' in review and "Riverside College" in review
    assert 'data-testid="confirm-ref-student_id">S123456<' in review and "idempotency_key" not in review
    done = client.post(url)
    assert done.status_code == 303 and "/transactions/" in done.location
    receipt = client.get(done.location).get_data(as_text=True)
    assert "\u2212$25.00" in receipt and "Riverside College" in receipt and "College payment" in receipt
    assert '<dt>Student ID</dt><dd class="mono" data-testid="receipt-ref-student_id">S123456</dd>' in receipt
    assert 'data-testid="receipt-ref-term">2026-fall<' in receipt
    assert client.post(url).location == done.location  # a double tap
    back = client.get(url)  # Back to the review after paying leads to the receipt
    assert back.status_code == 303 and back.location == done.location
    history = client.get("/history").get_data(as_text=True)
    assert "College payment · S123456 · 2026-fall" in history
    saved = client.get(done.location + "/receipt.html").get_data(as_text=True)
    assert "<dt>Student ID</dt>" in saved and "S123456" in saved
    assert payer.wallet()["balance"] == 2_500


def test_a_frozen_payer_is_told_on_the_form(app, client, wallets):
    college = add_institution(app)
    payer = wallets.user(balance=5_000)
    sign_in(client, payer)
    url = review_url(client, college, form_data(payer.wallet()["id"], "10", student_id="S123456", term="2026-fall"))
    set_user(app, payer.id, is_frozen=True)
    html = followed(client, client.post(url))
    assert "frozen" in html and payer.wallet()["balance"] == 5_000


@pytest.mark.parametrize("path", ["/pay/to/{unknown}", "/pay/elsewhere"])
def test_unknown_places_are_not_found(client, wallets, path):
    sign_in(client, wallets.user())
    assert client.get(path.format(unknown=uuid.uuid4())).status_code == 404


def test_no_wallet_in_the_currency_says_so(app, client, wallets):
    euro = add_institution(app, currency="EUR")
    sign_in(client, wallets.user(balance=1_000))
    html = client.get(f"/pay/to/{euro}").get_data(as_text=True)
    assert "is paid in EUR, and you have no EUR wallet yet" in html and 'action="/pay' not in html


def test_pages_need_a_sign_in(app, client):
    college = add_institution(app)
    for path in ("/pay/college", f"/pay/to/{college}"):
        response = client.get(path)
        assert response.status_code in (302, 303) and "/login" in response.location
