// Puts the app together in dist/: its page and Service Worker, the Workbox
// modules the worker loads with importScripts (workbox-sw finds them under
// wb/, setConfig's modulePathPrefix), and resumer's files under resumer/,
// as installed from npm.
import { cpSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

const require = createRequire(import.meta.url);
const dist = "dist";
rmSync(dist, { recursive: true, force: true });
mkdirSync(path.join(dist, "wb"), { recursive: true });
for (const f of ["index.html", "sw.js"]) cpSync(f, path.join(dist, f));
for (const m of ["workbox-sw/build/workbox-sw.js", "workbox-core/build/workbox-core.prod.js", "workbox-routing/build/workbox-routing.prod.js"]) {
  cpSync(require.resolve(m), path.join(dist, "wb", path.basename(m)));
}
mkdirSync(path.join(dist, "resumer"));
const resumer = path.dirname(require.resolve("@go-resumer/resumer/package.json"));
for (const f of JSON.parse(readFileSync(path.join(resumer, "package.json"), "utf8")).files) {
  cpSync(path.join(resumer, f), path.join(dist, "resumer", f));
}
