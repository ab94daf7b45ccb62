"""Operator accounts: admins and reviewers are ordinary users with a role."""

from __future__ import annotations

from sqlalchemy import select

from webapp.db import UnitOfWork
from webapp.models import User
from webapp.services import accounts, audit


def make_admin(uow: UnitOfWork, *, email: str, password: str, phone: str) -> User:
    with uow:
        existing = uow.session.scalar(select(User).where(User.email == accounts.normalize_email(email)))
    # An operator typed these contacts: a new admin starts with them confirmed (no link, no code). An
    # existing user keeps whatever they confirmed themselves.
    user = existing or accounts.register(uow, email=email, password=password, phone=phone, verified=True)
    with uow:
        user = uow.session.get(User, user.id, with_for_update=True)
        user.role = "admin"
        audit.append(uow, stream=audit.user_stream(user.id), event="role_granted", data={"role": "admin"})
        uow.commit()
    return user
