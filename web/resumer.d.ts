// Type declarations for resumer.js: resumable, verified HTTP downloads in the
// browser. They describe the module next to them (web/resumer.js) and ship
// with it; `make typecheck` checks them against web/ts-example with a
// pinned TypeScript.
//
//   import { load } from "./resumer.js";
//   const resumer = await load();
//   const dl = resumer.download("https://example.com/big.iso");
//   const { blob } = await dl.done;

// ---------------------------------------------------------------- errors

/**
 * The stable `code` of a {@link ResumerError}: programs branch on it, the
 * message is for people.
 *
 * - `"network"`: the connection failed and retrying did not help; the stored
 *   bytes are kept and `download()` again resumes.
 * - `"http-status"`: the server answered 404, 403, … ({@link ResumerError.status}
 *   has it), or kept answering 5xx/429 past the retries.
 * - `"bad-response"`: the server's answers contradict the requests (a wrong
 *   `Content-Range`, a file that keeps changing); nothing inconsistent was stored.
 * - `"quota-exceeded"`: the browser's storage is full. Mid-download this
 *   pauses the download (state `"paused"`, `errorCode` set) rather than
 *   failing it.
 * - `"aborted"`: canceled by `cancel()`, `remove()` or `clear()`; the stored
 *   bytes are deleted.
 * - `"paused"`: the download a `resumer.fetch()` waited for paused
 *   (`pause()`, `pauseAll()`); the stored bytes are kept.
 * - `"storage"`: IndexedDB failed for another reason.
 * - `"invalid-argument"`: a bad URL or option (including a `Range` or a
 *   conditional header, `If-Range`, `If-Match`, `If-None-Match`,
 *   `If-Modified-Since` or `If-Unmodified-Since`, in `headers`: resumer
 *   owns those).
 * - `"locked-elsewhere"`: `remove()` of a download another tab is writing.
 * - `"unexpected-content"`: the server answered a resume with content of
 *   another type than the stored bytes, most often an HTML login or error
 *   page a redirect led to; the stored bytes are kept.
 * - `"too-large"`: the file is larger than the `maxBytes` option.
 * - `"integrity"`: the file does not match the `integrity` option, or the
 *   `Repr-Digest` the server sent (RFC 9530); its bytes were discarded.
 * - `"not-found"`: no finished download is stored under that key
 *   ({@link Resumer.response} and `cache.match` answer undefined instead).
 * - `"unsupported"`: this browser lacks WebAssembly, IndexedDB or fetch.
 * - `"internal"`: resumer broke one of its own rules (a bug: please report it).
 */
export type ErrorCode =
  | "network"
  | "http-status"
  | "bad-response"
  | "quota-exceeded"
  | "aborted"
  | "paused"
  | "storage"
  | "invalid-argument"
  | "locked-elsewhere"
  | "unexpected-content"
  | "too-large"
  | "integrity"
  | "not-found"
  | "unsupported"
  | "internal";

/**
 * How `resumer.fetch` rejects, where `fetch` would: a `TypeError` (an
 * `AbortError` `DOMException` when the download paused or was canceled)
 * that carries the resumer `code`, the HTTP `status` if one decided, and
 * the {@link ResumerError} as its `cause`.
 */
export type FetchFailure = (TypeError | DOMException) & {
  readonly code: ErrorCode;
  readonly status?: number;
  readonly cause: ResumerError;
};

/** resumer's version: the npm package's, and the Go module's resumer.Version. */
export const VERSION: string;

/** Every {@link ErrorCode}, frozen. */
export const ErrorCodes: readonly ErrorCode[];

/**
 * The error of every rejection and of every `"error"` event, except the
 * abort of a `signal` the app passed, which rejects with the signal's
 * reason as `fetch()` does: an `Error` whose message starts with
 * `resumer:`, with a stable {@link code}.
 */
export class ResumerError extends Error {
  /**
   * @param code what went wrong, for programs.
   * @param message what went wrong, for people (prefixed with `resumer: `).
   * @param status the HTTP status that caused it, if any; 0 leaves
   *   {@link status} out.
   * @param options its `cause`, and the exchange that decided it.
   */
  constructor(code: ErrorCode, message: string, status?: number, options?: { cause?: unknown; decidedBy?: Exchange | null });
  /** Always `"ResumerError"`. */
  name: "ResumerError";
  /** What went wrong; see {@link ErrorCode}. */
  code: ErrorCode;
  /**
   * The HTTP status the server answered, for `"http-status"` (404, 403, or
   * the last 5xx/429 after the retries); absent when no status caused the
   * error.
   */
  status?: number;
  /**
   * The request and the answer that decided the failure (its status and
   * headers), as {@link Progress.decidedBy} shows them; null when no
   * answer did (a network failure, a full storage).
   */
  readonly decidedBy: Exchange | null;
  /** The JS exception at the root of it (fetch()'s `TypeError`, an IndexedDB `DOMException`), when there is one. */
  readonly cause?: unknown;
}

