// resumer.js — resumable, verified HTTP downloads in the browser.
//
//   import { load } from "./resumer.js";
//   const resumer = await load();
//   const dl = resumer.download("https://example.com/big.iso");
//   dl.onprogress = ({ loaded, total }) => console.log(loaded, total);
//   const { blob, resumable, reason } = await dl.done;
//
//   // or, where a library takes a fetch function (transformers.js env.fetch):
//   const response = await resumer.fetch("https://example.com/model.onnx");
//
// Types: resumer.d.ts, next to this file.
//
// The work happens in a Go WebAssembly module (resumer.wasm, run by
// resumer-go.js, the Go toolchain's glue as a module that sets no global).
// This module only wraps it in a JavaScript API. Importing it does no work:
// the first load() (or preload()) fetches and compiles the module, from
// next to this file unless load({wasmURL}) says where.

import { hashBlob as hashHere } from "./resumer-digest.js";
import { Go } from "./resumer-go.js";
// resumer-digest.js imports it; named here too, the browser fetches it
// with resumer-digest.js rather than after it: one round trip less before
// load() can start (bundlers load it once either way).
import "./hash-wasm.js";

/**
 * Error codes a download can fail with (Error.code):
 * - "network": the connection failed and retrying did not help;
 * - "http-status": the server answered 404, 403, … (Error.status has it),
 *   or kept answering 5xx/429 past the retries;
 * - "bad-response": the server's answers contradict the requests;
 *   nothing inconsistent was stored;
 * - "quota-exceeded": the browser's storage is full;
 * - "aborted": the download was canceled; its bytes are deleted;
 * - "paused": the download a fetch() waited for paused; its bytes are kept;
 * - "storage": IndexedDB failed for another reason;
 * - "invalid-argument": a bad URL or option;
 * - "locked-elsewhere": remove() of a download another tab is writing;
 * - "unexpected-content": the server answered a resume with content of
 *   another type, most often an HTML login or error page a redirect led
 *   to; the stored bytes are kept;
 * - "too-large": the file is larger than the maxBytes option;
 * - "integrity": the file does not match the integrity option, or the
 *   Repr-Digest the server sent; its bytes were discarded;
 * - "not-found": no finished download is stored under that key;
 * - "unsupported": this browser lacks WebAssembly, IndexedDB or fetch;
 * - "internal": resumer broke one of its own rules (a bug: please report).
 */
/** resumer's version: the npm package's, and the Go module's resumer.Version. */
export const VERSION = "0.5.0";

export const ErrorCodes = Object.freeze([
  "network", "http-status", "bad-response", "quota-exceeded", "aborted",
  "paused", "storage", "invalid-argument", "locked-elsewhere", "unexpected-content",
  "too-large", "integrity", "not-found", "unsupported", "internal",
]);

/** The error type of every rejection: an Error with a stable `code`. */
export class ResumerError extends Error {
  constructor(code, message, status = 0, { cause, decidedBy } = {}) {
    super(`resumer: ${String(message).replace(/^resumer: /, "")}`, cause === undefined ? undefined : { cause });
    this.name = "ResumerError";
    this.code = code;
    if (status) this.status = status;
    /** The request and answer that decided the failure, or null. */
    this.decidedBy = decidedBy ?? null;
  }
}

// answers holds, for an error of a download that ended on the server's
// own answer before storing anything (the firstAnswer option), that
// Response, unread: what resumer.fetch() resolves with, as fetch() would.
const answers = new WeakMap();

function toError(o) {
  if (o instanceof ResumerError) return o;
  if (o && typeof o === "object" && typeof o.code === "string") {
    const err = new ResumerError(o.code, o.message || o.code, o.status || 0, { cause: o.cause, decidedBy: o.decidedBy });
    if (typeof Response === "function" && o.answer instanceof Response) answers.set(err, o.answer);
    return err;
  }
  return new ResumerError("storage", String(o && o.message ? o.message : o));
}

/** Reports whether this browser has what resumer needs. */
export function isSupported() {
  return typeof WebAssembly === "object" && typeof indexedDB === "object" && indexedDB !== null &&
    typeof fetch === "function" && typeof ReadableStream === "function";
}

let bridgePromise = null;
let wasmMemory = null;
let compiling = null; // {url, module: Promise<WebAssembly.Module>}

// The file locations load() and preload() were given, the first time.
let wasmURL = null;
let workerURL = null;

function locate(options) {
  // new URL("./…", import.meta.url) is the form bundlers (Vite, webpack,
  // esbuild) see and rewrite to where they put the file.
  wasmURL ??= options.wasmURL ? new URL(String(options.wasmURL), globalThis.location?.href) : new URL("./resumer.wasm", import.meta.url);
  workerURL ??= options.workerURL ? new URL(String(options.workerURL), globalThis.location?.href) : null;
}

/**
 * Starts fetching and compiling resumer.wasm, for a page that wants its
 * downloads to resume as soon as it loads; load() takes it up. Options as
 * load()'s (wasmURL). Resolves once the module is compiled; never rejects
 * (load() reports what went wrong).
 * @param {{wasmURL?: string | URL}} [options]
 * @returns {Promise<void>}
 */
export function preload(options = {}) {
  locate(options);
  if (typeof WebAssembly !== "object" || typeof fetch !== "function") return Promise.resolve();
  compiling ??= compile(wasmURL);
  return compiling.then(() => {}, () => {});
}

async function compile(url) {
  try {
    return await WebAssembly.compileStreaming(fetch(url));
  } catch {
    // Servers that do not send Content-Type: application/wasm.
    const resp = await fetch(url);
    if (!resp.ok) throw new ResumerError("unsupported", `cannot load ${url}: HTTP ${resp.status}`);
    return WebAssembly.compile(await resp.arrayBuffer());
  }
}

// MEMORY names, on a Resumer, the size in bytes of the WebAssembly
// module's linear memory (the Go heap and stacks): for the benchmarks
// (docs/development.md), not part of the API. resumer keeps downloaded
// bytes out of it.
const MEMORY = Symbol.for("resumer.wasmMemoryBytes");

function wasmMemoryBytes() {
  return wasmMemory ? wasmMemory.buffer.byteLength : 0;
}

