// The flow studio's editor bundle: CodeMirror 6 with YAML, line numbers, lint markers and
// JSON-Schema completion and hover (codemirror-json-schema). It only exposes the pieces on
// `window.CxFlowEditor`; admin/static/flow_editor.js (ours, not bundled) puts them together.
// Rebuild with ./build.sh (see README.md beside this file).
import { EditorView, basicSetup } from "codemirror";
import { EditorState, Compartment } from "@codemirror/state";
import { keymap, hoverTooltip } from "@codemirror/view";
import { indentWithTab } from "@codemirror/commands";
import { yaml, yamlLanguage } from "@codemirror/lang-yaml";
import { linter, lintGutter, forceLinting, setDiagnostics } from "@codemirror/lint";
import { yamlCompletion, yamlSchemaHover } from "codemirror-json-schema/yaml";
import { stateExtensions } from "codemirror-json-schema";

window.CxFlowEditor = {
  EditorView,
  EditorState,
  Compartment,
  basicSetup,
  keymap,
  hoverTooltip,
  indentWithTab,
  yaml,
  yamlLanguage,
  linter,
  lintGutter,
  forceLinting,
  setDiagnostics,
  yamlCompletion,
  yamlSchemaHover,
  stateExtensions,
};