// ---------------------------------------------------------------- loading

/** Reports whether this browser has what resumer needs: WebAssembly, IndexedDB, fetch and streams. */
export function isSupported(): boolean;

/** How many downloads run at once unless {@link LoadOptions.maxConcurrent} says otherwise. */
export const DEFAULT_MAX_CONCURRENT: 3;

/** Options of {@link load}. */
export interface LoadOptions {
  /** The IndexedDB database that holds the downloads. Default `"resumer"`. */
  dbName?: string;
  /**
   * How many downloads of this Resumer transfer at once; the others wait in
   * state `"queued"` for a slot. Default {@link DEFAULT_MAX_CONCURRENT}; 0:
   * no limit.
   */
  maxConcurrent?: number;
  /**
   * Where resumer.wasm is, when not next to resumer.js (a bundler rewrites
   * the default). The first `load()` or {@link preload} of a page decides.
   */
  wasmURL?: string | URL;
  /**
   * Where resumer-hash-worker.js is, when not next to resumer.js. On
   * another origin than the page's, it is started through a module of the
   * page's origin that imports it (the file must be served with CORS).
   */
  workerURL?: string | URL;
}

/**
 * Loads resumer (resumer.wasm, from next to resumer.js unless
 * {@link LoadOptions.wasmURL} says otherwise) and opens its IndexedDB
 * database. Importing resumer.js does nothing: the first `load()` fetches
 * and compiles the module. Rejects with a {@link ResumerError}:
 * `"unsupported"` where the browser lacks what resumer needs, `"storage"`
 * when the database cannot be opened.
 */
export function load(options?: LoadOptions): Promise<Resumer>;

/**
 * Starts fetching and compiling resumer.wasm now, for a page whose
 * downloads should resume as soon as it loads; {@link load} takes it up.
 * Resolves once compiled; never rejects (`load()` reports failures).
 */
export function preload(options?: Pick<LoadOptions, "wasmURL">): Promise<void>;

// ---------------------------------------------------------------- options

/** How failed requests are retried (capped exponential backoff with jitter). */
export interface RetryOptions {
  /** The first delay, in milliseconds (at least 10). Default 500. */
  baseMs?: number;
  /** The longest delay, in milliseconds (at most 10 minutes). Default 30000. */
  maxMs?: number;
  /** Failures in a row, with no byte stored between them, that end the download. Default 10. */
  attempts?: number;
  /** The share of each delay that is random, from 0 to 1 (a negative value: none). Default 0.5. */
  jitter?: number;
}

/** Options of {@link Resumer.download}. */
export interface DownloadOptions {
  /**
   * The stable identity of the file when its URL changes (a signed CDN link
   * that expires): stored downloads, `list()`, `remove()`, `cache`,
   * `response()` and the Service Worker address a download by its key.
   * Default: the absolute URL.
   */
  key?: string;
  /**
   * Headers sent with every request (e.g. `Authorization`). They are never
   * written to IndexedDB. `Range` and the conditional headers (`If-Range`,
   * `If-Match`, `If-None-Match`, `If-Modified-Since`,
   * `If-Unmodified-Since`) are refused with `"invalid-argument"`: resumer
   * owns them.
   */
  headers?: Record<string, string> | Headers;
  /** Passed to fetch. Default `"same-origin"`. */
  credentials?: RequestCredentials;
  /**
   * Subresource Integrity of the whole file, e.g. `"sha256-BASE64"`
   * (sha256, sha384 and sha512; of several, space-separated, the strongest
   * supported one counts). The bytes are hashed as they are stored; a
   * mismatch rejects with `"integrity"` and discards them. Without it, a
   * `Repr-Digest` the server sends is checked the same way.
   */
  integrity?: string;
  /** Bytes per range request. Default 8 MiB; from 16 KiB to 1 GiB. */
  chunkSize?: number;
  /** Ranges fetched at once. Default 1; from 1 to 16. A resume fills the holes. */
  connections?: number;
  /**
   * How often a streamed body is stored, in milliseconds (default 500); a
   * body expected to arrive faster is taken whole. A reload or a drop loses
   * at most about this much transfer.
   */
  flushIntervalMs?: number;
  /**
   * A response that sends nothing for this long, in milliseconds, is given
   * up, and the download backs off and resumes. Default 30000; at least 10.
   */
  stallTimeoutMs?: number;
  /** Refuse a larger file with `"too-large"`. Default: no limit. */
  maxBytes?: number;
  /** How failed requests are retried. */
  retry?: RetryOptions;
  /**
   * Gives a fresh link to the file when the server answers 401, 403 or 410:
   * a signed URL (S3, CloudFront, a model hub's CDN) or a token that
   * expired mid-download; and ahead of the expiry a signed link's query
   * states (then `status` is 0, and a failure is no failure: the download
   * goes on with the link it has). The download goes on from its stored bytes, which
   * the validators of the fresh link's answers still decide. Without it,
   * or when it throws, the download fails with `"http-status"` (its bytes
   * kept), as it does after three fresh links in a row refused so.
   */
  refresh?: (expired: Expired) => FreshLink | undefined | Promise<FreshLink | undefined>;
  /**
   * Ends this download as it ends a `fetch()`: on abort, {@link Download.done}
   * rejects with the signal's reason (an `AbortError` `DOMException` by
   * default) and the download stops, its bytes stored and paused; the next
   * `download()` of the URL takes them up. Already aborted: nothing starts.
   * A download joined by several calls is one `Download`: any of their
   * signals ends it for all.
   */
  signal?: AbortSignal;
}

