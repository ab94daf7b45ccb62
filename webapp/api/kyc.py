"""Identity checks for the mobile app (DESIGN §9): GET /kyc for the status, POST /kyc (multipart) to send
the ID photos and a selfie. The photos are checked by their bytes alone (services/images.py)."""

from __future__ import annotations

from flask import g, request

from webapp.api import bp
from webapp.api.envelope import login_required, ok
from webapp.api.serializers import timestamp
from webapp.extensions import limiter, new_uow
from webapp.services import images, kyc

PHOTOS = ("id_front", "id_back", "selfie")


def kyc_status(state: kyc.KycState) -> dict:
    latest = state.latest
    reviewed = latest.reviewed_at if latest is not None else None
    return {"status": state.status,
            "reason": latest.reason if latest is not None and state.status == "rejected" else None,
            "document_type": latest.document_type if latest is not None else None,
            "submitted_at": timestamp(latest.created_at) if latest is not None else None,
            "reviewed_at": timestamp(reviewed) if reviewed is not None else None}


@bp.get("/kyc")
@login_required
def get_kyc():
    return ok({"kyc": kyc_status(kyc.state(new_uow(), user_id=g.user_id))})


@bp.post("/kyc")
@login_required
@limiter.limit("20 per hour")
def submit_kyc():
    request.max_content_length = images.MAX_REQUEST_BYTES  # before anything reads the body
    photos = {name: images.read_upload(_stream(name)) for name in PHOTOS}
    kyc.submit(new_uow(), user_id=g.user_id, document_type=request.form.get("document_type"), **photos)
    return ok({"kyc": kyc_status(kyc.state(new_uow(), user_id=g.user_id))}, 201)


def _stream(name: str):
    upload = request.files.get(name)
    return upload.stream if upload is not None else None
