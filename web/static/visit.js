// The visitor's phone page: the ticket followed live over server-sent events. Without
// JavaScript the page refreshes itself (a <noscript> refresh) and its buttons are plain forms.
"use strict";
(function () {
  const body = document.body;
  const token = body.dataset.token;
  const seen = window.sessionStorage;
  const alertsButton = document.getElementById("alerts");
  let source = null;

  // For tests: every alert given, in order ("near" or "call").
  window.loketAlerts = [];

  function alertVisitor(kind) {
    window.loketAlerts.push(kind);
    if (navigator.vibrate) {
      navigator.vibrate(kind === "call" ? [400, 200, 400, 200, 400] : [200, 100, 200]);
    }
    new Audio(body.dataset.chime).play().catch(() => {});  // where the phone allows it
  }

  // Each alert once per page: the near-turn alert once, the call once per (re)call.
  function once(key, kind) {
    if (!key || seen.getItem(key)) return;
    seen.setItem(key, "1");
    alertVisitor(kind);
  }

  function show(data) {
    document.getElementById("visit").innerHTML = data.html;
    document.getElementById("offline").hidden = true;
    if (data.state === "waiting" && data.near_turn) once("near:" + token, "near");
    if (data.state === "called") once("call:" + token + ":" + data.call, "call");
  }

  function connect() {
    source = new EventSource(body.dataset.events);
    source.addEventListener("visit", (event) => show(JSON.parse(event.data)));
    source.addEventListener("unavailable", () => {
      document.getElementById("offline").hidden = false;
    });
    source.addEventListener("final", () => source.close());
    source.addEventListener("gone", () => { source.close(); window.location.reload(); });
    source.addEventListener("error", () => {
      document.getElementById("offline").hidden = false;
      if (source.readyState === EventSource.CLOSED) setTimeout(connect, 5000);
    });
  }

  if (alertsButton) {
    // Phones play sound and vibrate only after a tap on the page: this button is that tap.
    alertsButton.hidden = false;
    alertsButton.addEventListener("click", () => {
      new Audio(body.dataset.chime).play().catch(() => {});
      alertsButton.hidden = true;
    });
  }
  connect();
})();