/**
 * What {@link DownloadOptions.refresh} is told: the status (401, 403, 410)
 * with which `url` refused the download, or 0 when no request was refused
 * but the link's query says it expires within 30 s (S3 and Google Cloud
 * `X-Amz-`/`X-Goog-Date` and `-Expires`, CloudFront's `Expires`, Azure's `se`).
 */
export interface Expired {
  readonly status: number;
  readonly url: string;
}

/** A fresh way to a download's file, from {@link DownloadOptions.refresh}. */
export interface FreshLink {
  /** The URL to go on with; omitted, the current one. */
  url?: string | URL;
  /** The headers to send from now on, instead of the current ones (omitted: keep them). */
  headers?: HeadersInit;
}

/** The `resumer` member of {@link ResumerRequestInit}: how {@link Resumer.fetch} downloads. */
export interface FetchResumerOptions extends Omit<DownloadOptions, "signal"> {
  /** Told each progress of the download behind the fetch; an exception in it is reported, not thrown. */
  onprogress?: (progress: Progress) => void;
}

/**
 * The init of {@link Resumer.fetch}: a `RequestInit` (or the `Request`'s own
 * fields), of which resumer reads
 * - `method`: `"GET"` and `"HEAD"` are answered from storage; any other
 *   method goes to the global `fetch()` untouched;
 * - `headers`: a single `Range: bytes=a-b` (with `If-Range`) answers 206
 *   with `Content-Range`, an unsatisfiable one 416; the other conditional
 *   headers are dropped (resumer checks versions itself); the rest are sent
 *   with the download's requests, like {@link DownloadOptions.headers};
 * - `signal`: an abort rejects with its reason and pauses the download,
 *   keeping its bytes for the next call, unless another `fetch()` call
 *   still waits for it or the app started or joined it with `download()`;
 * - `credentials` and `integrity`, as in {@link DownloadOptions};
 * - `resumer`: its own options.
 */
export interface ResumerRequestInit extends RequestInit {
  /** How the file is downloaded: {@link DownloadOptions} and `onprogress`. */
  resumer?: FetchResumerOptions;
}

/** Options of {@link Resumer.response}. */
export interface ResponseOptions {
  /**
   * A `Range` header value, `"bytes=0-99"`: a 206 with `Content-Range`, or
   * 416 when unsatisfiable. Absent or null: the whole file.
   */
  range?: string | null;
  /**
   * An `If-Range` value: the range applies only if it names the stored
   * version (its `ETag` or `Last-Modified`); otherwise the whole file, 200.
   */
  ifRange?: string | null;
  /** `"HEAD"` answers the headers without a body. Default `"GET"`. */
  method?: "GET" | "HEAD";
  /**
   * The request's headers, as the `headers` of `download()`: a private
   * download (see {@link Entry.private}) is answered only to a call with
   * the same credentials, and a call with credentials only from a download
   * made with them.
   */
  headers?: HeadersInit;
  /** The request's credentials mode, as the `credentials` of `download()`. */
  credentials?: RequestCredentials;
}

