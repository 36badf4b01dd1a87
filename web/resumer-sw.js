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
//   // or in a classic worker (Workbox builds them), the same module as one
//   // classic script, resumer-sw-classic.js, whose exports are self.resumerSW:
//   importScripts("/resumer-sw-classic.js");
//   resumerSW.configure({ dbName: "resumer", passive: true });
//   workbox.routing.registerRoute(resumerSW.route.match, resumerSW.route.handler);
//
// A GET or HEAD whose URL is the key of a finished download (the URL it was
// started with, or options.key when that is a URL) is answered from the
// IndexedDB database named by ?db= (default "resumer"); every other request
// goes to the network untouched, and so does every request for a private
// download (one made with headers or credentials: "include"). Register it
// with the same ?db= as the page's load({dbName}), or call configure().
//
// The worker decides at once, without waiting, for URLs it knows are not
// stored: it keeps the set of finished keys, read from the database when
// it starts and kept up to date by the pages' resumer (on the same
// BroadcastChannel the tabs share progress on). Answers come from resumer
// itself (Resumer.response), loaded on first use: the same code and the
// same range rules as resumer.fetch.

import { load } from "./resumer.js";

// The settings, from the script's URL (?db=, ?passive, ?wasm=) or, for a
// worker that cannot pass them so (a classic worker that imports
// resumer-sw-classic.js with importScripts), from configure().
const params = new URL(import.meta.url).searchParams;
const settings = {
  dbName: params.get("db") || "resumer",
  wasmURL: params.get("wasm") || undefined,
  passive: params.has("passive"),
  otherwise: (request) => fetch(request),
};

let resumerPromise = null;

function resumer() {
  resumerPromise ??= load({ dbName: settings.dbName, maxConcurrent: 0, ...(settings.wasmURL ? { wasmURL: settings.wasmURL } : {}) }).catch((e) => {
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
let notes = [];
let reading = null;
let channel = null;

// start reads the finished downloads of the database and listens to the
// pages' resumer for changes: at once, and again if configure() names
// another database.
function start() {
  finished = null;
  notes = [];
  const mine = notes;
  reading = readFinished().catch(() => new Set()).then((keys) => {
    if (notes !== mine) return; // configured again meanwhile
    for (const n of notes.splice(0)) note(keys, n);
    finished = keys;
  });
  if (channel) channel.close();
  channel = null;
  // The pages' resumer says here, at each change of a download's state,
  // whether its key is stored finished ({key, stored}).
  if (typeof BroadcastChannel === "function") {
    channel = new BroadcastChannel(`resumer:${settings.dbName}`);
    channel.onmessage = (ev) => {
      if (finished) note(finished, ev.data);
      else notes.push(ev.data);
    };
  }
}
start();

/**
 * Sets what the script's URL would: for a worker that loads this one with
 * importScripts (resumer-sw-classic.js) or imports it without a query. Call
 * it when the worker's script runs, before any request.
 * @param {{dbName?: string, wasmURL?: string | URL, passive?: boolean,
 *   otherwise?: (request: Request) => Response | Promise<Response>}} options
 *   dbName: the page's load({dbName}); wasmURL: where resumer.wasm is
 *   (default: next to this script); passive: add no fetch listener of its
 *   own (the app routes requests, with handle() or the Workbox route);
 *   otherwise: how a request the worker took and does not hold is
 *   answered (default fetch).
 */
export function configure(options = {}) {
  if (options.wasmURL !== undefined) settings.wasmURL = String(options.wasmURL);
  if (options.passive !== undefined) settings.passive = !!options.passive;
  if (typeof options.otherwise === "function") settings.otherwise = options.otherwise;
  if (options.dbName !== undefined && String(options.dbName) !== settings.dbName) {
    settings.dbName = String(options.dbName);
    resumerPromise = null;
    start();
  }
}

// note applies one message of a page's resumer to keys: {key, stored}
// when it stored or removed a file, {key, detail} for a download's
// progress (finished when detail.state is "done").
function note(keys, msg) {
  const { key, detail, stored } = msg || {};
  if (typeof key !== "string") return;
  if (detail && detail.private) return; // never this worker's to answer
  const done = typeof stored === "boolean" ? stored : !!detail && detail.state === "done";
  if (done) keys.add(key);
  else keys.delete(key);
}

// readFinished lists the keys of finished downloads that are not private.
// It reads the database's "downloads" object store (keyed by the
// download's key, each record with its "state" and "owner"), the facts of
// the layout this file relies on; it never creates the database.
function readFinished() {
  return new Promise((resolve, reject) => {
    const keys = new Set();
    let open;
    try {
      open = indexedDB.open(settings.dbName);
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
        // A private download (an owner: made with credentials) is never
        // this worker's to answer: it cannot see whose request it is.
        if (c.value && c.value.state === "done" && !c.value.owner) keys.add(String(c.key));
        c.continue();
      };
      req.onerror = () => {
        db.close();
        reject(req.error);
      };
    };
  });
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
export function handle(event, otherwise = settings.otherwise) {
  if (!takes(event.request)) return false;
  event.respondWith(answer(event.request, otherwise));
  return true;
}

// takes reports whether the worker answers req: a GET or HEAD of a
// finished download, or any GET or HEAD until it knows which are.
function takes(req) {
  if (req.method !== "GET" && req.method !== "HEAD") return false;
  return !finished || finished.has(req.url);
}

/**
 * A Workbox route that serves finished downloads, for
 * workbox.routing.registerRoute(route.match, route.handler) (or
 * registerRoute(new Route(route.match, route.handler))): match is
 * synchronous, as Workbox wants it; handler answers from storage, with
 * Range, and a request it took and does not hold with configure()'s
 * otherwise (default fetch). Register it before routes that would take the
 * same URLs.
 */
export const route = Object.freeze({
  match: ({ request }) => takes(request),
  handler: ({ request }) => answer(request, settings.otherwise),
});

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
// (configure({passive: true}), called as the script runs, turns the
// listeners into no-ops: they are added while the script is evaluated, as
// a Service Worker's must be.)
if (!settings.passive && typeof ServiceWorkerGlobalScope === "function" && self instanceof ServiceWorkerGlobalScope) {
  self.addEventListener("install", (event) => { if (!settings.passive) event.waitUntil(self.skipWaiting()); });
  self.addEventListener("activate", (event) => { if (!settings.passive) event.waitUntil(self.clients.claim()); });
  self.addEventListener("fetch", (event) => { if (!settings.passive) handle(event); });
}
