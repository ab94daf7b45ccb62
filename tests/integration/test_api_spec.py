"""The OpenAPI document matches reality: the same routes and methods as Flask, and every documented
response (status and error codes) is produced here by a real request whose body fits the documented schema."""

from __future__ import annotations

import json
import re
import uuid
from collections import defaultdict
from functools import cache, cached_property

import pytest
from flask import Flask

from tests import stripe_events
from tests.conftest import PASSWORD, make_test_app
from tests.integration.bank_account_scenarios import SCENARIOS as BANK_ACCOUNT_SCENARIOS
from tests.integration.deposit_scenarios import SCENARIOS as DEPOSIT_SCENARIOS
from tests.integration.institution_scenarios import SCENARIOS as INSTITUTION_SCENARIOS
from tests.integration.kyc_scenarios import SCENARIOS as KYC_SCENARIOS
from tests.integration.payout_scenarios import SCENARIOS as PAYOUT_SCENARIOS
from tests.integration.pin_scenarios import SCENARIOS as PIN_SCENARIOS
from tests.integration.pin_scenarios import with_pin_refusals
from tests.integration.risk_scenarios import SCENARIOS as RISK_SCENARIOS
from tests.integration.test_api_support import (
    fresh_address,
    rate_limited_app,
    registration,
    resolve,
    schema_errors,
    set_user,
)
from tests.integration.topup_scenarios import SCENARIOS as TOPUP_SCENARIOS
from webapp.api.errors import STATUS
from webapp.api.spec import build_spec
from webapp.extensions import limiter, new_uow
from webapp.providers.sms import SandboxSms
from webapp.services import staff

SPEC = build_spec()
METHODS = {"get", "put", "post", "patch", "delete"}
ANY_ID = re.compile(r"\{[a-z_]+_id\}")  # a path parameter the scenarios did not fill in


def operations():
    for path, item in SPEC["paths"].items():
        for method, op in item.items():
            if method in METHODS:
                yield path, method, op


def documented() -> list[tuple[str, str, str]]:
    return [(path, method, status) for path, method, op in operations() for status in op["responses"]
            if status != "default"]


def is_public(op: dict) -> bool:
    return op.get("security", SPEC["security"]) == []


def response_schema(response: dict) -> dict:
    return response["content"]["application/json"]["schema"]


def documented_codes(response: dict) -> set[str]:
    """The `enum` an error response narrows error.code to (see spec.failure)."""
    narrowed = response_schema(response)["allOf"][1]
    return set(narrowed["properties"]["error"]["properties"]["code"]["enum"])


# --- Structure ------------------------------------------------------------------------------------------


def to_openapi(rule: str) -> str:
    """/api/v1/wallets/<wallet_id> → /wallets/{wallet_id} (converters such as <int:n> too)."""
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.removeprefix("/api/v1"))


def test_every_flask_route_is_documented_with_its_methods_and_nothing_else(app):
    routes: dict[str, set[str]] = defaultdict(set)
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/"):
            routes[to_openapi(rule.rule)] |= {method.lower() for method in rule.methods - {"HEAD", "OPTIONS"}}
    documented_routes = {path: {m for m in item if m in METHODS} for path, item in SPEC["paths"].items()}
    assert documented_routes == dict(routes)


def test_the_document_is_well_formed():
    assert SPEC["openapi"] == "3.1.0" and SPEC["servers"] == [{"url": "/api/v1"}]
    assert SPEC["components"]["securitySchemes"]["bearerAuth"] == {"type": "http", "scheme": "bearer",
                                                                   "bearerFormat": "JWT"}
    op_ids = [op["operationId"] for _, _, op in operations()]
    assert len(op_ids) == len(set(op_ids))
    for path, method, op in operations():
        in_path = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
        assert in_path == set(re.findall(r"{(\w+)}", path)), (method, path)
        assert any(status.startswith("2") for status in op["responses"]), (method, path)
        assert documented_codes(op["responses"]["default"]) == {"INTERNAL_ERROR"}
        if method == "post":  # JSON, or multipart for photos (POST /kyc)
            content = op["requestBody"]["content"]
            assert (content.get("application/json") or content["multipart/form-data"])["schema"]
    refs = re.findall(r'"\$ref": "([^"]+)"', json.dumps(SPEC))
    assert refs and all(resolve(SPEC, ref) for ref in refs)


