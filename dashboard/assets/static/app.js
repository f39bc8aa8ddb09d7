// Live updates: when /events says a session changed, fetch this page
// again and swap its <main>, unless the reader is typing in a form (then
// the swap waits until the field loses focus). Reading works without it.
(function () {
  "use strict";
  if (!window.EventSource || !window.fetch || !window.DOMParser) return;
  var live = document.getElementById("live");
  var pending = false;
  function busy() {
    var a = document.activeElement;
    return a && (a.tagName === "TEXTAREA" || a.tagName === "INPUT" || a.tagName === "SELECT") && a.form && a.form.method === "post";
  }
  function refresh() {
    if (busy()) { pending = true; return; }
    pending = false;
    fetch(location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (html === null) return;
        var doc = new DOMParser().parseFromString(html, "text/html");
        var next = doc.getElementById("main");
        var main = document.getElementById("main");
        if (next && main) main.innerHTML = next.innerHTML;
      })
      .catch(function () {});
  }
  document.addEventListener("focusout", function () {
    setTimeout(function () { if (pending) refresh(); }, 0);
  });
  // since: the sessions' fingerprint when this page was rendered; the
  // stream starts with a change when they changed before it opened.
  var since = live.dataset.since;
  var es = new EventSource(since ? "/events?since=" + encodeURIComponent(since) : "/events");
  es.addEventListener("open", function () {
    live.textContent = "Live updates on.";
    live.dataset.state = "on";
  });
  es.addEventListener("error", function () {
    live.textContent = "Live updates paused; reconnecting.";
    live.dataset.state = "off";
  });
  es.addEventListener("change", refresh);
})();
