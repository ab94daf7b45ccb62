"""A person's profile photo (the original app's "upload camera"): checked and re-encoded like the KYC
photos (services/images.py), one per person. A new photo replaces the old one, whose file is deleted
once the change is committed: we keep no faces nobody can see any more."""

from __future__ import annotations

from sqlalchemy import select

from webapp.db import UnitOfWork, retry_on_conflict
from webapp.errors import NotFound, ValidationError
from webapp.models import StoredImage, User
from webapp.services import audit, images, uploads

MAX_SIDE = 1024  # pixels: an avatar is shown at 40–96 CSS pixels, at most 3 device pixels each


def current(uow: UnitOfWork, *, user_id: str) -> StoredImage | None:
    with uow:
        return _photos(uow, user_id).first()


def set_photo(uow: UnitOfWork, *, user_id: str, photo: bytes | None) -> StoredImage:
    if not photo:
        raise ValidationError.field("photo", "Take or choose a photo.")
    image = images.clean(photo, field="photo", max_side=MAX_SIDE)
    image_id = uploads.write(uow.config, image)
    try:
        row, replaced = _replace(uow, user_id=user_id, image_id=image_id, image=image)
    except BaseException:
        uploads.remove(uow.config, [(image_id, image.media_type)])
        raise
    uploads.remove(uow.config, replaced)
    return row


@retry_on_conflict
def _replace(uow: UnitOfWork, *, user_id: str, image_id: str,
             image: images.CleanImage) -> tuple[StoredImage, list[tuple[str, str]]]:
    with uow:
        if uow.session.get(User, user_id, with_for_update=True) is None:  # one photo change at a time
            raise NotFound("Account not found.")
        old = list(_photos(uow, user_id))
        for row in old:
            uow.session.delete(row)
        row = uploads.record(uow, user_id=user_id, purpose="profile", image_id=image_id, image=image)
        audit.append(uow, stream=audit.user_stream(user_id), event="profile_photo_changed", actor_id=user_id,
                     data={"image_id": image_id})
        uow.commit()
    return row, [(photo.id, photo.media_type) for photo in old]


def _photos(uow: UnitOfWork, user_id: str):
    return uow.session.scalars(select(StoredImage).where(StoredImage.user_id == user_id,
                                                         StoredImage.purpose == "profile")
                               .order_by(StoredImage.created_at.desc()))
