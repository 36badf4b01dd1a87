// A classic Service Worker, as Workbox builds them (importScripts, no
// modules), that lets resumer answer the requests for stored downloads:
// one Workbox route, registered before the app's others.
importScripts("./wb/workbox-sw.js");
workbox.setConfig({ modulePathPrefix: "./wb/", debug: false });

importScripts("./resumer/resumer-sw-classic.js");
resumerSW.configure({
  // The page's load({dbName}); this app passes it in the worker's URL.
  dbName: new URL(self.location.href).searchParams.get("db") || "resumer",
  wasmURL: new URL("./resumer/resumer.wasm", self.location.href),
  passive: true, // Workbox routes the requests
});
workbox.routing.registerRoute(resumerSW.route.match, resumerSW.route.handler);
// The app's other routes would follow here.

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));
