// The card step of "Add money". Stripe.js (loaded from STRIPE_JS_URL just before this file) draws the Payment
// Element and sends the card straight to Stripe: card data never touches our server (PCI SAQ A). Everything
// this script needs comes from data- attributes, because the CSP allows no inline script. The wallet is
// credited only by Stripe's verified webhook; after confirming, the page shows the status fragment, which
// polls itself (HTMX) until the webhook has landed.
(function () {
  "use strict";

  var form = document.querySelector("form[data-card-form]");
  if (!form) return;
  var data = form.dataset, button = form.querySelector("button[type=submit]");
  var message = document.getElementById("card-error");

  if (typeof window.Stripe !== "function") {  // Stripe.js did not load: say so where the fields would be
    form.hidden = false;
    button.disabled = true;
    message.textContent = "The card form could not load. Check your connection and reload this page.";
    return;
  }
  var stripe = window.Stripe(data.publishableKey);
  var elements = stripe.elements({clientSecret: data.clientSecret});
  elements.create("payment").mount("#payment-element");
  form.hidden = false;

  function busy(on) {
    button.disabled = on;
    form.classList.toggle("is-sending", on);
    form.setAttribute("aria-busy", on ? "true" : "false");
  }

  // After a confirm the webhook decides; the fragment at data-status-url polls itself until it has. After a
  // failed attempt (a refused card, a failed bank check) `check=1` has the server ask Stripe first, so the
  // page says at once, in Stripe's words, why nothing was added. Focus follows, as the form is now gone.
  function showStatus(check) {
    form.hidden = true;
    var url = new URL(data.statusUrl, window.location.href);
    if (check) url.searchParams.set("check", "1");
    window.htmx.ajax("GET", url.pathname + url.search, {target: "#deposit-status", swap: "outerHTML"})
      .then(function () {
        var status = document.getElementById("deposit-status");
        if (status) status.focus();
      });
  }

  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    busy(true);
    message.textContent = "";
    var result = await stripe.confirmPayment({elements: elements, redirect: "if_required",
                                              confirmParams: {return_url: data.returnUrl}});
    if (!result.error) return showStatus(false);
    busy(false);
    if (result.error.type === "validation_error") {
      message.textContent = result.error.message;  // something to fix in the fields; nothing was tried
    } else if (result.error.type === "card_error") {
      showStatus(true);
    } else {
      message.textContent = result.error.message || "Something went wrong. Try again in a moment.";
    }
  });
})();
