"""The KYC review queue: pending submissions oldest first; a review page with the photos side by side
(served by web/uploads.py, which lets staff see anyone's) and approve / reject-with-a-reason forms.
The decisions are services/kyc.py's, which checks the reviewer's role and audits them."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_login import current_user

from webapp.admin import bp
from webapp.errors import Forbidden, ValidationError
from webapp.extensions import new_uow
from webapp.services import backoffice, kyc
from webapp.web.forms import errors_for, redirect_back, restore, text

DOCUMENTS = {"passport": "Passport", "national_id": "National ID card", "driving_licence": "Driving licence"}


@bp.get("/kyc")
def kyc_queue():
    queue = backoffice.review_queue(new_uow(), staff_id=current_user.id)
    return render_template("admin/kyc_queue.html", queue=queue, documents=DOCUMENTS, admin_area="kyc")


@bp.get("/kyc/<submission_id>")
def kyc_review(submission_id: str):
    found = backoffice.review(new_uow(), staff_id=current_user.id, submission_id=submission_id)
    values, errors = restore(f"kyc-{submission_id}", {"reason": ""})
    return render_template("admin/kyc_review.html", review=found, documents=DOCUMENTS, values=values,
                           errors=errors, admin_area="kyc")


@bp.post("/kyc/<submission_id>/approve")
def kyc_approve(submission_id: str):
    try:
        done = kyc.approve(new_uow(), reviewer_id=current_user.id, submission_id=submission_id)
    except (ValidationError, Forbidden) as error:
        return _back(submission_id, {}, error)
    flash(f"Approved: the person is verified (submission {done.id[:8]}).", "success")
    return redirect(url_for("admin.kyc_queue"), 303)


@bp.post("/kyc/<submission_id>/reject")
def kyc_reject(submission_id: str):
    reason = text("reason", kyc.MAX_REASON + 100)
    try:
        done = kyc.reject(new_uow(), reviewer_id=current_user.id, submission_id=submission_id, reason=reason)
    except (ValidationError, Forbidden) as error:
        return _back(submission_id, {"reason": reason}, error)
    flash(f"Rejected, with your reason shown to the person (submission {done.id[:8]}).", "success")
    return redirect(url_for("admin.kyc_queue"), 303)


def _back(submission_id: str, values: dict[str, str], error):
    """Problems show on the review page: a missing reason by its field, the rest (reviewed already, your
    own documents) at the top."""
    url = url_for("admin.kyc_review", submission_id=submission_id)
    return redirect_back(f"kyc-{submission_id}", url, values, errors_for(error))
