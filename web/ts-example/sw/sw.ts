// An app's own module Service Worker that lets resumer answer the requests
// for stored downloads, written against ../../resumer-sw.d.ts and checked by
// `make typecheck` against lib "webworker" (never run). Registered with
// navigator.serviceWorker.register("/sw.js", { type: "module" }).

// The app imports "/resumer-sw.js?passive" (no listeners of its own); the
// compiler resolves the file without the query.
import { handle } from "../../resumer-sw.js";
import { load } from "../../resumer.js";

declare const self: ServiceWorkerGlobalScope;

// The app's own handling: its routes, then its cache, then the network.
async function mine(request: Request): Promise<Response> {
  if (new URL(request.url).pathname === "/stored-size") return storedSize();
  return (await caches.match(request)) ?? fetch(request);
}

self.addEventListener("fetch", (event) => {
  // A finished download is answered from IndexedDB; a request the worker
  // takes before it knows what is stored, and that is not, goes to mine.
  if (!handle(event, mine)) event.respondWith(mine(event.request));
});

// A worker can use the page's API too: here, to report what is stored.
async function storedSize(): Promise<Response> {
  const resumer = await load();
  const { stored, downloads } = await resumer.usage();
  return Response.json({ stored, downloads });
}

// @ts-expect-error: handle takes the event, not its request
self.addEventListener("fetch", (event) => handle(event.request));
// @ts-expect-error: otherwise answers with a Response, not a URL
self.addEventListener("fetch", (event) => handle(event, (req: Request) => req.url));
