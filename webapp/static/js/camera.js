// The camera component (templates/_camera.html): a live preview, a photo taken into a canvas, retake.
// Without a camera, or when permission is refused, the component's file input (accept="image/*" capture)
// takes over; without JavaScript it is all there ever was. Either way the photo ends up in that input,
// so the form carries it (and upload.js reads `element.cameraFile` where the browser cannot set inputs).
(function () {
  "use strict";

  var LONGEST_SIDE = 2560; // pixels: plenty for reading an ID, and a phone upload of ~1 MB, not ~5
  var QUALITY = 0.92;
  var active = null; // one camera at a time: phones cannot stream front and rear at once

  function say(component, text) { component.querySelector("[data-camera-status]").textContent = text; }
  function show(el, visible) { el.hidden = !visible; }

  function parts(component) {
    var q = function (sel) { return component.querySelector(sel); };
    return {
      frame: q("[data-camera-frame]"), video: q("[data-camera-video]"), shot: q("[data-camera-shot]"),
      buttons: q("[data-camera-buttons]"), start: q("[data-camera-start]"), capture: q("[data-camera-capture]"),
      retake: q("[data-camera-retake]"), fileBox: q("[data-camera-file]"), input: q("input[type=file]"),
      label: component.querySelector("legend").textContent
    };
  }

  function stop(component) {
    var p = parts(component);
    var stream = p.video.srcObject;
    if (stream) stream.getTracks().forEach(function (track) { track.stop(); });
    p.video.srcObject = null;
    if (active === component) active = null;
  }

  function fallBack(component, why) {
    var p = parts(component);
    stop(component);
    show(p.buttons, false);
    show(p.frame, !!component.cameraFile);
    show(p.fileBox, true);
    say(component, why + " Take or choose a photo with the button below instead.");
  }

  function open(component) {
    var p = parts(component);
    if (active && active !== component) stop(active);
    say(component, "Opening the camera…");
    var facing = component.dataset.facing;
    navigator.mediaDevices.getUserMedia({
      video: { facingMode: { ideal: facing }, width: { ideal: 1920 }, height: { ideal: 1080 } }, audio: false
    }).then(function (stream) {
      active = component;
      p.video.srcObject = stream;
      return p.video.play();
    }).then(function () {
      show(p.frame, true); show(p.video, true); show(p.shot, false);
      show(p.start, false); show(p.retake, false); show(p.capture, true);
      say(component, "Camera on. " + (facing === "user" ? "Look at the camera, then take the photo."
        : "Fit the whole document in the picture, then take the photo."));
      p.capture.focus();
    }).catch(function (error) {
      var refused = error && (error.name === "NotAllowedError" || error.name === "SecurityError");
      fallBack(component, refused ? "The camera is not allowed for this site." : "No camera is available.");
    });
  }

  function keep(component, blob) {
    var p = parts(component);
    var name = p.input.name + ".jpg";
    var file = typeof File === "function" ? new File([blob], name, { type: "image/jpeg" }) : blob;
    component.cameraFile = file;
    try { // so a plain submit carries it too; upload.js does not depend on this
      var transfer = new DataTransfer();
      transfer.items.add(file);
      p.input.files = transfer.files;
    } catch (ignored) { /* older browsers: upload.js adds component.cameraFile itself */ }
    preview(component, blob);
  }

  function preview(component, blob) {
    var p = parts(component);
    if (p.shot.src) URL.revokeObjectURL(p.shot.src);
    p.shot.src = URL.createObjectURL(blob);
    show(p.frame, true); show(p.shot, true); show(p.video, false);
  }

  function capture(component) {
    var p = parts(component);
    var width = p.video.videoWidth, height = p.video.videoHeight;
    if (!width || !height) { say(component, "The camera is still starting. Try again in a moment."); return; }
    var scale = Math.min(1, LONGEST_SIDE / Math.max(width, height));
    var canvas = document.createElement("canvas");
    canvas.width = Math.round(width * scale);
    canvas.height = Math.round(height * scale);
    canvas.getContext("2d").drawImage(p.video, 0, 0, canvas.width, canvas.height);
    canvas.toBlob(function (blob) {
      if (!blob) { say(component, "That did not work. Try again."); return; }
      stop(component);
      keep(component, blob);
      show(p.capture, false); show(p.retake, true);
      say(component, "Photo taken: " + p.label + ". Retake it if it is blurry or cut off.");
      p.retake.focus();
    }, "image/jpeg", QUALITY);
  }

  function retake(component) {
    var p = parts(component);
    component.cameraFile = null;
    p.input.value = "";
    open(component);
  }

  function chosen(component) {
    var p = parts(component);
    component.cameraFile = null; // the input holds the photo now
    if (p.input.files && p.input.files[0]) {
      preview(component, p.input.files[0]);
      say(component, "Photo chosen: " + p.label + ".");
    }
  }

  function setUp(component, hasCamera) {
    var p = parts(component);
    p.input.addEventListener("change", function () { chosen(component); });
    if (hasCamera) { // else the file input is already there and working
      show(p.fileBox, false);
      show(p.buttons, true);
      p.start.addEventListener("click", function () { open(component); });
      p.capture.addEventListener("click", function () { capture(component); });
      p.retake.addEventListener("click", function () { retake(component); });
    }
    // Settled: which controls the keyboard reaches no longer changes (the browser tests wait for this).
    component.dataset.cameraReady = "true";
  }

  function cameraAvailable() {
    var media = navigator.mediaDevices;
    if (!media || !media.getUserMedia || !window.isSecureContext) return Promise.resolve(false);
    if (!media.enumerateDevices) return Promise.resolve(true);
    return media.enumerateDevices().then(function (devices) {
      return devices.some(function (d) { return d.kind === "videoinput"; });
    }, function () { return true; });
  }

  function ready(fn) {
    if (document.readyState !== "loading") fn();
    else document.addEventListener("DOMContentLoaded", fn);
  }

  ready(function () {
    var components = document.querySelectorAll("[data-camera]");
    if (!components.length) return;
    cameraAvailable().then(function (hasCamera) {
      components.forEach(function (component) { setUp(component, hasCamera); });
    });
    window.addEventListener("pagehide", function () { if (active) stop(active); });
  });
})();
