"""Uploaded photos, made safe to keep and to show (DESIGN §12).

We trust nothing about an upload but its bytes: not its file name, not its declared content type. Pillow
must identify it as a JPEG, PNG or WebP, within MAX_BYTES and MAX_PIXELS, and decode it completely. Then
we keep only its pixels: turned upright by its EXIF orientation, converted to sRGB by its ICC profile,
and encoded afresh with no metadata at all. EXIF (GPS, device serials), comments, text chunks and
anything after the image data (an HTML page glued to a JPEG, a phone's motion-photo video) never reach
the disk, so what we serve is only ever an image we wrote ourselves.
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from typing import BinaryIO

from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from webapp.errors import ValidationError

MAX_BYTES = 8 * 1024 * 1024  # per image, as uploaded
# A request carrying up to three photos and the few form fields around them. Upload routes raise the
# body limit to this, above MAX_CONTENT_LENGTH on purpose: a 20 MB photo then gets its own clear 422
# ("over 8 MB"), not a bare 413 for the whole request.
MAX_REQUEST_BYTES = 3 * MAX_BYTES + 256 * 1024
MAX_PIXELS = 40_000_000  # width × height, as declared; checked before any pixel is decoded
# Pillow's names for the formats we take. Image.open tries only these decoders: the others (EPS, which
# runs Ghostscript, among them) never see an upload.
ACCEPTED = ("JPEG", "PNG", "WEBP")
JPEG_QUALITY = 90
# What Pillow may fail with on a hostile or broken file: not an image, truncated, corrupt headers or
# chunks, a declared size over Pillow's own bomb limit, or a decoder refusing its parameters.
UNREADABLE = (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError, ValueError, EOFError,
              IndexError, TypeError, KeyError, ZeroDivisionError)
SRGB = ImageCms.createProfile("sRGB")
TOO_MANY_PIXELS = f"This picture is over {MAX_PIXELS // 1_000_000} megapixels. Take it again or choose a smaller one."


@dataclass(frozen=True)
class CleanImage:
    data: bytes  # a fresh encode: no metadata, nothing after the image
    media_type: str  # image/jpeg | image/png
    extension: str  # .jpg | .png
    size: tuple[int, int]


def read_upload(stream: BinaryIO | None) -> bytes | None:
    """At most MAX_BYTES + 1 bytes of an uploaded file: enough to know it is too large without reading
    more. None when nothing was chosen (browsers send an empty part for an empty file input)."""
    if stream is None:
        return None
    data = stream.read(MAX_BYTES + 1)
    return data or None


def clean(data: bytes, *, field: str, max_side: int) -> CleanImage:
    """The upload as a fresh JPEG (or PNG, when it came as one), at most `max_side` pixels on its longer
    side, or a ValidationError on `field` that says what to do."""
    if len(data) > MAX_BYTES:
        raise ValidationError.field(field, f"This photo is over {MAX_BYTES // (1024 * 1024)} MB. "
                                           "Take it again or choose a smaller one.")
    try:
        with Image.open(io.BytesIO(data), formats=ACCEPTED) as probe:
            _check_header(probe, field)
            probe.verify()  # the container's structure and checksums, before decoding anything
        with Image.open(io.BytesIO(data), formats=ACCEPTED) as image:
            image.load()  # every pixel: a truncated or corrupt image fails here, not later
            return _encode(_upright_srgb(image), keep_png=image.format == "PNG", max_side=max_side)
    except ValidationError:
        raise
    except Image.DecompressionBombError:  # declared far beyond Pillow's own limit: refused before decoding
        raise ValidationError.field(field, TOO_MANY_PIXELS) from None
    except UNREADABLE:
        raise ValidationError.field(field, "This is not a photo we can read. Use a JPEG, PNG or WebP "
                                           "picture.") from None


def _check_header(image: Image.Image, field: str) -> None:
    if image.format not in ACCEPTED:
        raise ValidationError.field(field, "Use a JPEG, PNG or WebP picture.")
    width, height = image.size
    if width < 1 or height < 1 or width * height > MAX_PIXELS:
        raise ValidationError.field(field, TOO_MANY_PIXELS)


def _upright_srgb(image: Image.Image) -> Image.Image:
    """Rotated as the camera meant (EXIF orientation), then in sRGB: dropping a wide-gamut profile
    without converting would shift the colours of a face or a document."""
    with contextlib.suppress(*UNREADABLE):  # unreadable EXIF: keep the pixels as stored, not refuse them
        image = ImageOps.exif_transpose(image)
    profile = image.info.get("icc_profile")
    if profile and image.mode in ("RGB", "RGBA", "CMYK"):
        try:
            image = ImageCms.profileToProfile(image, io.BytesIO(profile), SRGB,
                                              outputMode="RGBA" if image.mode == "RGBA" else "RGB")
        except (ImageCms.PyCMSError, *UNREADABLE):
            pass  # a broken profile: the pixels as they are are the best guess
    return image


def _encode(image: Image.Image, *, keep_png: bool, max_side: int) -> CleanImage:
    image = _in_output_mode(image, keep_png)
    if max(image.size) > max_side:
        image = image.copy()
        image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    # Only the pixels go on: a new image has empty `info`, so no EXIF, ICC, comment or text chunk can be
    # carried over by the encoder (Pillow writes some of `info` back by default).
    fresh = Image.frombytes(image.mode, image.size, image.tobytes())
    out = io.BytesIO()
    if keep_png:
        fresh.save(out, format="PNG", optimize=True)
        return CleanImage(out.getvalue(), "image/png", ".png", fresh.size)
    fresh.save(out, format="JPEG", quality=JPEG_QUALITY, optimize=True)
    return CleanImage(out.getvalue(), "image/jpeg", ".jpg", fresh.size)


def _in_output_mode(image: Image.Image, keep_png: bool) -> Image.Image:
    """8-bit grey or RGB, with alpha only in a PNG; JPEG has no alpha, so transparency turns white
    (not black, which would hide a dark document's edges)."""
    grey = image.mode in ("1", "L", "I;16", "I")
    has_alpha = image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)
    if not has_alpha:
        wanted = "L" if grey else "RGB"
        return image if image.mode == wanted else image.convert(wanted)
    rgba = image.convert("RGBA")
    if keep_png:
        return rgba
    white = Image.new("RGB", rgba.size, (255, 255, 255))
    white.paste(rgba, mask=rgba.getchannel("A"))
    return white
