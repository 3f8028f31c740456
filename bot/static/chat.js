// cxbot web chat: renders messages with textContent only (customer text is never HTML).
(function () {
  "use strict";
  var root = document.getElementById("chat");
  var log = document.getElementById("log");
  var form = document.getElementById("composer");
  var input = document.getElementById("input");
  var sendButton = document.getElementById("send");
  var flow = root.dataset.flow;
  var lang = root.dataset.lang;
  var restartHref = "/chat/" + encodeURIComponent(flow) + "?lang=" + encodeURIComponent(lang) + "&restart=1";
  var ENDED = ["completed", "abandoned"];
  var LIFECYCLE = ["interview-started", "interview-handed-off", "interview-completed", "interview-abandoned"];
  var seen = {};
  var lastId = 0;
  var posting = 0;  // POSTs in flight; a poll answered meanwhile may predate them
  var posted = 0;   // POSTs so far
  var ended = false;
  var own = false;  // the page shows this flow's interview (not only another one's history)
  var params = new URLSearchParams(window.location.search);
  var restart = params.get("restart") === "1";
  if (restart && window.history.replaceState) {  // a reload later must not restart again
    params.delete("restart");
    var query = params.toString();
    window.history.replaceState(null, "", window.location.pathname + (query ? "?" + query : ""));
  }

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
    return item;
  }

  function note(text, withRestart) {
    var item = add("system", text);
    item.classList.add("note");
    if (withRestart) {
      var link = document.createElement("a");
      link.className = "restart";
      link.href = restartHref;
      link.textContent = root.dataset.restart;
      item.querySelector(".bubble").appendChild(document.createTextNode(" "));
      item.querySelector(".bubble").appendChild(link);
    }
    return item;
  }

  function showEnded(withRestart) {  // the interview is over: say so, offer a new one, close the input
    if (ended) return;
    ended = true;
    disableButtons();
    input.disabled = true;
    sendButton.disabled = true;
    note(root.dataset.ended, withRestart !== false).id = "ended";
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
    if (!attempt) { posting += 1; posted += 1; }
    if (body.start) own = true;
    return request("POST", body).then(function (data) {
      posting -= 1;
      render(data.messages);
      // the last lifecycle event tells where the interview stands: a restart abandons the
      // old interview and starts the new one; after a handoff the agent answers here
      var last = data.events.filter(function (e) { return LIFECYCLE.indexOf(e) >= 0; }).pop();
      if (data.events.indexOf("interview-skipped") >= 0) showEnded(false);  // answered recently
      else if (last === "interview-completed" || last === "interview-abandoned") showEnded();
    }).catch(function () {
      if ((attempt || 0) < 2) return send(body, (attempt || 0) + 1);  // same client_id: answered once
      posting -= 1;
      add("system", root.dataset.error);
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value.trim();
    if (!text || ended) return;
    input.value = "";
    add("customer", text);
    send({ text: text });
  });

  function forget(messages) {  // a fresh interview starts on a clean page
    log.textContent = "";
    messages.forEach(function (m) { if (m.id) { seen[m.id] = true; lastId = Math.max(lastId, m.id); } });
  }

  request("GET").then(function (data) {
    if (restart) {
      forget(data.messages);
      return send({ start: true, restart: true });
    }
    if (data.open) {  // in progress, or with an agent
      own = true;
      return render(data.messages);
    }
    if (data.status === "handed_off") {  // an agent has the visitor's interview on another flow
      render(data.messages);
      note(root.dataset.handedOff, false).id = "handed-off";  // typing still reaches the agent
      return;
    }
    if (ENDED.indexOf(data.flow_status) >= 0) {  // this interview is over: show it, don't redo it
      render(data.messages);
      return showEnded();
    }
    forget(data.messages);
    return send({ start: true });
  }).catch(function () { add("system", root.dataset.error); });

  // agent replies arrive here (every 2 s while a person has the conversation, else every
  // 5 s); so does an interview closed meanwhile
  function poll() {
    var since = posted;
    request("GET").then(function (data) {
      render(data.messages.filter(function (m) { return m.direction === "out"; }));
      var current = posting === 0 && since === posted;
      if (own && current && !data.open && ENDED.indexOf(data.flow_status) >= 0) showEnded();
      setTimeout(poll, data.status === "handed_off" ? 2000 : 5000);
    }).catch(function () { setTimeout(poll, 5000); });
  }
  setTimeout(poll, 2000);
})();
