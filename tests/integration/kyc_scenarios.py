"""The documented responses of the identity check endpoints, produced for tests/integration/test_api_spec.py
(which merges these into its SCENARIOS)."""

from __future__ import annotations

import io

from sqlalchemy import select

from tests.integration import kyc_support as shots
from tests.integration.test_api_support import set_user
from webapp.extensions import new_uow
from webapp.models import KycSubmission
from webapp.services import kyc
from webapp.services.images import MAX_REQUEST_BYTES

KYC = "/kyc"


def sent(user, body=None):
    return user.post(KYC, data=body or shots.passport())


def rejected(world):
    """Bob sent photos and a reviewer turned them down: the status carries the reason."""
    assert sent(world.bob).status_code == 201
    staff = world.wallets.user(prefix="reviewer")
    set_user(world.app, staff.id, role="reviewer")
    with world.app.app_context():
        with new_uow() as uow:
            latest = uow.session.scalars(select(KycSubmission).where(KycSubmission.user_id == world.bob.id)).one()
        kyc.reject(new_uow(), reviewer_id=staff.id, submission_id=latest.id, reason="The photo is blurry.")
    return world.bob.get(KYC)


def refused(world):
    pending = world.wallets.user()
    assert sent(pending).status_code == 201
    return [world.call("post", KYC, data={}), world.call("post", KYC, data=shots.passport(id_front=shots.SVG)),
            world.call("post", KYC, data=shots.national_id(id_back=b"")), sent(pending)]


def oversized(world):
    body = {"document_type": "passport", "id_front": (io.BytesIO(b"\0" * MAX_REQUEST_BYTES), "big.jpg")}
    return [world.call("post", KYC, data=body)]


SCENARIOS = {
    ("get", KYC, "200"): lambda w: [w.call("get", KYC), rejected(w)],
    ("post", KYC, "201"): lambda w: [sent(w.wallets.user()), sent(w.wallets.user(), shots.national_id())],
    ("post", KYC, "413"): oversized,
    ("post", KYC, "422"): refused,
}