def test_failures_every_operation_of_a_kind_has_are_documented():
    """The other direction of "documented ⇔ real" for failures no scenario list would think of adding."""
    for path, method, op in operations():
        responses = set(op["responses"])
        if not is_public(op):
            assert "401" in responses, (method, path)
        if "requestBody" in op:
            assert {"413", "422"} <= responses, (method, path)
        if any(p["in"] == "path" for p in op.get("parameters", [])):
            assert "404" in responses, (method, path)


def test_429_is_documented_exactly_where_a_rate_limit_is_declared(app):
    decorated = getattr(limiter.limit_manager, "_decorated_limits", None)  # Flask-Limiter 4 internals
    if decorated is None:
        pytest.skip("this Flask-Limiter does not expose its decorated limits")
    for path, method, op in operations():
        rule = next(r for r in app.url_map.iter_rules()
                    if to_openapi(r.rule) == path and method.upper() in r.methods)
        view = app.view_functions[rule.endpoint]
        name = f"{view.__module__}.{view.__name__}"
        limited = any(key == name or key.startswith(f"{name}.") for key in decorated)
        assert ("429" in op["responses"]) == limited, (method, path)


def test_error_codes_are_the_design_codes_plus_405():
    enum = set(SPEC["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"]["enum"])
    design = {"VALIDATION_ERROR", "UNAUTHORIZED", "FORBIDDEN", "NOT_FOUND", "INSUFFICIENT_FUNDS", "CURRENCY_MISMATCH",
              "LIMIT_EXCEEDED", "KYC_REQUIRED", "ACCOUNT_FROZEN", "PIN_REQUIRED", "PIN_INVALID", "IDEMPOTENCY_CONFLICT",
              "RATE_LIMITED",
              "PROVIDER_UNAVAILABLE", "SERVICE_UNAVAILABLE", "INTERNAL_ERROR"}
    assert set(STATUS) == design
    assert enum == design | {"METHOD_NOT_ALLOWED"}
    for path, method, op in operations():  # each code sits under the status DESIGN gives it (413 aside)
        for status, response in op["responses"].items():
            expected = 500 if status == "default" else int(status)
            for code in documented_codes(response) if not status.startswith("2") else ():
                # 413 and the webhook's 400 (a bad signature) keep their HTTP status: VALIDATION_ERROR
                assert STATUS[code] == expected or status in ("400", "413"), (method, path, status, code)


