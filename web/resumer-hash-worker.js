// resumer-hash-worker.js — the Worker in which resumer.js hashes a
// download's pieces (resumer-digest.js, hash-wasm), off the page's thread.
// Each message is one piece: {id, alg, state, blob} → {id, state, sum} or
// {id, error}; the worker keeps nothing between messages.
import { hashBlob } from "./resumer-digest.js";

// Ready once hash-wasm runs here: a worker that cannot run WebAssembly (a
// Content-Security-Policy of its own without 'wasm-unsafe-eval', no
// memory) says so, and resumer.js hashes on the page's thread instead,
// the pieces sent meanwhile too: they are left unanswered here.
const ready = hashBlob("sha-256", null, null).then(
  () => true,
  () => false,
);

self.onmessage = async (ev) => {
  if (!(await ready)) return;
  const { id, alg, state, blob } = ev.data || {};
  try {
    const r = await hashBlob(alg, state, blob);
    self.postMessage({ id, state: r.state, sum: r.sum }, [r.state.buffer, r.sum.buffer]);
  } catch (e) {
    self.postMessage({ id, error: { name: (e && e.name) || "Error", message: String((e && e.message) || e) } });
  }
};

// resumer.js's load() reports where hashing runs.
ready.then((ok) => self.postMessage(ok ? { ready: true } : { ready: false }));
