"""The back office at /admin (issue 12, points 5 and 8): only reviewers and admins get in, everyone else
meets a 404 on every URL and method; reviewers work the KYC queue with the photos side by side, and their
approval lifts the person's limits; only admins change roles; people can be searched and seen in full;
the reconciliation and the audit chain check run from their pages and show drift and tampering; every
action lands in the audit trail with the operator as actor."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from tests.conftest import PASSWORD, make_test_app
from tests.integration import kyc_support as shots
from tests.integration.payout_scenarios import bank_account, withdraw
from tests.integration.test_api_support import set_user
from tests.integration.test_web_auth import csrf_token
from webapp.extensions import new_uow
from webapp.models import AuditLog, User
from webapp.services import audit, kyc

PAGES = ["/admin", "/admin/kyc", "/admin/users", "/admin/users?q=a", "/admin/reconciliation", "/admin/audit",
         "/admin/no-such-page"]
POSTS = ["/admin/reconciliation", "/admin/audit/verify", "/admin/kyc/{submission}/approve",
         "/admin/kyc/{submission}/reject", "/admin/users/{user}/freeze", "/admin/users/{user}/unfreeze",
         "/admin/users/{user}/role", "/admin/kyc"]


def sign_in(client, user) -> None:
    assert client.post("/login", data={"email": user.email, "password": PASSWORD}).status_code == 303


def staff(app, wallets, role: str = "reviewer"):
    person = wallets.user(prefix=role)
    set_user(app, person.id, role=role)
    return person


def submitted(app, wallets, **person):
    user = wallets.user(**person)
    with app.app_context():
        return user, kyc.submit(new_uow(), user_id=user.id, document_type="national_id", id_front=shots.jpeg(),
                                id_back=shots.jpeg(color=(30, 200, 30)), selfie=shots.jpeg(color=(30, 30, 200)))


def events(app, user_id: str) -> list[tuple[str, str | None, dict]]:
    with app.app_context(), new_uow() as uow:
        rows = uow.session.scalars(select(AuditLog).where(AuditLog.stream == audit.user_stream(user_id))
                                   .order_by(AuditLog.seq))
        return [(row.event, row.actor_id, row.data) for row in rows]


def user_row(app, user_id: str) -> User:
    with app.app_context(), new_uow() as uow:
        return uow.session.get(User, user_id)


def followed(client, response) -> str:
    assert response.status_code == 303, response.status_code
    return client.get(response.location).get_data(as_text=True)


# --- Who gets in ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("signed_in", [True, False], ids=["plain user", "signed out"])
def test_everyone_but_staff_gets_a_404_on_every_admin_url(app, client, wallets, signed_in):
    plain, (other, submission) = wallets.user(), submitted(app, wallets)
    if signed_in:
        sign_in(client, plain)
    for path in PAGES:
        assert client.get(path).status_code == 404, path
    for path in POSTS:
        url = path.format(submission=submission.id, user=other.id)
        assert client.post(url, data={"reason": "x", "role": "admin"}).status_code == 404, url
    assert user_row(app, other.id).kyc_status == "pending" and not user_row(app, other.id).is_frozen


def test_a_plain_user_is_404_even_with_csrf_protection_on(database_url, wallets):
    app = make_test_app(database_url, WTF_CSRF_ENABLED=True)
    plain, other = wallets.user(), wallets.user()
    client = app.test_client()
    token = csrf_token(client.get("/login").get_data(as_text=True))
    client.post("/login", data={"email": plain.email, "password": PASSWORD, "csrf_token": token})
    # No token: still the 404, not the CSRF refusal that would say the page exists.
    assert client.post(f"/admin/users/{other.id}/freeze", data={"reason": "x"}).status_code == 404
    app.extensions["ewallet.db"].dispose()


def test_staff_forms_carry_csrf_tokens_and_refuse_without_them(database_url, app, wallets):
    csrf_app = make_test_app(database_url, WTF_CSRF_ENABLED=True)
    admin, person = staff(app, wallets, "admin"), wallets.user()
    client = csrf_app.test_client()
    token = csrf_token(client.get("/login").get_data(as_text=True))
    client.post("/login", data={"email": admin.email, "password": PASSWORD, "csrf_token": token})
    page = client.get(f"/admin/users/{person.id}").get_data(as_text=True)
    assert page.count('name="csrf_token"') >= 2  # freeze and role (and the sign-out form of the profile)
    assert client.post(f"/admin/users/{person.id}/freeze", data={"reason": "fraud report"}).status_code == 400
    assert not user_row(app, person.id).is_frozen
    body = {"reason": "fraud report", "csrf_token": csrf_token(page)}
    done = client.post(f"/admin/users/{person.id}/freeze", data=body)
    assert done.status_code == 303 and user_row(app, person.id).is_frozen
    csrf_app.extensions["ewallet.db"].dispose()


def test_staff_find_the_back_office_from_their_profile(app, client, wallets):
    sign_in(client, staff(app, wallets))
    assert 'href="/admin"' in client.get("/profile").get_data(as_text=True)
    assert client.get("/admin").location == "/admin/kyc"
    plain = app.test_client()
    sign_in(plain, wallets.user())
    assert 'href="/admin"' not in plain.get("/profile").get_data(as_text=True)


# --- KYC queue -----------------------------------------------------------------------------------------------

def test_a_reviewer_sees_the_queue_and_the_photos_side_by_side(app, client, wallets):
    user, submission = submitted(app, wallets)
    sign_in(client, staff(app, wallets))
    queue = client.get("/admin/kyc").get_data(as_text=True)
    assert user.email in queue and f"/admin/kyc/{submission.id}" in queue
    page = client.get(f"/admin/kyc/{submission.id}").get_data(as_text=True)
    images = re.findall(r'<img src="(/images/[^"]+)" alt="([^"]+)"', page)
    assert [src for src, _ in images] == [f"/images/{submission.id_front_image}", f"/images/{submission.id_back_image}",
                                          f"/images/{submission.selfie_image}"]
    assert all(alt for _, alt in images) and 'class="kyc-photos"' in page
    for src, _ in images:
        shown = client.get(src)
        assert shown.status_code == 200 and shown.headers["Cache-Control"] == "private, no-store"


def test_a_reviewers_approval_verifies_the_person_and_lifts_their_limits(app, client, wallets):
    user, submission = submitted(app, wallets, balance=300_000)
    recipient, account = wallets.user(), bank_account(user)
    big = user.send(recipient, 150_000)  # above the unverified tier's $1,000 a transfer (LIMIT_UNVERIFIED_SEND_PER_TX)
    assert (big.status_code, big.json["error"]["code"]) == (403, "KYC_REQUIRED")
    assert withdraw(user, account).json["error"]["code"] == "KYC_REQUIRED"
    reviewer = staff(app, wallets)
    sign_in(client, reviewer)
    done = client.post(f"/admin/kyc/{submission.id}/approve")
    assert done.status_code == 303 and done.location == "/admin/kyc"
    assert user_row(app, user.id).kyc_status == "verified"
    assert events(app, user.id)[-1] == ("kyc_approved", reviewer.id, {"submission_id": submission.id})
    assert user.send(recipient, 150_000).status_code == 201
    assert withdraw(user, account).status_code == 201
    assert submission.id not in client.get("/admin/kyc").get_data(as_text=True)


def test_a_rejection_needs_a_reason_which_the_person_then_sees(app, client, wallets):
    user, submission = submitted(app, wallets)
    sign_in(client, staff(app, wallets))
    page = followed(client, client.post(f"/admin/kyc/{submission.id}/reject", data={"reason": "  "}))
    assert 'id="e-reason" aria-live="polite">Say why' in page and user_row(app, user.id).kyc_status == "pending"
    done = client.post(f"/admin/kyc/{submission.id}/reject", data={"reason": "The back photo is blurry."})
    assert done.status_code == 303 and user_row(app, user.id).kyc_status == "rejected"
    own = app.test_client()
    sign_in(own, user)
    assert "The back photo is blurry." in own.get("/kyc").get_data(as_text=True)
    again = followed(client, client.post(f"/admin/kyc/{submission.id}/approve"))
    assert "already reviewed" in again and user_row(app, user.id).kyc_status == "rejected"


def test_nobody_reviews_their_own_documents(app, client, wallets):
    reviewer, submission = submitted(app, wallets)
    set_user(app, reviewer.id, role="reviewer")
    sign_in(client, reviewer)
    page = followed(client, client.post(f"/admin/kyc/{submission.id}/approve"))
    assert "Someone else must review your own documents." in page
    assert user_row(app, reviewer.id).kyc_status == "pending"


def test_an_unknown_submission_is_a_404_for_staff_too(app, client, wallets):
    sign_in(client, staff(app, wallets))
    assert client.get("/admin/kyc/not-a-submission").status_code == 404
    assert client.post("/admin/kyc/00000000-0000-0000-0000-000000000000/approve").status_code == 404


# --- Roles ---------------------------------------------------------------------------------------------------

def test_an_admin_makes_a_reviewer_who_then_gets_in_and_is_audited(app, client, wallets):
    admin, person = staff(app, wallets, "admin"), wallets.user()
    sign_in(client, admin)
    done = client.post(f"/admin/users/{person.id}/role", data={"role": "reviewer"})
    assert done.status_code == 303 and user_row(app, person.id).role == "reviewer"
    assert events(app, person.id)[-1] == ("role_changed", admin.id, {"from": "user", "to": "reviewer"})
    theirs = app.test_client()
    sign_in(theirs, person)
    assert theirs.get("/admin/kyc").status_code == 200
    client.post(f"/admin/users/{person.id}/role", data={"role": "user"})
    assert theirs.get("/admin/kyc").status_code == 404  # the role is read on every request


@pytest.mark.parametrize("role, says", [("", "Choose user, reviewer or admin."), ("root", "Choose user"),
                                        ("user", "already a user")])
def test_a_bad_role_change_is_told_on_the_page(app, client, wallets, role, says):
    admin, person = staff(app, wallets, "admin"), wallets.user()
    sign_in(client, admin)
    page = followed(client, client.post(f"/admin/users/{person.id}/role", data={"role": role}))
    assert says in page and user_row(app, person.id).role == "user"


def test_admins_cannot_change_their_own_role_or_freeze_themselves(app, client, wallets):
    admin = staff(app, wallets, "admin")
    sign_in(client, admin)
    page = followed(client, client.post(f"/admin/users/{admin.id}/role", data={"role": "user"}))
    assert "Another admin must change your role." in page and user_row(app, admin.id).role == "admin"
    page = followed(client, client.post(f"/admin/users/{admin.id}/freeze", data={"reason": "testing"}))
    assert "Another admin must" in page and not user_row(app, admin.id).is_frozen


def test_a_reviewer_cannot_freeze_or_change_roles(app, client, wallets):
    reviewer, person = staff(app, wallets), wallets.user()
    set_user(app, person.id, is_frozen=True)
    sign_in(client, reviewer)
    page = client.get(f"/admin/users/{person.id}").get_data(as_text=True)
    assert "<form" not in page and "Admin actions" not in page
    for action, data in (("freeze", {"reason": "x"}), ("unfreeze", {"reason": "x"}), ("role", {"role": "admin"})):
        assert client.post(f"/admin/users/{person.id}/{action}", data=data).status_code == 403, action
    assert client.post(f"/admin/users/{reviewer.id}/role", data={"role": "admin"}).status_code == 403
    assert user_row(app, person.id).is_frozen and user_row(app, reviewer.id).role == "reviewer"


def test_create_admin_can_make_a_reviewer(app, database_url):
    from tests.integration.test_cli import ewallet

    done = ewallet(database_url, "create-admin", "reviewer@example.com", "--role", "reviewer",
                   "--password", "a-long-reviewer-pass", "--phone", "+442079460001")
    assert done.returncode == 0, done.stderr
    assert "reviewer@example.com is a reviewer" in done.stdout
    with app.app_context(), new_uow() as uow:
        assert uow.session.scalar(select(User.role).where(User.email == "reviewer@example.com")) == "reviewer"


# --- People --------------------------------------------------------------------------------------------------

def test_search_by_email_phone_or_name_with_wildcards_taken_literally(app, client, wallets):
    found = wallets.user(name="Zebedee Quartermain", balance=1_234)
    sign_in(client, staff(app, wallets))
    for query in (found.email.upper(), found.phone[-7:], f"{found.phone[:2]} {found.phone[2:5]} {found.phone[5:]}",
                  "zebedee quarter"):
        assert found.email in client.get("/admin/users", query_string={"q": query}).get_data(as_text=True), query
    nobody = client.get("/admin/users", query_string={"q": "%_%"}).get_data(as_text=True)
    assert "Nobody matches." in nobody
    assert client.get("/admin/users", query_string={"q": "x" * 5000}).status_code == 200


def test_a_persons_page_shows_wallets_transactions_kyc_and_audit_events(app, client, wallets):
    user, submission = submitted(app, wallets, balance=4_321)
    user.send(wallets.user(), 321)
    sign_in(client, staff(app, wallets))
    page = client.get(f"/admin/users/{user.id}").get_data(as_text=True)
    assert user.email in page and "<td>$40.00</td>" in page and "\u2212$3.21" in page
    assert f"/admin/kyc/{submission.id}" in page
    for event in ("register", "kyc_submitted", "transfer"):
        assert f"<td>{event}</td>" in page, event
    assert client.get("/admin/users/not-a-user").status_code == 404
