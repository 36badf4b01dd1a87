// A page that fetches a large model with resumer, written in TypeScript
// against ../resumer.d.ts. `make typecheck` compiles it (tsc --noEmit
// --strict) and never runs it: it is the test of the declarations. Each
// `@ts-expect-error` marks a mistake the declarations must reject; tsc fails
// if one of them compiles.

import { DEFAULT_MAX_CONCURRENT, ErrorCodes, Resumer, ResumerError, isSupported, load } from "../resumer.js";
import type {
  Download,
  DownloadOptions,
  DownloadProgressEvent,
  Entry,
  CheckReport,
  ErrorCode,
  Exchange,
  HeaderLine,
  Progress,
  ReasonCode,
  Result,
  ResumerRequestInit,
  Usage,
} from "../resumer.js";

const MODEL_KEY = "models/llm-q4.gguf";
// A signed CDN link: it changes every time the app asks its backend, the
// key stays.
const modelURL = "https://cdn.example.com/llm-q4.gguf?expires=1767225600&sig=4b1f";

const bar = document.querySelector<HTMLProgressElement>("progress#model");
const status = document.querySelector<HTMLOutputElement>("output#status");

function show(text: string): void {
  if (status) status.value = text;
}

// ---- error handling: every code, narrowed on err.code

/** What to tell the user; exhaustive over ErrorCode. */
function explain(err: unknown): string {
  if (!(err instanceof ResumerError)) return `unexpected: ${String(err)}`;
  switch (err.code) {
    case "http-status":
      return err.status === 401 || err.status === 403 ? "sign in again" : `the server answered ${err.status ?? "an error"}`;
    case "network":
      return "offline? it resumes from the stored bytes when you retry";
    case "quota-exceeded":
      return "the disk is full";
    case "integrity":
      return "the file was corrupted on the way; it was discarded";
    case "aborted":
      return "canceled";
    case "paused":
      return "paused; it goes on from the stored bytes";
    case "unexpected-content":
      return "a login or captive portal page got in the way";
    case "too-large":
      return "the file is larger than allowed";
    case "unsupported":
      return "this browser cannot store large files";
    case "not-found":
      return "it is no longer stored";
    case "bad-response":
    case "storage":
    case "invalid-argument":
    case "locked-elsewhere":
    case "internal":
      return err.message;
    default: {
      // A code the union does not list would make this a type error.
      const unknownCode: never = err.code;
      return unknownCode;
    }
  }
}

const everyCode: readonly ErrorCode[] = ErrorCodes;

// ---- load with options

if (!isSupported()) throw new Error("this browser cannot run resumer");
const resumer: Resumer = await load({ dbName: "models", maxConcurrent: Math.min(2, DEFAULT_MAX_CONCURRENT) });
if (new URLSearchParams(location.search).has("one-at-a-time")) resumer.maxConcurrent = 1;
console.debug(`resumer in ${resumer.dbName}, ${everyCode.length} error codes`);

// ---- a download with key, headers and integrity, and its events

const token = sessionStorage.getItem("token") ?? "";
const options: DownloadOptions = {
  key: MODEL_KEY,
  headers: new Headers({ Authorization: `Bearer ${token}` }),
  credentials: "omit",
  integrity: "sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
  connections: 2,
  maxBytes: 8 * 2 ** 30,
  retry: { attempts: 5, maxMs: 60_000 },
};
const dl: Download = resumer.download(modelURL, options);

function fraction(p: Progress): number {
  return p.total === null || p.total === 0 ? 0 : p.stored / p.total;
}

