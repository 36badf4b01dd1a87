// resumer-hash-worker.js — the Worker in which resumer.js hashes a
// download's pieces (resumer-digest.js, hash-wasm), off the page's thread.
// Each message is one piece: {id, alg, state, blob} → {id, state, sum} or
// {id, error}; the worker keeps nothing between messages.
import { hashBlob } from "./resumer-digest.js";

self.onmessage = async (ev) => {
  const { id, alg, state, blob } = ev.data || {};
  try {
    const r = await hashBlob(alg, state, blob);
    self.postMessage({ id, state: r.state, sum: r.sum }, [r.state.buffer, r.sum.buffer]);
  } catch (e) {
    self.postMessage({ id, error: { name: (e && e.name) || "Error", message: String((e && e.message) || e) } });
  }
};

// Ready: the module and what it imports are loaded (resumer.js's load()
// reports where hashing runs).
self.postMessage({ ready: true });
