// Photo forms (form[data-upload]): sent with XMLHttpRequest so a progress bar can follow the upload,
// asking for JSON (web/uploads.py): {"redirect": url} when done, or a 422 with each field's problem,
// shown in place. Without JavaScript the same form posts normally and the server redirects.
// Also: [data-show-when="field"][data-show-values="a b"] shows a part of a form only for those choices
// (the back of an ID card; a passport has none).
(function () {
  "use strict";

  function ready(fn) {
    if (document.readyState !== "loading") fn();
    else document.addEventListener("DOMContentLoaded", fn);
  }

  function formData(form) {
    var data = new FormData(form);
    form.querySelectorAll("[data-camera]").forEach(function (component) {
      var input = component.querySelector("input[type=file]");
      if (component.closest("[hidden]")) data.delete(input.name); // a part of the form that does not apply
      else if (component.cameraFile) data.set(input.name, component.cameraFile, input.name + ".jpg");
    });
    return data;
  }

  function showErrors(form, errors) {
    form.querySelectorAll(".error[id^='e-']").forEach(function (slot) {
      var name = slot.id.slice(2);
      slot.textContent = errors[name] || "";
      var field = slot.closest(".camera, .choices, .field");
      if (field) field.classList.toggle("invalid", !!errors[name]);
    });
    var first = Object.keys(errors).filter(function (name) { return name !== "_form"; })[0];
    var target = first && (form.querySelector("#field-" + first) || form.querySelector("#f-" + first));
    if (target) target.scrollIntoView({ block: "center" });
  }

  function answer(form, xhr, status, bar) {
    var body = null;
    try { body = JSON.parse(xhr.responseText); } catch (notJson) { body = null; }
    if (xhr.status === 200 && body && body.redirect) { window.location.assign(body.redirect); return; }
    bar.hidden = true;
    form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = false; });
    if (xhr.status === 422 && body) {
      showErrors(form, body.errors || {});
      status.textContent = (body.errors && body.errors._form) || "Check the photos marked below, then send again.";
    } else if (xhr.status === 413) {
      status.textContent = "These photos are too large together. Take them again with the camera, or choose smaller ones.";
    } else if (!body && xhr.responseURL && xhr.status === 200) {
      window.location.assign(xhr.responseURL); // signed out meanwhile: the sign-in page
    } else {
      status.textContent = "That did not work. Check your connection and send again.";
    }
  }

  function send(form) {
    var bar = form.querySelector("[data-upload-progress]");
    var progress = bar.querySelector("progress");
    var status = form.querySelector("[data-upload-status]");
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.addEventListener("progress", function (event) {
      if (event.lengthComputable) progress.value = Math.round(100 * event.loaded / event.total);
    });
    xhr.upload.addEventListener("load", function () { status.textContent = "Sent. Checking your photos…"; });
    xhr.addEventListener("load", function () { answer(form, xhr, status, bar); });
    xhr.addEventListener("error", function () { answer(form, { status: 0, responseText: "" }, status, bar); });
    progress.value = 0;
    bar.hidden = false;
    status.textContent = "Sending your photos…";
    form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = true; });
    xhr.send(formData(form));
  }

  function showWhen(part) {
    var form = part.closest("form");
    var values = part.dataset.showValues.split(" ");
    var update = function () {
      var chosen = form.querySelector("[name='" + part.dataset.showWhen + "']:checked");
      part.hidden = !chosen || values.indexOf(chosen.value) < 0;
    };
    form.addEventListener("change", update);
    update();
  }

  ready(function () {
    document.querySelectorAll("[data-show-when]").forEach(showWhen);
    document.querySelectorAll("form[data-upload]").forEach(function (form) {
      if (!window.FormData || !window.XMLHttpRequest) return;
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        send(form);
      });
    });
  });
})();
