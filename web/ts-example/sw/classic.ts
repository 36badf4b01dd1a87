/// <reference path="../../resumer-sw-classic.d.ts" />
// A classic Service Worker, as Workbox builds one, that lets resumer answer
// the requests for stored downloads through a Workbox route: written
// against ../../resumer-sw-classic.d.ts and checked by `make typecheck`
// (never run; serve/e2e's TestServiceWorkerClassic runs the real thing).

// What this file uses of workbox-sw's global (workbox-routing's
// registerRoute, with a function to match and one to handle).
declare const workbox: {
  routing: {
    registerRoute(
      match: (context: { request: Request }) => boolean,
      handler: (context: { request: Request }) => Promise<Response>,
    ): void;
  };
};

importScripts("/resumer-sw-classic.js");
resumerSW.configure({ dbName: "resumer", passive: true, wasmURL: "/resumer.wasm" });
workbox.routing.registerRoute(resumerSW.route.match, resumerSW.route.handler);

// @ts-expect-error: configure takes options, not the database's name
resumerSW.configure("resumer");
