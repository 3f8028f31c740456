// Stands in for codemirror-json-schema's utils/markdown.js, which starts the shiki
// highlighter (WebAssembly, themes fetched at run time) when imported. Field descriptions
// are short prose with `code`: markdown-it alone renders them, raw HTML switched off.
import md from "markdown-it";

const renderer = md({ html: false, linkify: false, typographer: false });

export function renderMarkdown(markdown, inline = true) {
  return inline ? renderer.renderInline(markdown) : renderer.render(markdown);
}
