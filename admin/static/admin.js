// cxbot admin: the few behaviours plain HTML lacks. Served at /admin/static/admin.js
// (the Content-Security-Policy allows no inline script).
"use strict";
// A form with data-confirm asks before it is sent (removing a user, revoking a token).
document.addEventListener("submit", function (event) {
  var form = event.target;
  var question = form && form.getAttribute && form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});

// The agents' badge in the nav: open cases (red when some are overdue), asked every 30 s.
(function () {
  var badge = document.querySelector("[data-loop-badge]");
  if (!badge || !window.fetch) {
    return;
  }
  function refresh() {
    fetch(badge.getAttribute("data-loop-badge"), { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (counts) {
        if (!counts) {
          return;
        }
        var label = badge.getAttribute("data-label")
          .replace("{open}", String(counts.open)).replace("{overdue}", String(counts.overdue));
        badge.textContent = String(counts.open);
        badge.title = label;
        badge.setAttribute("aria-label", label);
        badge.classList.toggle("overdue", counts.overdue > 0);
        badge.hidden = counts.open === 0;
      })
      .catch(function () { /* offline for a moment: the next round tries again */ });
  }
  refresh();
  window.setInterval(refresh, 30000);
})();