// ---------------------------------------------------------------- states and codes

/**
 * Where a {@link Download} is in its life:
 * - `"idle"`: created, not started yet;
 * - `"queued"`: waiting for one of the Resumer's `maxConcurrent` slots;
 * - `"running"`: transferring, or waiting to retry (`retryAt`);
 * - `"paused"`: stopped by `pause()`, by the abort of its `signal`, or
 *   by a full storage (`errorCode: "quota-exceeded"`); every stored byte
 *   is kept;
 * - `"locked-elsewhere"`: another tab is writing this download; this one
 *   shows that tab's progress and takes over when it lets go;
 * - `"done"`, `"failed"`, `"canceled"`: ended.
 */
export type DownloadState =
  | "idle"
  | "queued"
  | "running"
  | "paused"
  | "locked-elsewhere"
  | "done"
  | "failed"
  | "canceled";

/**
 * The state of a stored download in {@link Resumer.list}: that of the state
 * machine (a canceled download is not stored), or
 * - `"interrupted"`: it was running when its tab went away;
 * - `"damaged"`: the stored record cannot be trusted; `download()` starts it
 *   over, `remove()` deletes it.
 */
export type EntryState = Exclude<DownloadState, "canceled"> | "interrupted" | "damaged";

/**
 * Why a download is not resumable; `""` when it is.
 * - `"no-validators"`: the server sent neither `ETag` nor `Last-Modified`;
 * - `"weak-etag"`: only a weak `W/"…"` ETag;
 * - `"weak-last-modified"`: no strong ETag, and a `Last-Modified` less than a
 *   second older than `Date`;
 * - `"no-ranges"`: it answered a range request with the whole file;
 * - `"content-encoding"`: it compressed the body;
 * - `"unknown-length"`: it did not say how long the file is;
 * - `"hidden-headers"`: it is on another origin and does not expose the
 *   headers resumer must check;
 * - `"long-validator"`: its `ETag` is longer than 8 KiB.
 */
export type ReasonCode =
  | "no-validators"
  | "weak-etag"
  | "weak-last-modified"
  | "no-ranges"
  | "content-encoding"
  | "unknown-length"
  | "hidden-headers"
  | "long-validator";

/**
 * What kind of thing resumer did on its own (a progress event's
 * `noticeCode`):
 * - `"evicted"`: stored bytes vanished (the browser evicted them to free
 *   space) and are fetched again.
 * - `"other-credentials"`: the stored download was made with other
 *   credentials (another user's private file, or a public file now asked
 *   for with credentials): its bytes are discarded, never joined, and the
 *   file is fetched again.
 */
export type NoticeCode = "evicted" | "other-credentials";

// ---------------------------------------------------------------- reports

/** The counters of a download's progress; all that {@link Download.progress} has before the first event. */
export interface ProgressCounts {
  /** Bytes received: stored plus in flight (a `ProgressEvent`'s `loaded`). */
  readonly loaded: number;
  /** Whether `total` is known (as a `ProgressEvent` says). */
  readonly lengthComputable: boolean;
  /** @deprecated `loaded`'s old name, kept until 0.7. */
  readonly received: number;
  /** Bytes committed to IndexedDB: what survives a reload. */
  readonly stored: number;
  /** The file's length, null while unknown. */
  readonly total: number | null;
  /** The recent transfer rate, in bytes per second. */
  readonly speed: number;
  /** Failed attempts in a row; 0 when all is well. */
  readonly attempt: number;
  /** When the next attempt starts, in milliseconds since the epoch, while waiting to retry; else null. */
  readonly retryAt: number | null;
}

/** Options of {@link Resumer.check}. */
export interface CheckOptions {
  /** The fetch() credentials mode of the requests (default `"same-origin"`). */
  credentials?: RequestCredentials;
  /**
   * The server whose fixes each finding lists first; by default the one
   * that answered, where its `Server` header is readable.
   */
  server?: FixServer;
}

/** The servers a {@link Fix} may be for. */
export type FixServer = "nginx" | "Apache" | "Caddy" | "S3/CloudFront" | "Go" | "Express" | "lighttpd" | "any server";

/** How a finding of a check bears on resuming. */
export type Verdict = "ok" | "warning" | "blocks";

/** What a check found about, for programs. */
export type FindingId =
  | "reachable" | "redirect" | "ranges" | "accept-ranges" | "validators"
  | "if-range" | "if-range-stale" | "if-match" | "compression" | "cors";

