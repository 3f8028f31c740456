// The flow studio's simulator (admin/templates/flow_editor.html, "Try it"): chat with the
// text in the editor, or any published revision, as a customer would, through
// POST /admin/flows/simulate (the pure engine on the server; nothing is stored). Uses what
// flow_editor.js shares on `window.cxStudio`; follows its `cx:preview` (the text's
// languages) and `cx:history` (the revisions) events.
(function () {
  "use strict";
  var studio = window.cxStudio;
  if (!studio) { return; }
  var data = studio.data, T = studio.texts, $ = studio.$, say = studio.say, el = studio.el;
  var call = studio.call, notice = studio.notice, failed = studio.failed;
  var refused = studio.refused, source = studio.source;
  var urls = data.urls;

  var sim = { token: "", source: "" };
  var history = [];

  // What to try: the editor's text, or any published revision.
  function simSources() {
    var select = $("sim-source");
    var chosen = select.value || "editor";
    select.textContent = "";
    var editor = el("option", "", say("sim_source_editor"));
    editor.value = "editor";
    select.appendChild(editor);
    history.forEach(function (revision) {
      var option = el("option", "", say("sim_source_revision", { n: revision.revision }) + " · " + revision.version);
      option.value = String(revision.revision);
      select.appendChild(option);
    });
    select.value = chosen;
    if (select.value !== chosen) { select.value = "editor"; }
  }

  function simText() {
    var chosen = $("sim-source").value;
    if (!chosen || chosen === "editor") { return Promise.resolve(source()); }
    return call("GET", urls.revision.replace("{n}", chosen)).then(function (answer) {
      if (!answer.ok) { throw refused(answer); }
      return answer.json.source;
    });
  }

  // The languages of the text being edited (from each preview).
  function simLanguages(languages) {
    var select = $("sim-language");
    if (!languages || !languages.length || select.getAttribute("data-for") === languages.join(",")) { return; }
    var chosen = select.value || (languages.indexOf(data.ui_language) >= 0 ? data.ui_language : languages[0]);
    select.textContent = "";
    languages.forEach(function (language) {
      var option = el("option", "", language);
      option.value = language;
      option.selected = language === chosen;
      select.appendChild(option);
    });
    select.setAttribute("data-for", languages.join(","));
  }

  function simEnable(active) {
    ["sim-input", "sim-send", "sim-human", "sim-stop"].forEach(function (id) { $(id).disabled = !active; });
  }

  function simBubble(who, text, className) {
    var item = el("li", "msg " + className);
    item.appendChild(el("span", "who", who));
    item.appendChild(el("span", "text", text));
    $("sim-chat").appendChild(item);
    item.scrollIntoView({ block: "nearest" });
    return item;
  }

  function simShow(turn) {
    sim.token = turn.token;
    turn.messages.forEach(function (message) {
      var item = simBubble(T.bot, message.text, "from-bot");
      if (message.hint && !message.buttons.length) { item.appendChild(el("span", "hint", message.hint)); }
      if (message.buttons.length) {
        var row = el("span", "buttons");
        message.buttons.forEach(function (button) {
          var chip = el("button", "chip", button.label);
          chip.type = "button";
          chip.setAttribute("data-payload", button.payload);
          chip.addEventListener("click", function () {
            simBubble(T.you, button.label, "from-customer");
            simSend("button", button.payload);
          });
          row.appendChild(chip);
        });
        item.appendChild(row);
      }
    });
    var events = $("sim-events");
    turn.events.forEach(function (event) {
      var item = el("li");
      item.appendChild(el("code", "name", event.name));
      var fields = Object.keys(event.data).map(function (key) {
        return key + "=" + JSON.stringify(event.data[key]);
      });
      item.appendChild(el("span", "data", " " + fields.join(" ")));
      events.appendChild(item);
      item.scrollIntoView({ block: "nearest" });
    });
    var done = turn.status !== "active";
    $("sim-status").textContent = done ? say("sim_status_" + turn.status) : "";
    simEnable(!done);
  }

  function simRefused(answer) {
    if (answer.status === 422) { notice(say("sim_invalid"), "error"); return true; }
    if (answer.status === 409 && answer.json.code === "changed") {
      notice(say("sim_changed"));
      simStart();
      return true;
    }
    if (!answer.ok) { throw refused(answer); }
    return false;
  }

  function simStart() {
    $("sim-chat").textContent = "";
    $("sim-events").textContent = "";
    simText().then(function (text) {
      sim.source = text;
      return call("POST", urls.simulate, {
        source: sim.source,
        action: "start",
        language: $("sim-language").value || null,
        variables: { customer_name: $("sim-customer-name").value, brand: $("sim-brand").value },
      });
    }).then(function (answer) {
      if (simRefused(answer)) { return; }
      notice("");
      $("sim-start").textContent = T.restart || $("sim-start").textContent;
      simShow(answer.json);
      $("sim-input").focus();
    }).catch(failed);
  }

  function simSend(action, value) {
    if ($("sim-source").value === "editor") { sim.source = source(); } // follows the edits
    call("POST", urls.simulate, {
      source: sim.source, action: action, token: sim.token, value: value || "",
    }).then(function (answer) {
      if (simRefused(answer)) { return; }
      simShow(answer.json);
    }).catch(failed);
  }

  $("sim-setup").addEventListener("submit", function (event) {
    event.preventDefault();
    simStart();
  });
  $("sim-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var text = $("sim-input").value;
    if (!text.trim()) { return; }
    $("sim-input").value = "";
    simBubble(T.you, text, "from-customer");
    simSend("text", text);
  });
  $("sim-human").addEventListener("click", function () { simSend("human"); });
  $("sim-stop").addEventListener("click", function () { simSend("stop"); });

  document.addEventListener("cx:preview", function (event) { simLanguages(event.detail.languages); });
  document.addEventListener("cx:history", function (event) {
    history = event.detail;
    simSources();
  });
  simSources();
})();
