"""OpenAPI paths for the transaction PIN (webapp/api/pins.py), kept apart from spec.py, which adds them in
build_spec. The money endpoints document `pin` and its 403s themselves (spec.PIN, spec.PIN_REFUSED)."""

from __future__ import annotations

from webapp.api.spec import (
    PIN,
    RATE_LIMITED,
    TIMESTAMP,
    TOO_LARGE,
    UNAUTHORIZED,
    body,
    invalid,
    obj,
    operation,
    success,
)
from webapp.services.pins import SET_LIMIT

STATUS = obj({"is_set": {"type": "boolean", "description": "True once you have set a PIN: the money endpoints "
                         "then need it as `pin`."},
              "locked_until": {"type": ["string", "null"], "format": TIMESTAMP["format"],
                               "description": "While wrong PINs keep outgoing money locked: until when (UTC). "
                               "Changing the PIN does not lift it."}}, closed=True)


def pin_paths() -> dict:
    return {"/pin": {
        "get": operation(
            "getPin", "Whether you have set a transaction PIN, and whether wrong PINs have locked sending.",
            {"200": success("Your PIN's status.", obj({"pin": STATUS}, closed=True)), **UNAUTHORIZED}, tag="pin"),
        "put": operation(
            "setPin", "Set or change your 4-digit transaction PIN, with your account password. Every transfer, "
            "institution payment, top-up and withdrawal then needs it. Four of one digit and runs like 1234 or "
            f"4321 are refused. Per user, web and app together: {SET_LIMIT.replace(';', ', ')}.",
            {"200": success("Set; from now on the money endpoints need it.", obj({"pin": STATUS}, closed=True)),
             **UNAUTHORIZED, **TOO_LARGE,
             **invalid("`password` missing or not yours, `pin` missing, not 4 digits, or too easy to guess (the "
                       "reason is the message)."), **RATE_LIMITED},
            tag="pin", request=body(obj({"password": {"type": "string", "minLength": 1,
                                                      "description": "Your account password."},
                                         "pin": {**PIN, "description": "The new PIN: 4 digits (ASCII)."}})))},
    }
