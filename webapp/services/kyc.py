"""Identity checks (KYC): a person sends photos of an ID document and a selfie; a reviewer approves or
rejects them with a reason the person sees, who may then send new ones.

    users.kyc_status: unverified → pending → verified
                                          ↘ rejected → pending → …

Nothing is stored unless the whole submission is valid: every image is checked and re-encoded first
(services/images.py), then written, then recorded in one transaction; if that transaction fails, the
files it would have pointed at are removed again. Every step is audited on the person's stream.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from webapp.db import UnitOfWork, retry_on_conflict
from webapp.errors import FieldErrors, Forbidden, NotFound, ValidationError
from webapp.models import KycSubmission, User
from webapp.models.base import utcnow
from webapp.models.kyc import DOCUMENT_TYPES, WITH_BACK
from webapp.services import audit, images, uploads

MAX_SIDE = 4096  # pixels on the longer side of a stored ID photo or selfie: sharp enough to read any ID
MAX_REASON = 500  # characters of a rejection reason (kyc_submissions.reason)
REVIEWER_ROLES = ("reviewer", "admin")
MISSING = {"id_front": "Take or choose a photo of the front of your document.",
           "id_back": "Take or choose a photo of the back of your document.",
           "selfie": "Take or choose a selfie."}


class AlreadyReviewed(ValidationError):
    default_message = "This submission was already reviewed."


@dataclass(frozen=True)
class KycState:
    status: str  # users.kyc_status: unverified | pending | verified | rejected
    latest: KycSubmission | None  # their newest submission, whose reason a rejection shows


def state(uow: UnitOfWork, *, user_id: str) -> KycState:
    with uow:
        user = uow.session.get(User, user_id)
        if user is None:
            raise NotFound("Account not found.")
        latest = uow.session.scalars(select(KycSubmission).where(KycSubmission.user_id == user_id)
                                     .order_by(KycSubmission.created_at.desc()).limit(1)).first()
        return KycState(user.kyc_status, latest)


def sides(document_type: object) -> tuple[str, ...]:
    """The photos a document type needs, in the order people take them."""
    return ("id_front", "id_back", "selfie") if document_type in WITH_BACK else ("id_front", "selfie")


def submit(uow: UnitOfWork, *, user_id: str, document_type: object, id_front: bytes | None,
           id_back: bytes | None = None, selfie: bytes | None) -> KycSubmission:
    """Check every photo, then store them and mark the person pending. Refused while a submission is
    pending or once verified. Photos a document type does not need (a passport's back) are ignored."""
    with uow:  # the cheap refusal first: no point decoding three photos for someone already verified
        _ensure_may_submit(uow.session.get(User, user_id))
    uploaded = {"id_front": id_front, "id_back": id_back, "selfie": selfie}
    cleaned = _clean_all(document_type, uploaded)
    written = {purpose: (uploads.write(uow.config, image), image) for purpose, image in cleaned.items()}
    try:
        return _record(uow, user_id=user_id, document_type=document_type, written=written)
    except BaseException:
        uploads.remove(uow.config, [(image_id, image.media_type) for image_id, image in written.values()])
        raise


def _clean_all(document_type: object, uploaded: dict[str, bytes | None]) -> dict[str, images.CleanImage]:
    """Every photo checked, and every problem of the submission reported at once."""
    problems = FieldErrors()
    if document_type not in DOCUMENT_TYPES:
        problems.add("document_type", "Choose passport, national ID card or driving licence.")
    cleaned = {}
    for purpose in sides(document_type):  # an unknown type: still check the two photos every type has
        if not uploaded[purpose]:
            problems.add(purpose, MISSING[purpose])
            continue
        image = problems.check(purpose, images.clean, uploaded[purpose], field=purpose, max_side=MAX_SIDE)
        if image is not None:
            cleaned[purpose] = image
    problems.raise_any()
    return cleaned


def _ensure_may_submit(user: User | None) -> None:
    if user is None:
        raise NotFound("Account not found.")
    if user.kyc_status == "pending":
        raise ValidationError("We are checking the documents you sent. You can send new ones if they are "
                              "not accepted.", details={"fields": {}})
    if user.kyc_status == "verified":
        raise ValidationError("Your identity is already verified.", details={"fields": {}})


@retry_on_conflict
def _record(uow: UnitOfWork, *, user_id: str, document_type: str,
            written: dict[str, tuple[str, images.CleanImage]]) -> KycSubmission:
    with uow:
        user = uow.session.get(User, user_id, with_for_update=True)
        _ensure_may_submit(user)  # again, under the lock: two submits at once make one submission
        for purpose, (image_id, image) in written.items():
            uploads.record(uow, user_id=user_id, purpose=purpose, image_id=image_id, image=image)
        uow.session.flush()  # the images first: the submission's foreign keys point at them
        names = {f"{purpose}_image": image_id for purpose, (image_id, _) in written.items()}
        submission = KycSubmission(user_id=user_id, document_type=document_type, status="pending", **names)
        uow.session.add(submission)
        user.kyc_status = "pending"
        uow.session.flush()
        audit.append(uow, stream=audit.user_stream(user_id), event="kyc_submitted", actor_id=user_id,
                     data={"submission_id": submission.id, "document_type": document_type})
        uow.commit()
    return submission


def pending(uow: UnitOfWork, *, limit: int = 50) -> list[KycSubmission]:
    """The review queue, oldest first (for the back office)."""
    with uow:
        return list(uow.session.scalars(select(KycSubmission).where(KycSubmission.status == "pending")
                                        .order_by(KycSubmission.created_at).limit(limit)))


@retry_on_conflict
def approve(uow: UnitOfWork, *, reviewer_id: str, submission_id: str) -> KycSubmission:
    """The documents match the person: they are verified, and the limits of verified people apply."""
    with uow:
        submission, user = _under_review(uow, reviewer_id=reviewer_id, submission_id=submission_id)
        _decide(submission, user, reviewer_id=reviewer_id, status="verified", reason=None)
        audit.append(uow, stream=audit.user_stream(user.id), event="kyc_approved", actor_id=reviewer_id,
                     data={"submission_id": submission.id})
        uow.commit()
    return submission


@retry_on_conflict
def reject(uow: UnitOfWork, *, reviewer_id: str, submission_id: str, reason: object) -> KycSubmission:
    """Not accepted, with a reason written for the person (they see it and may send new photos)."""
    reason = _check_reason(reason)
    with uow:
        submission, user = _under_review(uow, reviewer_id=reviewer_id, submission_id=submission_id)
        _decide(submission, user, reviewer_id=reviewer_id, status="rejected", reason=reason)
        audit.append(uow, stream=audit.user_stream(user.id), event="kyc_rejected", actor_id=reviewer_id,
                     data={"submission_id": submission.id, "reason": reason})
        uow.commit()
    return submission


def _check_reason(reason: object) -> str:
    text = " ".join(reason.split()) if isinstance(reason, str) else ""
    if not text:
        raise ValidationError.field("reason", "Say why, so the person knows what to send next time.")
    if len(text) > MAX_REASON:
        raise ValidationError.field("reason", f"Keep the reason under {MAX_REASON + 1} characters.")
    return text


def _under_review(uow: UnitOfWork, *, reviewer_id: str, submission_id: object) -> tuple[KycSubmission, User]:
    """The pending submission and its person, both locked (person first, as submit locks them), for a
    reviewer who is not that person."""
    reviewer = uow.session.get(User, reviewer_id)
    if reviewer is None or reviewer.role not in REVIEWER_ROLES:
        raise Forbidden("Only reviewers can decide on identity checks.")
    found = uow.session.get(KycSubmission, submission_id) if isinstance(submission_id, str) else None
    if found is None:
        raise NotFound("Submission not found.")
    if found.user_id == reviewer_id:
        raise Forbidden("Someone else must review your own documents.")
    user = uow.session.get(User, found.user_id, with_for_update=True)
    submission = uow.session.get(KycSubmission, submission_id, with_for_update=True, populate_existing=True)
    if submission.status != "pending":
        raise AlreadyReviewed()
    return submission, user


def _decide(submission: KycSubmission, user: User, *, reviewer_id: str, status: str, reason: str | None) -> None:
    submission.status, submission.reason = status, reason
    submission.reviewer_id, submission.reviewed_at = reviewer_id, utcnow()
    user.kyc_status = status
