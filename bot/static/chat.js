// cxbot web chat: renders messages with textContent only (customer text is never HTML).
(function () {
  "use strict";
  var root = document.getElementById("chat");
  var log = document.getElementById("log");
  var form = document.getElementById("composer");
  var input = document.getElementById("input");
  var flow = root.dataset.flow;
  var lang = root.dataset.lang;
  var seen = {};
  var lastId = 0;
  var restart = new URLSearchParams(window.location.search).get("restart") === "1";

  function clientId() {
    if (window.crypto && window.crypto.randomUUID) return window.crypto.randomUUID();
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function disableButtons() {
    log.querySelectorAll(".buttons button").forEach(function (b) { b.disabled = true; });
  }

  function add(author, text, buttons) {
    if (author !== "system") disableButtons();  // only the newest question's buttons are live
    var item = document.createElement("li");
    item.className = "msg " + author;
    var bubble = document.createElement("div");
    bubble.className = "bubble";
    bubble.textContent = text;
    item.appendChild(bubble);
    if (buttons && buttons.length) {
      var row = document.createElement("div");
      row.className = "buttons";
      buttons.forEach(function (b) {
        var button = document.createElement("button");
        button.type = "button";
        button.textContent = b.label;
        button.dataset.payload = b.payload;
        button.addEventListener("click", function () {
          disableButtons();
          button.classList.add("chosen");
          add("customer", b.label);
          send({ button: b.payload });
        });
        row.appendChild(button);
      });
      item.appendChild(row);
    }
    log.appendChild(item);
    item.scrollIntoView({ block: "end" });
  }

  function render(messages) {
    messages.forEach(function (m) {
      if (m.id && seen[m.id]) return;
      if (m.id) { seen[m.id] = true; lastId = Math.max(lastId, m.id); }
      add(m.direction === "in" ? "customer" : m.author, m.text, m.buttons);
    });
  }

  function request(method, body) {
    return fetch("/chat/" + encodeURIComponent(flow) + "/messages" + (method === "GET" ? "?after=" + lastId : ""), {
      method: method,
      credentials: "same-origin",
      headers: body ? { "Content-Type": "application/json" } : {},
      body: body ? JSON.stringify(body) : undefined
    }).then(function (r) {
      if (!r.ok) throw new Error("HTTP " + r.status);
      return r.json();
    });
  }

  function send(body, attempt) {
    body.client_id = body.client_id || clientId();
    body.lang = lang;
    return request("POST", body).then(function (data) {
      render(data.messages);
    }).catch(function () {
      if ((attempt || 0) < 2) return send(body, (attempt || 0) + 1);  // same client_id: answered once
      add("system", root.dataset.error);
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value.trim();
    if (!text) return;
    input.value = "";
    add("customer", text);
    send({ text: text });
  });

  request("GET").then(function (data) {
    if (restart || !data.open) {
      log.textContent = "";
      data.messages.forEach(function (m) { if (m.id) { seen[m.id] = true; lastId = Math.max(lastId, m.id); } });
      return send({ start: true });
    }
    render(data.messages);
  }).catch(function () { add("system", root.dataset.error); });

  setInterval(function () {  // agent replies arrive here
    request("GET").then(function (data) {
      render(data.messages.filter(function (m) { return m.direction === "out"; }));
    }).catch(function () {});
  }, 5000);
})();
