"""Server-side state of sign-in: web sessions that can really end, and failed logins per account and
client address (so a stranger can slow down only their own guesses, never lock the owner out)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from webapp.models.base import Base, Timestamp, utcnow


class WebSession(Base):
    """One signed-in browser. The cookie holds a random secret; only its SHA-256 is stored here, so a
    copy of this table signs nobody in. Logging out, idling past SESSION_IDLE_TIMEOUT, outliving
    SESSION_MAX_AGE or "sign out everywhere" ends it on the server, whatever the cookie says."""

    __tablename__ = "web_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 hex of the cookie's secret
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(Timestamp, nullable=True)


class LoginFailure(Base):
    """Failed sign-ins for one (email as typed and normalised, client address) pair, known account or
    not, keyed by a hash of both so the table holds neither."""

    __tablename__ = "login_failures"

    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 hex of "email|address"
    failures: Mapped[int] = mapped_column(Integer, default=0)
    first_failed_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)  # start of the window
    locked_until: Mapped[datetime | None] = mapped_column(Timestamp, nullable=True)
