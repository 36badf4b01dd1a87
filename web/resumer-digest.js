// resumer-digest.js — hashes the pieces of a download for resumer's
// integrity check (a Repr-Digest the server states, or the app's
// integrity option): SHA-256, SHA-384 and SHA-512 from hash-wasm
// (hash-wasm.js, WebAssembly), whose state is saved after each piece and
// taken up for the next, so that a resume after a reload hashes only what
// is new. resumer.js runs this in a Worker (resumer-hash-worker.js) where
// one can start, never on the page's thread where a Worker can start.
//
// A saved state crosses as bytes: "rhw1", the algorithm (1 byte: 1
// sha-256, 2 sha-384, 3 sha-512), the length of hash-wasm's version and
// the version (ASCII), then what hash-wasm's save() returned. hash-wasm's
// state is its own release's (its save() prefixes a fingerprint of its
// WebAssembly, and SHA-384's state reads as SHA-512's), so a state of
// another version, another algorithm or another format, such as the
// "rjs1" of resumer 0.5's hand-written SHA-256, is refused with a
// TypeError: resumer then hashes the stored bytes again from the start
// rather than trust it.
import { createSHA256, createSHA384, createSHA512, version } from "./hash-wasm.js";

const ALGS = new Map([
  ["sha-256", { code: 1, create: createSHA256 }],
  ["sha-384", { code: 2, create: createSHA384 }],
  ["sha-512", { code: 3, create: createSHA512 }],
]);
const MAGIC = [0x72, 0x68, 0x77, 0x31]; // "rhw1"
const VERSION = new TextEncoder().encode(version);

/** The state as bytes: the envelope above around hash-wasm's saved state. */
function encodeState(code, saved) {
  const out = new Uint8Array(MAGIC.length + 2 + VERSION.length + saved.length);
  out.set(MAGIC, 0);
  out[4] = code;
  out[5] = VERSION.length;
  out.set(VERSION, 6);
  out.set(saved, 6 + VERSION.length);
  return out;
}

/** hash-wasm's saved state in bytes, or a TypeError saying why it is not one of this release's for alg. */
function decodeState(alg, code, bytes) {
  const b = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  if (b.length < 6 || MAGIC.some((m, i) => b[i] !== m)) {
    throw new TypeError(`not a saved ${alg} state of resumer-digest.js (another format, such as resumer 0.5's)`);
  }
  if (b[4] !== code) throw new TypeError(`a saved state of another algorithm than ${alg}`);
  const v = b.subarray(6, 6 + b[5]);
  if (v.length !== VERSION.length || v.some((c, i) => c !== VERSION[i])) {
    throw new TypeError(`a saved ${alg} state of hash-wasm ${new TextDecoder().decode(v)}, not ${version}`);
  }
  return b.subarray(6 + b[5]);
}

// The most bytes read from a Blob at once: the next step is read while
// this one is hashed.
const STEP = 4 << 20;

/**
 * Hashes blob with alg ("sha-256", "sha-384" or "sha-512") on from state
 * (bytes this function returned, or null for a new hash) and returns the
 * state after it and the digest so far. blob may be null: then only the
 * digest of state is computed. A state it cannot take up rejects with a
 * TypeError; an algorithm it does not know, with a RangeError.
 * @param {string} alg
 * @param {Uint8Array | null} state
 * @param {Blob | null} blob
 * @returns {Promise<{state: Uint8Array, sum: Uint8Array}>}
 */
export async function hashBlob(alg, state, blob) {
  const a = ALGS.get(alg);
  if (!a) throw new RangeError(`resumer-digest.js: no hash ${JSON.stringify(alg)} (sha-256, sha-384, sha-512)`);
  const h = await a.create();
  if (state && state.length) {
    const saved = decodeState(alg, a.code, state);
    try {
      h.load(saved);
    } catch (e) {
      throw new TypeError(`a saved ${alg} state hash-wasm ${version} cannot take up: ${(e && e.message) || e}`);
    }
  }
  const size = blob ? blob.size : 0;
  const read = (off) => {
    const end = Math.min(off + STEP, size);
    return blob.slice(off, end).arrayBuffer().then((buf) => {
      // A Blob read short would hash other bytes than were stored.
      if (buf.byteLength !== end - off) throw new Error(`read ${buf.byteLength} bytes of ${end - off} at ${off}`);
      return buf;
    });
  };
  let next = size > 0 ? read(0) : null;
  try {
    for (let off = 0; off < size; ) {
      const buf = await next;
      off += buf.byteLength;
      next = off < size ? read(off) : null;
      h.update(new Uint8Array(buf));
    }
  } finally {
    // Given up on (an error): the read ahead must not reject unheard.
    if (next) next.catch(() => {});
  }
  const out = encodeState(a.code, h.save());
  return { state: out, sum: h.digest("binary") };
}
