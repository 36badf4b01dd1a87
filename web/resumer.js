// resumer.js — resumable, verified HTTP downloads in the browser.
//
//   import { load } from "./resumer.js";
//   const resumer = await load();
//   const dl = resumer.download("https://example.com/big.iso");
//   dl.onprogress = ({ received, total }) => console.log(received, total);
//   const { blob, resumable, reason } = await dl.done;
//
// The work happens in a Go WebAssembly module (resumer.wasm, loaded with the
// wasm_exec.js of the same Go toolchain, both next to this file). This
// module only wraps it in a JavaScript API.

const WASM_URL = new URL("./resumer.wasm", import.meta.url);
const EXEC_URL = new URL("./wasm_exec.js", import.meta.url);

/**
 * Error codes a download can fail with (Error.code):
 * - "network": the connection failed and retrying did not help;
 * - "http-status": the server answered 404, 403, … (Error.status has it),
 *   or kept answering 5xx/429 past the retries;
 * - "bad-response": the server's answers contradict the requests;
 *   nothing inconsistent was stored;
 * - "quota-exceeded": the browser's storage is full;
 * - "aborted": the download was canceled;
 * - "storage": IndexedDB failed for another reason;
 * - "invalid-argument": a bad URL or option;
 * - "locked-elsewhere": remove() of a download another tab is writing;
 * - "unexpected-content": the server answered a resume with content of
 *   another type, most often an HTML login or error page a redirect led
 *   to; the stored bytes are kept;
 * - "too-large": the file is larger than the maxBytes option;
 * - "unsupported": this browser lacks WebAssembly, IndexedDB or fetch;
 * - "internal": resumer broke one of its own rules (a bug: please report).
 */
export const ErrorCodes = Object.freeze([
  "network", "http-status", "bad-response", "quota-exceeded", "aborted",
  "storage", "invalid-argument", "locked-elsewhere", "unexpected-content",
  "too-large", "unsupported", "internal",
]);

/** The error type of every rejection: an Error with a stable `code`. */
export class ResumerError extends Error {
  constructor(code, message, status = 0) {
    super(`resumer: ${message}`);
    this.name = "ResumerError";
    this.code = code;
    if (status) this.status = status;
  }
}

