// Puts the app together in dist/: its page; transformers.js as the one
// ES module its package ships with ONNX Runtime inside
// (dist/transformers.min.js); ONNX Runtime's WebAssembly under ort/, so
// that nothing comes from a CDN; and resumer's files under resumer/, as
// installed from npm. (The packages do not export their package.json:
// their files are taken from where npm ci puts them, by the lockfile.)
import { cpSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";

const dist = "dist";
const modules = "node_modules";
rmSync(dist, { recursive: true, force: true });
mkdirSync(path.join(dist, "ort"), { recursive: true });
mkdirSync(path.join(dist, "resumer"));
cpSync("index.html", path.join(dist, "index.html"));
cpSync(path.join(modules, "@huggingface/transformers/dist/transformers.min.js"), path.join(dist, "transformers.min.js"));
for (const f of ["ort-wasm-simd-threaded.asyncify.mjs", "ort-wasm-simd-threaded.asyncify.wasm"]) {
  cpSync(path.join(modules, "onnxruntime-web/dist", f), path.join(dist, "ort", f));
}
const resumer = path.join(modules, "@go-resumer/resumer");
for (const f of JSON.parse(readFileSync(path.join(resumer, "package.json"), "utf8")).files) {
  cpSync(path.join(resumer, f), path.join(dist, "resumer", f));
}
