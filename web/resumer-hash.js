// resumer-hash.js — SHA-256 (FIPS 180-4) whose state can be saved and
// taken up again, for checking a download's bytes as they are stored. The
// Web Crypto API cannot hash in parts, and hashing in Go's WebAssembly
// runs at a fraction of this speed on the page's only thread; resumer.js
// runs this in a Worker (resumer-hash-worker.js) where it can.
//
// The state crosses as bytes (see encode): "rjs1", the eight 32-bit words,
// the count of bytes hashed (8 bytes, big-endian), and the bytes of the
// block not yet complete.

const K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

const INIT = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];
const MAGIC = [0x72, 0x6a, 0x73, 0x31]; // "rjs1"

/** A SHA-256 in progress. */
export class SHA256 {
  constructor() {
    this.h = new Int32Array(INIT);
    this.block = new Uint8Array(64);
    this.fill = 0; // bytes in block
    this.length = 0; // bytes hashed, a Number (exact to 2^53)
    this.w = new Int32Array(64);
  }

  /** Adds bytes (a Uint8Array). */
  update(data) {
    let i = 0;
    const n = data.length;
    this.length += n;
    if (this.fill > 0) {
      const take = Math.min(64 - this.fill, n);
      this.block.set(data.subarray(0, take), this.fill);
      this.fill += take;
      i = take;
      if (this.fill < 64) return this;
      this.#compress(this.block, 0);
      this.fill = 0;
    }
    for (; i + 64 <= n; i += 64) this.#compress(data, i);
    if (i < n) {
      this.block.set(data.subarray(i), 0);
      this.fill = n - i;
    }
    return this;
  }

  // One 64-byte block of bytes at off (FIPS 180-4 §6.2.2).
  #compress(bytes, off) {
    const w = this.w;
    for (let t = 0, j = off; t < 16; t++, j += 4) {
      w[t] = (bytes[j] << 24) | (bytes[j + 1] << 16) | (bytes[j + 2] << 8) | bytes[j + 3];
    }
    for (let t = 16; t < 64; t++) {
      const a = w[t - 15];
      const b = w[t - 2];
      const s0 = ((a >>> 7) | (a << 25)) ^ ((a >>> 18) | (a << 14)) ^ (a >>> 3);
      const s1 = ((b >>> 17) | (b << 15)) ^ ((b >>> 19) | (b << 13)) ^ (b >>> 10);
      w[t] = (w[t - 16] + s0 + w[t - 7] + s1) | 0;
    }
    const h = this.h;
    let a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
    for (let t = 0; t < 64; t++) {
      const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
      const ch = (e & f) ^ (~e & g);
      const t1 = (k + S1 + ch + K[t] + w[t]) | 0;
      const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
      const maj = (a & b) ^ (a & c) ^ (b & c);
      const t2 = (S0 + maj) | 0;
      k = g;
      g = f;
      f = e;
      e = (d + t1) | 0;
      d = c;
      c = b;
      b = a;
      a = (t1 + t2) | 0;
    }
    h[0] = (h[0] + a) | 0;
    h[1] = (h[1] + b) | 0;
    h[2] = (h[2] + c) | 0;
    h[3] = (h[3] + d) | 0;
    h[4] = (h[4] + e) | 0;
    h[5] = (h[5] + f) | 0;
    h[6] = (h[6] + g) | 0;
    h[7] = (h[7] + k) | 0;
  }

  /** Returns the digest of what was added so far (32 bytes); the hash goes on unchanged. */
  sum() {
    const copy = SHA256.decode(this.encode());
    const pad = new Uint8Array(((copy.fill < 56 ? 56 : 120) - copy.fill) + 8);
    pad[0] = 0x80;
    const bits = copy.length * 8;
    const v = new DataView(pad.buffer);
    v.setUint32(pad.length - 8, Math.floor(bits / 2 ** 32));
    v.setUint32(pad.length - 4, bits >>> 0);
    copy.update(pad);
    const out = new Uint8Array(32);
    const ov = new DataView(out.buffer);
    for (let i = 0; i < 8; i++) ov.setInt32(4 * i, copy.h[i]);
    return out;
  }

  /** The state as bytes, for decode. */
  encode() {
    const out = new Uint8Array(4 + 32 + 8 + this.fill);
    out.set(MAGIC, 0);
    const v = new DataView(out.buffer);
    for (let i = 0; i < 8; i++) v.setInt32(4 + 4 * i, this.h[i]);
    v.setUint32(36, Math.floor(this.length / 2 ** 32));
    v.setUint32(40, this.length >>> 0);
    out.set(this.block.subarray(0, this.fill), 44);
    return out;
  }

  /** A hash from encode's bytes; it throws on bytes that are not such a state. */
  static decode(bytes) {
    const b = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
    if (b.length < 44 || b.length >= 44 + 64 || MAGIC.some((m, i) => b[i] !== m)) {
      throw new TypeError("not a resumer SHA-256 state");
    }
    const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
    const s = new SHA256();
    for (let i = 0; i < 8; i++) s.h[i] = v.getInt32(4 + 4 * i);
    s.length = v.getUint32(36) * 2 ** 32 + v.getUint32(40);
    s.fill = b.length - 44;
    if (s.length % 64 !== s.fill) throw new TypeError("SHA-256 state: length and block disagree");
    s.block.set(b.subarray(44), 0);
    return s;
  }
}

// The most bytes read from a Blob at once.
const STEP = 4 << 20;

/**
 * Hashes blob on from state (bytes of SHA256.encode, or null for a new
 * hash) and returns {state, sum}. blob may be null: then only the sum of
 * state is computed.
 * @param {Uint8Array | null} state
 * @param {Blob | null} blob
 * @returns {Promise<{state: Uint8Array, sum: Uint8Array}>}
 */
export async function hashBlob(state, blob) {
  const h = state && state.length ? SHA256.decode(state) : new SHA256();
  if (blob) {
    for (let off = 0; off < blob.size; off += STEP) {
      h.update(new Uint8Array(await blob.slice(off, Math.min(off + STEP, blob.size)).arrayBuffer()));
    }
  }
  return { state: h.encode(), sum: h.sum() };
}
