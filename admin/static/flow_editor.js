// The flow studio's editor page: CodeMirror 6 (the vendored bundle, window.CxFlowEditor)
// with lint markers from the server's checks, JSON-Schema completion, drafts, the diff
// before publishing, history, the side-by-side texts and the Mermaid diagram. The simulator
// is flow_simulator.js, which uses what this script shares on `window.cxStudio` and the
// `cx:preview` / `cx:history` events it sends. Everything it needs comes in
// <script type="application/json" id="flow-data"> (the Content-Security-Policy allows no
// inline script); every text a person reads comes from the server in the page's language.
(function () {
  "use strict";
  var dataElement = document.getElementById("flow-data");
  if (!dataElement) { return; }
  var data = JSON.parse(dataElement.textContent);
  var T = data.texts;
  var urls = data.urls;
  var csrf = (document.querySelector('input[name="csrf_token"]') || {}).value || "";
  var $ = function (id) { return document.getElementById(id); };

  function say(key, fields) {
    var text = T[key] || key;
    Object.keys(fields || {}).forEach(function (name) {
      text = text.split("{" + name + "}").join(String(fields[name]));
    });
    return text;
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  function notice(text, kind) {
    var box = $("studio-notice");
    box.textContent = text;
    box.className = "flash " + (kind || "notice");
    box.hidden = !text;
  }

  // JSON to and from the server, with the session's CSRF token.
  function call(method, url, body) {
    var options = { method: method, credentials: "same-origin", headers: { "X-CSRF-Token": csrf } };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    return fetch(url, options).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (json) {
        return { status: response.status, ok: response.ok, json: json };
      });
    });
  }

  // "2026-03-02 09:00 UTC", as the server writes times.
  function when(iso) {
    if (!iso) { return ""; }
    return new Date(iso).toISOString().slice(0, 16).replace("T", " ") + " UTC";
  }

  // What went wrong, for the person: the network, the sign-in, or the server's reason.
  function failed(error) {
    if (error instanceof TypeError) { notice(say("offline"), "error"); return; }
    notice(say("error", { reason: error && error.message ? error.message : String(error) }), "error");
  }

  function refused(answer) {
    if (answer.status === 401) { return new Error(say("signed_out")); }
    var detail = answer.json.detail;
    if (Array.isArray(detail)) { // a request FastAPI refused: its messages
      detail = detail.map(function (item) { return item.msg || String(item); }).join("; ");
    }
    return new Error(detail || String(answer.status));
  }

  // What the other parts of the page (flow_simulator.js) learn as it happens.
  function announce(name, detail) {
    document.dispatchEvent(new CustomEvent(name, { detail: detail }));
  }

  // ---- the editor --------------------------------------------------------------------
  var CM = window.CxFlowEditor;
  var view = null;
  var lastPreview = null;

  function source() {
    return view ? view.state.doc.toString() : $("source-fallback").value;
  }

  function position(doc, line, col) {
    var number = Math.min(Math.max(line, 1), doc.lines);
    var at = doc.line(number);
    var from = Math.min(at.from + Math.max(col - 1, 0), at.to);
    var rest = doc.sliceString(from, at.to);
    var word = /^[^\s:,\]}]+/.exec(rest);
    var to = word ? from + word[0].length : at.to;
    return { from: from, to: Math.max(to, from === at.to ? from : from + 1) };
  }

  function diagnostics(doc, errors) {
    return errors.map(function (error) {
      var range = position(doc, error.line, error.col);
      return { from: range.from, to: range.to, severity: "error",
               message: error.line + ":" + error.col + ": " + error.message };
    });
  }

  function jumpTo(line, col) {
    if (!view) { return; }
    var range = position(view.state.doc, line, col);
    view.dispatch({ selection: { anchor: range.from }, scrollIntoView: true });
    view.focus();
  }

  function showProblems(errors) {
    var list = $("problems");
    list.textContent = "";
    errors.forEach(function (error) {
      var item = el("li");
      var link = el("button", "link", error.line + ":" + error.col);
      link.type = "button";
      link.addEventListener("click", function () { jumpTo(error.line, error.col); });
      item.appendChild(link);
      item.appendChild(el("span", "message", " " + error.message));
      list.appendChild(item);
    });
    $("problems-title").hidden = !errors.length;
    var status = $("lint-status");
    status.textContent = errors.length
      ? say("problems", { n: errors.length })
      : say("valid", { version: lastPreview && lastPreview.version });
    status.className = "lint-status " + (errors.length ? "bad" : "good");
  }

  function checkNow(view) {
    var text = view.state.doc.toString();
    $("lint-status").textContent = say("checking");
    return call("POST", urls.preview, { source: text, flow_id: data.flow_id }).then(function (answer) {
      if (!answer.ok) { throw refused(answer); }
      if (view.state.doc.toString() !== text) { return []; } // typed meanwhile: a new check follows
      lastPreview = answer.json;
      showProblems(answer.json.errors);
      showTexts(answer.json);
      showDiagramChoices(answer.json);
      announce("cx:preview", answer.json);
      return diagnostics(view.state.doc, answer.json.errors);
    }).catch(function (error) {
      $("lint-status").textContent = "";
      failed(error);
      return [];
    });
  }

  function startEditor() {
    var holder = $("editor");
    var extensions = [
      CM.basicSetup,
      CM.keymap.of([CM.indentWithTab]),
      CM.yaml(),
      CM.EditorView.lineWrapping,
      CM.EditorView.theme({
        "&": { height: "62vh", fontSize: "13px", backgroundColor: "#fff" },
        ".cm-scroller": { fontFamily: '"DejaVu Sans Mono", "Noto Sans Mono CJK SC", monospace' },
        ".cm-tooltip-hover": { maxWidth: "420px", padding: "6px 10px", fontSize: "13px",
                               fontFamily: "system-ui, sans-serif" },
        ".cm-tooltip-hover code": { fontFamily: "monospace", background: "#eef1f6" },
        ".cm-diagnosticText": { fontFamily: "system-ui, sans-serif" },
        ".cm-completionInfo": { fontFamily: "system-ui, sans-serif" },
      }),
      CM.lintGutter(),
      CM.linter(checkNow, { delay: 600 }),
      CM.yamlLanguage.data.of({ autocomplete: CM.yamlCompletion() }),
      CM.hoverTooltip(CM.yamlSchemaHover()),
      CM.stateExtensions(data.schema),
      CM.EditorView.updateListener.of(function (update) {
        if (update.docChanged) { dirty = true; }
      }),
    ];
    var text = $("source-fallback").value;
    holder.textContent = "";
    // In a shadow root CodeMirror styles itself with a constructed style sheet, which the
    // page's Content-Security-Policy allows (a <style> element it would refuse).
    var shadow = holder.attachShadow({ mode: "open" });
    view = new CM.EditorView({
      state: CM.EditorState.create({ doc: data.draft ? data.draft.source : text, extensions: extensions }),
      parent: shadow,
      root: shadow,
    });
    view.contentDOM.setAttribute("aria-label", holder.getAttribute("data-label") || "YAML");
    window.cxFlowView = view; // for tests and the curious
  }

  // ---- side-by-side texts --------------------------------------------------------------
  function showTexts(preview) {
    var table = $("texts");
    if (!preview.languages.length) { return; } // unreadable for now: keep the last good one
    table.textContent = "";
    var head = el("thead");
    var row = el("tr");
    row.appendChild(el("th", "", T.where || ""));
    preview.languages.forEach(function (language) { row.appendChild(el("th", "", language)); });
    head.appendChild(row);
    table.appendChild(head);
    var body = el("tbody");
    preview.texts.forEach(function (text) {
      var tr = el("tr", text.missing.length ? "missing" : "");
      var where = el("td", "where");
      var link = el("button", "link", text.where);
      link.type = "button";
      link.addEventListener("click", function () { jumpTo(text.line, 1); });
      where.appendChild(link);
      tr.appendChild(where);
      preview.languages.forEach(function (language) {
        var value = text.texts[language];
        var cell = el("td", "", value || "");
        cell.lang = language;
        if (text.missing.indexOf(language) >= 0) {
          cell.className = "absent";
          cell.appendChild(el("span", "flag", say("missing")));
        }
        tr.appendChild(cell);
      });
      body.appendChild(tr);
    });
    table.appendChild(body);
  }

  // ---- the diagram ---------------------------------------------------------------------
  // Mermaid draws in a frame of its own (/admin/flow-diagram, see flow_diagram.js): it styles
  // its SVG inline, which this page's policy refuses. The SVG comes back as a message and is
  // shown as an image, where its own styles apply.
  var diagram = { frame: null, ready: false, asked: 0, shown: "" };

  function diagramFrame() {
    if (diagram.frame) { return; }
    diagram.frame = el("iframe", "diagram-renderer");
    diagram.frame.title = "diagram renderer";
    diagram.frame.setAttribute("aria-hidden", "true");
    diagram.frame.tabIndex = -1;
    diagram.frame.src = data.diagram_frame;
    document.body.appendChild(diagram.frame);
  }

  window.addEventListener("message", function (event) {
    if (!diagram.frame || event.origin !== window.location.origin ||
        event.source !== diagram.frame.contentWindow) { return; }
    var answer = event.data || {};
    if (answer.type === "ready") { diagram.ready = true; drawDiagram(); return; }
    if (answer.id !== diagram.asked) { return; } // an older drawing: a newer one is coming
    var box = $("diagram");
    box.textContent = "";
    if (answer.type === "rendered") {
      var image = el("img");
      image.alt = say("diagram_alt", { id: data.flow_id });
      image.src = "data:image/svg+xml;charset=utf-8," + encodeURIComponent(answer.svg);
      box.appendChild(image);
    } else {
      diagram.shown = "";
      box.appendChild(el("p", "problem", answer.message));
    }
  });

  function showDiagramChoices(preview) {
    var select = $("diagram-language");
    var languages = Object.keys(preview.diagrams || {});
    if (!languages.length) { return; }
    var chosen = select.value || (languages.indexOf(data.ui_language) >= 0 ? data.ui_language : languages[0]);
    select.textContent = "";
    languages.forEach(function (language) {
      var option = el("option", "", language);
      option.value = language;
      option.selected = language === chosen;
      select.appendChild(option);
    });
    if (!$("panel-diagram").hidden) { drawDiagram(); }
  }

  function drawDiagram() {
    diagramFrame();
    if (!diagram.ready || !lastPreview) { return; }
    var text = (lastPreview.diagrams || {})[$("diagram-language").value];
    if (!text || text === diagram.shown) { return; }
    diagram.shown = text;
    diagram.asked += 1;
    diagram.frame.contentWindow.postMessage(
      { type: "render", id: diagram.asked, text: text }, window.location.origin);
  }

  // ---- tabs ----------------------------------------------------------------------------
  var tabs = Array.prototype.slice.call(document.querySelectorAll('[role="tab"]'));
  tabs.forEach(function (tab) {
    tab.addEventListener("click", function () {
      tabs.forEach(function (other) {
        var selected = other === tab;
        other.setAttribute("aria-selected", String(selected));
        $(other.getAttribute("aria-controls")).hidden = !selected;
      });
      if (tab.id === "tab-diagram") { drawDiagram(); }
      if (tab.id === "tab-history") { loadHistory(); }
    });
  });
  $("diagram-language").addEventListener("change", drawDiagram);

  // ---- drafts, diff, publish, history (the flows API) -------------------------------------
  var dirty = false;

  function saveDraft() {
    if (!urls.draft) { return; }
    call("PUT", urls.draft, { source: source(), base_revision: data.revision }).then(function (answer) {
      if (answer.ok) {
        dirty = false;
        $("discard-draft").hidden = false;
        notice(say("saved", { when: when(answer.json.saved_at) }));
      } else {
        notice(say("save_failed", { reason: refused(answer).message }), "error");
      }
    }).catch(failed);
  }

  function setText(text) {
    if (view) { view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } }); }
    dirty = false;
  }

  function discardDraft() {
    if (!window.confirm(say("discard_confirm"))) { return; }
    call("DELETE", urls.draft).then(function (answer) {
      if (!answer.ok && answer.status !== 404) { throw refused(answer); }
      $("discard-draft").hidden = true;
      setText(data.source);
      notice(say("discarded"));
    }).catch(failed);
  }

  function showDiff(answer) {
    var table = $("diff");
    table.textContent = "";
    answer.lines.forEach(function (line) {
      var tr = el("tr", line.kind);
      tr.appendChild(el("td", "num", line.old === null ? "" : line.old));
      tr.appendChild(el("td", "num", line.new === null ? "" : line.new));
      var sign = { added: "+", removed: "−", same: " ", skipped: "⋯" }[line.kind];
      tr.appendChild(el("td", "sign", sign));
      tr.appendChild(el("td", "code", line.kind === "skipped" ? say("unchanged", { n: line.text }) : line.text));
      table.appendChild(tr);
    });
    $("diff-summary").textContent = answer.same
      ? say("no_changes")
      : say("diff_summary", { added: answer.added, removed: answer.removed });
    $("publish").disabled = answer.same;
    $("diff-panel").hidden = false;
    $("diff-panel").scrollIntoView({ block: "nearest" });
  }

  var reviewedRevision = null;

  function review() {
    call("POST", urls.diff, { source: source() }).then(function (answer) {
      if (!answer.ok) { throw refused(answer); }
      reviewedRevision = answer.json.revision;
      showDiff(answer.json);
    }).catch(failed);
  }

  function publish() {
    if (!urls.publish) { return; }
    $("publish").disabled = true;
    var text = source();
    call("POST", urls.publish, { source: text, expected_revision: reviewedRevision }).then(function (answer) {
      if (answer.status === 422) {
        notice(say("publish_refused"), "error");
        showProblems(answer.json.errors || []);
        return;
      }
      if (answer.status === 409) { // someone published since the diff was made: show it again
        notice(say("published_meanwhile"), "error");
        review();
        return;
      }
      if (!answer.ok) { throw refused(answer); }
      dirty = false;
      $("diff-panel").hidden = true;
      published(answer.json, text);
      if (urls.draft && !$("discard-draft").hidden) { // published: the draft has served
        call("DELETE", urls.draft).then(function () { $("discard-draft").hidden = true; });
      }
      notice(say("published", { n: answer.json.revision }));
      loadHistory();
    }).catch(failed).then(function () { $("publish").disabled = false; });
  }

  // The page now stands on a new revision (published or restored).
  function published(revision, text) {
    data.source = text;
    data.revision = revision.revision;
    data.published_version = revision.version;
    var meta = $("flow-meta");
    meta.textContent = "";
    meta.appendChild(el("span", "badge status-published", T.status_published));
    meta.appendChild(document.createTextNode(" " + say("revision", { n: revision.revision }) + " · "));
    meta.appendChild(el("code", "", revision.version));
    meta.appendChild(document.createTextNode(" · " + say("changed_by", {
      who: revision.author || "–", when: when(revision.published_at), origin: origin(revision.origin),
    })));
  }

  function origin(name) { return T["origin_" + name] || name; }

  function loadHistory() {
    if (!urls.history) { return; }
    call("GET", urls.history).then(function (answer) {
      if (!answer.ok) { throw refused(answer); }
      var list = $("history");
      var revisions = answer.json.revisions || [];
      announce("cx:history", revisions);
      if (!revisions.length) { return; }
      list.textContent = "";
      revisions.forEach(function (revision) {
        revision.current = revision.revision === data.revision;
        list.appendChild(historyItem(revision));
      });
    }).catch(failed);
  }

  function historyItem(revision) {
    var item = el("li", revision.current ? "current" : "");
    item.setAttribute("data-revision", revision.revision);
    var head = el("span", "rev", "#" + revision.revision);
    item.appendChild(head);
    item.appendChild(el("code", "", revision.version));
    var who = revision.author || (revision.path || "").split("/").pop() || "–";
    var facts = [who, when(revision.published_at), origin(revision.origin)];
    if (revision.restored_from) { facts.push("← #" + revision.restored_from); }
    item.appendChild(el("span", "muted", facts.join(" · ")));
    var show = el("button", "secondary small", say("view"));
    show.type = "button";
    show.addEventListener("click", function () {
      call("GET", urls.revision.replace("{n}", revision.revision)).then(function (answer) {
        if (!answer.ok) { throw refused(answer); }
        call("POST", urls.diff, { source: answer.json.source }).then(function (diff) {
          if (diff.ok) { showDiff(diff.json); $("publish").disabled = true; }
        });
      }).catch(failed);
    });
    item.appendChild(show);
    if (!revision.current) {
      var restore = el("button", "secondary small restore", say("restore"));
      restore.type = "button";
      restore.addEventListener("click", function () {
        call("POST", urls.restore.replace("{n}", revision.revision), {}).then(function (answer) {
          if (!answer.ok) { throw refused(answer); }
          var restored = answer.json;
          return call("GET", urls.revision.replace("{n}", restored.revision)).then(function (text) {
            if (!text.ok) { throw refused(text); }
            published(restored, text.json.source);
            setText(text.json.source);
            notice(say("restored", { from: revision.revision, n: restored.revision }));
            loadHistory();
          });
        }).catch(failed);
      });
      item.appendChild(restore);
    }
    return item;
  }

  // ---- start -----------------------------------------------------------------------------
  window.cxStudio = {
    data: data, texts: T, $: $, say: say, el: el, call: call, notice: notice,
    failed: failed, refused: refused, source: source,
  };
  $("review").addEventListener("click", review);
  $("publish").addEventListener("click", publish);
  $("cancel-publish").addEventListener("click", function () { $("diff-panel").hidden = true; });
  if (urls.draft) {
    $("save-draft").hidden = false;
    $("save-draft").addEventListener("click", saveDraft);
    $("discard-draft").hidden = !data.draft;
    $("discard-draft").addEventListener("click", discardDraft);
  }
  if (!urls.publish) { $("review").hidden = !urls.diff; }
  window.addEventListener("beforeunload", function (event) {
    if (dirty && urls.draft) { event.preventDefault(); }
  });
  if (CM) { startEditor(); }
  if (data.draft) {
    var stale = data.draft.base_revision !== null && data.draft.base_revision !== data.revision;
    notice(stale ? say("draft_stale")
                 : say("draft_loaded", { when: when(data.draft.saved_at) }),
           stale ? "error" : "notice");
  }
  loadHistory();
})();