// bridge loads the WebAssembly module once per page and returns the object
// it exports.
function bridge() {
  if (!bridgePromise) {
    bridgePromise = startWasm().catch((err) => {
      bridgePromise = null;
      compiling = null; // a later load() fetches again
      throw err;
    });
  }
  return bridgePromise;
}

// pieceReader reads a fetch() body in pieces for the Go side: each piece is
// one Blob, made here, so that the stream's bytes never cross into Go
// (where every JS value stays referenced until Go's garbage collector runs)
// and one call crosses per piece, not one per network chunk. next(max,
// flushMs, onData) resolves with {blob, size, done, error}: at most max
// bytes, early once flushMs passed since the piece's first byte; bytes that
// arrived before an error come with it. onData(n) is told as bytes arrive,
// at most every 50 ms.
//
// Where the body is a byte stream (feature-detected: getReader({mode:
// "byob"}) throws where it is not), every read goes into one reused buffer
// whose bytes are copied into a Blob at once: the JS heap holds one
// buffer per body, not a trail of network chunks waiting for the garbage
// collector (with 4 streamed bodies, 60 MiB of them in Chromium).
const BYOB_BUFFER = 256 << 10;

function pieceReader(body) {
  let reader;
  let buf = null;
  try {
    reader = body.getReader({ mode: "byob" });
    buf = new ArrayBuffer(BYOB_BUFFER);
  } catch {
    reader = body.getReader();
  }
  const late = Symbol("late");
  let leftover = null; // a Blob or Uint8Array of bytes past the last piece's max
  let pending = null;
  let done = false;
  const read = () => (buf ? reader.read(new Uint8Array(buf, 0, buf.byteLength)) : reader.read());
  const sizeOf = (part) => (part instanceof Blob ? part.size : part.byteLength);
  const cut = (part, a, b) => (part instanceof Blob ? part.slice(a, b) : part.subarray(a, b));
  return {
    async next(max, flushMs, onData) {
      const parts = [];
      let n = 0;
      let first = 0;
      let told = 0;
      let lastTell = 0;
      const take = (part) => {
        const l = sizeOf(part);
        if (n + l > max) {
          leftover = cut(part, max - n, l);
          part = cut(part, 0, max - n);
        }
        if (n === 0) first = performance.now();
        parts.push(part);
        n += sizeOf(part);
      };
      const tell = (force) => {
        const now = performance.now();
        if (n > told && (force || now - lastTell >= 50)) {
          onData(n - told);
          told = n;
          lastTell = now;
        }
      };
      let error = null;
      try {
        if (leftover) {
          const l = leftover;
          leftover = null;
          take(l);
        }
        while (n < max && !done) {
          pending ??= read();
          let r;
          if (flushMs > 0 && n > 0) {
            const left = first + flushMs - performance.now();
            if (left <= 0) break;
            let timer;
            r = await Promise.race([pending, new Promise((res) => { timer = setTimeout(() => res(late), left); })]);
            clearTimeout(timer);
            if (r === late) break; // flush time: the read stays pending for the next piece
          } else {
            r = await pending;
          }
          pending = null;
          if (buf && r.value) buf = r.value.buffer; // the buffer comes back with each read
          if (r.done) {
            done = true;
            break;
          }
          // A byte stream's bytes are copied out at once: the buffer is
          // read into again.
          take(buf ? new Blob([r.value]) : r.value);
          tell(false);
        }
      } catch (e) {
        pending = null;
        error = { name: (e && e.name) || "Error", message: String((e && e.message) || e) };
      }
      tell(true);
      return { blob: n > 0 ? new Blob(parts) : null, size: n, done, error };
    },
    cancel() {
      reader.cancel().catch(() => {});
    },
  };
}

// hashBlob hashes a piece of a download (SHA-256, SHA-384 or SHA-512:
// resumer-digest.js, hash-wasm) for the Go side, which keeps the state: in
// a Worker where the browser has module workers, so that hashing a file as
// it arrives does not take the page's thread; on the page's thread only
// where no Worker can start. (alg, state, blob) → {state, sum}.
let hashWorker = null; // the Worker, null before the first piece, false where none can run
let hashSeq = 0;
const hashWaiting = new Map(); // id → {resolve, reject, alg, state, blob}

function hashBlob(alg, state, blob) {
  if (hashWorker === null) hashWorker = startHashWorker();
  if (!hashWorker) return hashHere(alg, state, blob);
  return new Promise((resolve, reject) => {
    const id = ++hashSeq;
    hashWaiting.set(id, { resolve, reject, alg, state, blob });
    try {
      hashWorker.postMessage({ id, alg, state, blob });
    } catch (e) {
      hashWaiting.delete(id);
      reject(e);
    }
  });
}

// hashWorkerReady starts the hash worker, if it is not started, and
// resolves true once it runs, false where none can (within 5 s): what
// load() reports as the Resumer's hashing.
let workerReady = null;
function hashWorkerReady() {
  if (hashWorker === null) hashWorker = startHashWorker();
  return workerReady ?? Promise.resolve(false);
}

// newWorker starts the worker of url: as it is where the page may start
// it, else (a copy of resumer on another origin, a CDN) through a module of
// the page's own origin that imports it, which CORS allows where the copy
// is served with Access-Control-Allow-Origin.
function newWorker(url) {
  try {
    return new Worker(url, { type: "module" });
  } catch {
    const shim = URL.createObjectURL(new Blob([`import ${JSON.stringify(String(url))};`], { type: "text/javascript" }));
    return new Worker(shim, { type: "module" });
  }
}

// defaultWorker starts resumer-hash-worker.js from next to this file, in
// the form bundlers see and rewrite. A copy of resumer on another origin
// than the page's cannot start a worker from there (SecurityError, at
// once): it is started through newWorker's module of the page's origin.
function defaultWorker() {
  try {
    return new Worker(new URL("./resumer-hash-worker.js", import.meta.url), { type: "module" });
  } catch {
    return newWorker(new URL("./resumer-hash-worker.js", import.meta.url));
  }
}

