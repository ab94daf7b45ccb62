"""KYC photos and profile photos (issue 12, points 2, 3 and 8): only real images are stored, re-encoded
without metadata or trailing data, under random names, all of a submission or nothing; they are served
to their owner and to staff only; reviewers approve or reject through the service, audited."""

from __future__ import annotations

import io

import pytest
from PIL import ExifTags, Image
from sqlalchemy import func, select

from tests.conftest import PASSWORD, Wallets, make_test_app
from tests.integration import kyc_support as shots
from tests.integration.test_api_support import set_user
from webapp.errors import Forbidden, NotFound, ValidationError
from webapp.extensions import new_uow
from webapp.models import AuditLog, KycSubmission, StoredImage, User
from webapp.services import audit, kyc, uploads


@pytest.fixture(scope="module")
def upload_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("uploads")


@pytest.fixture(scope="module")
def app(database_url, upload_dir):
    app = make_test_app(database_url, UPLOAD_DIR=str(upload_dir))
    yield app
    app.extensions["ewallet.db"].dispose()


@pytest.fixture()
def client(app):
    return app.test_client()


@pytest.fixture()
def wallets(app, client):
    return Wallets(app, client)


def on_disk(upload_dir) -> set[str]:
    return {path.name for path in upload_dir.rglob("*")}


def rows(app, model, user_id: str) -> list:
    with app.app_context(), new_uow() as uow:
        return list(uow.session.scalars(select(model).where(model.user_id == user_id)))


def kyc_status(app, user_id: str) -> str:
    with app.app_context(), new_uow() as uow:
        return uow.session.get(User, user_id).kyc_status


def stored(app, user_id: str, purpose: str) -> bytes:
    image = next(row for row in rows(app, StoredImage, user_id) if row.purpose == purpose)
    return uploads.path_for(app.config, image.id, image.media_type).read_bytes()


def sign_in(client, user) -> None:
    assert client.post("/login", data={"email": user.email, "password": PASSWORD}).status_code == 303


def reviewer(app, wallets, role: str = "reviewer"):
    person = wallets.user(prefix=role)
    set_user(app, person.id, role=role)
    return person


# --- Hostile uploads: a clean 422, and nothing stored ---------------------------------------------------

HOSTILE = {
    "text file named .jpg": (b"this is not a photo, honest\n" * 40, "passport.jpg"),
    "HTML page named .jpg": (shots.HTML + shots.jpeg(), "selfie.jpg"),
    "GIF/HTML polyglot": (b"GIF89a/*" + shots.HTML + b"*/", "id.gif.jpg"),
    "SVG with a script": (shots.SVG, "id.svg"),
    "SVG named .png": (shots.SVG, "id.png"),
    "decompression bomb (100000×100000 PNG)": (shots.png_declaring(100_000, 100_000), "bomb.png"),
    "48 megapixel PNG": (shots.too_many_pixels(), "huge.png"),
    "20 MB file": (shots.jpeg() + b"\0" * (20 * 1024 * 1024), "big.jpg"),
    "truncated JPEG": (shots.truncated_jpeg(), "cut.jpg"),
    "text file with a traversal name": (b"root:x:0:0:root:/root:/bin/bash\n", "../../etc/passwd.jpg"),
}


@pytest.mark.parametrize("slot", ["id_front", "selfie"])
@pytest.mark.parametrize("case", list(HOSTILE))
def test_a_hostile_file_is_a_clean_422_and_nothing_is_stored(app, wallets, upload_dir, case, slot):
    user = wallets.user()
    before = on_disk(upload_dir)
    response = user.post("/kyc", data=shots.passport(**{slot: HOSTILE[case]}))
    assert response.status_code == 422, response.json
    assert response.json["error"]["code"] == "VALIDATION_ERROR"
    assert set(response.json["error"]["details"]["fields"]) == {slot}
    assert on_disk(upload_dir) == before  # the other, valid photo was not kept either
    assert rows(app, StoredImage, user.id) == [] and rows(app, KycSubmission, user.id) == []
    assert kyc_status(app, user.id) == "unverified"


def test_every_problem_of_a_submission_is_reported_at_once(wallets):
    body = shots.files(document_type="driving_licence", id_front=shots.SVG, selfie=(b"nope", "a.jpg"))
    response = wallets.user().post("/kyc", data=body)
    assert response.status_code == 422
    assert set(response.json["error"]["details"]["fields"]) == {"id_front", "id_back", "selfie"}