/** What to change on one kind of server. */
export interface Fix {
  /** The server it is for. */
  readonly server: FixServer;
  readonly text: string;
}

/** One thing a check found. */
export interface Finding {
  readonly id: FindingId;
  readonly verdict: Verdict;
  /** What was found, in plain words. */
  readonly text: string;
  /** The lines of the requests and answers that show it. */
  readonly proof: readonly string[];
  /** What to change on the server; empty for `"ok"`. */
  readonly fix: readonly Fix[];
}

/** Whether a browser download resumes. */
export type BrowserVerdict = "resumable" | "resumable same-origin only" | "not resumable" | "could not check";

/** What {@link Resumer.check} concludes. */
export interface CheckReport {
  /** The URL checked, and where its answers came from after redirects. */
  readonly url: string;
  readonly finalURL: string;
  readonly findings: readonly Finding[];
  /** The verdict for a download from this page, and why. */
  readonly browser: BrowserVerdict;
  readonly browserText: string;
  /** Whether iOS URLSession would produce resume data for the URL, and why. */
  readonly ios: boolean;
  readonly iosText: string;
  /** The server whose fixes each finding lists first; `""` when unknown (then those for any server come first). */
  readonly server: FixServer | "";
}

/** One header line, its name as RFC 9110 spells it and its value as sent. */
export interface HeaderLine {
  readonly name: string;
  /** The value; one over 256 bytes is cut and ends with its real length, e.g. `"… (9000 bytes)"`. */
  readonly value: string;
}

/**
 * The request and the answer that decided whether a download resumes: the
 * proof behind `resumable` and `reason`, as the lines were, to show a
 * person (the demo's details panel shows it).
 */
export interface Exchange {
  /** The answer's status code (206 when ranges work). */
  readonly status: number;
  /** Where the answer came from, after redirects; `""` if unknown. */
  readonly url: string;
  /**
   * True for a CORS answer: a header in {@link missing} may be one the
   * server did not expose (`Access-Control-Expose-Headers`).
   */
  readonly crossOrigin: boolean;
  /** The `Range` and `If-Range` sent; empty for a request without `Range`. */
  readonly request: readonly HeaderLine[];
  /**
   * The deciding response headers present, in this order: `Accept-Ranges`,
   * `Content-Range`, `Content-Length`, `Content-Encoding`, `Content-Type`,
   * `ETag`, `Last-Modified`, `Date`, `Repr-Digest`, `Content-Digest`.
   */
  readonly response: readonly HeaderLine[];
  /** Those of the headers above that the answer did not carry (or let the page read). */
  readonly missing: readonly string[];
}

/** What a `"progress"` or `"statechange"` event says of a download. */
export interface Progress extends ProgressCounts {
  /** The state the download is in. */
  readonly state: DownloadState;
  /** The error that caused the wait or pause (e.g. `"quota-exceeded"`), `""` if none. */
  readonly errorCode: ErrorCode | "";
  /** Its message, `""` if none. */
  readonly errorMessage: string;
  /** The server's `ETag`, exactly as sent, once it said it (`""` if none). */
  readonly etag: string;
  /** The server's `Last-Modified`, exactly as sent (`""` if none). */
  readonly lastModified: string;
  /** Whether an interruption can resume from the stored bytes. */
  readonly resumable: boolean;
  /** Why it is not resumable, in plain words; `""` if it is. */
  readonly reason: string;
  /** Why it is not resumable, for programs; `""` if it is. */
  readonly reasonCode: ReasonCode | "";
  /**
   * The last thing resumer did on its own that a person may want to know
   * (stored data it repaired or discarded, a CORS fallback); `""` if none.
   */
  readonly notice: string;
  /** The kind of {@link notice}, for programs; `""` when it has none. */
  readonly noticeCode: NoticeCode | "";
  /** The request and answer that decided {@link resumable}; null until the server answered. */
  readonly decidedBy: Exchange | null;
  /**
   * Whether the download is private (made with credentials, see
   * {@link Entry.private}): its file is answered only to calls with them.
   */
  readonly private: boolean;
  /**
   * In state `"locked-elsewhere"`: the state of the download in the tab
   * that writes it, whose progress this event relays.
   */
  readonly elsewhere?: DownloadState;
}

