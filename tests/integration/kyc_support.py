"""Photos for the KYC and profile photo tests, made with Pillow in memory, honest and hostile, and the
multipart bodies that carry them."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import ExifTags, Image

SVG = (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
       b'<script>alert(document.cookie)</script></svg>')
HTML = b"<!doctype html><html><body><script>fetch('/api/v1/wallets')</script></body></html>"


def photo(fmt: str = "JPEG", size: tuple[int, int] = (96, 64), color=(200, 40, 40), **save) -> bytes:
    out = io.BytesIO()
    Image.new("RGBA" if fmt == "PNG" and save.pop("alpha", False) else "RGB", size, color).save(out, fmt, **save)
    return out.getvalue()


def jpeg(**kwargs) -> bytes:
    return photo("JPEG", **kwargs)


def with_gps_and_orientation() -> bytes:
    """96×64 JPEG whose EXIF says: taken at 52°31'N 13°24'E by "SpyCam", to be turned 90° (orientation 6)."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "SpyCam"
    exif[ExifTags.Base.Orientation] = 6
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps.update({ExifTags.GPS.GPSLatitudeRef: "N", ExifTags.GPS.GPSLatitude: (52.0, 31.0, 12.0),
                ExifTags.GPS.GPSLongitudeRef: "E", ExifTags.GPS.GPSLongitude: (13.0, 24.0, 0.0)})
    return jpeg(exif=exif.tobytes(), comment=b"<script>alert(1)</script>")


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width × height pixels: a decompression bomb's calling card."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(b"\0" * 64))
            + _chunk(b"IEND", b""))


def too_many_pixels() -> bytes:
    """A real 8000×6000 (48 MP) image, small on disk: below Pillow's own bomb limit, above ours."""
    out = io.BytesIO()
    Image.new("1", (8000, 6000)).save(out, "PNG")
    return out.getvalue()


def png_with_html_text() -> bytes:
    """A PNG with an HTML page in a tEXt chunk, and another glued after IEND."""
    data = photo("PNG")
    text = _chunk(b"tEXt", b"Comment\0" + HTML)
    return data[:33] + text + data[33:] + HTML


def truncated_jpeg() -> bytes:
    data = jpeg(size=(400, 300))
    return data[: len(data) // 2]


def files(**photos) -> dict:
    """A multipart body for the test client: name → (bytes, file name), or a plain string field."""
    body = {}
    for name, value in photos.items():
        if isinstance(value, tuple):
            data, filename = value
            body[name] = (io.BytesIO(data), filename, "image/jpeg")
        elif isinstance(value, bytes):
            body[name] = (io.BytesIO(value), f"{name}.jpg", "image/jpeg")
        else:
            body[name] = value
    return body


def passport(**overrides) -> dict:
    return files(**{"document_type": "passport", "id_front": jpeg(), "selfie": jpeg(color=(30, 30, 200)),
                    **overrides})


def national_id(**overrides) -> dict:
    return passport(**{"document_type": "national_id", "id_back": jpeg(color=(30, 200, 30)), **overrides})
