"""The photo forms as a browser meets them, CSRF on: the body limit for photos is raised before CSRF
protection reads the form, so an oversized photo gets its own message; an oversized request is a calm
413; the answers upload.js asks for (JSON) carry each field's problem. And two submits at once make one
submission."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from tests.conftest import PASSWORD, make_test_app
from tests.integration import kyc_support as shots
from tests.integration.test_web_auth import csrf_token
from webapp.errors import ValidationError
from webapp.extensions import new_uow
from webapp.services import kyc
from webapp.services.images import MAX_REQUEST_BYTES

JSON = {"Accept": "application/json"}


@pytest.fixture(scope="module")
def csrf_app(database_url, tmp_path_factory):
    app = make_test_app(database_url, WTF_CSRF_ENABLED=True, UPLOAD_DIR=str(tmp_path_factory.mktemp("uploads")))
    yield app
    app.extensions["ewallet.db"].dispose()


def signed_in(app, user):
    client = app.test_client()
    token = csrf_token(client.get("/login").get_data(as_text=True))
    answer = client.post("/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token})
    assert answer.status_code == 303
    return client, csrf_token(client.get("/kyc").get_data(as_text=True))


def test_a_20_mb_photo_gets_its_own_message_past_csrf_protection(csrf_app, wallets):
    client, token = signed_in(csrf_app, wallets.user())
    body = shots.passport(selfie=shots.jpeg() + b"\0" * (20 * 1024 * 1024), csrf_token=token)
    answer = client.post("/kyc", data=body, headers=JSON)
    assert answer.status_code == 422
    assert answer.json["errors"] == {"selfie": "This photo is over 8 MB. Take it again or choose a smaller one."}


def test_a_request_over_the_photo_limit_is_a_calm_413(csrf_app, wallets):
    client, token = signed_in(csrf_app, wallets.user())
    body = shots.passport(id_front=b"\0" * MAX_REQUEST_BYTES, csrf_token=token)
    answer = client.post("/kyc", data=body)
    assert answer.status_code == 413 and "Try a smaller file." in answer.get_data(as_text=True)


def test_the_json_answers_of_the_photo_forms(csrf_app, wallets):
    client, token = signed_in(csrf_app, wallets.user())
    refused = client.post("/kyc", data=shots.national_id(id_back=shots.SVG, csrf_token=token), headers=JSON)
    assert refused.status_code == 422 and set(refused.json["errors"]) == {"id_back"}
    sent = client.post("/kyc", data=shots.national_id(csrf_token=token), headers=JSON)
    assert sent.status_code == 200 and sent.json == {"redirect": "/kyc"}
    again = client.post("/kyc", data=shots.passport(csrf_token=token), headers=JSON)
    assert again.status_code == 422 and "_form" in again.json["errors"]
    photo = client.post("/profile/photo", data=shots.files(photo=shots.jpeg(), csrf_token=token), headers=JSON)
    assert photo.status_code == 200 and photo.json == {"redirect": "/profile"}


def test_without_the_csrf_token_nothing_is_stored(csrf_app, wallets):
    user = wallets.user()
    client, _ = signed_in(csrf_app, user)
    assert client.post("/kyc", data=shots.passport()).status_code == 400
    with csrf_app.app_context():
        assert kyc.state(new_uow(), user_id=user.id).status == "unverified"


def test_two_submits_at_once_make_one_submission_and_leave_no_stray_files(csrf_app, wallets):
    user, count = wallets.user(), 4
    upload_dir = Path(csrf_app.config["UPLOAD_DIR"])
    before = set(upload_dir.glob("*"))
    barrier, outcomes = threading.Barrier(count), []

    def submit():
        with csrf_app.app_context():
            barrier.wait()
            try:
                kyc.submit(new_uow(), user_id=user.id, document_type="passport", id_front=shots.jpeg(),
                           selfie=shots.jpeg())
                outcomes.append("sent")
            except ValidationError:
                outcomes.append("refused")

    threads = [threading.Thread(target=submit) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["refused"] * (count - 1) + ["sent"]
    with csrf_app.app_context():
        state = kyc.state(new_uow(), user_id=user.id)
    assert state.status == "pending"
    added = {path.stem for path in set(upload_dir.glob("*")) - before}
    assert added == {state.latest.id_front_image, state.latest.selfie_image}  # the refused ones' files are gone
