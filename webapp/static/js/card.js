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

  // After a confirm the webhook decides; the fragment at data-status-url polls itself until it has.
  function showStatus() {
    form.hidden = true;
    window.htmx.ajax("GET", data.statusUrl, {target: "#deposit-status", swap: "outerHTML"});
  }

  // A refused card or a failed bank check ends this attempt: say so plainly, with a way to try again.
  function showFailure(error) {
    form.hidden = true;
    var box = document.getElementById("card-failed");
    box.querySelector("[data-reason]").textContent = error.message;
    box.hidden = false;
    box.focus();
  }

  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    busy(true);
    message.textContent = "";
    var result = await stripe.confirmPayment({elements: elements, redirect: "if_required",
                                              confirmParams: {return_url: data.returnUrl}});
    if (!result.error) return showStatus();
    busy(false);
    if (result.error.type === "validation_error") {
      message.textContent = result.error.message;  // something to fix in the fields; nothing was tried
    } else if (result.error.type === "card_error") {
      showFailure(result.error);
    } else {
      message.textContent = result.error.message || "Something went wrong. Try again in a moment.";
    }
  });
})();
