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