dl.onprogress = function (ev) {
  if (bar) bar.value = fraction(ev);
  if (this.state === "running" && ev.retryAt !== null) {
    show(`retrying at ${new Date(ev.retryAt).toLocaleTimeString()} (${ev.errorCode || "no code"})`);
  }
};
const onState = (ev: DownloadProgressEvent): void => {
  switch (ev.state) {
    case "queued":
      show("waiting for another download to finish");
      break;
    case "locked-elsewhere":
      show(`another tab downloads it (${ev.elsewhere ?? "starting"})`);
      break;
    case "paused":
      show(ev.errorCode === "quota-exceeded" ? "paused: storage is full" : "paused");
      break;
    default:
      show(ev.state);
  }
  if (!ev.resumable && ev.reasonCode !== "") show(`will not resume: ${ev.reason}`);
  // The proof: what was asked, and the lines of the answer that decided.
  const proof: Exchange | null = ev.decidedBy;
  if (proof) {
    const line = (h: HeaderLine) => `${h.name}: ${h.value}`;
    console.info([...proof.request.map(line), `HTTP ${proof.status}`, ...proof.response.map(line)].join("\n"));
    if (proof.crossOrigin && proof.missing.includes("ETag")) console.warn("the server may not expose ETag");
    // @ts-expect-error: the proof is read-only
    proof.status = 200;
  }
  if (ev.noticeCode === "evicted") show("the browser freed space: fetching the lost part again");
  else if (ev.notice) console.info(ev.notice);
};
dl.addEventListener("statechange", onState);
dl.addEventListener("done", (ev) => console.info(`${ev.key}: ${ev.size} bytes, ${ev.stats.requests} requests`));
dl.addEventListener("error", (ev) => show(explain(ev.error)), { once: true });
window.addEventListener("offline", () => dl.pause());
window.addEventListener("online", () => dl.resume());

// ---- await done and use the Blob

let model: Blob | null = null;
try {
  const result: Result = await dl.done;
  model = result.blob;
  const magic = new Uint8Array(await result.blob.slice(0, 4).arrayBuffer());
  if (!result.verified) throw new Error(`${dl.key} was not checked against its digest`);
  console.info(`${result.contentType} ${result.etag} magic ${magic.join(",")}, restarts ${result.restarts}`);
  dl.removeEventListener("statechange", onState);
} catch (err) {
  show(explain(err));
  // download() again resumes from the stored bytes.
  if (err instanceof ResumerError && err.code === "network") window.addEventListener("online", () => resumer.download(modelURL, options), { once: true });
}

// ---- resumer.fetch as transformers.js's env.fetch

/** The shape transformers.js gives env.fetch: the global fetch's. */
type FetchLike = (input: RequestInfo | URL, init?: RequestInit) => Promise<Response>;
interface TransformersEnv {
  fetch: FetchLike;
  useCustomCache: boolean;
  customCache: {
    match(request: string): Promise<Response | undefined>;
    put(request: string, response: Response): Promise<void>;
  } | null;
}
const env: TransformersEnv = { fetch, useCustomCache: false, customCache: null };
// A method: bound, so that env.fetch(url) calls it on resumer.
env.fetch = resumer.fetch.bind(resumer);
const sameAsFetch: typeof fetch = resumer.fetch.bind(resumer);
// Its type is the global fetch's, with resumer's options in init.
type Assignable<To, From extends To> = From;
export type FetchIsFetchLike = Assignable<FetchLike, Resumer["fetch"]>;

const tokenizer = await env.fetch("https://cdn.example.com/tokenizer.json");
const vocab: unknown = tokenizer.ok ? await tokenizer.json() : null;

const init: ResumerRequestInit = {
  headers: { Range: "bytes=0-1023" },
  signal: AbortSignal.timeout(600_000),
  resumer: {
    key: MODEL_KEY,
    connections: 4,
    onprogress(p) {
      if (bar) bar.value = fraction(p);
    },
  },
};
const head = await resumer.fetch(modelURL, init);
if (head.status === 206) console.info(head.headers.get("Content-Range"), vocab);
const length = (await sameAsFetch(modelURL, { method: "HEAD" })).headers.get("Content-Length");

// ---- the Cache-API-shaped store and response()


env.customCache = resumer.cache;
env.useCustomCache = true;
await resumer.cache.put(
  "https://cdn.example.com/config.json",
  new Response(JSON.stringify({ layers: 32 }), { headers: { "Content-Type": "application/json" } }),
);
const firstBytes = await resumer.cache.match(new Request(modelURL, { headers: { Range: "bytes=0-99" } }));
if (firstBytes !== undefined) console.info(firstBytes.status, (await firstBytes.blob()).size);
for (const request of await resumer.cache.keys()) console.info("cached", request.url);
const dropped: boolean = await resumer.cache.delete("https://cdn.example.com/config.json");

