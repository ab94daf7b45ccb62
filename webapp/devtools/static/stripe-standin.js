// A stand-in for Stripe.js, for development and tests only: localstripe serves it (webapp/devtools/
// stripe_standin.py) and production never does. It implements exactly what static/js/card.js calls:
// Stripe(key), stripe.elements({clientSecret}), elements.create("payment"), element.mount(selector) and
// stripe.confirmPayment({elements, redirect, confirmParams}), and talks to localstripe over HTTP as Stripe.js
// talks to Stripe: create a PaymentMethod from the typed card, confirm the PaymentIntent with it, and for a
// 3-D Secure card let the person press "Complete" or "Fail", sent to localstripe's authentication endpoint as
// localstripe's own script does. Declines and webhooks are localstripe's; this file never invents an outcome.
// Test cards: 4242 4242 4242 4242 succeeds, 4000 0000 0000 0341 is declined, 4000 0027 6000 3184 asks for 3-D
// Secure. The fields reuse the page's own classes (field, error, btn) so they look like the rest of the form.
(function () {
  "use strict";

  var BASE = new URL(document.currentScript.src).origin;  // localstripe: the script's origin is its API

  // Stripe.js sends form-encoded bodies (a "simple" cross-origin request: no preflight, which localstripe
  // would not answer), nesting as card[number]=….
  function encode(data, prefix, out) {
    out = out || [];
    Object.keys(data).forEach(function (name) {
      var key = prefix ? prefix + "[" + name + "]" : name, value = data[name];
      if (value === undefined || value === null) return;
      if (typeof value === "object") encode(value, key, out);
      else out.push(encodeURIComponent(key) + "=" + encodeURIComponent(value));
    });
    return out.join("&");
  }

  async function post(path, data) {
    var response = await fetch(BASE + path, {method: "POST", body: encode(data),
      headers: {"Content-Type": "application/x-www-form-urlencoded"}});
    var body = await response.json().catch(function () { return {}; });
    if (response.ok && !body.error) return {body: body};
    var error = body.error || {};
    // Stripe calls a refused card a card_error (HTTP 402); localstripe labels every error invalid_request_error.
    return {error: {type: response.status === 402 ? "card_error" : (error.type || "api_error"), code: error.code,
                    message: error.message || "The card payment could not be completed."}};
  }

  function field(id, label, attrs) {
    var wrap = document.createElement("div"), lab = document.createElement("label"),
        input = document.createElement("input"), error = document.createElement("p");
    wrap.className = "field";
    lab.htmlFor = id; lab.textContent = label;
    input.id = id; input.type = "text"; input.required = true;
    input.setAttribute("aria-describedby", id + "-error");
    Object.keys(attrs).forEach(function (name) { input.setAttribute(name, attrs[name]); });
    error.className = "error"; error.id = id + "-error";
    wrap.append(lab, input, error);
    return {wrap: wrap, input: input};
  }

  function PaymentElement() { this.inputs = null; }

  PaymentElement.prototype.mount = function (target) {
    var root = typeof target === "string" ? document.querySelector(target) : target;
    var number = field("standin-number", "Card number", {inputmode: "numeric", autocomplete: "cc-number",
                                                        placeholder: "1234 1234 1234 1234", maxlength: "23"});
    var expiry = field("standin-expiry", "Expiry date", {inputmode: "numeric", autocomplete: "cc-exp",
                                                        placeholder: "MM / YY", maxlength: "7"});
    var cvc = field("standin-cvc", "Security code", {inputmode: "numeric", autocomplete: "cc-csc",
                                                    placeholder: "CVC", maxlength: "4"});
    var row = document.createElement("div");
    row.className = "card-fields-row";
    row.append(expiry.wrap, cvc.wrap);
    root.replaceChildren(number.wrap, row);
    this.root = root;
    this.inputs = {number: number.input, expiry: expiry.input, cvc: cvc.input};
  };

  // What the fields hold, or the validation_error Stripe.js would give before calling the API.
  PaymentElement.prototype.card = function () {
    var digits = function (input) { return input.value.replace(/\D/g, ""); };
    var number = digits(this.inputs.number), expiry = digits(this.inputs.expiry), cvc = digits(this.inputs.cvc);
    var problem = number.length !== 16 ? ["incomplete_number", "Your card number is incomplete."]
      : expiry.length !== 4 || +expiry.slice(0, 2) < 1 || +expiry.slice(0, 2) > 12
        ? ["incomplete_expiry", "Your card's expiry date is incomplete."]
        : cvc.length !== 3 ? ["incomplete_cvc", "Your card's security code is incomplete."] : null;
    if (problem) return {error: {type: "validation_error", code: problem[0], message: problem[1]}};
    return {card: {number: number, exp_month: expiry.slice(0, 2), exp_year: "20" + expiry.slice(2), cvc: cvc}};
  };

  // The bank's 3-D Secure check, as localstripe plays it: an in-page dialog with "Complete" and "Fail".
  PaymentElement.prototype.authenticate = function () {
    var root = this.root;
    return new Promise(function (resolve) {
      var box = document.createElement("div"), title = document.createElement("h2"), text = document.createElement("p");
      box.className = "standin-3ds card"; box.setAttribute("role", "dialog");
      box.setAttribute("aria-labelledby", "standin-3ds-title"); box.setAttribute("aria-describedby", "standin-3ds-text");
      title.id = "standin-3ds-title"; title.textContent = "Confirm it's you";
      text.id = "standin-3ds-text";
      text.textContent = "Test bank (localstripe): complete or fail this 3-D Secure check.";
      box.append(title, text);
      [["Complete", "btn btn-primary btn-block", true], ["Fail", "btn btn-ghost btn-block", false]].forEach(function (b) {
        var button = document.createElement("button");
        button.type = "button"; button.className = b[1]; button.textContent = b[0];
        button.addEventListener("click", function () { box.remove(); resolve(b[2]); });
        box.append(button);
      });
      root.append(box);
      box.querySelector("button").focus();
    });
  };

  function Stripe(publishableKey) {
    if (!/^pk_/.test(publishableKey || "")) throw new Error("Stripe(): a publishable key (pk_…) is required");
    return {
      elements: function (options) {
        var secret = options && options.clientSecret;
        return {clientSecret: secret, element: null,
                create: function (type) {
                  if (type !== "payment") throw new Error("stand-in: only the payment element exists");
                  this.element = new PaymentElement();
                  return this.element;
                }};
      },
      confirmPayment: function (params) { return confirmPayment(publishableKey, params); },
    };
  }

  async function confirmPayment(key, params) {
    var elements = params.elements, secret = elements.clientSecret;
    var intentId = secret.split("_secret_")[0];
    var typed = elements.element.card();
    if (typed.error) return typed;
    var method = await post("/v1/payment_methods", {key: key, type: "card", card: typed.card});
    if (method.error) return method;
    var returnUrl = (params.confirmParams || {}).return_url;
    var intent = await post("/v1/payment_intents/" + intentId + "/confirm",
                            {key: key, client_secret: secret, payment_method: method.body.id, return_url: returnUrl});
    if (intent.error) return intent;
    if (intent.body.status === "requires_action") {
      var success = await elements.element.authenticate();
      intent = await post("/v1/payment_intents/" + intentId + "/_authenticate?success=" + success,
                          {key: key, client_secret: secret});
      if (intent.error) return intent;
    }
    var pi = intent.body;
    if (pi.status === "requires_payment_method" && pi.last_payment_error) {
      return {error: {type: "card_error", code: pi.last_payment_error.code, message: pi.last_payment_error.message,
                      payment_intent: pi}};
    }
    if (params.redirect === "always" && returnUrl) {  // as Stripe does after a redirect-based method
      var url = new URL(returnUrl);
      url.searchParams.set("payment_intent", pi.id);
      url.searchParams.set("payment_intent_client_secret", secret);
      url.searchParams.set("redirect_status", pi.status === "succeeded" ? "succeeded" : "failed");
      window.location.assign(url.toString());
      return new Promise(function () {});
    }
    return {paymentIntent: pi};
  }

  window.Stripe = Stripe;
})();
