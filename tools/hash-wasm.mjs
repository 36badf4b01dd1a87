// hash-wasm.mjs writes web/hash-wasm.js, the SHA-2 functions resumer's
// hash Worker uses, from the hash-wasm package tools/package-lock.json pins
// (its integrity checked by npm ci): its SHA-256, SHA-384 and SHA-512
// builds (dist/<alg>.umd.min.js), byte for byte, each wrapped in a function
// that hands it `exports` so that it sets no global, and hash-wasm's
// licence in the file's first comment (which bundlers keep: /*!).
//
//   node tools/hash-wasm.mjs NODE_MODULES web/hash-wasm.js          write it
//   node tools/hash-wasm.mjs NODE_MODULES web/hash-wasm.js --check  fail if it differs
//
// make typecheck runs --check, so the file in git is the pinned release's
// code and nothing else; a new pin is `npm install` in tools/ and a run
// without --check.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const [dir, out, flag] = process.argv.slice(2);
if (!dir || !out) {
  console.error("usage: node tools/hash-wasm.mjs NODE_MODULES OUT [--check]");
  process.exit(2);
}
const pkg = join(dir, "hash-wasm");
const { version, license } = JSON.parse(readFileSync(join(pkg, "package.json"), "utf8"));
if (license !== "MIT") throw new Error(`hash-wasm ${version} is under ${license}, not MIT: read it before shipping it`);
const licence = readFileSync(join(pkg, "LICENSE"), "utf8").trim();
// The C code compiled into those builds has its own licence, in the first
// comment of each source file; it goes with the code too.
const sources = ["sha256.c", "sha512.c"].map((f) => {
  const src = readFileSync(join(pkg, "src", f), "utf8");
  const m = src.match(/^\/\*([\s\S]*?)\*\//);
  if (!m) throw new Error(`hash-wasm ${version}: src/${f} opens without its licence`);
  return m[1].split("\n").map((l) => l.replace(/^ ?\* ?/, "").trimEnd()).join("\n").trim();
});
const algs = [
  ["sha256", "createSHA256"],
  ["sha384", "createSHA384"],
  ["sha512", "createSHA512"],
];

let text = `/*! hash-wasm ${version} (https://github.com/Daninet/hash-wasm), its SHA-256,
 * SHA-384 and SHA-512 builds (dist/sha256.umd.min.js, …) unchanged, each
 * in a function that gives it exports: it sets no global. Written by
 * tools/hash-wasm.mjs from the release tools/package-lock.json pins; do
 * not edit. hash-wasm's licence, then that of the C code in these builds:
 *
${[licence, ...sources].join("\n\n").split("\n").map((l) => (" * " + l).trimEnd()).join("\n")}
 */

// Runs one UMD build with an object of its own for its exports (its
// CommonJS branch), and returns it. (Written without the words package
// linters take for a CommonJS file: the classic Service Worker bundle
// holds this too.)
function load(factory) {
  const exported = {};
  factory.call(undefined, exported, { exports: exported });
  return exported;
}
`;
for (const [alg] of algs) {
  const src = readFileSync(join(pkg, "dist", `${alg}.umd.min.js`), "utf8").trim();
  text += `\nconst ${alg} = load(function (exports, module) {\n${src}\n});\n`;
}
text += `\n/** The hash-wasm release these functions are from: a saved state is its own. */\nexport const version = ${JSON.stringify(version)};\n`;
for (const [alg, fn] of algs) text += `export const ${fn} = ${alg}.${fn};\n`;

if (flag === "--check") {
  let have = "";
  try {
    have = readFileSync(out, "utf8");
  } catch {}
  if (have !== text) {
    console.error(`${out} is not hash-wasm ${version} as tools/hash-wasm.mjs writes it: run node tools/hash-wasm.mjs ${dir} ${out}`);
    process.exit(1);
  }
} else {
  writeFileSync(out, text);
}
