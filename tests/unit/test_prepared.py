"""Prepared statements (webapp/prepared.py) keep what the money path relies on from SQLAlchemy's own
execution: type conversions both ways, its exception classes, and refusing what they can't do."""

from datetime import date

import pytest
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import ArgumentError, IntegrityError, NoResultFound

from webapp.db import numbered, numbered_in
from webapp.models import IdempotencyKey, Wallet
from webapp.models.base import utcnow
from webapp.prepared import Prepared
from webapp.services import accounts

_wallets = Wallet.__table__
_SET_DAY = Prepared(update(_wallets).where(_wallets.c.id == bindparam("wallet")).values(
    daily_sent_day=bindparam("day"), version=_wallets.c.version + 1))
_READ = Prepared(select(_wallets.c.id, _wallets.c.daily_sent_day, _wallets.c.version)
                 .where(numbered_in(_wallets.c.id, 1)))
_KEY = Prepared(insert(IdempotencyKey.__table__))


@pytest.fixture()
def wallet_id(uow):
    user = accounts.register(uow, email="p@example.com", password="long-enough-pass", phone="+14155550109",
                             verified=True)
    with uow:
        return uow.session.scalar(select(Wallet.id).where(Wallet.user_id == user.id))


def test_values_convert_both_ways_and_literals_are_bound(uow, wallet_id):
    with uow:
        before = uow.execute(_READ, numbered([wallet_id])).one()
        assert uow.execute(_SET_DAY, {"wallet": wallet_id, "day": date(2026, 11, 24)}).rowcount == 1
        after = uow.execute(_READ, numbered([wallet_id])).one()
        uow.commit()
    assert after.daily_sent_day == date(2026, 11, 24)  # a date again, not SQLite's text
    assert after.version == before.version + 1
    with uow:
        assert uow.session.get(Wallet, wallet_id).daily_sent_day == date(2026, 11, 24)


def test_errors_are_sqlalchemys_and_roll_back_with_the_unit_of_work(uow, wallet_id):
    with uow:
        user_id = uow.session.get(Wallet, wallet_id).user_id
    row = {"user_id": user_id, "operation": "transfer", "key": "k", "request_hash": "h", "result_id": "r",
           "created_at": utcnow(), "expires_at": utcnow()}
    with uow:
        uow.execute(_KEY, row)
        with pytest.raises(IntegrityError):
            uow.execute(_KEY, row)
    with uow:
        assert uow.session.scalar(select(IdempotencyKey)) is None  # never committed


def test_no_row_and_missing_parameters_are_refused(uow, wallet_id):
    with uow:
        with pytest.raises(NoResultFound):
            uow.execute(_READ, numbered(["nobody"])).one()
        with pytest.raises(ArgumentError, match="required"):
            uow.execute(_SET_DAY, {"wallet": wallet_id})


def test_what_it_cant_do_is_refused_when_compiled(uow, wallet_id):
    expanding = Prepared(select(_wallets.c.id).where(_wallets.c.id.in_(bindparam("ids", expanding=True))))
    with uow, pytest.raises(ArgumentError, match="expand"):
        uow.execute(expanding, {"ids": [wallet_id]})
    with uow, pytest.raises(ArgumentError, match="defaults"):  # created_at and id have Python defaults
        uow.execute(Prepared(insert(IdempotencyKey.__table__)), {"user_id": "u", "operation": "o", "key": "k",
                                                                 "request_hash": "h", "result_id": "r",
                                                                 "expires_at": utcnow()})
