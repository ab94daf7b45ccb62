"""A stand-in for Reloadly's Airtime API on a free loopback port, for tests/integration/test_reloadly.py. It
answers as Reloadly's documentation says the real API does (webapp/providers/reloadly.py links the pages)
and keeps every top-up it made, so a test can count them.

- `POST /oauth/token` with our client credentials and the sandbox audience → a Bearer token living
  `token_lifetime` seconds; anything else is 401 INVALID_CREDENTIALS.
- Every other path wants a live token: an expired one is 401 TOKEN_EXPIRED, an unknown one 401 INVALID_TOKEN.
- `POST /topups` makes the top-up and answers the transaction, by the number's last four digits as our
  sandboxes do: 0002 is 400 INVALID_RECIPIENT_PHONE (nothing made); 0005 is PROCESSING until its live status
  is asked for (`GET /topups/{id}/status`), then SUCCESSFUL; anything else SUCCESSFUL. A customIdentifier
  used before is refused with 400 and a code of the fake's own: Reloadly documents that an identifier
  cannot be reused but not how it answers a reuse, so the adapter must not depend on the answer.
- `GET /topups/reports/transactions?customIdentifier=…` → {"content": [the transactions with it]}.

Trouble for the next request to a path: `fail_next(path, status, code, delay)` answers an error after
`delay` seconds and does nothing; `lose_next_answer(path, seconds)` does the work and answers only after
`seconds`, by when the client has given up. `expire_tokens()` ends every token handed out.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
from dataclasses import dataclass

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from webapp.providers.reloadly import NAME, SANDBOX

CLIENT_ID, CLIENT_SECRET = "fake-reloadly-client", "fake-reloadly-secret-" + "s" * 12
OPERATORS = {150: ("AT&T US", "USD"), 151: ("T-Mobile US", "USD"), 152: ("Verizon US", "USD"),
             265: ("Safaricom Kenya", "KES")}
OPERATOR_MAP = "us-att:150,us-tmobile:151,us-verizon:152,ke-safaricom:265"
STATUS = re.compile(r"/topups/(\d+)/status")
TIMEOUT = 1.0  # seconds: the adapter's per request here
LATE = 2.5  # seconds: an answer this late is one the adapter has given up on


@dataclass
class _Trouble:
    status: int | None  # None: do the work, then answer late
    code: str | None
    delay: float


class FakeReloadly:
    def __init__(self, token_lifetime: int = 86_400):
        self.token_lifetime = token_lifetime
        self.transactions: list[dict] = []  # every top-up made, in order
        self.topup_bodies: list[dict] = []  # every POST /topups body that made one
        self.requests: list[tuple[str, str, int]] = []  # (method, path, status answered)
        self.tokens_issued = 0
        self._tokens: dict[str, float] = {}  # token → when it expires (time.monotonic)
        self._trouble: dict[str, list[_Trouble]] = {}
        self._lock = threading.Lock()
        self._server = make_server("127.0.0.1", 0, self._app, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-reloadly", daemon=True)

    def start(self) -> FakeReloadly:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(5)
        self._server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    def config(self, **extra) -> dict:
        """The settings that point our adapter here."""
        return {"TOPUP_PROVIDER": NAME, "RELOADLY_CLIENT_ID": CLIENT_ID, "RELOADLY_CLIENT_SECRET": CLIENT_SECRET,
                "RELOADLY_SANDBOX": True, "RELOADLY_API_BASE": self.url, "RELOADLY_TIMEOUT": TIMEOUT,
                "RELOADLY_OPERATORS": OPERATOR_MAP, **extra}

    # --- Scripting and looking ---

    def fail_next(self, path: str, status: int, code: str | None = None, delay: float = 0.0) -> None:
        with self._lock:
            self._trouble.setdefault(path, []).append(_Trouble(status, code, delay))

    def lose_next_answer(self, path: str, seconds: float) -> None:
        with self._lock:
            self._trouble.setdefault(path, []).append(_Trouble(None, None, seconds))

    def expire_tokens(self) -> None:
        with self._lock:
            self._tokens = dict.fromkeys(self._tokens, 0.0)

    def calls(self, method: str, path: str) -> list[int]:
        """The statuses answered to each such request, in order."""
        return [status for m, p, status in self.requests if (m, p) == (method, path)]

    # --- The API ---

    @Request.application
    def _app(self, request: Request) -> Response:
        with self._lock:
            queued = self._trouble.get(request.path) or []
            trouble = queued.pop(0) if queued else None
        if trouble is not None and trouble.status is not None:
            time.sleep(trouble.delay)
            response = _error(trouble.status, trouble.code, "Scripted trouble", request.path)
        else:
            response = self._route(request)
        with self._lock:
            self.requests.append((request.method, request.path, response.status_code))
        if trouble is not None and trouble.status is None:
            time.sleep(trouble.delay)  # done, but the answer comes too late
        return response

    def _route(self, request: Request) -> Response:
        method, path = request.method, request.path
        if (method, path) == ("POST", "/oauth/token"):
            return self._token(request.get_json(silent=True) or {})
        refused = self._unauthorized(request)
        if refused is not None:
            return refused
        if (method, path) == ("POST", "/topups"):
            return self._topup(request.get_json(silent=True) or {})
        if (method, path) == ("GET", "/topups/reports/transactions"):
            key = request.args.get("customIdentifier")
            with self._lock:
                found = [t for t in self.transactions if key is None or t["customIdentifier"] == key]
            return _json({"content": found, "totalElements": len(found), "totalPages": 1, "number": 0})
        if method == "GET" and (match := STATUS.fullmatch(path)):
            return self._status(int(match.group(1)), path)
        return _json({"timeStamp": _now(), "status": 404, "error": "Not Found", "message": "No message available",
                      "path": path}, 404)

    def _token(self, body: dict) -> Response:
        if (body.get("client_id"), body.get("client_secret"), body.get("grant_type"), body.get("audience")) != (
                CLIENT_ID, CLIENT_SECRET, "client_credentials", SANDBOX):
            return _error(401, "INVALID_CREDENTIALS", "Access Denied", "/oauth/token")
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._tokens[token] = time.monotonic() + self.token_lifetime
            self.tokens_issued += 1
        return _json({"access_token": token, "scope": "send-topups read-operators read-topups-history",
                      "expires_in": self.token_lifetime, "token_type": "Bearer"})

    def _unauthorized(self, request: Request) -> Response | None:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        with self._lock:
            expires = self._tokens.get(token) if scheme == "Bearer" else None
        if expires is None:
            return _error(401, "INVALID_TOKEN", "Full authentication is required to access this resource", request.path)
        if expires <= time.monotonic():
            return _error(401, "TOKEN_EXPIRED", "Access token expired", request.path)
        return None

    def _topup(self, body: dict) -> Response:
        phone = body.get("recipientPhone") or {}
        if not (isinstance(body.get("operatorId"), int) and body["operatorId"] in OPERATORS
                and isinstance(body.get("amount"), int | float) and isinstance(body.get("useLocalAmount"), bool)
                and isinstance(body.get("customIdentifier"), str) and isinstance(phone.get("number"), str)
                and isinstance(phone.get("countryCode"), str)):
            return _error(400, None, "Invalid request", "/topups")
        if phone["number"].endswith("0002"):
            return _error(400, "INVALID_RECIPIENT_PHONE", "Recipient phone number is not valid", "/topups")
        name, currency = OPERATORS[body["operatorId"]]
        with self._lock:
            if any(t["customIdentifier"] == body["customIdentifier"] for t in self.transactions):
                return _error(400, "FAKE_CUSTOM_IDENTIFIER_TAKEN", "Custom identifier already used", "/topups")
            transaction = {
                "transactionId": 4_602_843 + len(self.transactions),
                "status": "PROCESSING" if phone["number"].endswith("0005") else "SUCCESSFUL",
                "operatorTransactionId": None, "customIdentifier": body["customIdentifier"],
                "recipientPhone": phone["number"], "recipientEmail": None, "senderPhone": None,
                "countryCode": phone["countryCode"], "operatorId": body["operatorId"], "operatorName": name,
                "discount": 0, "discountCurrencyCode": currency, "requestedAmount": body["amount"],
                "requestedAmountCurrencyCode": currency, "deliveredAmount": body["amount"],
                "deliveredAmountCurrencyCode": currency, "transactionDate": _now(), "pinDetail": None,
                "balanceInfo": None}
            self.transactions.append(transaction)
            self.topup_bodies.append(body)
            return _json(dict(transaction))

    def _status(self, transaction_id: int, path: str) -> Response:
        with self._lock:
            transaction = next((t for t in self.transactions if t["transactionId"] == transaction_id), None)
            if transaction is None:
                return _error(404, None, "Airtime transaction not found", path)
            if transaction["status"] == "PROCESSING":
                transaction["status"] = "SUCCESSFUL"  # the operator has confirmed by the time anyone asks
            return _json(dict(transaction))


def _now() -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())


def _json(body: dict, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")


def _error(status: int, code: str | None, message: str, path: str) -> Response:
    """Reloadly's error body (https://docs.reloadly.com/airtime/top-ups/top-up, the 400 and 401 examples)."""
    return _json({"timeStamp": _now(), "message": message, "path": path, "errorCode": code, "infoLink": None,
                  "details": []}, status)
