"""OpenAPI paths for confirming the account's email and phone (webapp/api/verification.py). Kept apart
from spec.py, which adds them in build_spec, so neither module grows past a screenful of paths."""

from __future__ import annotations

from webapp.api.spec import RATE_LIMITED, TOO_LARGE, UNAUTHORIZED, body, invalid, obj, operation, ref, success
from webapp.services.verification import CODE_DIGITS, MAX_ATTEMPTS, SEND_LIMIT

EMPTY = body({"type": "object"}, "An empty JSON object: `{}`.")


def sent(what: str) -> dict:
    return success(f"Accepted: {what} goes out in a moment. Asking again sends a new one; older ones stop "
                   "working.", obj({"sent_to": {"type": "string", "description": "Your own address or number."},
                                    "expires_in": {"type": "integer", "description": "Seconds it works."}},
                                   closed=True))


def verification_paths() -> dict:
    limited = f"Per user, web and app together: {SEND_LIMIT.replace(';', ', ')}."
    return {
        "/verification/email": {"post": operation(
            "sendEmailConfirmation", "Mail a new link that confirms your email address. Until it is confirmed, "
            "nobody can send you money by typing it (sign-up mails the first link itself). The link opens a web "
            f"page where, signed in, you press Confirm. {limited}",
            {"202": sent("the link"), **UNAUTHORIZED, **TOO_LARGE,
             **invalid("`email`: already confirmed; or a body that is not a JSON object."), **RATE_LIMITED},
            tag="verification", request=EMPTY)},
        "/verification/phone": {"post": operation(
            "sendPhoneCode", f"Text a new {CODE_DIGITS}-digit code to your mobile number. Until it is confirmed, "
            f"nobody can send you money by typing the number. {limited}",
            {"202": sent("the code"), **UNAUTHORIZED, **TOO_LARGE,
             **invalid("`phone`: already confirmed; or a body that is not a JSON object."), **RATE_LIMITED},
            tag="verification", request=EMPTY)},
        "/verification/phone/confirm": {"post": operation(
            "confirmPhone", f"Send back the texted code. After {MAX_ATTEMPTS} wrong tries a code stops working; "
            "ask for a new one. Sending it for a number already confirmed changes nothing.",
            {"200": success("Confirmed: `phone_verified` is true.", obj({"user": ref("User")}, closed=True)),
             **UNAUTHORIZED, **TOO_LARGE,
             **invalid("`code`: missing, not 6 digits, wrong (the message says how many tries are left), or "
                       "expired."), **RATE_LIMITED},
            tag="verification", request=body(obj({"code": {
                "type": "string", "minLength": 1, "examples": ["042917"],
                "description": f"The {CODE_DIGITS} digits; spaces and dashes are ignored."}})))},
    }
