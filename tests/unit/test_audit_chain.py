from sqlalchemy import delete, select, update

from webapp.models import AuditLog
from webapp.services import audit


def _write(uow, count=4, stream="user:abc"):
    with uow:
        rows = [audit.append(uow, stream=stream, event="transfer", actor_id="abc", data={"n": n}) for n in range(count)]
        uow.commit()
    return rows


def test_intact_chain_verifies(uow):
    _write(uow)
    _write(uow, stream=audit.SYSTEM)
    assert audit.verify(uow) is None


def test_edited_row_is_caught(uow):
    rows = _write(uow)
    with uow:
        uow.session.execute(update(AuditLog).where(AuditLog.id == rows[1].id).values(data={"n": 999}))
        uow.commit()
    finding = audit.verify(uow)
    assert (finding.row_id, finding.seq, finding.problem) == (rows[1].id, 2, "changed")


def test_deleted_row_is_caught(uow):
    rows = _write(uow)
    with uow:
        uow.session.execute(delete(AuditLog).where(AuditLog.id == rows[2].id))
        uow.commit()
    finding = audit.verify(uow)
    assert (finding.seq, finding.problem) == (3, "deleted")


def test_deleted_tail_is_caught(uow):
    rows = _write(uow)
    with uow:
        uow.session.execute(delete(AuditLog).where(AuditLog.id == rows[-1].id))
        uow.commit()
    assert audit.verify(uow).problem == "deleted"


def test_inserted_row_is_caught(uow):
    rows = _write(uow)
    with uow:
        forged = AuditLog(stream=rows[0].stream, seq=5, event="transfer", actor_id="abc", data={"n": "forged"},
                          created_at=rows[-1].created_at, prev_hash=rows[-1].hash, hash="0" * 64)
        uow.session.add(forged)
        uow.commit()
        forged_id = forged.id
    finding = audit.verify(uow)
    assert (finding.row_id, finding.problem) == (forged_id, "inserted")


def test_rehashed_edit_breaks_the_next_link(uow):
    rows = _write(uow)
    with uow:
        row = uow.session.scalar(select(AuditLog).where(AuditLog.id == rows[1].id))
        row.data = {"n": 7}
        row.hash = audit.row_hash(row.prev_hash, row)
        uow.commit()
    finding = audit.verify(uow)
    assert finding.row_id == rows[2].id
