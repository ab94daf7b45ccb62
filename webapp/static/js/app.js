// Small progressive enhancements. Every page works without this file; CSP allows only scripts from 'self'.
(function () {
  "use strict";

  function ready(fn) {
    if (document.readyState !== "loading") fn();
    else document.addEventListener("DOMContentLoaded", fn);
  }

  ready(function () {
    // Receipts: a print button (browsers offer "Save as PDF" in the print dialog).
    document.querySelectorAll("[data-print]").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () { window.print(); });
    });

    // Money forms: one tap sends once. The idempotency key already makes a second submit harmless;
    // this only spares people the doubt. Disabled after the browser has read the clicked button's value.
    document.querySelectorAll("form[data-once]").forEach(function (form) {
      form.addEventListener("submit", function () {
        window.setTimeout(function () {
          form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = true; });
          form.classList.add("is-sending");
        }, 0);
      });
    });
  });

  // Coming back with the Back button restores the page from memory: make its buttons usable again.
  window.addEventListener("pageshow", function (event) {
    if (!event.persisted) return;
    document.querySelectorAll("form[data-once]").forEach(function (form) {
      form.classList.remove("is-sending");
      form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = false; });
    });
  });
})();