function startHashWorker() {
  if (typeof Worker !== "function") return false;
  let w;
  try {
    w = workerURL ? newWorker(workerURL) : defaultWorker();
  } catch {
    return false;
  }
  let started;
  workerReady = new Promise((resolve) => {
    started = resolve;
    setTimeout(() => resolve(false), 5000);
  });
  // A worker that cannot start (no module workers, a Content-Security-
  // Policy without worker-src) or cannot run hash-wasm ({ready: false}):
  // hash here, the waiting pieces too.
  const giveUp = () => {
    w.terminate();
    hashWorker = false;
    started(false);
    const jobs = [...hashWaiting.values()];
    hashWaiting.clear();
    for (const j of jobs) hashHere(j.alg, j.state, j.blob).then(j.resolve, j.reject);
  };
  w.onmessage = (ev) => {
    if (ev.data && "ready" in ev.data) {
      if (ev.data.ready) started(true);
      else giveUp();
      return;
    }
    const { id, state, sum, error } = ev.data || {};
    const job = hashWaiting.get(id);
    if (!job) return;
    hashWaiting.delete(id);
    if (error) {
      const e = new Error(error.message);
      e.name = error.name;
      job.reject(e);
    } else {
      // Copied into this module's own Uint8Arrays: a message's objects
      // belong to the realm that receives it, which need not be the one
      // wasm_exec.js checks against (a sandboxed script that loaded resumer).
      job.resolve({ state: new Uint8Array(state), sum: new Uint8Array(sum) });
    }
  };
  w.onerror = (ev) => {
    if (ev && typeof ev.preventDefault === "function") ev.preventDefault();
    giveUp();
  };
  return w;
}

// playable returns a finished download's Blob as download().done hands
// it out: itself, or where this browser's media elements cannot seek in it
// and it may be media, a copy they can seek in.
//
// The Blob is made of the stored chunks (new Blob(parts), no byte
// copied). Firefox cannot seek in such a Blob from a blob: URL: its stream
// is an nsMultiplexInputStream of IndexedDB (remote) streams, which knows
// its length only asynchronously and cannot be cloned with a range, so
// BaseMediaResource::Create (dom/media/BaseMediaResource.cpp) falls back to
// a ChannelMediaResource, whose blob: channel cannot seek; seekable is then
// only what is buffered, and a seek past it never ends or lands short
// (measured: Firefox ESR 153, 19 MiB WebM, a seek to 15 s at
// loadedmetadata stalled or landed at 0.4 s). Any two stored parts do it,
// whatever their sizes or the type; one stored Blob, or parts in memory,
// seek. Chromium and WebKit seek in it. No Bugzilla entry was found.
//
// The copy is Response.blob(), which Firefox writes to a temporary file
// (its MutableBlobStorage; no byte passes through the JS heap): measured
// 33–81 ms for 19 MiB, 0.8–1.4 s for 256 MiB, 7–8 s for 1 GiB on a busy
// machine, and a temporary file as large as the download until the Blob
// is collected. (In a private window Firefox keeps it in memory instead:
// 256 MiB took 5.3 s and about 300 MiB more memory.) Chromium's copy would
// be free, but WebKit's is in memory (256 MiB: 8.8 s, 1 GiB more memory):
// so it is made only where a probe (seeksStored) found that the media
// element cannot seek, and only for files that look like media. fetch()
// and response() need none: Firefox's Response.blob() makes that copy.
async function playable(blob) {
  try {
    if (!blob || !(await mayBeMedia(blob)) || (await seeksStored(blob)) !== false) return blob;
    const copy = await new Response(blob).blob();
    return copy.type === blob.type ? copy : new Blob([copy], { type: blob.type });
  } catch {
    return blob; // the bytes are right either way
  }
}

// mayBeMedia reports whether a Blob is typed as audio or video, or starts
// like a container media elements play: Matroska/WebM, MP4 and QuickTime,
// Ogg, FLAC, WAV, MP3 with an ID3 tag. (A server's Content-Type is often
// application/octet-stream.)
async function mayBeMedia(blob) {
  if (/^(video|audio)\/|^application\/(ogg|mp4)\b/i.test(blob.type)) return true;
  const b = new Uint8Array(await blob.slice(0, 12).arrayBuffer());
  const is = (at, s) => [...s].every((c, i) => b[at + i] === c.charCodeAt(0));
  return (b[0] === 0x1a && b[1] === 0x45 && b[2] === 0xdf && b[3] === 0xa3) ||
    is(4, "ftyp") || is(0, "OggS") || is(0, "fLaC") || is(0, "ID3") || (is(0, "RIFF") && is(8, "WAVE"));
}

// seeksStored probes whether this browser's media elements can seek in a
// Blob made of stored ones, like blob: a WAV header followed by pieces of
// blob, 4 MiB in all, which lasts 524 s at 8000 bytes a second. Where the
// element can seek, seekable covers the whole duration as soon as the
// metadata is loaded; where it cannot, only what it read by then (Firefox:
// 4 to 8 s). It takes 5–20 ms in Firefox and Chromium, 0.2–0.7 s in
// WebKitGTK. Resolves to true or false, or null where it cannot tell (no
// document, no WAV, no metadata within 3 s): the first answer holds for
// the page, so that it costs once at most.
const PROBE_BYTES = 4 << 20;
let storedSeek = null; // the Promise of the page's answer

function seeksStored(blob) {
  storedSeek ??= probeSeek(blob);
  return storedSeek;
}

