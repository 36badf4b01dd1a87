// An app's own module Service Worker that lets resumer answer the requests
// for stored downloads, written against ../../resumer-sw.d.ts and checked by
// `make typecheck` against lib "webworker" (never run). Registered with
// navigator.serviceWorker.register("/sw.js", { type: "module" }).

// The app imports "/resumer-sw.js?passive" (no listeners of its own); the
// compiler resolves the file without the query.
import { handle } from "../../resumer-sw.js";
import { load } from "../../resumer.js";

declare const self: ServiceWorkerGlobalScope;

self.addEventListener("fetch", (event) => {
  if (handle(event)) return; // a finished download: answered from IndexedDB
  const url = new URL(event.request.url);
  if (url.pathname === "/stored-size") {
    event.respondWith(storedSize());
  }
});

// A worker can use the page's API too: here, to report what is stored.
async function storedSize(): Promise<Response> {
  const resumer = await load();
  const { stored, downloads } = await resumer.usage();
  return Response.json({ stored, downloads });
}

// @ts-expect-error: handle takes the event, not its request
self.addEventListener("fetch", (event) => handle(event.request));
