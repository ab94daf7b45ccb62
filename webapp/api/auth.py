from __future__ import annotations

from flask import g

from webapp.api import bp, serializers
from webapp.api.envelope import json_body, login_required, ok, require_fields, require_strings
from webapp.extensions import account_and_address_key, address_key, client_address, limiter, new_uow
from webapp.services import accounts, passwords, tokens

AUTH_LIMIT = "10 per minute;100 per hour"  # per account (email, or refresh token) and client address together
ADDRESS_LIMIT = "60 per minute;600 per hour"  # per client address, whatever the account
PASSWORD_LIMIT = "5 per minute;20 per hour"  # per user: the current password must not be guessable here


@bp.post("/auth/register")
@limiter.limit(AUTH_LIMIT, key_func=account_and_address_key)
@limiter.limit(ADDRESS_LIMIT, key_func=address_key)
def register():
    body = json_body()
    require_fields(body, "email", "password", "phone")
    user = accounts.register(new_uow(), email=body.get("email"), password=body.get("password"),
                             phone=body.get("phone"), display_name=body.get("display_name"))
    pair = tokens.start_session(new_uow(), user=user)
    return ok({"user": serializers.user(user), **pair}, 201)


@bp.post("/auth/login")
@limiter.limit(AUTH_LIMIT, key_func=account_and_address_key)
@limiter.limit(ADDRESS_LIMIT, key_func=address_key)
def login():
    body = json_body()
    require_fields(body, "email", "password")
    user = accounts.authenticate(new_uow(), email=body.get("email"), password=body.get("password"),
                                 client_address=client_address())
    return ok(tokens.start_session(new_uow(), user=user))


@bp.post("/auth/refresh")
@limiter.limit(AUTH_LIMIT, key_func=account_and_address_key)
@limiter.limit(ADDRESS_LIMIT, key_func=address_key)
def refresh():
    return ok(tokens.rotate(new_uow(), refresh_token=json_body().get("refresh_token")))


@bp.post("/auth/logout")
def logout():
    tokens.logout(new_uow(), refresh_token=json_body().get("refresh_token"))
    return ok({})


@bp.post("/auth/password")
@login_required
@limiter.limit(PASSWORD_LIMIT)
def change_password():
    """Every token and web session of the user ends, this caller's too; the caller just proved the
    password, so it gets a fresh pair to carry on with."""
    body = json_body()
    require_fields(body, "current_password", "new_password")
    require_strings(body, "current_password", "new_password")
    user = passwords.change_password(new_uow(), user_id=g.user_id, current=body["current_password"],
                                     new=body["new_password"])
    return ok(tokens.start_session(new_uow(), user=user))