async function probeSeek(blob) {
  if (typeof document !== "object" || !document || blob.size === 0) return null;
  const a = document.createElement("audio");
  if (!a.canPlayType("audio/wav")) return null;
  const piece = blob.slice(0, Math.min(blob.size, PROBE_BYTES));
  const parts = new Array(Math.min(64, Math.ceil(PROBE_BYTES / piece.size))).fill(piece);
  const n = parts.length * piece.size;
  const h = new DataView(new ArrayBuffer(44));
  const tag = (at, s) => { for (let i = 0; i < 4; i++) h.setUint8(at + i, s.charCodeAt(i)); };
  // RIFF/WAVE, 8-bit mono PCM at 8000 Hz: any byte is a sample.
  tag(0, "RIFF"); h.setUint32(4, 36 + n, true); tag(8, "WAVE");
  tag(12, "fmt "); h.setUint32(16, 16, true); h.setUint16(20, 1, true); h.setUint16(22, 1, true);
  h.setUint32(24, 8000, true); h.setUint32(28, 8000, true); h.setUint16(32, 1, true); h.setUint16(34, 8, true);
  tag(36, "data"); h.setUint32(40, n, true);
  const src = URL.createObjectURL(new Blob([h.buffer, ...parts], { type: "audio/wav" }));
  a.muted = true;
  a.preload = "metadata";
  let timer;
  try {
    return await new Promise((resolve) => {
      timer = setTimeout(() => resolve(null), 3000);
      a.onerror = () => resolve(null);
      a.onloadedmetadata = () => {
        const s = a.seekable;
        resolve(s.length > 0 && s.end(s.length - 1) >= a.duration * 0.9);
      };
      a.src = src;
    });
  } finally {
    clearTimeout(timer);
    a.removeAttribute("src");
    a.load();
    URL.revokeObjectURL(src);
  }
}

async function startWasm() {
  if (!isSupported()) {
    throw new ResumerError("unsupported", "this browser lacks WebAssembly, IndexedDB or fetch");
  }
  compiling ??= compile(wasmURL);
  const module = await compiling;
  const go = new Go();
  // The program finds the hook on its global object, and only it does
  // (resumer-go.js's globals): it hands the bridge over through it, and
  // takes the helpers it uses when it finds them.
  const hook = "resumerHook";
  const ready = new Promise((resolve) => { go.globals[hook] = Object.assign(resolve, { helpers: { pieceReader, hashBlob } }); });
  go.env = { RESUMER_HOOK: hook };
  const instance = await WebAssembly.instantiate(module, go.importObject);
  wasmMemory = instance.exports.mem;
  go.run(instance).then(() => { bridgePromise = null; });
  return ready;
}

/** How many downloads run at once unless load() is told otherwise. */
export const DEFAULT_MAX_CONCURRENT = 3;

/**
 * Loads resumer and opens its IndexedDB database.
 * @param {{dbName?: string, maxConcurrent?: number, wasmURL?: string | URL, workerURL?: string | URL}} [options]
 *   dbName defaults to "resumer"; maxConcurrent, how many downloads run at
 *   once (the others wait in state "queued"), defaults to 3, 0 for no
 *   limit. wasmURL and workerURL say where resumer.wasm and
 *   resumer-hash-worker.js are, when not next to this file (the first
 *   load() or preload() of the page decides). The Resumer's hashing says
 *   where digests are computed: "worker" (off the page's thread) or "page".
 * @returns {Promise<Resumer>}
 */
export async function load(options = {}) {
  locate(options);
  const hashing = hashWorkerReady();
  const api = await bridge();
  const dbName = options.dbName ?? "resumer";
  let handle;
  try {
    handle = await api.open(dbName);
  } catch (e) {
    throw toError(e);
  }
  const r = new Resumer(api, handle, dbName, (await hashing) ? "worker" : "page");
  r.maxConcurrent = options.maxConcurrent ?? DEFAULT_MAX_CONCURRENT;
  return r;
}

function absolute(url) {
  const base = globalThis.location ? globalThis.location.href : undefined;
  return new URL(String(url), base).href;
}

function tryAbsolute(url) {
  try {
    return absolute(url);
  } catch {
    return null;
  }
}

// plainHeaders turns what fetch() accepts as headers (a Headers, an array
// of pairs, a record) into a plain object of strings, the form that
// crosses into the engine.
function plainHeaders(h) {
  if (h === undefined || h === null) return undefined;
  const out = {};
  new Headers(h).forEach((v, k) => { out[k] = v; });
  return out;
}

// The request headers resumer sets itself; resumer.fetch() takes a Range
// out to answer it from storage, and drops the others (their meaning is
// resumer's business: it proves versions with validators of its own).
const OWN_HEADERS = ["range", "if-range", "if-match", "if-none-match", "if-modified-since", "if-unmodified-since"];

function abortError(signal) {
  if (signal && signal.reason !== undefined) return signal.reason;
  return new DOMException("The operation was aborted.", "AbortError");
}

// fetchFailure is how resumer.fetch() fails where fetch() would: a
// download stopped by a pause or a cancel is an AbortError; any other
// failure a TypeError. Both carry the ResumerError as their cause, and its
// code (and status) for code that wants to tell them apart.
function fetchFailure(err) {
  const message = err.message.replace(/^resumer: /, "resumer.fetch: ");
  const abort = err.code === "aborted" || err.code === "paused";
  const out = abort ? new DOMException(message, "AbortError") : new TypeError(message, { cause: err });
  // A DOMException takes no cause, and has a numeric code of its own (a
  // getter): the instance's own properties shadow it.
  const own = { cause: err, code: err.code, ...(err.status ? { status: err.status } : {}) };
  for (const [k, value] of Object.entries(own)) Object.defineProperty(out, k, { value, configurable: true, writable: true });
  return out;
}

// refresher adapts the app's refresh option for Go: whatever it returns
// or throws, Go gets a promise of {url, headers} (headers null: keep them),
// and nothing throws back into the WebAssembly module.
function refresher(refresh) {
  return async (expired) => {
    const link = (await refresh(expired)) ?? {};
    return {
      url: link.url ? absolute(link.url) : "",
      headers: link.headers === undefined || link.headers === null ? null : plainHeaders(link.headers),
    };
  };
}

// headOf is what fetch() gives for a HEAD request: the answer without
// its body (which other calls may share: it is left alone).
function headOf(resp) {
  const head = new Response(null, { status: resp.status, statusText: resp.statusText, headers: resp.headers });
  // A constructed Response has url "": give it the answer's.
  if (resp.url) Object.defineProperty(head, "url", { value: resp.url, enumerable: true });
  return head;
}

/** A resumer bound to one IndexedDB database. Create it with load(). */
export class Resumer {
  #api;
  #handle;
  #byId = new Map(); // the engine's number of a running download → its Download
  #channel = null;
  #max = DEFAULT_MAX_CONCURRENT;

