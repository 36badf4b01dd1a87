// Type declarations for resumer-sw.js, resumer's Service Worker module: it
// serves finished downloads as ordinary URLs (Range requests answered 206).
//
// Registered as the worker script, it answers by itself: loaded so, it adds
// its own "install", "activate" and "fetch" listeners (and claims the pages
// at once). ?db= names the database, as the page's load({dbName}) does:
//
//   navigator.serviceWorker.register("/resumer-sw.js?db=resumer", { type: "module" });
//
// Imported with ?passive by an app's own module worker, it adds no listener
// and leaves the requests to the app:
//
//   import { handle } from "/resumer-sw.js?passive";
//   self.addEventListener("fetch", (e) => { if (!handle(e)) { /* the app's own routes */ } });

/**
 * The part of a Service Worker's `FetchEvent` that {@link handle} uses. A
 * `FetchEvent` (lib "webworker") is one; declared here so that these
 * declarations also load in a program compiled against lib "dom".
 */
export interface ResumerFetchEvent {
  /** The request the page made. */
  readonly request: Request;
  /** Answers the request instead of the network. */
  respondWith(r: Response | PromiseLike<Response>): void;
}

/**
 * Serves a request from resumer's storage when it can: a GET or HEAD whose
 * URL is the key of a finished download (the URL it was started with, or
 * its `key` option when that is a URL) is answered with
 * `resumer.response(url, {range, ifRange, method})`; anything else goes to
 * the network untouched.
 * @returns true when it called `event.respondWith` (it answers the request,
 *   from the network if the download turns out to be gone); false when it
 *   left the request to other listeners and the network.
 */
export function handle(event: ResumerFetchEvent): boolean;
