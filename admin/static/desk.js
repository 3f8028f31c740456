// The case page's live transcript: server-sent events from /admin/escalations/{id}/events.
// Every text is set with textContent (customer text is never parsed as HTML).
(function () {
  "use strict";
  var list = document.getElementById("transcript");
  if (!list || !window.EventSource) return;
  var live = document.getElementById("live");
  var d = list.dataset;
  var statusNames = JSON.parse(d.statusNames || "{}");

  function who(line) {
    var role = line.direction === "in" ? "customer" : line.author;
    return (d["author" + role.charAt(0).toUpperCase() + role.slice(1)] || role) + " · " + line.at;
  }

  function span(cls, text) {
    var el = document.createElement("span");
    el.className = cls;
    el.textContent = text;
    return el;
  }

  function draw(line) {
    var li = document.createElement("li");
    var role = line.direction === "in" ? "customer" : line.author;
    li.className = "msg from-" + role + " state-" + line.state;
    li.dataset.id = String(line.id);
    var head = span("who", "");
    head.textContent = who(line);
    li.appendChild(head);
    li.appendChild(span("text", line.text));
    if (line.buttons && line.buttons.length) {
      var row = span("buttons", "");
      line.buttons.forEach(function (b) { row.appendChild(span("chip", b)); });
      li.appendChild(row);
    }
    if (line.state === "failed") {
      li.appendChild(span("delivery failed", (d.stateFailed || "").replace("{error}", line.error || "")));
    } else if (line.state === "pending" || line.state === "sending") {
      li.appendChild(span("delivery", line.state === "pending" ? d.statePending : d.stateSending));
    }
    return li;
  }

  function show(data) {
    data.lines.forEach(function (line) {
      var old = list.querySelector('li[data-id="' + line.id + '"]');
      var fresh = draw(line);
      if (old) { if (old.className !== fresh.className) list.replaceChild(fresh, old); }
      else { list.appendChild(fresh); fresh.scrollIntoView({ block: "nearest" }); }
    });
    var status = document.getElementById("case-status");
    if (status && statusNames[data.status]) {
      status.textContent = statusNames[data.status];
      status.className = "badge status-" + data.status;
    }
    var assigned = document.getElementById("case-assigned");
    if (assigned && data.assigned_to) assigned.textContent = (d.assigned || "{name}").replace("{name}", data.assigned_to);
    var closing = document.getElementById("case-closing");
    if (closing && data.closing_answer) closing.textContent = data.closing_answer === "yes" ? d.closingYes : d.closingNo;
  }

  list.scrollTop = list.scrollHeight;  // the newest messages first in view
  var source = new EventSource("/admin/escalations/" + d.case + "/events?after=" + d.watch);
  source.addEventListener("open", function () { if (live) live.textContent = live.dataset.live; live && live.classList.add("on"); });
  source.addEventListener("error", function () { if (live) { live.textContent = live.dataset.offline; live.classList.remove("on"); } });
  source.addEventListener("case", function (event) { show(JSON.parse(event.data)); });
  source.addEventListener("gone", function () { source.close(); });
})();
