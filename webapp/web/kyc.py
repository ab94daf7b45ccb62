"""The identity check page: the status (unverified, in review, verified, or not accepted with the
reviewer's reason) and, when photos may be sent, the capture form: a document type, the ID's front (and
back, for ID cards and driving licences) with the rear camera, and a selfie with the front camera."""

from __future__ import annotations

from flask import flash, render_template, url_for
from flask_login import current_user, login_required

from webapp.errors import ValidationError
from webapp.extensions import limiter, new_uow
from webapp.models.kyc import WITH_BACK
from webapp.services import kyc
from webapp.web import bp
from webapp.web.forms import restore, text
from webapp.web.uploads import done, failed, photo

DOCUMENTS = [("passport", "Passport"), ("national_id", "National ID card"), ("driving_licence", "Driving licence")]


@bp.get("/kyc")
@login_required
def kyc_page():
    state = kyc.state(new_uow(), user_id=current_user.id)
    values, errors = restore("kyc", {"document_type": "passport"})
    return render_template("kyc/page.html", state=state, values=values, errors=errors, documents=DOCUMENTS,
                           with_back=WITH_BACK, nav_area="profile")


@bp.post("/kyc")
@login_required
@limiter.limit("20 per hour")
def kyc_submit():
    document_type = text("document_type", 32)
    try:
        kyc.submit(new_uow(), user_id=current_user.id, document_type=document_type,
                   id_front=photo("id_front"), id_back=photo("id_back"), selfie=photo("selfie"))
    except ValidationError as error:
        return failed("kyc", url_for("web.kyc_page"), {"document_type": document_type}, error)
    flash("Thank you. We are checking your documents and will update this page when we are done.", "success")
    return done(url_for("web.kyc_page"))
