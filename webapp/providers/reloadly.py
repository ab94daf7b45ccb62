"""Reloadly's Airtime API behind TopupProvider: TOPUP_PROVIDER=webapp.providers.reloadly:ReloadlyTopups.

The API, as Reloadly documents it:

- OAuth2 client credentials: `POST https://auth.reloadly.com/oauth/token` {client_id, client_secret,
  grant_type=client_credentials, audience} → {access_token, expires_in (seconds), token_type: Bearer}. The
  audience is the product's URL, https://topups-sandbox.reloadly.com or https://topups.reloadly.com, which is
  also the API's base; sandbox and live have separate credentials and a token of one is refused by the
  other. Tokens are long-lived (live 60 days, sandbox 24 h), so each process keeps one until shortly before
  it expires, and fetches a new one once when the API answers 401 (TOKEN_EXPIRED, INVALID_TOKEN).
  https://docs.reloadly.com/airtime/ · https://support.reloadly.com/locating-your-api-credentials
- A top-up is `POST /topups` {operatorId, amount, useLocalAmount, customIdentifier, recipientPhone:
  {countryCode, number}}, answered with the transaction {transactionId, status, …}; status is SUCCESSFUL,
  PROCESSING (the operator has not confirmed yet), REFUNDED (the operator did not take it; nothing charged)
  or FAILED (nothing charged). `GET /topups/{transactionId}/status` gives the live status.
  https://docs.reloadly.com/airtime/top-ups/top-up · https://docs.reloadly.com/airtime/top-ups/top-up-status
- "Once a reference [customIdentifier] has been used for a top-up transaction, it cannot be reused": our
  idempotency key `ewallet-topup-<id>` goes there, so Reloadly tops up at most once per key. How it answers a
  reuse is not documented, so nothing here depends on it: the first top-up is found by
  `GET /topups/reports/transactions?customIdentifier=…`. https://docs.reloadly.com/airtime/transactions/get-transaction
- Errors are {errorCode, message}; the codes: https://raphaelugwu.gitbook.io/airtime/airtime-errors/error-codes

One call of `send`: (1) when we have called before with this key (attempt > 1: a timeout, a 5xx or
PROCESSING), look the key up first and answer with what became of that top-up, asking its live status while it
is PROCESSING; (2) otherwise `POST /topups`; (3) a refusal about the number, the amount or the operator is
TopupRejected; a timeout, a connection error, 429, 5xx, or a refusal about our own Reloadly account (balance,
daily caps, which an operator fixes) is ProviderDown; any other answer (such as a reused key, when a worker
died after Reloadly took its call) looks the key up, and answers with that top-up, or ProviderDown if there is
none. However often the job runs, one top-up is made, and every later call answers with it.

Operators are mapped by configuration, RELOADLY_OPERATORS="us-att:<id>,gb-ee:<id>,…" (the ids from Reloadly's
`GET /operators/countries/{iso}`), and never auto-detected (`GET /operators/auto-detect/phone/{phone}/countries/
{iso}`): the operator is the person's choice, which must win for a number that moved to another operator; the
amounts we checked are that operator's; and a lookup per top-up would add a call, and a way to fail, for a
table of 17 rows that changes when we change OPERATORS. Production refuses to start unless every operator on
sale is mapped (`production_problems`). Amounts go in the operator's own currency (useLocalAmount), which is
what the person paid for; map only operators whose Reloadly data says `supportsLocalAmounts`.

Reloadly cannot cancel a top-up, so one still PROCESSING is never given up on: services/held_runs.py keeps
asking, past TOPUP_RETRY_MAX at the longest backoff, until Reloadly answers SUCCESSFUL, FAILED or REFUNDED.
Nothing here logs the credentials, a token, or more of a number than its last four digits; Reloadly's own
messages are not passed on, as they may quote the number.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal

import requests

from webapp.errors import ConfigurationError
from webapp.money import exponent
from webapp.providers import airtime
from webapp.providers.airtime import ProviderDown, TopupOrder, TopupReceipt, TopupRejected

log = logging.getLogger(__name__)
NAME = "webapp.providers.reloadly:ReloadlyTopups"  # its TOPUP_PROVIDER
LIVE, SANDBOX = "https://topups.reloadly.com", "https://topups-sandbox.reloadly.com"
AUTH_URL = "https://auth.reloadly.com/oauth/token"
ACCEPT = "application/com.reloadly.topups-v1+json"
TOKEN_MARGIN = 300  # seconds before its expiry that a kept token is renewed

NUMBER_REFUSED = "The operator says this number can't receive top-ups."
AMOUNT_REFUSED = "The operator does not take this amount for this number."
UNAVAILABLE = "Top-ups for this operator are not available at the moment."
OPERATOR_REFUSED = "The mobile operator refused this top-up."
NOT_DELIVERED = "The mobile operator could not deliver this top-up. Nothing was charged."
REFUSED = {  # errorCode → what the person reads: this top-up never will work
    "INVALID_RECIPIENT_PHONE": NUMBER_REFUSED,
    "INVALID_PHONE_NUMBER": NUMBER_REFUSED,
    "TRANSACTION_REFUSED_BY_OPERATOR": OPERATOR_REFUSED,
    "INVALID_AMOUNT_FOR_OPERATOR": AMOUNT_REFUSED,
    "INVALID_AMOUNT": AMOUNT_REFUSED,
    "COUNTRY_NOT_SUPPORTED": UNAVAILABLE,
    "OPERATOR_NOT_IN_SERVICE": UNAVAILABLE,
    "OPERATOR_UNAVAILABLE_OR_CURRENTLY_INACTIVE": UNAVAILABLE,
    "TOPUP_TRANSACTION_FAILED": NOT_DELIVERED,
}
# Our Reloadly account cannot pay now (an operator of ours must act): may work later, and said loudly.
OUR_ACCOUNT = {"INSUFFICIENT_BALANCE", "MAX_DAILY_TRANSACTION_AMOUNT_REACHED", "MAX_DAILY_TRANSACTION_COUNT_REACHED",
               "ACCOUNT_NOT_FOUND", "INACTIVE_ACCOUNT"}
# The operator is busy (PHONE_RECENTLY_RECHARGED: two minutes between top-ups of one number): may work later.
LATER = {"PHONE_RECENTLY_RECHARGED", "TRANSACTION_CANNOT_BE_PROCESSED_AT_THE_MOMENT", "PROVIDER_INTERNAL_ERROR",
         "SERVICE_TO_OPERATOR_TEMPORARILY_UNAVAILABLE"}


@dataclass(frozen=True)
class Settings:
    client_id: str
    client_secret: str = field(repr=False)
    audience: str  # the product's URL, for which the token is issued
    api_base: str
    token_url: str
    timeout: float  # seconds per HTTP request
    operators: dict[str, int]  # our Operator.id → Reloadly's operatorId


def settings(config: dict) -> Settings:
    audience = SANDBOX if config.get("RELOADLY_SANDBOX", True) else LIVE
    stand_in = (config.get("RELOADLY_API_BASE") or "").rstrip("/")  # a local stand-in serves both parts
    return Settings(client_id=config.get("RELOADLY_CLIENT_ID") or "",
                    client_secret=config.get("RELOADLY_CLIENT_SECRET") or "", audience=audience,
                    api_base=stand_in or audience, token_url=f"{stand_in}/oauth/token" if stand_in else AUTH_URL,
                    timeout=float(config.get("RELOADLY_TIMEOUT") or 20),
                    operators=operator_ids(config.get("RELOADLY_OPERATORS") or ""))


def operator_ids(raw: str) -> dict[str, int]:
    """"us-att:1234, gb-ee:535" → {"us-att": 1234, "gb-ee": 535}."""
    mapped = {}
    for part in filter(None, (p.strip() for p in raw.split(","))):
        ours, _, theirs = part.partition(":")
        if ours.strip() not in airtime.BY_ID or not theirs.strip().isdigit():
            raise ConfigurationError(f"RELOADLY_OPERATORS: {part!r} is not <one of our operator ids>:<Reloadly's id>")
        mapped[ours.strip()] = int(theirs)
    return mapped


def production_problems(config: dict) -> list[str]:
    """What config.check_production refuses when Reloadly delivers the airtime."""
    problems = [f"{key} must be set (TOPUP_PROVIDER is Reloadly)"
                for key in ("RELOADLY_CLIENT_ID", "RELOADLY_CLIENT_SECRET") if not config.get(key)]
    if config.get("RELOADLY_SANDBOX", True):
        problems.append("RELOADLY_SANDBOX must be off in production (sandbox top-ups deliver nothing)")
    if config.get("RELOADLY_API_BASE"):
        problems.append("RELOADLY_API_BASE must be unset in production (it points away from Reloadly)")
    try:
        missing = [o.id for o in airtime.OPERATORS if o.id not in operator_ids(config.get("RELOADLY_OPERATORS") or "")]
    except ConfigurationError as error:
        return [*problems, str(error)]
    if missing:
        problems.append(f"RELOADLY_OPERATORS must map every operator on sale; missing: {', '.join(missing)}")
    return problems


@dataclass(frozen=True)
class _Token:
    value: str = field(repr=False)
    renew_at: float  # time.monotonic()


# One token per process and credentials, shared by the worker's threads: {(token_url, client_id, audience): _Token}.
_tokens: dict[tuple[str, str, str], _Token] = {}
_tokens_lock = threading.Lock()


class ReloadlyTopups:
    """Built as ReloadlyTopups(config) for each top-up attempt (providers/airtime.provider)."""

    def __init__(self, config: dict):
        self.settings = settings(config)

    def send(self, order: TopupOrder) -> TopupReceipt:
        if order.attempt > 1:  # we called before with this key: what became of that top-up?
            found = self._find(order.idempotency_key)
            if found is not None:
                return self._answer(self._live(found), order)
        operator_id = self.settings.operators.get(order.operator)
        if operator_id is None:
            log.error("reloadly: operator %s is not in RELOADLY_OPERATORS", order.operator,
                      extra={"event": "topup.reloadly.unmapped"})
            raise TopupRejected(UNAVAILABLE)
        response = self._call("POST", "/topups", json=_body(order, operator_id))
        if 200 <= response.status_code < 300:
            return self._answer(_transaction(response), order)
        return self._not_made(response, order)

    def _not_made(self, response: requests.Response, order: TopupOrder) -> TopupReceipt:
        """A POST /topups that was not answered with a transaction."""
        status, code = response.status_code, _error_code(response)
        if status == 429 or status >= 500 or code in LATER:
            raise ProviderDown(f"Reloadly answered {status} {code}".rstrip())
        if code in REFUSED:
            log.info("reloadly: topup %s refused (%s) for number …%s", order.topup_id, code,
                     order.mobile_number[-4:], extra={"event": "topup.reloadly.refused"})
            raise TopupRejected(REFUSED[code])
        if code in OUR_ACCOUNT:
            log.error("reloadly: our account cannot pay (%s)", code, extra={"event": "topup.reloadly.account"})
            raise ProviderDown(f"Reloadly answered {status} {code}")
        found = self._find(order.idempotency_key)  # e.g. the key was taken by a call whose worker died
        if found is not None:
            return self._answer(self._live(found), order)
        log.error("reloadly: unexpected answer %s %s to topup %s", status, code or "(no errorCode)", order.topup_id,
                  extra={"event": "topup.reloadly.unexpected"})
        raise ProviderDown(f"Reloadly answered {status} {code or 'without an error code'}")

    def _find(self, key: str) -> dict | None:
        """The top-up made with this customIdentifier, if any (the filter is compared exactly, to be sure)."""
        response = self._call("GET", "/topups/reports/transactions",
                              params={"customIdentifier": key, "page": 1, "size": 20})
        if response.status_code != 200:
            raise ProviderDown(f"Reloadly's transaction report answered {response.status_code}")
        content = _json(response).get("content") or []
        return next((t for t in content if isinstance(t, dict) and t.get("customIdentifier") == key
                     and t.get("transactionId") is not None), None)

    def _live(self, transaction: dict) -> dict:
        """A report's PROCESSING may be stale: the status endpoint says what the operator says now."""
        if transaction.get("status") != "PROCESSING":
            return transaction
        response = self._call("GET", f"/topups/{transaction['transactionId']}/status")
        return _transaction(response) if response.status_code == 200 else transaction

    def _answer(self, transaction: dict, order: TopupOrder) -> TopupReceipt:
        ref, status = str(transaction["transactionId"]), transaction.get("status")
        log.info("reloadly: topup %s is %s (transaction %s)", order.topup_id, status, ref,
                 extra={"event": "topup.reloadly.answer"})
        if status == "SUCCESSFUL":
            return TopupReceipt(ref=ref, status=airtime.COMPLETED)
        if status in ("REFUNDED", "FAILED"):  # nothing charged, and the key is spent: this top-up is over
            raise TopupRejected(NOT_DELIVERED)
        return TopupReceipt(ref=ref, status=airtime.PENDING)  # PROCESSING (or a status new to us): ask again later

    # --- HTTP ---

    def _call(self, method: str, path: str, **kwargs) -> requests.Response:
        """One API request with the kept token; a 401 drops it, and the request is made once more with a new one."""
        for _ in range(2):
            token = self._token()
            response = self._http(method, self.settings.api_base + path, **kwargs,
                                  headers={"Accept": ACCEPT, "Authorization": f"Bearer {token}"})
            if response.status_code != 401:
                return response
            self._forget(token)
        log.error("reloadly: a new access token was refused too (%s)", _error_code(response),
                  extra={"event": "topup.reloadly.unauthorized"})
        raise ProviderDown("Reloadly refused a new access token (401)")

    def _token(self) -> str:
        s = self.settings
        key = (s.token_url, s.client_id, s.audience)
        with _tokens_lock:
            kept = _tokens.get(key)
        if kept is not None and kept.renew_at > time.monotonic():
            return kept.value
        response = self._http("POST", s.token_url, headers={"Accept": "application/json"},
                              json={"client_id": s.client_id, "client_secret": s.client_secret,
                                    "grant_type": "client_credentials", "audience": s.audience})
        if response.status_code != 200:
            if response.status_code in (400, 401, 403):
                log.error("reloadly: our client credentials were refused (%s)", _error_code(response),
                          extra={"event": "topup.reloadly.credentials"})
            raise ProviderDown(f"Reloadly's token endpoint answered {response.status_code}")
        body = _json(response)
        if not isinstance(body.get("access_token"), str):
            raise ProviderDown("Reloadly's token endpoint answered without a token")
        lifetime = float(body.get("expires_in") or 0)  # documented as a number; some examples show a string
        token = _Token(body["access_token"], time.monotonic() + max(lifetime - TOKEN_MARGIN, lifetime / 2))
        with _tokens_lock:
            _tokens[key] = token
        return token.value

    def _forget(self, token: str) -> None:
        key = (self.settings.token_url, self.settings.client_id, self.settings.audience)
        with _tokens_lock:
            if key in _tokens and _tokens[key].value == token:  # another thread may have renewed it already
                del _tokens[key]

    def _http(self, method: str, url: str, **kwargs) -> requests.Response:
        """Unreachable or too slow is ProviderDown: for a POST /topups that means it may have happened, which
        the next attempt finds out (attempt > 1 looks the key up first)."""
        try:
            return requests.request(method, url, timeout=(min(self.settings.timeout, 5.0), self.settings.timeout),
                                    **kwargs)
        except requests.RequestException as error:
            raise ProviderDown(f"Reloadly unreachable: {type(error).__name__}") from None


def _body(order: TopupOrder, operator_id: int) -> dict:
    major = Decimal(order.amount).scaleb(-exponent(order.currency))
    return {"operatorId": operator_id,
            "amount": float(major),  # a JSON number; repr is the shortest that round-trips: 1234.56, not …5999
            "useLocalAmount": True,  # the amount is in the operator's currency, as the person paid it
            "customIdentifier": order.idempotency_key,
            "recipientPhone": {"countryCode": airtime.BY_ID[order.operator].country,
                               "number": order.mobile_number.lstrip("+")}}  # as the docs: "447951731337"


def _json(response: requests.Response) -> dict:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise ProviderDown(f"Reloadly answered {response.status_code} with no JSON object")
    return body


def _transaction(response: requests.Response) -> dict:
    """A 200 that should carry a transaction. Without one we cannot tell what happened: ProviderDown, and the
    next attempt looks the key up."""
    body = _json(response)
    if not isinstance(body.get("transactionId"), int):
        raise ProviderDown("Reloadly answered 200 without a transactionId")
    return body


def _error_code(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    return str(body.get("errorCode") or "") if isinstance(body, dict) else ""