@pytest.mark.parametrize("document_type", [None, "", "visa", "../passport"])
def test_an_unknown_document_type_is_422(wallets, document_type):
    body = shots.passport()
    body.pop("document_type") if document_type is None else body.update(document_type=document_type)
    response = wallets.user().post("/kyc", data=body)
    assert response.status_code == 422
    assert "document_type" in response.json["error"]["details"]["fields"]


def test_a_body_over_the_upload_limit_is_a_413_envelope(wallets):
    body = shots.passport(id_front=b"\0" * (3 * 8 * 1024 * 1024 + 300 * 1024))
    response = wallets.user().post("/kyc", data=body)
    assert response.status_code == 413 and response.json["error"]["code"] == "VALIDATION_ERROR"


def test_nothing_stays_on_disk_when_the_database_refuses_the_submission(app, wallets, upload_dir, monkeypatch):
    user = wallets.user()
    before = on_disk(upload_dir)

    def broken(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(kyc.audit, "append", broken)
    with app.app_context(), pytest.raises(RuntimeError):
        kyc.submit(new_uow(), user_id=user.id, document_type="passport", id_front=shots.jpeg(), selfie=shots.jpeg())
    assert on_disk(upload_dir) == before and rows(app, StoredImage, user.id) == []


# --- What is stored: a fresh encode under a random name --------------------------------------------------


def test_exif_gps_is_gone_and_the_photo_is_turned_upright(app, wallets):
    user = wallets.user()
    response = user.post("/kyc", data=shots.passport(id_front=shots.with_gps_and_orientation()))
    assert response.status_code == 201, response.json
    data = stored(app, user.id, "id_front")
    image = Image.open(io.BytesIO(data))
    assert image.format == "JPEG" and image.size == (64, 96)  # orientation 6 applied, then dropped
    assert dict(image.getexif()) == {} and image.getexif().get_ifd(ExifTags.IFD.GPSInfo) == {}
    assert "exif" not in image.info and "comment" not in image.info and "icc_profile" not in image.info
    assert b"Exif" not in data and b"SpyCam" not in data and b"<script" not in data


@pytest.mark.parametrize(("upload", "media_type"), [
    (shots.jpeg() + shots.HTML, "image/jpeg"),  # an image/HTML polyglot Pillow reads as a JPEG
    (shots.png_with_html_text(), "image/png"),  # HTML in a text chunk and after IEND
    (shots.photo("WEBP"), "image/jpeg"),
    (shots.photo("PNG", alpha=True, color=(0, 0, 0, 0)), "image/png"),
])
def test_what_is_stored_is_only_the_pixels_freshly_encoded(app, wallets, upload, media_type):
    user = wallets.user()
    response = user.post("/kyc", data=shots.passport(id_front=upload))
    assert response.status_code == 201, response.json
    data = stored(app, user.id, "id_front")
    assert b"<script" not in data and b"<html" not in data
    image = Image.open(io.BytesIO(data))
    assert image.get_format_mimetype() == media_type
    end = b"\xff\xd9" if media_type == "image/jpeg" else b"IEND\xaeB`\x82"
    assert data.endswith(end)  # nothing after the image
    assert not {"exif", "comment", "icc_profile", "Comment"} & set(image.info)


def test_a_traversal_file_name_is_never_used(app, wallets, upload_dir):
    user = wallets.user()
    body = shots.national_id(id_front=(shots.jpeg(), "../../etc/passwd.jpg"),
                             id_back=(shots.jpeg(), "..\\..\\windows\\win.ini"), selfie=(shots.jpeg(), "/etc/shadow"))
    assert user.post("/kyc", data=body).status_code == 201
    images = rows(app, StoredImage, user.id)
    assert len(images) == 3
    for image in images:
        path = uploads.path_for(app.config, image.id, image.media_type)
        assert path.parent == upload_dir and path.is_file() and uploads.ID_PATTERN.fullmatch(image.id)
        assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert not any(name in "".join(on_disk(upload_dir)) for name in ("passwd", "win.ini", "shadow"))


# --- Status: unverified → pending → rejected → pending → verified ----------------------------------------


def test_resubmission_after_rejection_and_approval(app, wallets):
    user, staff = wallets.user(), reviewer(app, wallets)
    assert user.get("/kyc").json["data"]["kyc"] == {"status": "unverified", "reason": None, "document_type": None,
                                                    "submitted_at": None, "reviewed_at": None}
    first = user.post("/kyc", data=shots.national_id())
    assert first.status_code == 201 and first.json["data"]["kyc"]["status"] == "pending"
    again = user.post("/kyc", data=shots.passport())
    assert again.status_code == 422 and again.json["error"]["details"]["fields"] == {}
    with app.app_context():
        [submission] = rows(app, KycSubmission, user.id)
        kyc.reject(new_uow(), reviewer_id=staff.id, submission_id=submission.id, reason="  The photo is   blurry. ")
    shown = user.get("/kyc").json["data"]["kyc"]
    assert shown["status"] == "rejected" and shown["reason"] == "The photo is blurry." and shown["reviewed_at"]
    second = user.post("/kyc", data=shots.passport())
    assert second.status_code == 201 and second.json["data"]["kyc"]["document_type"] == "passport"
    latest = max(rows(app, KycSubmission, user.id), key=lambda s: s.created_at)
    with app.app_context():
        kyc.approve(new_uow(), reviewer_id=staff.id, submission_id=latest.id)
    assert user.get("/kyc").json["data"]["kyc"]["status"] == "verified"
    refused = user.post("/kyc", data=shots.passport())
    assert refused.status_code == 422
    assert len(rows(app, StoredImage, user.id)) == 3 + 2  # the national ID's three, the passport's two


# --- The review boundary (the back office builds on these) -----------------------------------------------


@pytest.fixture()
def submitted(app, wallets):
    user = wallets.user()
    assert user.post("/kyc", data=shots.passport()).status_code == 201
    [submission] = rows(app, KycSubmission, user.id)
    return user, submission


def audit_rows(app, user_id: str) -> list[AuditLog]:
    with app.app_context(), new_uow() as uow:
        return list(uow.session.scalars(select(AuditLog).where(AuditLog.stream == audit.user_stream(user_id))
                                        .order_by(AuditLog.seq)))


def test_approval_is_audited_with_the_reviewer(app, wallets, submitted):
    user, submission = submitted
    staff = reviewer(app, wallets, "admin")
    with app.app_context():
        done = kyc.approve(new_uow(), reviewer_id=staff.id, submission_id=submission.id)
        assert audit.verify(new_uow()) is None
    assert done.status == "verified" and done.reviewer_id == staff.id and done.reviewed_at is not None
    events = [(row.event, row.actor_id, row.data) for row in audit_rows(app, user.id)]
    assert ("kyc_submitted", user.id, {"submission_id": submission.id, "document_type": "passport"}) in events
    assert events[-1] == ("kyc_approved", staff.id, {"submission_id": submission.id})


def test_rejection_is_audited_with_its_reason(app, wallets, submitted):
    user, submission = submitted
    staff = reviewer(app, wallets)
    with app.app_context():
        kyc.reject(new_uow(), reviewer_id=staff.id, submission_id=submission.id, reason="Expired document")
    last = audit_rows(app, user.id)[-1]
    assert (last.event, last.actor_id, last.data["reason"]) == ("kyc_rejected", staff.id, "Expired document")
    assert kyc_status(app, user.id) == "rejected"


@pytest.mark.parametrize("reason", [None, "", "   ", 42, "x" * 501])
def test_a_rejection_needs_a_reason(app, wallets, submitted, reason):
    _, submission = submitted
    staff = reviewer(app, wallets)
    with app.app_context(), pytest.raises(ValidationError) as raised:
        kyc.reject(new_uow(), reviewer_id=staff.id, submission_id=submission.id, reason=reason)
    assert "reason" in raised.value.fields


def test_only_reviewers_decide_and_never_on_their_own_documents(app, wallets, submitted):
    user, submission = submitted
    with app.app_context():
        for someone in (wallets.user().id, user.id):  # a plain user; the person themself
            with pytest.raises(Forbidden):
                kyc.approve(new_uow(), reviewer_id=someone, submission_id=submission.id)
        set_user(app, user.id, role="reviewer")
        with pytest.raises(Forbidden):
            kyc.approve(new_uow(), reviewer_id=user.id, submission_id=submission.id)
    assert kyc_status(app, user.id) == "pending"


def test_a_decision_is_made_once(app, wallets, submitted):
    _, submission = submitted
    staff = reviewer(app, wallets)
    with app.app_context():
        kyc.approve(new_uow(), reviewer_id=staff.id, submission_id=submission.id)
        with pytest.raises(kyc.AlreadyReviewed):
            kyc.reject(new_uow(), reviewer_id=staff.id, submission_id=submission.id, reason="Changed my mind")
        with pytest.raises(NotFound):
            kyc.approve(new_uow(), reviewer_id=staff.id, submission_id="no-such-submission")
        assert submission.id not in {s.id for s in kyc.pending(new_uow())}


# --- Serving images: the owner and staff; anyone else gets 404 ------------------------------------------


def image_url(app, user_id: str, purpose: str = "id_front") -> str:
    image = next(row for row in rows(app, StoredImage, user_id) if row.purpose == purpose)
    return f"/images/{image.id}"


def test_the_owner_and_staff_see_an_image_privately(app, wallets, submitted):
    user, _ = submitted
    url = image_url(app, user.id)
    for viewer in (user, reviewer(app, wallets), reviewer(app, wallets, "admin")):
        client = app.test_client()
        sign_in(client, viewer)
        response = client.get(url)
        assert response.status_code == 200 and response.mimetype == "image/jpeg"
        assert response.headers["Cache-Control"] == "private, no-store"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert Image.open(io.BytesIO(response.data)).format == "JPEG"


def test_another_users_image_is_404(app, wallets, submitted):
    user, _ = submitted
    url = image_url(app, user.id)
    client = app.test_client()
    sign_in(client, wallets.user())
    assert client.get(url).status_code == 404
    assert client.get("/images/" + "A" * 32).status_code == 404  # no such image: the same answer
    assert client.get("/images/..%2F..%2Fetc%2Fpasswd").status_code == 404
    assert app.test_client().get(url).status_code == 302  # signed out: to the sign-in page


# --- Profile photo ----------------------------------------------------------------------------------------


def test_profile_photo_replaces_the_last_and_shows_on_the_dashboard(app, wallets):
    user = wallets.user()
    client = app.test_client()
    sign_in(client, user)
    paths = []
    for color in ((255, 0, 0), (0, 0, 255)):
        body = {"photo": (io.BytesIO(shots.jpeg(size=(2000, 1500), color=color)), "me.jpg")}
        assert client.post("/profile/photo", data=body).status_code == 303
        [photo] = rows(app, StoredImage, user.id)
        paths.append(uploads.path_for(app.config, photo.id, photo.media_type))
    assert not paths[0].exists()  # the old face is gone from the disk too
    assert Image.open(paths[1]).size == (1024, 768)  # an avatar needs no more
    assert f"/images/{photo.id}" in client.get("/").get_data(as_text=True)
    assert f"/images/{photo.id}" in client.get("/profile").get_data(as_text=True)
    assert audit_rows(app, user.id)[-1].event == "profile_photo_changed"


def test_a_bad_profile_photo_is_refused_with_the_reason(app, wallets, upload_dir):
    client = app.test_client()
    user = wallets.user()
    sign_in(client, user)
    before = on_disk(upload_dir)
    answer = client.post("/profile/photo", data={"photo": (io.BytesIO(shots.SVG), "me.svg")},
                         headers={"Accept": "application/json"})
    assert answer.status_code == 422 and "photo" in answer.json["errors"]
    page = client.post("/profile/photo", data={"photo": (io.BytesIO(b""), "")}, follow_redirects=True)
    assert "Take or choose a photo." in page.get_data(as_text=True)
    assert on_disk(upload_dir) == before and rows(app, StoredImage, user.id) == []


def test_the_kyc_page_works_without_javascript(app, wallets):
    client = app.test_client()
    user = wallets.user()
    sign_in(client, user)
    page = client.get("/kyc").get_data(as_text=True)
    assert 'accept="image/*" capture="environment"' in page and 'capture="user"' in page
    sent = client.post("/kyc", data=shots.national_id(id_back=b""), follow_redirects=True).get_data(as_text=True)
    assert "Take or choose a photo of the back of your document." in sent
    sent = client.post("/kyc", data=shots.national_id(), follow_redirects=True).get_data(as_text=True)
    assert "Pending review" in sent and kyc_status(app, user.id) == "pending"
    with app.app_context(), new_uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(KycSubmission)
                                  .where(KycSubmission.user_id == user.id)) == 1
