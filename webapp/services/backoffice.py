"""What the back office reads and runs beyond people (services/user_search.py) and freezes
(services/freezes.py): the KYC review queue, a reconciliation run, the audit log and its chain check.

A run of the reconciliation or of the chain check is itself audited, on the operator's own stream (not
"system": a busy back office must not serialize on one stream head), with what it found, so the trail
shows who looked and what they saw. KYC decisions are services/kyc.py's, audited there.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from sqlalchemy import select

from webapp.db import UnitOfWork
from webapp.errors import NotFound
from webapp.models import AuditLog, KycSubmission, User
from webapp.services import audit, kyc, reconciliation, staff, user_search

AUDIT_PAGE = 50  # audit rows per page
MAX_FINDINGS = 100  # drifts kept in a run's audit row; the page shows them all


@dataclass(frozen=True)
class Review:
    """A submission with the person who sent it, for the queue and the review page."""

    submission: KycSubmission
    user: User


@dataclass(frozen=True)
class AuditPage:
    rows: list[AuditLog]  # newest first
    emails: dict[str, str]  # actor id → email, for the rows' "by" column
    older: int | None  # the id to pass as `before` for the next page, None on the last


def review_queue(uow: UnitOfWork, *, staff_id: str) -> list[Review]:
    """Pending submissions, oldest first (kyc.pending), each with its person."""
    with uow:
        staff.require(uow, staff_id, staff.STAFF_ROLES)
    pending = kyc.pending(uow)
    with uow:
        people = _users(uow, {s.user_id for s in pending})
    return [Review(submission, people[submission.user_id]) for submission in pending]


def review(uow: UnitOfWork, *, staff_id: str, submission_id: object) -> Review:
    """One submission, whatever its status (a decided one shows who decided and why)."""
    with uow:
        staff.require(uow, staff_id, staff.STAFF_ROLES)
        found = uow.session.get(KycSubmission, submission_id) if isinstance(submission_id, str) else None
        if found is None:
            raise NotFound("Submission not found.")
        return Review(found, uow.session.get(User, found.user_id))


def run_reconciliation(uow: UnitOfWork, *, staff_id: str) -> reconciliation.Report:
    with uow:
        staff.require(uow, staff_id, staff.STAFF_ROLES)
    report = reconciliation.reconcile(uow)
    with uow:
        audit.append(uow, stream=audit.user_stream(staff_id), event="reconciliation_run", actor_id=staff_id,
                     data={"ok": report.ok, "wallets_checked": report.wallets_checked,
                           "drifts": [asdict(d) for d in report.drifts[:MAX_FINDINGS]],
                           "unbalanced_currencies": report.unbalanced_currencies})
        uow.commit()
    return report


def check_audit_trail(uow: UnitOfWork, *, staff_id: str) -> audit.Finding | None:
    """audit.verify, and a row saying who ran it and what it found (appended after the walk, so the
    next check covers it)."""
    with uow:
        staff.require(uow, staff_id, staff.STAFF_ROLES)
    finding = audit.verify(uow)
    with uow:
        audit.append(uow, stream=audit.user_stream(staff_id), event="audit_verified", actor_id=staff_id,
                     data={"intact": finding is None, "finding": str(finding) if finding else None})
        uow.commit()
    return finding


def audit_page(uow: UnitOfWork, *, staff_id: str, before: object = None) -> AuditPage:
    """The newest audit rows across all streams, paged by id (`before`: the last id of the previous page)."""
    with uow:
        staff.require(uow, staff_id, staff.STAFF_ROLES)
        rows = select(AuditLog).order_by(AuditLog.id.desc()).limit(AUDIT_PAGE + 1)
        if isinstance(before, int):
            rows = rows.where(AuditLog.id < before)
        found = list(uow.session.scalars(rows))
        page, more = found[:AUDIT_PAGE], len(found) > AUDIT_PAGE
        actors = user_search.emails(uow, {row.actor_id for row in page if row.actor_id})
    return AuditPage(page, actors, page[-1].id if more else None)


def _users(uow: UnitOfWork, ids: set[str]) -> dict[str, User]:
    if not ids:
        return {}
    return {user.id: user for user in uow.session.scalars(select(User).where(User.id.in_(ids)))}