  constructor(api, handle, dbName, hashing = "page") {
    this.#api = api;
    this.#handle = handle;
    this.dbName = dbName;
    /**
     * Where digests (integrity, a server's Repr-Digest) are computed:
     * "worker", off the page's thread, or "page" where no worker can start
     * (no module workers, a Content-Security-Policy without worker-src, a
     * copy of resumer on an origin that does not allow it).
     */
    this.hashing = hashing;
    // Bound, so that it can be handed over as a plain function
    // (transformers.js: env.fetch = resumer.fetch).
    this.fetch = this.fetch.bind(this);
    // Tells resumer-sw.js which files are stored. (The progress of a
    // download another tab writes is the engine's to relay.)
    if (typeof BroadcastChannel === "function") {
      this.#channel = new BroadcastChannel(`resumer:${dbName}`);
    }
  }

  /** How many downloads run at once (0: no limit); the others are "queued". */
  get maxConcurrent() {
    return this.#max;
  }

  set maxConcurrent(n) {
    // The engine says what it takes of n (wire.MaxConcurrent).
    this.#max = this.#api.setMaxConcurrent(this.#handle, Number(n));
  }

  // #announce tells other tabs and resumer-sw.js that key is now stored
  // finished (true) or not (false).
  #announce(key, stored) {
    if (this.#channel) this.#channel.postMessage({ key, stored });
  }

  // #asked is navigator.storage.persist()'s answer, asked once.
  #asked = null;

  #askPersist() {
    if (this.#asked) return;
    const storage = globalThis.navigator && navigator.storage;
    this.#asked = storage && typeof storage.persist === "function"
      ? storage.persist().catch(() => false)
      : Promise.resolve(false);
  }

  /**
   * Starts, or resumes, the download of url. A URL with a stored partial
   * download resumes from its stored bytes, also after a reload or a browser
   * restart; a URL already downloading in this page returns the running
   * Download.
   * @param {string | URL} url
   * @param {object} [options] See resumer.d.ts (DownloadOptions). key: the
   *   download's identity when its URL changes between sessions (signed
   *   links; default the absolute URL); headers: sent with every request,
   *   never stored; credentials: fetch's credentials mode; integrity:
   *   "sha256-…" the file must match; chunkSize: bytes per range request
   *   (default 8 MiB); connections: ranges fetched at once (default 1);
   *   flushIntervalMs: how often a streamed body is stored (default 500);
   *   stallTimeoutMs: give up a response that sends nothing for this long
   *   (default 30000); maxBytes: refuse a larger file; retry: {baseMs,
   *   maxMs, attempts, jitter}.
   * @returns {Download}
   */
  download(url, options = {}) {
    const { signal, ...opts } = options;
    if (signal && signal.aborted) {
      // As fetch() with an aborted signal: nothing starts.
      const abs = tryAbsolute(String(url)) ?? String(url);
      const dl = new Download(null, abs, () => {});
      dl.key = opts.key || abs;
      dl._abort(abortError(signal));
      return dl;
    }
    const { dl } = this.#start(url, opts);
    if (signal) {
      // An abort ends this Download as fetch() ends: done rejects with
      // the signal's reason. The bytes stay stored, paused; the next
      // download() of the URL takes them up.
      const onAbort = () => dl._abort(abortError(signal));
      signal.addEventListener("abort", onAbort, { once: true });
      dl._stored.then(() => signal.removeEventListener("abort", onAbort), () => signal.removeEventListener("abort", onAbort));
    }
    return dl;
  }

