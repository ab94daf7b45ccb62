"""The profile photo (the original app's "upload camera"): taken with the same camera component as the
KYC photos, kept the same safe way, shown on the profile and as the dashboard's avatar."""

from __future__ import annotations

from flask import flash, url_for
from flask_login import current_user, login_required

from webapp.errors import ValidationError
from webapp.extensions import limiter, new_uow
from webapp.services import profile_photos
from webapp.web import bp
from webapp.web.uploads import done, failed, photo


@bp.post("/profile/photo")
@login_required
@limiter.limit("20 per hour")
def profile_photo():
    try:
        profile_photos.set_photo(new_uow(), user_id=current_user.id, photo=photo("photo"))
    except ValidationError as error:
        return failed("photo", url_for("web.profile", _anchor="photo"), {}, error)
    flash("Your photo is updated.", "success")
    return done(url_for("web.profile"))
