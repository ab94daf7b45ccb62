"""Identity check and profile photo from a phone (issue 12, points 1, 3 and 8): Chromium's fake camera
(--use-fake-device-for-media-stream, permission granted by --use-fake-ui-for-media-stream; both set for
the run's one Chromium in tests/e2e/conftest.py) at 390×844.
Capture the ID's front and back with the rear camera and a selfie with the front one, send them with a
progress bar, and see "Pending review". With the camera refused, the file input takes over."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import PASSWORD, unique_email, unique_phone
from tests.integration import kyc_support as shots

pytestmark = pytest.mark.e2e


def sign_up(page: Page) -> None:
    page.goto("/signup")
    page.get_by_label("Email").fill(unique_email("kyc"))
    page.get_by_label("Mobile number").fill(unique_phone())
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_test_id("balance-USD")).to_have_text("$0.00")


def capture(page: Page, photo: str, *, retake: bool = False) -> None:
    part = page.get_by_role("group", name=photo)
    part.get_by_role("button", name="Retake" if retake else "Open the camera").click()
    expect(part.get_by_role("button", name="Take the photo")).to_be_focused()
    expect(part.get_by_text("Camera on.")).to_be_visible()
    part.get_by_role("button", name="Take the photo").click()
    expect(part.get_by_role("img", name=f"Your photo: {photo}")).to_be_visible()
    expect(part.get_by_text(f"Photo taken: {photo}.")).to_be_visible()
    expect(part.get_by_role("button", name="Retake")).to_be_focused()


def test_capture_id_and_selfie_with_the_camera_and_see_pending(phone, screenshot, axe):
    page = phone()
    sign_up(page)
    page.goto("/profile")
    page.get_by_role("link", name="Identity check").click()
    expect(page.get_by_test_id("kyc-status")).to_have_text("Not verified")
    expect(page.get_by_role("group", name="Back of your document")).to_be_hidden()  # a passport has none
    page.get_by_label("National ID card").check()
    axe(page, "the identity check form")

    capture(page, "Front of your document")
    capture(page, "Front of your document", retake=True)
    capture(page, "Back of your document")
    capture(page, "A selfie")
    screenshot(page, "kyc-captured")
    axe(page, "the identity check form with three photos")

    with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/kyc")) as sent:
        page.get_by_role("button", name="Send for review").click()
    # Sent by upload.js (with its progress bar), which then follows the JSON answer's redirect.
    assert sent.value.request.headers["accept"] == "application/json"
    assert sent.value.status == 200 and sent.value.headers["content-type"] == "application/json"
    expect(page.get_by_test_id("kyc-status")).to_have_text("Pending review")
    expect(page.get_by_role("status").filter(has_text="We are checking your documents")).to_be_visible()
    expect(page.get_by_role("button", name="Send for review")).to_have_count(0)
    screenshot(page, "kyc-pending")
    axe(page, "the identity check in review")


def test_profile_photo_from_the_front_camera_shows_on_the_dashboard(phone, screenshot):
    page = phone()
    sign_up(page)
    expect(page.get_by_test_id("avatar-photo")).to_have_count(0)
    page.goto("/profile")
    capture(page, "Add a photo")
    page.get_by_role("button", name="Save photo").click()
    expect(page.get_by_test_id("profile-photo")).to_be_visible()
    page.goto("/")
    avatar = page.get_by_test_id("avatar-photo")
    expect(avatar).to_be_visible()
    assert avatar.evaluate("img => img.complete && img.naturalWidth > 0")  # served to its owner
    screenshot(page, "dashboard-with-photo")


def test_with_the_camera_refused_the_file_input_takes_over(phone, tmp_path):
    page = phone()
    page.add_init_script("""navigator.mediaDevices.getUserMedia = () =>
        Promise.reject(new DOMException("Permission denied", "NotAllowedError"));""")
    sign_up(page)
    page.goto("/kyc")
    front = page.get_by_role("group", name="Front of your document")
    front.get_by_role("button", name="Open the camera").click()
    expect(front.get_by_text("The camera is not allowed for this site.")).to_be_visible()
    picture = tmp_path / "id.jpg"
    picture.write_bytes(shots.with_gps_and_orientation())
    front.get_by_label("Take or choose a photo").set_input_files(picture)
    expect(front.get_by_role("img", name="Your photo: Front of your document")).to_be_visible()
    page.get_by_role("button", name="Send for review").click()
    # The selfie is missing: the form says so in place, nothing was sent, and the chosen photo stays.
    expect(page.locator("#e-selfie")).to_have_text("Take or choose a selfie.")
    selfie = page.get_by_role("group", name="A selfie")
    selfie.get_by_role("button", name="Open the camera").click()
    selfie.get_by_label("Take or choose a photo").set_input_files(picture)
    page.get_by_role("button", name="Send for review").click()
    expect(page.get_by_test_id("kyc-status")).to_have_text("Pending review")