  // #start is download() for download() and fetch(): the Download, and
  // whether the engine joined one already running under its key.
  #start(url, options) {
    const failed = (u, code, message) => ({ dl: failedDownload(u, new ResumerError(code, message)), joined: false });
    let abs;
    try {
      abs = absolute(url);
    } catch {
      return failed(String(url), "invalid-argument", `not a valid URL: ${url}`);
    }
    let opts;
    try {
      opts = { ...options, headers: plainHeaders(options.headers) };
    } catch (e) {
      return failed(abs, "invalid-argument", `headers: ${e && e.message}`);
    }
    if (opts.key !== undefined && typeof opts.key !== "string") {
      return failed(abs, "invalid-argument", "key must be a string");
    }
    if (opts.refresh !== undefined) {
      if (typeof opts.refresh !== "function") {
        return failed(abs, "invalid-argument", "refresh must be a function");
      }
      opts.refresh = refresher(opts.refresh);
    }
    return this.#begin(abs, opts);
  }

  // #begin asks the engine for the download of abs.
  #begin(abs, opts) {
    const key = opts.key || abs;
    const dl = new Download(this.#api, abs, () => {
      if (this.#byId.get(dl._id) === dl) this.#byId.delete(dl._id);
    });
    dl.key = key;
    // Called from Go: nothing may throw back into it (a JS exception there
    // would stop the WebAssembly module, and every download with it).
    const got = this.#api.download(this.#handle, abs, opts, (type, detail) => {
      try {
        // resumer-sw.js learns from each change of state whether key is
        // stored finished (a private file never is, for it).
        if (type === "progress" && detail.state !== dl.state && detail.state !== "locked-elsewhere") {
          this.#announce(key, detail.state === "done" && !detail.private);
        }
        dl._event(type, detail);
      } catch (e) {
        (globalThis.reportError || console.error)(e);
      }
    });
    if (got.error) {
      dl._event("error", got.error);
      return { dl, joined: false };
    }
    if (got.joined) {
      // The download running under key, pointed at this URL and resumed
      // (refused with "locked-elsewhere" for credentials other than its
      // own): the Download handed out before.
      // (The bridge forgets a number before it tells of the end, so
      // the page knows every number it joins.)
      const running = this.#byId.get(got.id);
      if (!running) throw new Error(`resumer: the engine joined download ${got.id}, which this page does not know`);
      return { dl: running, joined: true };
    }
    this.#askPersist();
    dl._id = got.id;
    this.#byId.set(got.id, dl);
    return { dl, joined: false };
  }

  /**
   * A drop-in for fetch() for big files: downloads (or resumes) the whole
   * file through resumer, then answers from storage with a Response whose
   * body is the stored bytes (never one big ArrayBuffer). A single Range
   * header gets a 206 (or 416); a file already stored is answered without
   * the network. Requests other than GET and HEAD go to fetch() itself.
   * init.resumer holds the download's options, and onprogress. It fails
   * as fetch() fails: until a byte is stored, with the server's own
   * answer (a 404 resolves) or a TypeError; then, past the retries, with
   * a TypeError carrying the resumer code, its cause the ResumerError.
   * @param {RequestInfo | URL} input
   * @param {RequestInit & {resumer?: object}} [init]
   * @returns {Promise<Response>}
   */
  async fetch(input, init = {}) {
    const req = typeof Request === "function" && input instanceof Request ? input : null;
    const method = String(init.method ?? (req ? req.method : "GET")).toUpperCase();
    if (method !== "GET" && method !== "HEAD") return globalThis.fetch(input, init);
    const url = absolute(req ? req.url : input);
    const headers = new Headers(init.headers ?? (req ? req.headers : undefined));
    const range = headers.get("Range") ?? "";
    const ifRange = headers.get("If-Range") ?? "";
    for (const h of OWN_HEADERS) headers.delete(h);
    const extra = init.resumer ?? {};
    const key = extra.key || url;
    const signal = init.signal ?? (req ? req.signal : undefined);
    if (signal && signal.aborted) throw abortError(signal);
    const credentials = init.credentials ?? (req ? req.credentials : undefined);
    // From storage, to a call with these credentials (a private file is
    // answered only to its own); a failure there fails the call as
    // fetch() fails.
    const answer = () => this.response(key, { range, ifRange, method, headers, credentials }).catch((e) => {
      throw e instanceof ResumerError ? fetchFailure(e) : e;
    });
    const integrity = init.integrity ?? (req ? req.integrity : "");
    // With integrity, a stored file is answered only once a download has
    // checked it against that digest (a finished one is hashed again if
    // it was stored without it): never unchecked from storage.
    const stored = integrity ? undefined : await answer();
    // Aborted while storage was asked: no "abort" listener was there yet.
    if (signal && signal.aborted) throw abortError(signal);
    if (stored) return stored;
    const { onprogress, ...options } = extra;
    const opts = {
      ...options, key, headers: plainHeaders(headers),
      ...(integrity ? { integrity } : {}), ...(credentials ? { credentials } : {}),
      // Until a byte is stored, the server's error answers and network
      // failures end the download as they end fetch().
      firstAnswer: true,
      // This call only waits for the file: once every call that waits
      // for it gave up, the engine pauses it, unless the app holds it
      // (Options.Waiting).
      waiting: true,
    };
    // joined: a running download, whose options are the first caller's.
    const { dl, joined } = this.#start(url, opts);
    // (A download that could not start, or join, fails at once: nothing
    // waits for it.) The engine counts this call until it leaves, once.
    let waiting = dl._id !== 0;
    const leave = (aborted) => {
      if (waiting) this.#api.leave(dl._id, aborted);
      waiting = false;
    };
    const onProgress = typeof onprogress === "function" ? (ev) => {
      try { onprogress(ev); } catch (e) { (globalThis.reportError || console.error)(e); }
    } : null;
    if (onProgress) dl.addEventListener("progress", onProgress);
    let onAbort = null;
    let onPaused = null;
    let ownAbort = false;
    try {
      await new Promise((resolve, reject) => {
        dl._stored.then(resolve, reject);
        // A pause (pauseAll(), the app's pause(), a full storage) ends
        // the wait, as a network error would end fetch(): the bytes are
        // kept, and the next call resumes.
        onPaused = (ev) => {
          if (ev.state !== "paused") return;
          leave(false);
          reject(ev.errorCode
            ? new ResumerError(ev.errorCode, `the download of ${url} paused: ${ev.errorMessage || ev.errorCode}`)
            : new ResumerError("paused", `the download of ${url} paused; its bytes are kept`));
        };
        dl.addEventListener("statechange", onPaused);
        if (signal) {
          // Like fetch(): the promise rejects with the signal's reason.
          // The download pauses, keeping its bytes for the next call,
          // unless another call still waits for it: aborting one fetch
          // never stops another's.
          onAbort = () => {
            ownAbort = true;
            leave(true);
            reject(abortError(signal));
          };
          signal.addEventListener("abort", onAbort, { once: true });
        }
      });
    } catch (e) {
      if (!(e instanceof ResumerError)) {
        if (ownAbort || !dl._aborting) throw e; // the signal's reason
        // Another caller's signal stopped the download this call joined.
        throw fetchFailure(new ResumerError("paused", `the download of ${url} was stopped by another caller's signal; its bytes are kept`));
      }
      // The server's own answer, before any byte was stored: as fetch()
      // resolves with it.
      // Every call that waited for the download gets a copy of its own.
      const answer = answers.get(e);
      if (answer) return method === "HEAD" ? headOf(answer) : answer.clone();
      throw fetchFailure(e);
    } finally {
      leave(false);
      if (onProgress) dl.removeEventListener("progress", onProgress);
      if (onPaused) dl.removeEventListener("statechange", onPaused);
      if (onAbort) signal.removeEventListener("abort", onAbort);
    }
    if (integrity && joined) {
      // Joined a download started with other options: check the stored
      // file against this call's digest (hashed off the page's thread,
      // or at once if it was checked against it already); no second
      // download.
      try {
        await this.#api.verify(this.#handle, key, integrity);
      } catch (e) {
        throw fetchFailure(toError(e));
      }
    }
    const resp = await answer();
    if (!resp) throw fetchFailure(new ResumerError("not-found", `the download of ${url} finished but is not stored`));
    return resp;
  }

  /**
   * A finished download as a Response, or undefined when none is stored
   * under keyOrUrl (its key, or the URL it was fetched from). range: a
   * Range header value ("bytes=0-99"), answered with 206, or 416 when it
   * cannot be satisfied; ifRange: an If-Range value, the range applying
   * only if it names the stored version; method: "GET" or "HEAD";
   * headers and credentials: the caller's, as download() takes them (a
   * private download is answered only to the same credentials).
   * @param {string | URL} keyOrUrl
   * @param {{range?: string, ifRange?: string, method?: string, headers?: HeadersInit, credentials?: RequestCredentials}} [options]
   * @returns {Promise<Response | undefined>}
   */
  async response(keyOrUrl, options = {}) {
    const method = String(options.method ?? "GET").toUpperCase();
    const headers = plainHeaders(options.headers) ?? {};
    for (const h of OWN_HEADERS) delete headers[h];
    const credentials = String(options.credentials ?? "");
    // The engine takes a key as given, else the absolute URL of a
    // relative one (Manager.Resolve).
    const given = String(keyOrUrl);
    const abs = tryAbsolute(given);
    let s;
    try {
      s = await this.#api.serve(this.#handle, given, method, String(options.range ?? ""), String(options.ifRange ?? ""), headers, credentials, abs && abs !== given ? abs : undefined);
    } catch (e) {
      const err = toError(e);
      if (err.code === "not-found") return undefined;
      throw err;
    }
    const resp = new Response(s.blob ?? null, { status: s.status, headers: s.headers });
    // A constructed Response has url "": give it the one fetch() would
    // have (after redirects), for code that resolves links against it.
    // An own property shadows the prototype's getter; clone() drops it.
    if (s.url) Object.defineProperty(resp, "url", { value: s.url, enumerable: true });
    return resp;
  }

  /**
   * Checks whether downloads of url can resume, from this page's origin,
   * with a few small requests (no body is read): the findings (each {id,
   * verdict: "ok" | "warning" | "blocks", text, proof, fix}) and the
   * verdict for browsers ({browser: "resumable" | "resumable same-origin
   * only" | "not resumable" | "could not check", browserText}), and
   * whether iOS URLSession would produce resume data ({ios, iosText}). The
   * same rules as the terminal's `serve check`, and as the downloads
   * themselves.
   * @param {string | URL} url
   * @param {{credentials?: RequestCredentials}} [options]
   */
  async check(url, options = {}) {
    let abs;
    try {
      abs = absolute(url);
    } catch {
      throw new ResumerError("invalid-argument", `not a valid URL: ${url}`);
    }
    try {
      return await this.#api.check(abs, String(options.credentials ?? ""), String(options.server ?? ""));
    } catch (e) {
      throw toError(e);
    }
  }

  /**
   * How much is stored: {stored, downloads} from resumer's own records,
   * and the browser's estimate of the origin's {usage, quota} (null where
   * navigator.storage.estimate is missing).
   * @returns {Promise<{stored: number, downloads: number, usage: number | null, quota: number | null}>}
   */
  async usage() {
    let u;
    try {
      u = await this.#api.usage(this.#handle);
    } catch (e) {
      throw toError(e);
    }
    let usage = null;
    let quota = null;
    const storage = globalThis.navigator && navigator.storage;
    if (storage && typeof storage.estimate === "function") {
      try {
        const est = await storage.estimate();
        usage = typeof est.usage === "number" ? est.usage : null;
        quota = typeof est.quota === "number" ? est.quota : null;
      } catch {
        // no estimate: the fields stay null
      }
    }
    return { stored: u.stored, downloads: u.downloads, usage, quota };
  }

  /**
   * Removes every stored download, canceling those running here. Rejects
   * with "locked-elsewhere" if another tab writes one (after removing the
   * rest).
   */
  async clear() {
    let keys = [];
    try {
      keys = (await this.list()).map((e) => e.key);
      await this.#api.clear(this.#handle);
    } catch (e) {
      throw toError(e);
    } finally {
      for (const k of keys) this.#announce(k, false);
    }
  }

  /**
   * Asks the browser, once, to keep this origin's storage under pressure
   * (navigator.storage.persist()); resolves to whether it does, false
   * where the browser cannot.
   * @returns {Promise<boolean>}
   */
  persist() {
    this.#askPersist();
    return this.#asked;
  }

  /**
   * Resolves to whether this origin's storage is persistent now
   * (navigator.storage.persisted()), without asking the user; false where
   * the browser cannot tell.
   * @returns {Promise<boolean>}
   */
  async persisted() {
    const storage = globalThis.navigator && navigator.storage;
    if (!storage || typeof storage.persisted !== "function") return false;
    return storage.persisted().then((v) => v === true, () => false);
  }

  /** Pauses every download of this Resumer. */
  pauseAll() {
    this.#api.pauseAll(this.#handle);
  }

  [MEMORY]() {
    return wasmMemoryBytes();
  }

  /**
   * A Cache-API-shaped object over the same storage, for libraries that
   * take a custom cache (transformers.js env.customCache): match() honours
   * a Range header; put() stores a 200 Response's body as a finished
   * download; keys() lists the finished ones.
   */
  get cache() {
    const self = this;
    const keyOf = (r) => (typeof Request === "function" && r instanceof Request ? r.url : String(r));
    return {
      async match(request) {
        const range = typeof Request === "function" && request instanceof Request ? request.headers.get("Range") ?? "" : "";
        return self.response(keyOf(request), { range });
      },
      async put(request, response) {
        if (!(response instanceof Response) || response.status !== 200) {
          // What the Cache API does with a partial or failed response.
          throw new TypeError(`resumer cache: put() takes a 200 Response, not ${response && response.status}`);
        }
        const url = absolute(keyOf(request));
        const blob = await response.blob();
        try {
          await self.#api.put(self.#handle, url, {
            url, blob, contentType: response.headers.get("Content-Type") ?? blob.type,
            etag: response.headers.get("ETag") ?? "", lastModified: response.headers.get("Last-Modified") ?? "",
          });
        } catch (e) {
          throw toError(e);
        }
        self.#announce(url, true);
      },
      // delete() takes what keys() gives: a download's key, or the URL
      // of a finished one; never a private one, which this cache does
      // not hold.
      async delete(request) {
        const url = absolute(keyOf(request));
        const all = (await self.list()).filter((e) => !e.private);
        const entry = all.find((e) => e.key === url) ?? all.find((e) => e.state === "done" && e.url === url);
        if (!entry) return false;
        await self.remove(entry.key);
        return true;
      },
      async keys() {
        return (await self.list()).filter((e) => e.state === "done" && !e.private).map((e) => new Request(e.url));
      },
    };
  }

  /**
   * The stored download of key (a download's key: its absolute URL unless
   * it was given one), or undefined.
   * @param {string | URL} key
   * @returns {Promise<object | undefined>}
   */
  async get(key) {
    const k = key instanceof URL ? key.href : String(key);
    return (await this.list()).find((e) => e.key === k);
  }

  /**
   * Lists every stored download: {key, url, size, received, etag,
   * lastModified, resumable, reason, reasonCode, state, restarts,
   * contentType, errorCode, errorMessage, created, updated, evicted,
   * verified, decidedBy}. decidedBy is the request and answer that decided
   * resumable ({status, url, crossOrigin, request, response, missing},
   * request and response as [{name, value}]), null until the server
   * answered. state is "idle", "running", "paused", "queued", "done",
   * "failed", "locked-elsewhere" (another tab writes it), "interrupted"
   * (running when its tab went away) or "damaged". size is null while
   * unknown; evicted is true when the browser removed stored bytes (they
   * are fetched again); verified when the bytes matched a digest.
   */
  async list() {
    try {
      return await this.#api.list(this.#handle);
    } catch (e) {
      throw toError(e);
    }
  }

  /**
   * Deletes a download and its stored bytes, canceling it if it runs here.
   * Rejects with "locked-elsewhere" if another tab is writing it.
   */
  async remove(keyOrUrl) {
    const given = String(keyOrUrl);
    const abs = tryAbsolute(given);
    let key;
    try {
      // Go takes a key as given before it makes a URL of it.
      key = await (abs && abs !== given ? this.#api.remove(this.#handle, given, abs) : this.#api.remove(this.#handle, given));
    } catch (e) {
      throw toError(e);
    }
    this.#announce(key, false);
  }
}