/** What a finished download measured of itself. */
export interface DownloadStats {
  /** HTTP requests sent. */
  readonly requests: number;
  /** Pieces stored, one IndexedDB transaction each. */
  readonly commits: number;
  /** Time spent waiting for those transactions to commit, in milliseconds (they overlap when written in parallel). */
  readonly commitMs: number;
  /** Bodies taken whole (`Response.blob()`). */
  readonly whole: number;
  /** Bodies streamed and stored piece by piece. */
  readonly streamed: number;
  /** Time from the start to the first request (reading what is stored), in milliseconds. */
  readonly setupMs: number;
  /** Time from the last byte stored to the result (checking and joining the pieces), in milliseconds. */
  readonly finishMs: number;
  /** Time the integrity check spent hashing (reading stored bytes and hashing them, in a Worker), in milliseconds; it overlaps the transfer. `0` without a digest. */
  readonly hashMs: number;
  /** Time the download's state machine spent deciding (pure Go on the page's thread), in milliseconds. */
  readonly stepMs: number;
}

/** What {@link Download.done} resolves with. */
export interface Result {
  /**
   * The whole file, checked piece by piece against the server's validators:
   * the stored pieces, not copied. Where a media element cannot seek in a
   * Blob of stored pieces (Firefox), a file that looks like audio or video
   * is a copy the browser keeps in a temporary file, so that a `<video>` can
   * seek in it.
   */
  readonly blob: Blob;
  /** Its length in bytes. */
  readonly size: number;
  /** The URL it was downloaded from (after redirects). */
  readonly url: string;
  /** Its identity: the `key` option, or the absolute URL. */
  readonly key: string;
  /**
   * Whether the bytes matched a digest: the `integrity` option, or the
   * server's `Repr-Digest`.
   */
  readonly verified: boolean;
  /** The server's `Content-Type`. */
  readonly contentType: string;
  /** The server's `ETag`, `""` if none. */
  readonly etag: string;
  /** The server's `Last-Modified`, `""` if none. */
  readonly lastModified: string;
  /** Whether the download could have been resumed. */
  readonly resumable: boolean;
  /** Why not, in plain words; `""` if it could. */
  readonly reason: string;
  /** Why not, for programs; `""` if it could. */
  readonly reasonCode: ReasonCode | "";
  /** How often stored bytes were discarded because the file changed on the server. */
  readonly restarts: number;
  /** Counts and timings of the download. */
  readonly stats: DownloadStats;
}

/** A stored download, as {@link Resumer.list} reports it. */
export interface Entry {
  /** Its identity: the `key` option, or the absolute URL. */
  readonly key: string;
  /** The absolute URL it was last downloaded from. */
  readonly url: string;
  /** The file's length, null while unknown. */
  readonly size: number | null;
  /** Bytes stored. */
  readonly received: number;
  /** Where it is. */
  readonly state: EntryState;
  /** The server's `ETag`, `""` if none. */
  readonly etag: string;
  /** The server's `Last-Modified`, `""` if none. */
  readonly lastModified: string;
  /** The server's `Content-Type`, `""` until known. */
  readonly contentType: string;
  /** Whether it can resume from the stored bytes. */
  readonly resumable: boolean;
  /** Why not, in plain words; `""` if it can. */
  readonly reason: string;
  /** Why not, for programs; `""` if it can. */
  readonly reasonCode: ReasonCode | "";
  /** How often stored bytes were discarded because the file changed on the server. */
  readonly restarts: number;
  /** The error it failed or paused with, `""` if none. */
  readonly errorCode: ErrorCode | "";
  /** Its message, `""` if none. */
  readonly errorMessage: string;
  /** The request and answer that decided {@link resumable}; null until the server answered. */
  readonly decidedBy: Exchange | null;
  /** When it was created, in milliseconds since the epoch. */
  readonly created: number;
  /** When it was last written, in milliseconds since the epoch. */
  readonly updated: number;
  /**
   * Whether stored bytes the record counted are gone (the browser evicted
   * them): the next `download()` fetches them again.
   */
  readonly evicted: boolean;
  /** Whether the finished file's bytes matched a digest. */
  readonly verified: boolean;
  /**
   * Whether it is private: made with `headers` (other than `Accept`,
   * `Accept-Language`, `Content-Language`, `User-Agent`, `Cache-Control`,
   * `Pragma`) or `credentials: "include"`. A private download is answered
   * from storage only to a call with the same credentials (compared through
   * a keyed hash; they are never stored), never by the Service Worker or
   * {@link Resumer.cache}. Cookies cannot be seen: with `"include"`, any call
   * that says `"include"` is answered. Call {@link Resumer.clear} when a user
   * logs out.
   */
  readonly private: boolean;
}

