"""OpenAPI paths for identity checks (webapp/api/kyc.py), kept apart from spec.py, which adds them in
build_spec."""

from __future__ import annotations

from webapp.api.spec import RATE_LIMITED, TIMESTAMP, UNAUTHORIZED, failure, invalid, obj, operation, success
from webapp.models.kyc import DOCUMENT_TYPES, WITH_BACK
from webapp.services.images import MAX_BYTES, MAX_PIXELS, MAX_REQUEST_BYTES

KYC = obj({"status": {"enum": ["unverified", "pending", "verified", "rejected"],
                      "description": "unverified → pending once photos are sent → verified, or rejected with "
                      "a reason; after a rejection, send new photos."},
           "reason": {"type": ["string", "null"], "description": "Why the last photos were not accepted, "
                      "written for the person; null unless `status` is rejected."},
           "document_type": {"enum": [*DOCUMENT_TYPES, None], "description": "Of the latest submission."},
           "submitted_at": {**TIMESTAMP, "type": ["string", "null"]},
           "reviewed_at": {**TIMESTAMP, "type": ["string", "null"]}}, closed=True)
PHOTO = {"type": "string", "contentMediaType": "application/octet-stream",
         "description": f"A JPEG, PNG or WebP photo of at most {MAX_BYTES // (1024 * 1024)} MB and "
         f"{MAX_PIXELS // 1_000_000} megapixels, recognised by its bytes (the file name and content type are "
         "ignored). It is re-encoded without any metadata (EXIF, GPS) before it is stored."}
SUBMISSION = obj({"document_type": {"enum": list(DOCUMENT_TYPES)}, "id_front": PHOTO, "selfie": PHOTO},
                 {"id_back": {**PHOTO, "description": f"Required for {' and '.join(WITH_BACK)}; ignored for "
                              f"a passport. {PHOTO['description']}"}})
PHOTO_TYPES = {"contentType": "image/jpeg, image/png, image/webp, application/octet-stream"}


def kyc_paths() -> dict:
    request = {"required": True, "description": "multipart/form-data; nothing is stored unless every photo is "
               "valid.", "content": {"multipart/form-data": {
                   "schema": SUBMISSION, "encoding": {name: PHOTO_TYPES for name in ("id_front", "id_back",
                                                                                    "selfie")}}}}
    return {"/kyc": {
        "get": operation("getKyc", "Your identity check: its status and, when rejected, why.",
                         {"200": success("The status.", obj({"kyc": KYC}, closed=True)), **UNAUTHORIZED},
                         tag="kyc"),
        "post": operation(
            "submitKyc", "Send photos of an ID document and a selfie for review. Refused while photos are "
            "being checked and once verified; after a rejection, send new ones.",
            {"201": success("Received: the status is now pending.", obj({"kyc": KYC}, closed=True)),
             **UNAUTHORIZED,
             "413": failure(f"The whole body is over {MAX_REQUEST_BYTES} bytes.", "VALIDATION_ERROR"),
             **invalid("a missing or unknown document_type; a photo missing, not a JPEG, PNG or WebP, over "
                       f"{MAX_BYTES // (1024 * 1024)} MB or {MAX_PIXELS // 1_000_000} megapixels, or "
                       "unreadable; or photos already being checked, or an identity already verified "
                       "(then `details.fields` is empty)."),
             **RATE_LIMITED},
            tag="kyc", request=request),
    }}