def test_served_document_is_the_built_one_and_is_not_enveloped(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200 and response.content_type == "application/json"
    assert response.get_json() == json.loads(json.dumps(SPEC))


def test_the_schema_checker_is_not_vacuous():
    wallet = {"id": str(uuid.uuid4()), "currency": "USD", "balance": 1, "reserved": 0, "available": 1}
    schema = {"$ref": "#/components/schemas/Wallet"}
    assert schema_errors(SPEC, schema, wallet) == []
    for broken in ({k: v for k, v in wallet.items() if k != "available"}, {**wallet, "extra": 1},
                   {**wallet, "balance": "1"}, {**wallet, "balance": 1.5}, {**wallet, "reserved": True},
                   {**wallet, "id": "nope"}):
        assert schema_errors(SPEC, schema, broken), broken
    error = response_schema(SPEC["paths"]["/transfers"]["post"]["responses"]["409"])
    conflict = {"status": "error", "error": {"code": "IDEMPOTENCY_CONFLICT", "message": "m", "details": {}}}
    assert schema_errors(SPEC, error, conflict) == []
    assert schema_errors(SPEC, error, {**conflict, "error": {**conflict["error"], "code": "NOT_FOUND"}})


# --- Every documented response, produced ----------------------------------------------------------------


class World:
    """Users and ids for the scenarios, made only when a scenario asks for them."""

    def __init__(self, app, client, wallets, database_url):
        self.app, self.client, self.wallets, self.database_url = app, client, wallets, database_url

    @cached_property
    def alice(self):
        return self.wallets.user(balance=10_000)

    @cached_property
    def bob(self):
        return self.wallets.user()

    def url(self, path: str) -> str:
        if "{wallet_id}" in path:
            path = path.replace("{wallet_id}", self.alice.wallet()["id"])
        if "{transaction_id}" in path:
            page = self.alice.get(f"/wallets/{self.alice.wallet()['id']}/transactions").json["data"]
            path = path.replace("{transaction_id}", page["transactions"][0]["id"])
        return f"/api/v1{ANY_ID.sub(str(uuid.uuid4()), path)}"  # any other id: one nobody has, in its format

    def call(self, method: str, path: str, *, auth=True, client=None, **kwargs):
        headers = {**(self.alice.headers if auth else {}), **kwargs.pop("headers", {})}
        return (client or self.client).open(self.url(path), method=method.upper(), headers=headers, **kwargs)

    def transfer(self, amount=100, sender=None, **overrides):
        sender = sender or self.alice
        body = {"from_wallet_id": sender.wallet()["id"], "to_email": self.bob.email, "amount": amount,
                "currency": "USD", "idempotency_key": uuid.uuid4().hex, **overrides}
        return sender.post("/transfers", json=body)


def unauthenticated(world, path, method):
    return [world.call(method, path, auth=False, json={}),
            world.call(method, path, auth=False, headers={"Authorization": "Bearer nope"}, json={})]


def oversized(world, path, method):
    data = b'{"padding": "' + b"x" * (64 * 1024) + b'"}'
    return [world.call(method, path, data=data, content_type="application/json")]


def hammered(world, path, method):
    world.alice  # noqa: B018 - signed in before the limiter is on
    with rate_limited_app(world.database_url) as app:
        client, address = app.test_client(), fresh_address()
        for _ in range(100):
            response = world.call(method, path, client=client, json={}, environ_base=address)
            if response.status_code == 429:
                return [response]
    pytest.fail(f"{method} {path} was never rate limited")


@cache
def app_without_database(stripe: tuple) -> Flask:
    """An app whose database is a loopback port where nothing listens (its engine never connects: nothing
    to dispose of)."""
    return make_test_app("mysql+pymysql://root@127.0.0.1:9/nowhere", DB_RETRY_BUDGET=0.1, **dict(stripe))


PUBLIC_BODIES = {"/auth/register": registration,
                 "/auth/login": lambda: {"email": "a@example.com", "password": PASSWORD},
                 "/auth/refresh": lambda: {"refresh_token": "x"}, "/auth/logout": lambda: {"refresh_token": "x"}}


def database_down(world, path, method):
    """The same request to an app without its database, with a body that gets past validation, so the
    database is asked (after the token check, for everything not public)."""
    stripe = tuple((key, world.app.config[key]) for key in ("STRIPE_API_BASE", "STRIPE_SECRET_KEY",
                                                            "STRIPE_WEBHOOK_SECRET"))
    kwargs = {"json": PUBLIC_BODIES[path]() if path in PUBLIC_BODIES else {}}
    if path == "/webhooks/stripe":
        event = json.dumps(stripe_events.event("payment_intent.succeeded", {"id": "pi_down"})).encode()
        kwargs = {"data": event, "content_type": "application/json", "headers": {
            "Stripe-Signature": stripe_events.signature(event, world.app.config["STRIPE_WEBHOOK_SECRET"])}}
    world.alice  # noqa: B018 - signed up on the working app; the token is good on both
    return [world.call(method, path, client=app_without_database(stripe).test_client(), **kwargs)]


GENERIC = {"401": unauthenticated, "413": oversized, "429": hammered, "503": database_down}


def new_pair(world):
    return world.client.post("/api/v1/auth/login", json={"email": world.bob.email, "password": PASSWORD}).json["data"]


def admin(world):
    with world.app.app_context():
        staff.make_admin(new_uow(), email=world.bob.email, password=PASSWORD, phone=world.bob.phone)
    return world.bob


def frozen_sender(world):
    set_user(world.app, world.alice.id, is_frozen=True)
    return world.transfer()


def over_the_kyc_limit(world):
    sender = world.wallets.user(balance=100_001)
    return world.transfer(100_001, sender=sender)


def over_the_transfer_limit(world):
    sender = world.wallets.user(balance=1_000_001, kyc="verified")
    return world.transfer(1_000_001, sender=sender)


def history_page(world):
    """A transfer and the funding credit: two transactions, so the first page of one has a next_cursor."""
    assert world.transfer(note="rent").status_code == 201
    return world.call("get", "/wallets/{wallet_id}/transactions?limit=1")


def conflicting_key(world):
    assert world.transfer(idempotency_key="twice").status_code == 201
    return world.transfer(amount=101, idempotency_key="twice")


def confirmed_phone(world):
    newcomer = world.wallets.user(verified=False)
    assert newcomer.post("/verification/phone", json={}).status_code == 202
    code = re.search(r"\d{6}", SandboxSms.last_to(newcomer.phone)).group(0)
    return newcomer.post("/verification/phone/confirm", json={"code": code})


SCENARIOS = {
    ("post", "/auth/register", "201"): lambda w: [w.client.post("/api/v1/auth/register", json=registration())],
    ("post", "/auth/register", "422"): lambda w: [w.client.post("/api/v1/auth/register", json={})],
    ("post", "/auth/login", "200"): lambda w: [w.client.post("/api/v1/auth/login", json={
        "email": w.alice.email, "password": PASSWORD})],
    ("post", "/auth/login", "401"): lambda w: [w.client.post("/api/v1/auth/login", json={
        "email": w.alice.email, "password": "wrong-password"})],
    ("post", "/auth/login", "422"): lambda w: [w.client.post("/api/v1/auth/login", json={})],
    ("post", "/auth/refresh", "200"): lambda w: [w.client.post("/api/v1/auth/refresh", json={
        "refresh_token": new_pair(w)["refresh_token"]})],
    ("post", "/auth/refresh", "401"): lambda w: [w.client.post("/api/v1/auth/refresh", json={"refresh_token": "x"})],
    ("post", "/auth/refresh", "422"): lambda w: [w.client.post("/api/v1/auth/refresh", json=[])],
    ("post", "/auth/logout", "200"): lambda w: [w.client.post("/api/v1/auth/logout", json={
        "refresh_token": new_pair(w)["refresh_token"]})],
    ("post", "/auth/logout", "401"): lambda w: [w.client.post("/api/v1/auth/logout", json={"refresh_token": "x"})],
    ("post", "/auth/logout", "422"): lambda w: [w.client.post("/api/v1/auth/logout", data="{")],
    ("post", "/auth/password", "200"): lambda w: [w.wallets.user().post("/auth/password", json={
        "current_password": PASSWORD, "new_password": "pelican-marmalade-orbit"})],
    ("post", "/auth/password", "422"): lambda w: [
        w.alice.post("/auth/password", json={}),
        w.alice.post("/auth/password", json={"current_password": "not-it-at-all", "new_password": "password1234"})],
    ("get", "/wallets", "200"): lambda w: [w.alice.get("/wallets")],
    ("post", "/wallets", "201"): lambda w: [w.alice.post("/wallets", json={"currency": "JPY"})],
    ("post", "/wallets", "422"): lambda w: [w.alice.post("/wallets", json={"currency": "ZZZ"}),
                                            w.alice.post("/wallets", json={"currency": "USD"})],
    ("get", "/wallets/{wallet_id}", "200"): lambda w: [w.call("get", "/wallets/{wallet_id}")],
    ("get", "/wallets/{wallet_id}", "404"): lambda w: [w.alice.get(f"/wallets/{w.bob.wallet()['id']}")],
    ("get", "/wallets/{wallet_id}/transactions", "200"): lambda w: [history_page(w)],
    ("get", "/wallets/{wallet_id}/transactions", "404"): lambda w: [
        w.alice.get(f"/wallets/{w.bob.wallet()['id']}/transactions")],
    ("get", "/wallets/{wallet_id}/transactions", "422"): lambda w: [
        w.call("get", "/wallets/{wallet_id}/transactions?limit=0"),
        w.call("get", "/wallets/{wallet_id}/transactions?cursor=bad")],
    ("get", "/transactions/{transaction_id}", "200"): lambda w: [w.call("get", "/transactions/{transaction_id}")],
    ("get", "/transactions/{transaction_id}", "404"): lambda w: [w.alice.get(f"/transactions/{uuid.uuid4()}")],
    ("post", "/transfers", "201"): lambda w: [w.transfer(note="thanks")],
    ("post", "/transfers", "403"): lambda w: [over_the_kyc_limit(w), frozen_sender(w)],
    ("post", "/transfers", "404"): lambda w: [w.transfer(from_wallet_id=w.bob.wallet()["id"]),
                                              w.transfer(to_email="nobody-at-all@example.com")],
    ("post", "/transfers", "409"): conflicting_key,
    ("post", "/transfers", "422"): lambda w: [w.transfer(amount=12.5), w.transfer(amount=10_001),
                                              w.transfer(currency="EUR"), over_the_transfer_limit(w)],
    ("post", "/verification/email", "202"): lambda w: [w.wallets.user(verified=False).post("/verification/email",
                                                                                          json={})],
    ("post", "/verification/email", "422"): lambda w: [w.alice.post("/verification/email", json={}),
                                                       w.alice.post("/verification/email", json=[])],
    ("post", "/verification/phone", "202"): lambda w: [w.wallets.user(verified=False).post("/verification/phone",
                                                                                          json={})],
    ("post", "/verification/phone", "422"): lambda w: [w.alice.post("/verification/phone", json={})],
    ("post", "/verification/phone/confirm", "200"): confirmed_phone,
    ("post", "/verification/phone/confirm", "422"): lambda w: [
        w.wallets.user(verified=False).post("/verification/phone/confirm", json={"code": "123456"}),
        w.alice.post("/verification/phone/confirm", json={})],
    ("get", "/openapi.json", "200"): lambda w: [w.client.get("/api/v1/openapi.json")],
    ("get", "/admin/reconciliation", "200"): lambda w: [admin(w).get("/admin/reconciliation")],
    ("get", "/admin/reconciliation", "403"): lambda w: [w.alice.get("/admin/reconciliation")],
}


SCENARIOS.update(DEPOSIT_SCENARIOS)  # cards: tests/integration/deposit_scenarios.py
SCENARIOS.update(BANK_ACCOUNT_SCENARIOS)  # tests/integration/bank_account_scenarios.py
SCENARIOS.update(INSTITUTION_SCENARIOS)  # tests/integration/institution_scenarios.py
SCENARIOS.update(PAYOUT_SCENARIOS)  # tests/integration/payout_scenarios.py
SCENARIOS.update(TOPUP_SCENARIOS)  # tests/integration/topup_scenarios.py
SCENARIOS.update(KYC_SCENARIOS)  # photos, multipart: tests/integration/kyc_scenarios.py
SCENARIOS.update(RISK_SCENARIOS)  # the admin API's risk flags: tests/integration/risk_scenarios.py
SCENARIOS.update(PIN_SCENARIOS)  # GET/PUT /pin: tests/integration/pin_scenarios.py
SCENARIOS.update(with_pin_refusals(SCENARIOS))  # and PIN_REQUIRED / PIN_INVALID on every money endpoint


def produce(world, path, method, status):
    if (method, path, status) in SCENARIOS:
        responses = SCENARIOS[method, path, status](world)
        responses = responses if isinstance(responses, list) else [responses]
        # A provider's 503 shares its status with the database's, which any operation can answer.
        return responses + database_down(world, path, method) if status == "503" else responses
    op = SPEC["paths"][path][method]
    assert status in GENERIC and not (status == "401" and is_public(op)), f"no scenario for {method} {path} {status}"
    return GENERIC[status](world, path, method)


@pytest.mark.parametrize(("path", "method", "status"), documented(), ids=lambda v: v)
def test_documented_response_is_produced_and_fits_its_schema(app, client, wallets, database_url, path, method, status):
    documented_response = SPEC["paths"][path][method]["responses"][status]
    responses = produce(World(app, client, wallets, database_url), path, method, status)
    for response in responses:
        assert response.status_code == int(status), response.get_data(as_text=True)
        assert response.content_type == "application/json"
        body = response.get_json()
        assert schema_errors(SPEC, response_schema(documented_response), body) == [], body
    if not status.startswith("2"):
        assert {r.get_json()["error"]["code"] for r in responses} == documented_codes(documented_response)


def test_every_scenario_is_documented():
    assert set(SCENARIOS) <= {(method, path, status) for path, method, status in documented()}
