"""The Stripe.js stand-in's server half, added to localstripe's own aiohttp app (development and tests only;
production never runs localstripe, and `EWALLET_ENV=production` refuses `STRIPE_API_BASE`).

localstripe's own Stripe.js cannot complete a PaymentIntent (no `confirmPayment`; upstream issue #253), so
`static/stripe-standin.js` stands in for Stripe.js and talks to localstripe over HTTP the way Stripe.js
talks to Stripe. Real Stripe lets a browser holding only the publishable key create a PaymentMethod and
confirm its own PaymentIntent with the client secret. localstripe 1.15.10 accepts the publishable key only
for tokens, sources and 3-D Secure authentication, and answers a confirm that names a payment method with
500. The middleware below fills exactly those two gaps by calling localstripe's own objects: whether a card
is declined or asks for 3-D Secure, and every signed webhook, stay localstripe's decisions.

    install(localstripe.server.app)  # before the app starts; then GET STANDIN_PATH serves the script
"""

from __future__ import annotations

import re
from pathlib import Path

from aiohttp import web

# STRIPE_JS_URL = <localstripe base> + this. Beside localstripe's own script, under the one prefix its
# authentication lets through without an API key.
STANDIN_PATH = "/js.stripe.com/v3/ewallet-standin.js"
SCRIPT = Path(__file__).with_name("static") / "stripe-standin.js"
_CONFIRM = re.compile(r"^/v1/payment_intents/(pi_\w+)/confirm$")


def install(app: web.Application) -> None:
    """Serve the stand-in and let the publishable key do what it may do on real Stripe. The middleware goes
    first, ahead of localstripe's own authentication (which would refuse the publishable key)."""
    app.router.add_get(STANDIN_PATH, _script)
    app.middlewares.insert(0, _publishable_key)


async def _script(request: web.Request) -> web.Response:
    return web.Response(text=SCRIPT.read_text(), content_type="application/javascript",
                        headers={"Cache-Control": "no-store"})


@web.middleware
async def _publishable_key(request: web.Request, handler):
    if request.method != "POST" or "authorization" in request.headers:
        return await handler(request)  # the server's own SDK calls, with the secret key: untouched
    confirm = _CONFIRM.match(request.path)
    if request.path != "/v1/payment_methods" and not confirm:
        return await handler(request)
    from localstripe.errors import UserError
    from localstripe.server import get_post_data, json_response

    data = await get_post_data(request, remove_auth=False) or {}
    if not str(data.pop("key", "")).startswith("pk_"):
        return await handler(request)  # localstripe answers 401, as Stripe would
    data.pop("payment_user_agent", None)
    try:
        found = _confirm(confirm.group(1), data) if confirm else _payment_method(data)
    except UserError as error:
        return error.to_response()
    return json_response(found._export())


def _payment_method(data: dict):
    """POST /v1/payment_methods {type: card, card: {number, exp_month, exp_year, cvc}}, as Stripe.js sends."""
    from localstripe.resources import PaymentMethod

    return PaymentMethod._api_create(type=data.get("type"), card=data.get("card"),
                                     billing_details=data.get("billing_details"))


def _confirm(intent_id: str, data: dict):
    """POST /v1/payment_intents/:id/confirm {client_secret, payment_method, return_url}: the client secret
    proves the browser was given this PaymentIntent. localstripe cannot confirm with a payment method, so
    set it first (what an update would do), then let localstripe's own confirm charge or ask for 3-D Secure;
    a decline raises its 402 and schedules its `payment_intent.payment_failed` webhook."""
    from localstripe.errors import UserError
    from localstripe.resources import PaymentIntent

    intent = PaymentIntent._api_retrieve(intent_id)
    if data.get("client_secret") != intent.client_secret:
        raise UserError(401, "Unauthorized")
    if data.get("payment_method"):
        PaymentIntent._api_update(intent_id, payment_method=data["payment_method"])
    # `return_url` matters only to a bank's redirect page; localstripe's 3-D Secure happens in the page.
    return PaymentIntent._api_confirm(intent_id)