function toError(o) {
  if (o instanceof ResumerError) return o;
  if (o && typeof o === "object" && typeof o.code === "string") {
    return new ResumerError(o.code, o.message || o.code, o.status || 0);
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

// The module starts fetching and compiling the WebAssembly, and loading
// wasm_exec.js, as soon as it is imported: a page that resumes downloads
// after a reload gets to its first request sooner. Errors surface in load().
let early = begin();

function begin() {
  if (typeof WebAssembly !== "object" || typeof fetch !== "function") return null;
  const e = { module: compile(), exec: typeof globalThis.Go === "function" ? Promise.resolve() : import(EXEC_URL.href) };
  e.module.catch(() => {});
  e.exec.catch(() => {});
  return e;
}

async function compile() {
  try {
    return await WebAssembly.compileStreaming(fetch(WASM_URL));
  } catch {
    // Servers that do not send Content-Type: application/wasm.
    const resp = await fetch(WASM_URL);
    if (!resp.ok) throw new ResumerError("unsupported", `cannot load ${WASM_URL}: HTTP ${resp.status}`);
    return WebAssembly.compile(await resp.arrayBuffer());
  }
}

/**
 * The size in bytes of the WebAssembly module's linear memory (the Go heap
 * and stacks), 0 before load(). For measurements: resumer keeps downloaded
 * bytes out of it.
 */
export function wasmMemoryBytes() {
  return wasmMemory ? wasmMemory.buffer.byteLength : 0;
}

// bridge loads the WebAssembly module once per page and returns the object
// it exports.
function bridge() {
  if (!bridgePromise) {
    bridgePromise = startWasm().catch((err) => {
      bridgePromise = null;
      early = null; // a later load() fetches again
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

async function startWasm() {
  if (!isSupported()) {
    throw new ResumerError("unsupported", "this browser lacks WebAssembly, IndexedDB or fetch");
  }
  early ??= begin();
  const [module] = await Promise.all([early.module, early.exec]);
  const go = new globalThis.Go();
  const hook = `__resumerReady_${Math.random().toString(36).slice(2)}`;
  // The hook hands the bridge to this module, and the helpers the Go side
  // uses when it finds them (a Go program without resumer.js does without).
  const ready = new Promise((resolve) => { globalThis[hook] = Object.assign(resolve, { helpers: { pieceReader } }); });
  go.env = { RESUMER_HOOK: hook };
  const instance = await WebAssembly.instantiate(module, go.importObject);
  wasmMemory = instance.exports.mem;
  go.run(instance).then(() => { bridgePromise = null; });
  try {
    return await ready;
  } finally {
    delete globalThis[hook];
  }
}

/**
 * Loads resumer and opens its IndexedDB database.
 * @param {{dbName?: string}} [options] dbName defaults to "resumer".
 * @returns {Promise<Resumer>}
 */
export async function load(options = {}) {
  const api = await bridge();
  const dbName = options.dbName ?? "resumer";
  let handle;
  try {
    handle = await api.open(dbName);
  } catch (e) {
    throw toError(e);
  }
  return new Resumer(api, handle, dbName);
}

function absolute(url) {
  const base = globalThis.location ? globalThis.location.href : undefined;
  return new URL(String(url), base).href;
}

/** A resumer bound to one IndexedDB database. Create it with load(). */
export class Resumer {
  #api;
  #handle;
  #active = new Map(); // absolute URL → running Download
  #channel = null;

  constructor(api, handle, dbName) {
    this.#api = api;
    this.#handle = handle;
    this.dbName = dbName;
    /**
     * Resolves to whether the browser made this origin's storage persistent
     * (navigator.storage.persist(), asked at the first download so that a
     * browser that prompts does so when the user acts), false where the
     * browser cannot.
     */
    this.persisted = null;
    // Only one tab writes a download (Web Locks); the others wait in state
    // "locked-elsewhere" and show the writer's progress, which every tab
    // posts on this channel.
    if (typeof BroadcastChannel === "function") {
      this.#channel = new BroadcastChannel(`resumer:${dbName}`);
      this.#channel.onmessage = (ev) => {
        const { url, detail } = ev.data || {};
        const dl = this.#active.get(url);
        if (dl && dl.state === "locked-elsewhere") {
          dl._event("progress", { ...detail, state: "locked-elsewhere", elsewhere: detail.state });
        }
      };
    }
  }

  #askPersist() {
    if (this.persisted) return;
    const storage = globalThis.navigator && navigator.storage;
    this.persisted = storage && typeof storage.persist === "function"
      ? storage.persist().catch(() => false)
      : Promise.resolve(false);
  }

  /**
   * Starts, or resumes, the download of url. A URL with a stored partial
   * download resumes from its stored bytes, also after a reload or a browser
   * restart; a URL already downloading in this page returns the running
   * Download.
   * @param {string} url
   * @param {{chunkSize?: number, connections?: number, flushIntervalMs?: number,
   *          stallTimeoutMs?: number, maxBytes?: number,
   *          retry?: {baseMs?: number, maxMs?: number, attempts?: number, jitter?: number}}} [options]
   *   chunkSize: bytes per range request (default 8 MiB); connections: ranges
   *   fetched at once (default 1); flushIntervalMs: how often a streamed body
   *   is stored (default 500), and bodies expected to take less are taken
   *   whole; stallTimeoutMs: give up a response that sends nothing for this
   *   long (default 30000); maxBytes: refuse a larger file (default none).
   * @returns {Download}
   */
  download(url, options = {}) {
    let abs;
    try {
      abs = absolute(url);
    } catch {
      return Download.failed(String(url), new ResumerError("invalid-argument", `not a valid URL: ${url}`));
    }
    const running = this.#active.get(abs);
    if (running) {
      running.resume();
      return running;
    }
    this.#askPersist();
    const dl = new Download(this.#api, abs, () => this.#active.delete(abs));
    // Called from Go: nothing may throw back into it (a JS exception there
    // would stop the WebAssembly module, and every download with it).
    const id = this.#api.download(this.#handle, abs, options, (type, detail) => {
      try {
        if (type === "progress" && detail.state !== "locked-elsewhere" && this.#channel) {
          this.#channel.postMessage({ url: abs, detail });
        }
        dl._event(type, detail);
      } catch (e) {
        (globalThis.reportError || console.error)(e);
      }
    });
    if (typeof id !== "number") {
      dl._event("error", id.error);
      return dl;
    }
    dl._id = id;
    this.#active.set(abs, dl);
    return dl;
  }

  /**
   * Lists every stored download: {url, size, received, etag, lastModified,
   * resumable, reason, reasonCode, state, restarts, contentType, errorCode,
   * errorMessage, created, updated}. state is "idle", "running", "paused",
   * "done", "failed", "locked-elsewhere" (another tab writes it) or
   * "interrupted" (running when its tab went away). size is null while
   * unknown.
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
  async remove(url) {
    try {
      await this.#api.remove(this.#handle, absolute(url));
    } catch (e) {
      throw toError(e);
    }
  }
}

/** The event a Download dispatches; it carries the progress fields. */
export class DownloadEvent extends Event {
  constructor(type, detail) {
    super(type);
    Object.assign(this, detail);
  }
}

/**
 * One download. Events: "progress" ({state, received, stored, total, speed,
 * attempt, retryAt, errorCode, errorMessage}), "statechange" (same fields),
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
    /** "idle", "running", "paused", "locked-elsewhere", "done", "failed" or "canceled". */
    this.state = "idle";
    /** The latest progress: {received, stored, total, speed, attempt, retryAt}. */
    this.progress = { received: 0, stored: 0, total: null, speed: 0, attempt: 0, retryAt: null };
    /** Called with each progress event, like addEventListener("progress"). */
    this.onprogress = null;
    /**
     * Resolves with the Result: {blob, size, url, contentType, etag,
     * lastModified, resumable, reason, reasonCode, restarts, stats:
     * {requests, commits, commitMs, whole, streamed, setupMs, finishMs}};
     * rejects with a ResumerError.
     */
    this.done = new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    // A failure is also an "error" event; an app that only listens to
    // events should not see an unhandled rejection.
    this.done.catch(() => {});
  }

  static failed(url, err) {
    const dl = new Download(null, url, () => {});
    dl._event("error", err);
    return dl;
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
        this.#resolve(detail);
        this.dispatchEvent(new DownloadEvent("done", detail));
        break;
      case "error": {
        const err = toError(detail);
        this.state = err.code === "aborted" ? "canceled" : "failed";
        this.#onEnd();
        this.#reject(err);
        this.dispatchEvent(new DownloadEvent("error", { error: err }));
        break;
      }
    }
  }
}
