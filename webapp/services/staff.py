"""Operator accounts: admins and reviewers are ordinary users with a role.

    user      the wallet and nothing more
    reviewer  the back office: KYC decisions, users, reconciliation, the audit log
    admin     all of that, and freezes and role changes

The role is read from the database on every request (web/session.py, api/envelope.py), so a change
takes effect on the person's next click without signing them out.
"""

from __future__ import annotations

from sqlalchemy import select

from webapp.db import UnitOfWork, retry_on_conflict
from webapp.errors import Forbidden, NotFound, ValidationError
from webapp.models import User
from webapp.models.users import ROLES
from webapp.services import accounts, audit

STAFF_ROLES = ("reviewer", "admin")  # who may open /admin
ADMIN_ROLES = ("admin",)  # who may freeze accounts and change roles


def is_staff(role: str | None) -> bool:
    return role in STAFF_ROLES


def require(uow: UnitOfWork, user_id: str, roles: tuple[str, ...]) -> User:
    """The acting operator, read inside the caller's transaction so a demotion that committed first wins."""
    actor = uow.session.get(User, user_id)
    if actor is None or actor.role not in roles:
        raise Forbidden("Only an admin can do this." if roles == ADMIN_ROLES else "This is for staff only.")
    return actor


def make_admin(uow: UnitOfWork, *, email: str, password: str, phone: str, role: str = "admin") -> User:
    """`ewallet create-admin`: a new operator account, or an existing user given the role."""
    if role not in STAFF_ROLES:
        raise ValidationError.field("role", "Choose reviewer or admin.")
    with uow:
        existing = uow.session.scalar(select(User).where(User.email == accounts.normalize_email(email)))
    # An operator typed these contacts: a new admin starts with them confirmed (no link, no code). An
    # existing user keeps whatever they confirmed themselves.
    user = existing or accounts.register(uow, email=email, password=password, phone=phone, verified=True)
    with uow:
        user = uow.session.get(User, user.id, with_for_update=True)
        previous, user.role = user.role, role
        # No actor: the command line is whoever has a shell on the server, not a user of the wallet.
        audit.append(uow, stream=audit.user_stream(user.id), event="role_granted",
                     data={"role": role, "from": previous, "via": "cli"})
        uow.commit()
    return user


@retry_on_conflict
def set_role(uow: UnitOfWork, *, admin_id: str, user_id: object, role: object) -> User:
    """An admin makes someone a reviewer or admin, or takes the role away. Audited on the person's stream
    with the admin as actor. Admins cannot change their own role: the last admin demoting themselves
    would leave nobody able to undo it but someone with a shell."""
    if role not in ROLES:
        raise ValidationError.field("role", "Choose user, reviewer or admin.")
    with uow:
        require(uow, admin_id, ADMIN_ROLES)
        user = uow.session.get(User, user_id, with_for_update=True) if isinstance(user_id, str) else None
        if user is None:
            raise NotFound("User not found.")
        if user.id == admin_id:
            raise Forbidden("Another admin must change your role.")
        if user.role == role:
            raise ValidationError.field("role", f"This person is already a {role}.")
        previous, user.role = user.role, role
        audit.append(uow, stream=audit.user_stream(user.id), event="role_changed", actor_id=admin_id,
                     data={"from": previous, "to": role})
        uow.commit()
    return user