/** The event a Download dispatches; it carries the progress fields. */
export class DownloadEvent extends Event {
  constructor(type, detail) {
    super(type);
    Object.assign(this, detail);
  }
}

// failedDownload is a Download that has already failed with err: how
// download() reports a bad argument.
function failedDownload(url, err) {
  const dl = new Download(null, url, () => {});
  dl._event("error", err);
  return dl;
}

/**
 * One download. Events: "progress" ({state, loaded, lengthComputable, stored, total, speed,
 * attempt, retryAt, errorCode, errorMessage, etag, lastModified, resumable,
 * reason, reasonCode, notice, noticeCode, decidedBy}), "statechange" (same fields),
 * "done" (the Result), "error" ({error}).
 */
export class Download extends EventTarget {
  #api;
  #onEnd;
  #resolve;
  #reject;

  constructor(api, url, onEnd) {
    super();
    this.#api = api;
    this.#onEnd = onEnd;
    this._id = 0;
    /** The absolute URL. */
    this.url = url;
    /** The download's key (options.key, or the absolute URL). */
    this.key = url;
    /** "idle", "queued", "running", "paused", "locked-elsewhere", "done", "failed" or "canceled". */
    this.state = "idle";
    /** The latest progress: {loaded, lengthComputable, stored, total, speed, attempt, retryAt}. */
    this.progress = { loaded: 0, lengthComputable: false, received: 0, stored: 0, total: null, speed: 0, attempt: 0, retryAt: null };
    /** Called with each progress event, like addEventListener("progress"). */
    this.onprogress = null;
    // The Result as the engine hands it over: what fetch() waits for
    // before it answers from storage, without done's copy (playable).
    this._stored = new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    /**
     * Resolves with the Result: {blob, size, url, contentType, etag,
     * lastModified, resumable, reason, reasonCode, restarts, stats:
     * {requests, commits, commitMs, whole, streamed, setupMs, finishMs, hashMs, stepMs}};
     * rejects with a ResumerError.
     */
    this.done = this._stored.then(async (r) => {
      const blob = await playable(r.blob);
      return blob === r.blob ? r : { ...r, blob };
    });
    this.done.then((r) => this.dispatchEvent(new DownloadEvent("done", r)), () => {});
    // A failure is also an "error" event; an app that only listens to
    // events should not see an unhandled rejection.
    this._stored.catch(() => {});
    this.done.catch(() => {});
  }

