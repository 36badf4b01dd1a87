// Checks that every public name of web/resumer.js is declared in
// web/resumer.d.ts: the module's exports, both ways; the methods, static
// methods and Download fields that the module has; and that the ErrorCode
// union lists exactly the module's ErrorCodes. The declarations may run
// ahead of the module in members (a method the API's spec adds and the
// module does not have yet), never behind it.
//
// It also checks that the reference, docs/api.md, names everything the
// declarations have.
//
//   node web/ts-example/check-exports.mjs <path of the typescript package> <bundle folder> [docs/api.md]
//
// `make typecheck` runs it with the pinned TypeScript, on the bundle `make
// build` writes (resumer.js imports resumer-go.js, which the build makes
// from the Go toolchain's glue). It imports resumer.js under Node: importing
// it does no work.

import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const ts = createRequire(import.meta.url)(path.resolve(process.argv[2] ?? "typescript"));
const web = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const dts = path.join(web, "resumer.d.ts");

// What the declarations say: the exports, and for each class its instance
// and static members.
const program = ts.createProgram([dts], { noEmit: true, lib: ["lib.es2022.d.ts", "lib.dom.d.ts"], types: [] });
const checker = program.getTypeChecker();
const moduleSymbol = checker.getSymbolAtLocation(program.getSourceFile(dts));
const declared = new Map();
let errorCodeUnion = [];
for (const sym of checker.getExportsOfModule(moduleSymbol)) {
  if (sym.name === "ErrorCode") {
    errorCodeUnion = checker.getDeclaredTypeOfSymbol(sym).types.map((t) => t.value);
  }
  if (!(sym.flags & ts.SymbolFlags.Value)) continue; // a type, not in the JS
  const members = new Set();
  if (sym.flags & ts.SymbolFlags.Class) {
    for (const m of checker.getDeclaredTypeOfSymbol(sym).getProperties()) members.add(m.name);
    for (const m of checker.getTypeOfSymbol(sym).getProperties()) members.add(`static ${m.name}`);
  }
  declared.set(sym.name, members);
}

const bundle = path.resolve(process.argv[3] ?? web);
const mod = await import(pathToFileURL(path.join(bundle, "resumer.js")).href);
const problems = [];
for (const name of Object.keys(mod)) {
  if (!declared.has(name)) problems.push(`resumer.js exports ${name}; resumer.d.ts does not declare it`);
}
for (const name of declared.keys()) {
  if (!(name in mod)) problems.push(`resumer.d.ts declares export ${name}; resumer.js has none`);
}

const codes = new Set(mod.ErrorCodes);
for (const c of errorCodeUnion) {
  if (!codes.has(c)) problems.push(`resumer.d.ts's ErrorCode has "${c}"; resumer.js's ErrorCodes does not`);
}
for (const c of codes) {
  if (!errorCodeUnion.includes(c)) problems.push(`resumer.js's ErrorCodes has "${c}"; resumer.d.ts's ErrorCode does not`);
}

// Names starting with "_" are the module's own (set by Resumer, called from
// Go); the rest is the API.
const isPublic = (n) => !n.startsWith("_") && n !== "constructor";
function check(cls, names) {
  const members = declared.get(cls) ?? new Set();
  for (const n of names) {
    if (isPublic(n) && !members.has(n)) problems.push(`resumer.js has ${cls} ${n}; resumer.d.ts does not declare it`);
  }
}
for (const [name, value] of Object.entries(mod)) {
  if (typeof value !== "function" || !value.prototype) continue;
  check(name, Object.getOwnPropertyNames(value.prototype));
  check(name, Object.getOwnPropertyNames(value)
    .filter((n) => !["length", "name", "prototype"].includes(n))
    .map((n) => `static ${n}`));
}
// A Download's own fields, from an instance made without the Go side (a
// download() that never starts: its signal is aborted; no Resumer needed).
check("Download", Object.keys(mod.Resumer.prototype.download.call(null, "https://x.test/", { signal: AbortSignal.abort() })));
check("ResumerError", Object.keys(new mod.ResumerError("http-status", "check", 404)));

// The reference (docs/api.md) names, in backticks, every export, every
// public member of the classes, every field of the option and result
// interfaces and every value of the code unions the declarations have.
const docPath = path.resolve(process.argv[4] ?? path.join(web, "..", "docs", "api.md"));
const doc = (await import("node:fs")).readFileSync(docPath, "utf8");
const named = new Set();
const words = (text) => { for (const [word] of text.matchAll(/[A-Za-z_][\w-]*( [a-z][\w-]*)*/g)) for (const w of [word, ...word.split(" ")]) named.add(w); };
const prose = doc.replace(/^```[^\n]*\n[\s\S]*?^```$/gm, (block) => { words(block); return ""; });
for (const [, span] of prose.matchAll(/`([^`]+)`/g)) {
  named.add(span); // a name that is not a word: `S3/CloudFront`
  words(span);
}
const internal = (sym) => sym.getDeclarations()?.some((d) => ts.getJSDocTags(d).some((t) => t.tagName.text === "internal"));
const wanted = new Map(); // name → where the declarations have it
const want = (name, where) => { if (!wanted.has(name)) wanted.set(name, where); };
for (const sym of checker.getExportsOfModule(moduleSymbol)) {
  const type = checker.getDeclaredTypeOfSymbol(sym);
  if (sym.flags & ts.SymbolFlags.Value) want(sym.name, "export");
  if (sym.flags & (ts.SymbolFlags.Class | ts.SymbolFlags.Interface)) {
    for (const m of type.getProperties()) {
      // Members resumer.d.ts declares (not Event's or RequestInit's, the
      // platform's), but for the JS-internal ones and the listener methods.
      const ours = m.getDeclarations()?.some((d) => d.getSourceFile().fileName === dts);
      if (ours && !internal(m) && !["addEventListener", "removeEventListener"].includes(m.name)) want(m.name, sym.name);
    }
  }
  if (sym.flags & ts.SymbolFlags.TypeAlias && type.isUnion()) {
    for (const t of type.types) if (t.isStringLiteral()) want(t.value, sym.name);
  }
}
for (const [name, where] of wanted) {
  if (!named.has(name)) problems.push(`${path.relative(process.cwd(), docPath)} never names \`${name}\` (${where} in resumer.d.ts)`);
}

if (problems.length > 0) {
  for (const p of problems) console.error(p);
  process.exit(1);
}
console.log(`resumer.d.ts declares all of resumer.js (${declared.size} exports, ${codes.size} error codes); ${path.relative(process.cwd(), docPath)} names all ${wanted.size} of its names`);
