"""HTML renderings of failures for every non-/api/ path (webapp/errorhandlers.py calls these three).
Pages stay calm and say what to do next; a 500 shows only the request id as a reference for support,
never a stack trace. HTMX requests get just a small message fragment."""

from __future__ import annotations

from flask import current_app, g, render_template
from flask_wtf.csrf import CSRFError
from htmx_flask import request

STATUS = {"VALIDATION_ERROR": 422, "UNAUTHORIZED": 401, "FORBIDDEN": 403, "NOT_FOUND": 404,
          "INSUFFICIENT_FUNDS": 422, "CURRENCY_MISMATCH": 422, "LIMIT_EXCEEDED": 422, "KYC_REQUIRED": 403,
          "ACCOUNT_FROZEN": 403, "PIN_REQUIRED": 403, "PIN_INVALID": 403, "IDEMPOTENCY_CONFLICT": 409,
          "PROVIDER_UNAVAILABLE": 503, "SERVICE_UNAVAILABLE": 503}
# Codes that share a status with another but need their own words (503 is also Stripe being down).
CODE_PAGES = {
    # Our database is out of reach. Money forms carry idempotency keys, so a resend never pays twice.
    "SERVICE_UNAVAILABLE": ("We can't reach our records right now",
                            "Nothing was sent twice. Please try again in a moment."),
}

PAGES = {
    400: ("Something was off with that request", "Go back and try again."),
    401: ("Please sign in", "Sign in to continue."),
    403: ("Not allowed", "You can't do this with your account."),
    404: ("We couldn't find that", "It may have moved, or it isn't yours to see."),
    405: ("That didn't work", "Go back and use the buttons on the page."),
    409: ("Already handled", "This request was already made differently. Start again from the form."),
    413: ("That's too large", "Try a smaller file."),
    422: ("That didn't work", "Check the details and try again."),
    429: ("Slow down a little", "You're going faster than we allow. Wait a minute, then try again."),
    503: ("Card payments are unavailable", "Nothing was charged. Please try again in a minute."),
    # We cannot know here whether money moved before the failure, so say how to find out, not "nothing changed".
    500: ("Something went wrong on our side", "Please try again in a moment. If you were sending money, check "
          "your history first: it shows everything that went through."),
}


def render(status: int, message: str | None = None, *, reference: str | None = None, code: str | None = None):
    title, default = CODE_PAGES.get(code) or PAGES.get(status, PAGES[500 if status >= 500 else 400])
    template = "errors/_message.html" if request.htmx else "errors/page.html"
    try:
        html = render_template(template, status=status, title=title, message=message or default,
                               reference=reference)
    except Exception:  # the error page itself must never fail: fall back to plain words
        current_app.logger.exception("error page failed to render")
        html = f"{title}. {message or default}"
    return html, status


def domain_error(error):
    status = STATUS.get(error.code, 422)
    message = PAGES[404][1] if status == 404 else error.message
    if error.code in CODE_PAGES:
        message = None  # the page's own words for this code
    html, status = render(status, message, reference=g.get("request_id") if status >= 500 else None,
                          code=error.code)
    retry_after = getattr(error, "retry_after", None)
    return (html, status, {"Retry-After": str(retry_after)}) if retry_after else (html, status)


def http_error(error):
    if isinstance(error, CSRFError):
        return render(400, "This form expired. Reload the page and try again.")
    status = error.code or 500
    if status >= 500:
        return render(status, reference=g.get("request_id"))
    return render(status)


def unexpected(error):
    current_app.logger.exception("unhandled error")
    return render(500, reference=g.get("request_id"))
