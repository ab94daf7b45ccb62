"""Identity checks (KYC) and the images people upload: ID photos, selfies and profile photos."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from webapp.models.base import Base, Timestamp, Uuid, new_id, utcnow

BINARY = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin"}
DOCUMENT_TYPES = ("passport", "national_id", "driving_licence")
WITH_BACK = ("national_id", "driving_licence")  # documents with a second side to photograph
SUBMISSION_STATUSES = ("pending", "verified", "rejected")
PURPOSES = ("id_front", "id_back", "selfie", "profile")
IMAGE_ID_LENGTH = 32  # secrets.token_urlsafe(24): 192 random bits, URL- and file-name-safe


class StoredImage(Base):
    """An image we re-encoded and wrote to UPLOAD_DIR as `<id><extension>`. The id is random and is the
    only name the file ever has: the name a person's device gave it is never kept or used."""

    __tablename__ = "stored_images"
    __table_args__ = (Index("ix_stored_images_owner", "user_id", "purpose"), BINARY)

    id: Mapped[str] = mapped_column(String(IMAGE_ID_LENGTH), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    purpose: Mapped[str] = mapped_column(String(16))  # one of PURPOSES
    media_type: Mapped[str] = mapped_column(String(16))  # image/jpeg | image/png, what we encoded
    byte_size: Mapped[int] = mapped_column(Integer)  # bytes on disk
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)


class KycSubmission(Base):
    """One set of ID photos and a selfie sent for review. A person has at most one pending at a time;
    after a rejection they may send a new one, and the old one stays as it was for the record."""

    __tablename__ = "kyc_submissions"
    __table_args__ = (Index("ix_kyc_submissions_queue", "status", "created_at"),
                      Index("ix_kyc_submissions_user", "user_id", "created_at"), BINARY)

    id: Mapped[str] = mapped_column(Uuid, primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    document_type: Mapped[str] = mapped_column(String(20))  # one of DOCUMENT_TYPES
    status: Mapped[str] = mapped_column(String(16), default="pending")  # one of SUBMISSION_STATUSES
    reason: Mapped[str | None] = mapped_column(String(500), nullable=True)  # why it was rejected, shown to them
    reviewer_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    id_front_image: Mapped[str] = mapped_column(ForeignKey("stored_images.id"))
    id_back_image: Mapped[str | None] = mapped_column(ForeignKey("stored_images.id"), nullable=True)
    selfie_image: Mapped[str] = mapped_column(ForeignKey("stored_images.id"))
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    reviewed_at: Mapped[datetime | None] = mapped_column(Timestamp, nullable=True)
