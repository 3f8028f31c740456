// Builds the vendored bundles from the exact versions in package-lock.json:
//   ../codemirror-<v>/flow-editor.js   CodeMirror 6 + YAML + lint + JSON-Schema completion
//   ../mermaid-<v>/mermaid.min.js      Mermaid's own browser build, copied
// and copies every bundled package's license beside its bundle.
import { build } from "esbuild";
import { copyFileSync, mkdirSync, readFileSync, writeFileSync, rmSync, existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const version = (name) =>
  JSON.parse(readFileSync(join(here, "node_modules", name, "package.json"), "utf8")).version;

const editorDir = resolve(here, "..", `codemirror-${version("@codemirror/view")}`);
const mermaidDir = resolve(here, "..", `mermaid-${version("mermaid")}`);
for (const dir of [editorDir, mermaidDir]) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
}

// codemirror-json-schema's markdown helper starts shiki (WebAssembly + fetched themes) on
// import; swap in markdown-it alone.
const plainMarkdown = {
  name: "plain-markdown",
  setup(b) {
    b.onResolve({ filter: /utils\/markdown(\.js)?$/ }, (args) =>
      args.importer.includes("codemirror-json-schema")
        ? { path: join(here, "markdown-plain.js") }
        : undefined,
    );
  },
};

const result = await build({
  entryPoints: [join(here, "editor.js")],
  bundle: true,
  minify: true,
  format: "iife",
  target: ["es2020"],
  legalComments: "eof",
  metafile: true,
  outfile: join(editorDir, "flow-editor.js"),
  plugins: [plainMarkdown],
});

// Licenses of every package that went into the bundle.
const packages = new Set();
for (const input of Object.keys(result.metafile.inputs)) {
  const match = input.match(/node_modules\/((?:@[^/]+\/)?[^/]+)\//g);
  if (match) packages.add(match[match.length - 1].replace(/^node_modules\//, "").replace(/\/$/, ""));
}
const notices = [];
for (const name of [...packages].sort()) {
  const dir = join(here, "node_modules", name);
  const meta = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
  const file = ["LICENSE", "LICENSE.md", "LICENSE.txt", "license", "LICENCE"].find((f) =>
    existsSync(join(dir, f)),
  );
  const text = file ? readFileSync(join(dir, file), "utf8") : `(no license file; package.json says ${meta.license})`;
  notices.push(`${name} ${meta.version} (${meta.license ?? "license text below"})\n${"-".repeat(60)}\n${text.trim()}\n`);
}
writeFileSync(join(editorDir, "LICENSES.txt"), notices.join("\n\n"));

copyFileSync(join(here, "node_modules/mermaid/dist/mermaid.min.js"), join(mermaidDir, "mermaid.min.js"));
copyFileSync(join(here, "node_modules/mermaid/LICENSE"), join(mermaidDir, "LICENSE"));
console.log(`${editorDir}: ${packages.size} packages`);
console.log(mermaidDir);
