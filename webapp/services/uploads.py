"""Where cleaned images live: UPLOAD_DIR (default instance/uploads), outside the static folder, so the
only way to an image is the authorized route (web/images.py). A file's name is its random id and the
extension of the format we wrote; nothing a client sent ever becomes part of a path."""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from pathlib import Path

from webapp.db import UnitOfWork
from webapp.errors import NotFound
from webapp.models import StoredImage, User
from webapp.models.kyc import IMAGE_ID_LENGTH
from webapp.services.images import CleanImage

ID_PATTERN = re.compile(rf"[A-Za-z0-9_-]{{{IMAGE_ID_LENGTH}}}")
EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png"}
STAFF_ROLES = ("reviewer", "admin")  # who may see anyone's images (the KYC review queue, a user's page)


def new_id() -> str:
    return secrets.token_urlsafe(IMAGE_ID_LENGTH * 3 // 4)


def path_for(config: dict, image_id: str, media_type: str) -> Path:
    if not ID_PATTERN.fullmatch(image_id) or media_type not in EXTENSIONS:
        raise ValueError("not an image id we made")  # a bug, never user input: ids come from our rows
    return Path(config["UPLOAD_DIR"]) / f"{image_id}{EXTENSIONS[media_type]}"


def write(config: dict, image: CleanImage) -> str:
    """Write the image under a new random id and return the id. The file is complete before it has its
    name (written aside, then renamed), and readable by this process's user only."""
    directory = Path(config["UPLOAD_DIR"])
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    image_id = new_id()
    target = path_for(config, image_id, image.media_type)
    staging = directory / f".{image_id}.part"
    descriptor = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as out:
            out.write(image.data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(staging, target)  # 192 random bits: no other file has this name
    except BaseException:
        staging.unlink(missing_ok=True)
        raise
    return image_id


def remove(config: dict, files: list[tuple[str, str]]) -> None:
    """Delete (image id, media type) pairs; a file already gone is fine. Used when the database refused
    what the files belonged to, and for a replaced profile photo."""
    for image_id, media_type in files:
        with contextlib.suppress(FileNotFoundError):
            path_for(config, image_id, media_type).unlink()


def record(uow: UnitOfWork, *, user_id: str, purpose: str, image_id: str, image: CleanImage) -> StoredImage:
    """The row of a file `write` made, in the caller's transaction."""
    row = StoredImage(id=image_id, user_id=user_id, purpose=purpose, media_type=image.media_type,
                      byte_size=len(image.data))
    uow.session.add(row)
    return row


def viewable(uow: UnitOfWork, *, viewer_id: str, image_id: str) -> tuple[StoredImage, Path]:
    """An image and its file, for its owner or staff. Anyone else gets NotFound, exactly as for an id that
    does not exist, so ids cannot be probed."""
    with uow:
        row = uow.session.get(StoredImage, image_id) if ID_PATTERN.fullmatch(image_id) else None
        if row is not None and row.user_id != viewer_id:
            viewer = uow.session.get(User, viewer_id)
            row = row if viewer is not None and viewer.role in STAFF_ROLES else None
    path = path_for(uow.config, row.id, row.media_type) if row is not None else None
    if path is None or not path.is_file():
        raise NotFound("Image not found.")
    return row, path