// If-Range: the part only if the stored file is still the version seen before.
const seenETag = localStorage.getItem("model-etag");
const stored = await resumer.response(MODEL_KEY, { range: "bytes=100-199", ifRange: seenETag, method: "GET" });
const whole = await resumer.response(MODEL_KEY);
if (stored && whole && model) console.info(stored.headers.get("Content-Range"), whole.headers.get("ETag"), length, dropped);

// ---- why won't it resume? check before starting

const report: CheckReport = await resumer.check(modelURL);
if (report.browser !== "resumable") {
  for (const f of report.findings) {
    if (f.verdict === "blocks") console.warn(`${f.id}: ${f.text}`, f.proof.join("\n"), f.fix.map((x) => `${x.server}: ${x.text}`));
  }
}
// @ts-expect-error: "maybe" is not a verdict
if (report.findings[0]?.verdict === "maybe") show("never");
console.info(report.iosText, report.ios ? "iOS resumes it too" : "iOS would not");

// ---- storage: list, usage, clear, persist, pauseAll

const entries: Entry[] = await resumer.list();
for (const e of entries) {
  const why: ReasonCode | "" = e.reasonCode;
  if (e.evicted || e.state === "damaged") await resumer.remove(e.key);
  else if (why === "no-ranges") console.warn(`${e.url} will start over if interrupted: ${e.reason} (HTTP ${e.decidedBy?.status})`);
  else if (e.state === "interrupted" && e.size !== null) console.info(`${e.key}: ${e.received}/${e.size}`);
}
const usage: Usage = await resumer.usage();
if (usage.quota !== null && usage.usage !== null && usage.usage > 0.9 * usage.quota) {
  resumer.pauseAll();
  await resumer.clear();
}
document.querySelector("button#keep")?.addEventListener("click", async () => {
  const granted: boolean = await resumer.persist();
  show(granted ? `${usage.downloads} downloads kept` : "the browser may evict downloads");
});
const persisted: boolean = await resumer.persisted();
console.info(`persisted: ${persisted}`);

// ---- mistakes the declarations must reject

// @ts-expect-error: an option resumer does not have (chunkSize misspelt)
resumer.download(modelURL, { chunksize: 1 << 20 });
// @ts-expect-error: credentials is "omit", "same-origin" or "include"
resumer.download(modelURL, { credentials: "always" });
// @ts-expect-error: load has no such option
await load({ maxConcurent: 2 });
// @ts-expect-error: "finished" is not a state
if (dl.state === "finished") show("never");
// @ts-expect-error: list() entries have no "canceled" state
if (entries[0]?.state === "canceled") show("never");
try {
  await resumer.remove(MODEL_KEY);
} catch (err) {
  if (err instanceof ResumerError) {
    // @ts-expect-error: "timeout" is not an error code
    if (err.code === "timeout") show("never");
    // @ts-expect-error: codes are kebab-case
    if (err.code === "quota_exceeded") show("never");
  }
}
// @ts-expect-error: "evicted" is a notice, not a reason a download cannot resume
if (entries[0]?.reasonCode === "evicted") show("never");
// @ts-expect-error: "done" events carry the Result, not progress
dl.addEventListener("done", (ev) => ev.speed);
// @ts-expect-error: the total is null while unknown
console.info(dl.progress.total / 2);
// @ts-expect-error: the state is the download's to change
dl.state = "done";
// @ts-expect-error: response() answers GET and HEAD only
await resumer.response(MODEL_KEY, { method: "POST" });
// @ts-expect-error: cache.keys() resolves with Requests, not strings
const names: string[] = await resumer.cache.keys();
// @ts-expect-error: download() is no fetch (proves Assignable can fail)
export type DownloadIsNoFetch = Assignable<FetchLike, Resumer["download"]>;
// @ts-expect-error: a Resumer comes from load()
new Resumer();
console.info(names);
