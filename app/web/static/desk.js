// The operations view refreshes its live part (orders, board) by polling: plain fetch,
// no library, and nothing while the tab is hidden.
(function () {
  var live = document.getElementById("live");
  if (!live) { return; }
  var every = (parseFloat(live.getAttribute("data-poll-s")) || 10) * 1000;
  function refresh() {
    if (document.hidden) { return; }
    fetch("/ops/live" + window.location.search, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) { if (html !== null) { live.innerHTML = html; live.setAttribute("data-refreshed", Date.now()); } })
      .catch(function () {});
  }
  setInterval(refresh, every);
})();
