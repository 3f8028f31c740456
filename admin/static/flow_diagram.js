// The diagram renderer, framed by the flow editor (/admin/flow-diagram): Mermaid builds its
// SVG with inline styles, which the editor page's Content-Security-Policy refuses, so it
// draws here (the only page allowed inline styles; it holds nothing else) and posts the
// finished SVG back; the editor shows it as an image. Messages travel only between pages of
// this origin.
(function () {
  "use strict";
  var origin = window.location.origin;
  if (window.parent === window || typeof window.mermaid === "undefined") { return; }
  window.mermaid.initialize({
    startOnLoad: false,
    securityLevel: "strict",
    theme: "neutral",
    flowchart: { htmlLabels: false },
    fontFamily: "DejaVu Sans, Noto Sans CJK SC, sans-serif",
  });
  var count = 0;
  window.addEventListener("message", function (event) {
    if (event.origin !== origin || event.source !== window.parent) { return; }
    var request = event.data || {};
    if (request.type !== "render" || typeof request.text !== "string") { return; }
    count += 1;
    window.mermaid.render("diagram-" + count, request.text, document.getElementById("stage"))
      .then(function (result) {
        window.parent.postMessage({ type: "rendered", id: request.id, svg: result.svg }, origin);
      })
      .catch(function (error) {
        window.parent.postMessage(
          { type: "failed", id: request.id, message: String(error && error.message || error) }, origin);
      });
  });
  window.parent.postMessage({ type: "ready" }, origin);
})();
