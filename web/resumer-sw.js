// resumer-sw.js — a Service Worker that serves finished downloads as
// ordinary URLs, so <video src>, <img>, fetch() and map or game libraries
// read them from storage, offline too, with Range requests answered 206.
//
//   // in the page:
//   navigator.serviceWorker.register("/resumer-sw.js", { type: "module" });
//
//   // or in the app's own (module) worker:
//   import { handle } from "/resumer-sw.js?passive";
//   self.addEventListener("fetch", (event) => { if (!handle(event, yours)) event.respondWith(yours(event.request)); });
//
// A GET or HEAD whose URL is the key of a finished download (the URL it was
// started with, or options.key when that is a URL) is answered from the
// IndexedDB database named by ?db= (default "resumer"); every other request
// goes to the network untouched. Register it with the same ?db= as the
// page's load({dbName}).
//
// The worker decides at once, without waiting, for URLs it knows are not
// stored: it keeps the set of finished keys, read from the database when
// it starts and kept up to date by the pages' resumer (on the same
// BroadcastChannel the tabs share progress on). Answers come from resumer
// itself (Resumer.response), loaded on first use: the same code and the
// same range rules as resumer.fetch.

import { load } from "./resumer.js";

const params = new URL(import.meta.url).searchParams;
const DB = params.get("db") || "resumer";

let resumerPromise = null;

function resumer() {
  resumerPromise ??= load({ dbName: DB, maxConcurrent: 0 }).catch((e) => {
    resumerPromise = null;
    throw e;
  });
  return resumerPromise;
}

// finished is the set of keys of finished downloads, null until read.
let finished = null;
// notes are what the pages said on the channel while the set was being
// read: the read may have begun before they were written, so they are
// applied to what it found, in the order they came.
const notes = [];
const reading = readFinished().catch(() => new Set()).then((keys) => {
  for (const n of notes.splice(0)) note(keys, n);
  finished = keys;
});

// note applies one message of a page's resumer to keys: {key, stored}
// when it stored or removed a file, {key, detail} for a download's
// progress (finished when detail.state is "done").
function note(keys, msg) {
  const { key, detail, stored } = msg || {};
  if (typeof key !== "string") return;
  const done = typeof stored === "boolean" ? stored : !!detail && detail.state === "done";
  if (done) keys.add(key);
  else keys.delete(key);
}

// readFinished lists the keys of finished downloads. It reads the
// database's "downloads" object store (keyed by the download's key, each
// record with its "state"), the two facts of the layout this file relies
// on; it never creates the database.
function readFinished() {
  return new Promise((resolve, reject) => {
    const keys = new Set();
    let open;
    try {
      open = indexedDB.open(DB);
    } catch (e) {
      reject(e);
      return;
    }
    open.onupgradeneeded = () => open.transaction.abort(); // no database yet: leave it to resumer
    open.onerror = () => resolve(keys);
    open.onsuccess = () => {
      const db = open.result;
      if (!db.objectStoreNames.contains("downloads")) {
        db.close();
        resolve(keys);
        return;
      }
      const req = db.transaction("downloads").objectStore("downloads").openCursor();
      req.onsuccess = () => {
        const c = req.result;
        if (!c) {
          db.close();
          resolve(keys);
          return;
        }
        if (c.value && c.value.state === "done") keys.add(String(c.key));
        c.continue();
      };
      req.onerror = () => {
        db.close();
        reject(req.error);
      };
    };
  });
}

// The pages' resumer posts every download's progress here, keyed by key.
if (typeof BroadcastChannel === "function") {
  const channel = new BroadcastChannel(`resumer:${DB}`);
  channel.onmessage = (ev) => {
    if (finished) note(finished, ev.data);
    else notes.push(ev.data);
  };
}

/**
 * Answers event from storage if its URL is a finished download, and
 * reports whether it did (called event.respondWith). Until the worker has
 * read which downloads are finished (just after it starts), it takes every
 * GET and HEAD and answers those it does not hold with otherwise(request):
 * an app's own worker passes its own handling there, so that nothing skips
 * it. Without otherwise they go to the network.
 * @param {FetchEvent} event
 * @param {(request: Request) => Response | Promise<Response>} [otherwise]
 * @returns {boolean}
 */
export function handle(event, otherwise = fetch) {
  const req = event.request;
  if (req.method !== "GET" && req.method !== "HEAD") return false;
  if (finished && !finished.has(req.url)) return false;
  event.respondWith(answer(req, otherwise));
  return true;
}

async function answer(req, otherwise) {
  if (!finished) await reading;
  if (finished.has(req.url)) {
    try {
      const r = await resumer();
      const resp = await r.response(req.url, {
        method: req.method, range: req.headers.get("Range") ?? "", ifRange: req.headers.get("If-Range") ?? "",
      });
      if (resp) return resp;
      finished.delete(req.url); // removed, or its bytes were evicted
    } catch (e) {
      (globalThis.reportError || console.error)(e);
    }
  }
  return otherwise(req);
}

// As the worker script itself (not imported with ?passive): take every
// request, and control the pages at once.
if (!params.has("passive") && typeof ServiceWorkerGlobalScope === "function" && self instanceof ServiceWorkerGlobalScope) {
  self.addEventListener("install", (event) => event.waitUntil(self.skipWaiting()));
  self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));
  self.addEventListener("fetch", (event) => { handle(event); });
}