/** What {@link Resumer.usage} reports. */
export interface Usage {
  /** Bytes resumer stores in this database. */
  readonly stored: number;
  /** Downloads stored in it. */
  readonly downloads: number;
  /** This origin's storage use (`navigator.storage.estimate()`), null where the browser does not say. */
  readonly usage: number | null;
  /** This origin's quota, null where the browser does not say. */
  readonly quota: number | null;
}

// ---------------------------------------------------------------- Resumer

/**
 * Cache-API-shaped access to the finished downloads of a {@link Resumer}
 * (for `env.customCache` of transformers.js, and the like). A request is
 * matched by its URL, which is a download's key or URL.
 */
export interface ResumerCache {
  /**
   * The finished download as a Response; a `Range` header on a `Request`
   * answers 206 (or 416). Undefined if none is stored, it is not finished,
   * or it is private.
   */
  match(request: RequestInfo | URL): Promise<Response | undefined>;
  /**
   * Stores `response.blob()` as a finished download under the request's
   * absolute URL, with the response's `Content-Type`, `ETag` and
   * `Last-Modified`. Rejects with a `TypeError` for a response that is not
   * a 200, as the Cache API does.
   */
  put(request: RequestInfo | URL, response: Response): Promise<void>;
  /**
   * Deletes the download whose key, or whose URL as {@link keys} gives it,
   * is the request's; resolves false if there was none. Rejects with
   * `"locked-elsewhere"` if another tab is writing it.
   */
  delete(request: RequestInfo | URL): Promise<boolean>;
  /** Requests for every finished download but the private ones. */
  keys(): Promise<Request[]>;
}

/** A resumer bound to one IndexedDB database. Create it with {@link load}. */
export class Resumer {
  private constructor();

  /** The IndexedDB database's name. */
  readonly dbName: string;

  /**
   * Where digests (integrity, a server's Repr-Digest) are computed:
   * `"worker"`, off the page's thread, or `"page"` where no worker could
   * start (no module workers, a Content-Security-Policy without
   * worker-src, a copy of resumer on an origin that does not allow it).
   */
  readonly hashing: "worker" | "page";

  /**
   * How many downloads transfer at once; the others wait in state
   * `"queued"`. 0: no limit. Set from {@link LoadOptions.maxConcurrent}; a
   * new value applies at once.
   */
  maxConcurrent: number;

  /**
   * Whether this origin's storage is persistent now
   * (`navigator.storage.persisted()`), without asking the user; false where
   * the browser cannot tell. (Before 0.6, a property holding
   * {@link persist}'s promise.)
   */
  persisted(): Promise<boolean>;

  /**
   * Starts, or resumes, the download of url. A download with stored bytes
   * (same key) resumes from them, also after a reload or a browser restart;
   * one of the same key already running in this page is returned, resumed
   * and pointed at this URL. A bad URL or option gives a Download that fails
   * with `"invalid-argument"`.
   */
  download(url: string | URL, options?: DownloadOptions): Download;

  /** Every stored download. */
  list(): Promise<Entry[]>;

  /**
   * The stored download of `key` (a download's key: its absolute URL unless
   * it was given one), or undefined.
   */
  get(key: string | URL): Promise<Entry | undefined>;

  /**
   * Deletes a download and its stored bytes, canceling it if it runs here.
   * Rejects with `"locked-elsewhere"` if another tab is writing it.
   */
  remove(keyOrUrl: string | URL): Promise<void>;

  /**
   * A drop-in `fetch` for big files: downloads (or resumes) the whole file
   * through resumer, then answers from storage: 200 with `Content-Length`,
   * `Content-Type`, `ETag`, `Last-Modified` and `Accept-Ranges: bytes`, the
   * body being the stored Blob (never one big ArrayBuffer). A file already
   * stored is answered without the network.
   *
   * It fails as `fetch` fails: until a byte is stored, a server's answer
   * that is not a success (404, 500, …) is the Response it resolves with,
   * unread, and a network failure rejects with a `TypeError`. Once bytes
   * are stored, failures are retried as the options say; a final one
   * rejects with a {@link FetchFailure} (a `TypeError` whose `cause` is
   * the {@link ResumerError}), a pause with an `AbortError` of code
   * `"paused"`, an abort with the signal's reason.
   *
   * It is bound to its Resumer: hand it to a library as a plain function,
   * `env.fetch = resumer.fetch`.
   */
  fetch(input: RequestInfo | URL, init?: ResumerRequestInit): Promise<Response>;

