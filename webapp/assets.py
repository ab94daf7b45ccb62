"""Static files with content-hashed names, served by WhiteNoise with a year-long immutable cache.

Flask has no collectstatic, so the app builds one at start: every file under webapp/static/ is copied to
`name.<hash>.ext` with a gzip sibling made by WhiteNoise's own Compressor. A changed file gets a new
name, so a deploy can never leave a browser on stale CSS or JS, and the old name can be cached forever.
Only hashed names are served; an unhashed or unknown name falls through to Flask and is a 404, so
nothing can be linked by a name whose content may change under it.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

from flask import Flask, has_request_context, request
from whitenoise import WhiteNoise
from whitenoise.compress import Compressor

SOURCE = Path(__file__).parent / "static"
HASH_LENGTH = 12  # hex digits of SHA-256: 48 bits, no collision among a few dozen files
HASHED = re.compile(rf"\.[0-9a-f]{{{HASH_LENGTH}}}(\.[^./]+)?$")


@dataclass(frozen=True)
class Build:
    root: Path  # the directory WhiteNoise serves
    names: dict[str, str]  # logical name ("css/app.css") -> hashed name ("css/app.3f2a9c1b7d0e.css")


def build(source: Path, build_root: Path) -> Build:
    """Make (or re-use) the hashed copy of `source` under `build_root/<digest of all content>`.

    Several gunicorn workers run this at once. Each builds in a private staging directory and renames it
    into place; the rename is atomic, so a build directory that exists is always complete, and a worker
    that loses the race throws its copy away and uses the winner's (same content, same bytes).
    """
    files = _source_files(source)
    hashes = {name: hashlib.sha256((source / name).read_bytes()).hexdigest() for name in files}
    names = {name: _hashed_name(name, digest[:HASH_LENGTH]) for name, digest in hashes.items()}
    tree = hashlib.sha256("".join(f"{name}\0{hashes[name]}\n" for name in files).encode()).hexdigest()[:16]
    target = build_root / tree
    if not target.is_dir():
        build_root.mkdir(parents=True, exist_ok=True)
        staging = build_root / f".{tree}.{uuid.uuid4().hex}"
        try:
            _write(source, staging, names)
            os.rename(staging, target)
        except OSError:
            if not target.is_dir():  # not a lost race but a real failure (disk full, no permission)
                raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return Build(target, names)


def _source_files(source: Path) -> list[str]:
    """Every file's path relative to `source`, sorted; dotfiles (editor swap files, .DS_Store) are left out."""
    found = (path.relative_to(source) for path in source.rglob("*") if path.is_file())
    return sorted(path.as_posix() for path in found if not any(part.startswith(".") for part in path.parts))


def _hashed_name(name: str, digest: str) -> str:
    directory, _, filename = name.rpartition("/")
    stem, dot, extension = filename.rpartition(".")
    hashed = f"{stem}.{digest}.{extension}" if dot and stem else f"{filename}.{digest}"
    return f"{directory}/{hashed}" if directory else hashed


def _write(source: Path, staging: Path, names: dict[str, str]) -> None:
    compressor = Compressor(use_brotli=False, quiet=True)  # gzip is what every browser takes
    for name, hashed in names.items():
        destination = staging / hashed
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / name, destination)
        if compressor.should_compress(hashed):
            compressor.compress(str(destination))  # writes destination.gz when it is at least 5 % smaller


class _StaticFiles(WhiteNoise):
    # One year, the customary ceiling for "forever" (WhiteNoise's own is ten). The name changes with the
    # content, so no client ever needs to revalidate a file it has.
    FOREVER = 365 * 24 * 60 * 60


def _nosniff(headers, path, url) -> None:
    # These responses never reach Flask's after_request, where every other response gets this header.
    headers["X-Content-Type-Options"] = "nosniff"


def init_app(app: Flask) -> None:
    """Build the hashed files, serve them at /static/ ahead of Flask, and give templates `asset_url`."""
    build_root = Path(app.config["STATIC_BUILD_DIR"] or Path(app.instance_path) / "static-build")
    built = build(SOURCE, build_root)
    app.wsgi_app = _StaticFiles(app.wsgi_app, root=built.root, prefix="static/", max_age=None,
                                immutable_file_test=HASHED.pattern, allow_all_origins=False,
                                add_headers_function=_nosniff)
    app.extensions["ewallet.assets"] = built

    @app.template_global()
    def asset_url(name: str) -> str:
        """`asset_url("css/app.css")` -> "/static/css/app.<hash>.css"; an unknown name is a template bug."""
        try:
            hashed = built.names[name]
        except KeyError:
            raise LookupError(f"no static file {name!r} under webapp/static/") from None
        prefix = request.script_root if has_request_context() else ""
        return f"{prefix}/static/{hashed}"
