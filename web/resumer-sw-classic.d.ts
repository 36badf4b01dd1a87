// Type declarations for resumer-sw-classic.js: resumer-sw.js linked into one
// classic script, for a classic Service Worker (what Workbox builds), which
// loads it with importScripts. It sets one global, resumerSW, holding the
// exports of resumer-sw.js:
//
//   importScripts("/resumer-sw-classic.js");
//   resumerSW.configure({ dbName: "resumer", passive: true });
//   workbox.routing.registerRoute(resumerSW.route.match, resumerSW.route.handler);
//
// Registered itself as the worker script, it answers by itself, as
// resumer-sw.js does: register("/resumer-sw-classic.js?db=resumer").

import type * as sw from "./resumer-sw.js";

declare global {
  /** The exports of resumer-sw.js. */
  var resumerSW: typeof sw;
}

export {};