  /**
   * A stored, finished download as a Response (what the Service Worker and
   * {@link cache} answer with); undefined if none is stored under that key or
   * URL, it is not finished, or it is private and `options` do not bring its
   * credentials.
   */
  response(keyOrUrl: string | URL, options?: ResponseOptions): Promise<Response | undefined>;

  /** The finished downloads through the Cache API's shape. */
  readonly cache: ResumerCache;

  /**
   * Checks whether downloads of `url` can resume from this page's origin,
   * with a few small requests (`HEAD`; `Range: bytes=0-0`; a range in the
   * middle, alone, with `If-Range` naming the server's version and with a
   * stale one; `If-Match`), never reading a body. The rules are the ones
   * downloads follow, and `go run ./serve check` in a terminal.
   */
  check(url: string | URL, options?: CheckOptions): Promise<CheckReport>;

  /** How much is stored. */
  usage(): Promise<Usage>;

  /**
   * Removes every download; running ones are canceled (their `done` rejects
   * with `"aborted"`). Rejects with `"locked-elsewhere"` if another tab
   * writes one, after removing the rest.
   */
  clear(): Promise<void>;

  /**
   * Asks for persistent storage (`navigator.storage.persist()`, asked once
   * per Resumer, and at the first download, so that a browser that prompts
   * does so when the user acts); resolves to whether the browser granted it,
   * false where it cannot. Firefox leaves it pending until the user answers.
   */
  persist(): Promise<boolean>;

  /** Pauses every download of this Resumer. */
  pauseAll(): void;
}

// ---------------------------------------------------------------- Download and its events

/** The event a {@link Download} dispatches; it carries the fields of its detail. */
export class DownloadEvent extends Event {
  /** @param detail copied onto the event. */
  constructor(type: string, detail: object);
}

/** A `"progress"` or `"statechange"` event. */
export interface DownloadProgressEvent extends DownloadEvent, Progress {}

/** The `"done"` event: it carries the {@link Result}. */
export interface DownloadDoneEvent extends DownloadEvent, Result {}

/** The `"error"` event. */
export interface DownloadErrorEvent extends DownloadEvent {
  /**
   * Why the download failed; `done` rejects with it too. After the abort
   * of the `signal` option, the signal's reason (an `AbortError`
   * `DOMException` by default), as `fetch()` rejects: typed as the
   * ResumerError it is in every other case.
   */
  readonly error: ResumerError;
}

/** The events of a {@link Download}, by type. */
export interface DownloadEventMap {
  /** More bytes, a retry, a notice: at most every 100 ms unless something else changed. */
  progress: DownloadProgressEvent;
  /** The state changed (dispatched before the `"progress"` event that carries it). */
  statechange: DownloadProgressEvent;
  /** The download finished. */
  done: DownloadDoneEvent;
  /** The download failed, was canceled, or its `signal` aborted. */
  error: DownloadErrorEvent;
}

/** One download. Get it from {@link Resumer.download}. */
export class Download extends EventTarget {
  private constructor();

  /** The absolute URL. */
  readonly url: string;
  /** Its identity: the `key` option, or the absolute URL. */
  readonly key: string;
  /** Where the download is; see {@link DownloadState}. */
  readonly state: DownloadState;
  /** The latest progress event's fields; only the counters before the first. */
  readonly progress: ProgressCounts | Progress;
  /** Called with each `"progress"` event, like `addEventListener("progress", …)`. */
  onprogress: ((this: Download, ev: DownloadProgressEvent) => unknown) | null;
  /**
   * Resolves with the {@link Result}; rejects with a {@link ResumerError}
   * (`"aborted"` after `cancel()`), or with the reason of the `signal`
   * option's abort. A rejection nobody awaits is not
   * reported as unhandled: it is also an `"error"` event.
   */
  readonly done: Promise<Result>;

  /** Stops the transfer, keeping every byte received so far. */
  pause(): void;
  /** Continues a paused download. */
  resume(): void;
  /** Stops the download and deletes its stored bytes; `done` rejects with `"aborted"`. */
  cancel(): void;

  addEventListener<K extends keyof DownloadEventMap>(
    type: K,
    listener: (this: Download, ev: DownloadEventMap[K]) => unknown,
    options?: boolean | AddEventListenerOptions,
  ): void;
  addEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | AddEventListenerOptions,
  ): void;
  removeEventListener<K extends keyof DownloadEventMap>(
    type: K,
    listener: (this: Download, ev: DownloadEventMap[K]) => unknown,
    options?: boolean | EventListenerOptions,
  ): void;
  removeEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | EventListenerOptions,
  ): void;
}
