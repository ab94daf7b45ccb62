// Small progressive enhancements. Every page works without this file; CSP allows only scripts from 'self'.
(function () {
  "use strict";

  function ready(fn) {
    if (document.readyState !== "loading") fn();
    else document.addEventListener("DOMContentLoaded", fn);
  }

  // A field's error slot is swapped by an HTMX inline check: keep the field's red frame and its
  // aria-invalid in step with whether a message is there, so assistive tech hears the same as we show.
  function syncField(slot) {
    var field = slot.closest(".field");
    if (!field) return;
    var invalid = slot.textContent.trim() !== "";
    field.classList.toggle("invalid", invalid);
    field.querySelectorAll("input, select, textarea").forEach(function (control) {
      control.setAttribute("aria-invalid", invalid ? "true" : "false");
    });
  }

  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.target.classList.contains("error")) syncField(event.target);
  });

  ready(function () {
    // Receipts: a print button (browsers offer "Save as PDF" in the print dialog).
    document.querySelectorAll("[data-print]").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () { window.print(); });
    });

    // The send form follows the wallet: its currency symbol and "available" line change at once.
    document.querySelectorAll("select[data-wallet-select]").forEach(function (select) {
      select.addEventListener("change", function () {
        var chosen = select.options[select.selectedIndex].dataset;
        var form = select.form;
        form.querySelectorAll("[data-amount-symbol]").forEach(function (el) { el.textContent = chosen.symbol; });
        var hint = form.querySelector("#h-amount");
        if (hint) hint.textContent = chosen.available;
      });
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
