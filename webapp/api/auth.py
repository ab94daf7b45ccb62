from __future__ import annotations

from webapp.api import bp, serializers
from webapp.api.envelope import json_body, ok, require_fields
from webapp.extensions import limiter, new_uow
from webapp.services import accounts, tokens

AUTH_LIMIT = "10 per minute;100 per hour"


@bp.post("/auth/register")
@limiter.limit(AUTH_LIMIT)
def register():
    body = json_body()
    require_fields(body, "email", "password", "phone")
    user = accounts.register(new_uow(), email=body.get("email"), password=body.get("password"),
                             phone=body.get("phone"))
    pair = tokens.start_session(new_uow(), user=user)
    return ok({"user": serializers.user(user), **pair}, 201)


@bp.post("/auth/login")
@limiter.limit(AUTH_LIMIT)
def login():
    body = json_body()
    require_fields(body, "email", "password")
    user = accounts.authenticate(new_uow(), email=body.get("email"), password=body.get("password"))
    return ok(tokens.start_session(new_uow(), user=user))


@bp.post("/auth/refresh")
@limiter.limit(AUTH_LIMIT)
def refresh():
    return ok(tokens.rotate(new_uow(), refresh_token=json_body().get("refresh_token")))


@bp.post("/auth/logout")
def logout():
    tokens.logout(new_uow(), refresh_token=json_body().get("refresh_token"))
    return ok({})
