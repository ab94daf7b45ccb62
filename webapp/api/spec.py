"""OpenAPI 3.1 description of /api/v1 (placeholder: filled in by the API documentation work)."""


def build_spec() -> dict:
    return {"openapi": "3.1.0", "info": {"title": "E-Wallet API", "version": "1"}, "paths": {}}
