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
//   const yours = (req) => caches.match(req).then((r) => r ?? fetch(req)); // the app's own
//   self.addEventListener("fetch", (e) => { if (!handle(e, yours)) e.respondWith(yours(e.request)); });

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
 * `resumer.response(url, {range, ifRange, method})`; anything else is left
 * to the caller.
 *
 * Until the worker has read which downloads are finished (just after it
 * starts, each time the browser wakes it), it cannot tell at once, so it
 * takes every GET and HEAD and answers those that are not stored with
 * `otherwise(request)`: pass the app's own handling there, or such a
 * request skips it. The default is `fetch`, the network.
 * @param otherwise answers a request `handle` took that is not stored.
 * @returns true when it called `event.respondWith`; false when it left the
 *   request to the caller.
 */
export function handle(event: ResumerFetchEvent, otherwise?: (request: Request) => Response | Promise<Response>): boolean;

/** What {@link configure} takes. */
export interface SWOptions {
  /** The IndexedDB database, as the page's `load({dbName})`. Default `"resumer"`, or the script URL's `?db=`. */
  dbName?: string;
  /** Where `resumer.wasm` is. Default: next to this script (the script URL's `?wasm=` when given). */
  wasmURL?: string | URL;
  /**
   * Adds no listener of its own (the script URL's `?passive`): the app routes
   * requests, with {@link handle} or {@link route}. Set from a classic
   * worker's script as it runs, it turns the listeners already added into
   * no-ops.
   */
  passive?: boolean;
  /** How a request the worker took and does not hold is answered. Default `fetch`. */
  otherwise?: (request: Request) => Response | Promise<Response>;
}

/**
 * Sets what the script's URL would say (`?db=`, `?wasm=`, `?passive`): for a
 * classic worker that loads `resumer-sw-classic.js` with `importScripts`, or
 * a module imported without a query. Call it as the worker's script runs,
 * before any request.
 */
export function configure(options: SWOptions): void;

/** The argument Workbox hands a route's `match` and `handler`. */
export interface WorkboxRouteContext {
  readonly request: Request;
}

/**
 * A Workbox route that serves finished downloads from storage, `Range`
 * answered 206: `workbox.routing.registerRoute(route.match, route.handler)`.
 * `match` is synchronous, as Workbox wants it; a request it took and does
 * not hold (only until the worker has read which downloads are finished)
 * is answered by {@link SWOptions.otherwise}. Register it before routes that
 * take the same URLs.
 */
export const route: {
  readonly match: (context: WorkboxRouteContext) => boolean;
  readonly handler: (context: WorkboxRouteContext) => Promise<Response>;
};