  // _abort ends the download for its signal: stopped in Go (its bytes
  // kept, paused), done rejecting with reason.
  _abort(reason) {
    if (this._aborting || this.state === "done" || this.state === "failed" || this.state === "canceled") return;
    this._aborting = true;
    this._abortReason = reason;
    if (this._id) this.#api.stop(this._id);
    else if (!this.#api) this._event("error", { code: "paused" }); // never started
  }

  /** Stops the transfer, keeping every byte received so far. */
  pause() {
    if (this._id) this.#api.pause(this._id);
  }

  /** Continues a paused download. */
  resume() {
    if (this._id) this.#api.resume(this._id);
  }

  /** Stops the download and deletes its stored bytes; done rejects with "aborted". */
  cancel() {
    if (this._id) this.#api.cancel(this._id);
  }

  _event(type, detail) {
    switch (type) {
      case "progress": {
        const changed = detail.state !== this.state;
        this.state = detail.state;
        this.progress = detail;
        if (changed) this.dispatchEvent(new DownloadEvent("statechange", detail));
        const ev = new DownloadEvent("progress", detail);
        this.dispatchEvent(ev);
        // An exception in onprogress is reported like one in a listener,
        // and does not keep the rest from running.
        if (typeof this.onprogress === "function") {
          try {
            this.onprogress(ev);
          } catch (e) {
            (globalThis.reportError || console.error)(e);
          }
        }
        break;
      }
      case "done":
        this.state = "done";
        this.#onEnd();
        this.#resolve(detail); // done, and the "done" event, follow
        break;
      case "error": {
        // Stopped for its signal: the signal's reason, as fetch() rejects.
        const aborted = this._aborting && detail && detail.code === "paused";
        const err = aborted ? this._abortReason : toError(detail);
        this.state = aborted ? "paused" : err.code === "aborted" ? "canceled" : "failed";
        this.#onEnd();
        this.#reject(err);
        this.dispatchEvent(new DownloadEvent("error", { error: err }));
        break;
      }
    }
  }
}
