"""Photo uploads on the web: what the KYC page and the profile photo share, and the one route that
serves stored images (to their owner and to staff; anyone else gets the same 404 as for no image).

A photo form works without JavaScript (a plain multipart POST, Post/Redirect/Get). static/js/upload.js
sends the same form with XMLHttpRequest to show progress, asking for JSON: then the answer is
{"redirect": url} or a 422 with {"message", "errors": {field: message}}, drawn onto the form in place."""

from __future__ import annotations

from flask import jsonify, redirect, request, send_file
from flask_login import current_user, login_required

from webapp.errors import DomainError
from webapp.extensions import new_uow
from webapp.services import images, uploads
from webapp.web import bp
from webapp.web.forms import errors_for, redirect_back

UPLOAD_ENDPOINTS = {"web.kyc_submit", "web.profile_photo"}


@bp.url_value_preprocessor
def _allow_photo_bodies(endpoint: str | None, _values: dict | None) -> None:
    """Raise the body limit for the photo forms only. This runs before every before_request hook, and
    CSRF protection's hook reads the form: set later, Werkzeug would already have refused three phone
    photos with a bare 413 at MAX_CONTENT_LENGTH."""
    if endpoint in UPLOAD_ENDPOINTS:
        request.max_content_length = images.MAX_REQUEST_BYTES


def photo(name: str) -> bytes | None:
    upload = request.files.get(name)
    return images.read_upload(upload.stream) if upload is not None else None


def wants_json() -> bool:
    return request.accept_mimetypes.best_match(["text/html", "application/json"]) == "application/json"


def done(url: str):
    return jsonify({"redirect": url}) if wants_json() else redirect(url, 303)


def failed(form: str, url: str, values: dict[str, str], error: DomainError):
    errors = errors_for(error)
    if wants_json():
        return jsonify({"message": error.message, "errors": errors}), 422
    return redirect_back(form, url, values, errors)


@bp.get("/images/<image_id>")
@login_required
def stored_image(image_id: str):
    image, path = uploads.viewable(new_uow(), viewer_id=current_user.id, image_id=image_id)
    response = send_file(path, mimetype=image.media_type, conditional=False, etag=False)
    # Identity documents and faces: never in a shared or browser cache, never sniffed as anything but the
    # image type we wrote, never embedded by another site.
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cross-Origin-Resource-Policy"] = "same-origin"
    response.headers["Content-Disposition"] = "inline"
    return response
