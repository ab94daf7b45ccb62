from __future__ import annotations

from flask import jsonify

from webapp.api import bp
from webapp.api.spec import build_spec


@bp.get("/openapi.json")
def openapi():
    """The bare OpenAPI document, not wrapped in the envelope: that is what API tools expect."""
    return jsonify(build_spec())
