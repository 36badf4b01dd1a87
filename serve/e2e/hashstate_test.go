//go:build !js && !wasip1

package e2e

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/go-resumer/resumer/serve/drive"
	"github.com/go-resumer/resumer/wasm/protocol"
)

// hashRecordJS reads (and, given a state, rewrites) the integrity check's
// fields of url's record: {hashed, hashState, received, digest}.
const hashRecordJS = `(async (db, url, state) => {
  const idb = await new Promise((res, rej) => { const r = indexedDB.open(db); r.onsuccess = () => res(r.result); r.onerror = () => rej(r.error); });
  const tx = idb.transaction(["downloads"], "readwrite");
  const st = tx.objectStore("downloads");
  const found = await new Promise((res) => {
    const r = st.openCursor();
    r.onsuccess = () => {
      const c = r.result;
      if (!c) return res(null);
      if (c.value && c.value.url === url) return res({ key: c.key, value: c.value });
      c.continue();
    };
  });
  if (found && state !== null) st.put({ ...found.value, hashState: state }, found.key);
  await new Promise((res, rej) => { tx.oncomplete = res; tx.onerror = () => rej(tx.error); });
  idb.close();
  const v = found ? found.value : {};
  return { hashed: v.hashed || 0, hashState: v.hashState || "", received: v.received || 0, digest: v.digest || "" };
})(%q, %q, %s)`

type hashRecord struct {
	Hashed    int64  `json:"hashed"`
	HashState string `json:"hashState"`
	Received  int64  `json:"received"`
	Digest    string `json:"digest"`
}

// rjs1 is the SHA-256 state resumer 0.5's resumer-hash.js saved after
// data: "rjs1", the eight words, the count of bytes (8 bytes, big-endian)
// and the bytes of the block not yet complete. It is built from Go's
// saved state (crypto/sha256: magic, the words, the 64-byte block, the
// count), which holds the same numbers.
func rjs1(t *testing.T, data []byte) []byte {
	t.Helper()
	h := sha256.New()
	h.Write(data)
	g, err := protocol.MarshalHash(h)
	if err != nil || len(g) != 4+32+64+8 {
		t.Fatalf("Go's SHA-256 state: %d bytes, %v", len(g), err)
	}
	n := binary.BigEndian.Uint64(g[4+32+64:])
	out := append([]byte("rjs1"), g[4:36]...)
	out = binary.BigEndian.AppendUint64(out, n)
	return append(out, g[36:36+n%64]...)
}

// TestHashStateAcrossVersions: a download's integrity check goes on from
// the hash state saved with its bytes when this version saved it, and
// hashes the stored bytes again, never trusting it, when another hasher
// did: resumer 0.5's own SHA-256 ("rjs1"), Go's SHA-512 (which resumer
// 0.5 used for SHA-384/512), or another release of hash-wasm. Either way
// the stored bytes are kept (the resume asks only for the rest, with
// If-Range) and the file is right; only a state not taken up says so.
func TestHashStateAcrossVersions(t *testing.T) {
	path, err := env.srv.Path(medium)
	if err != nil {
		t.Fatal(err)
	}
	file, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s512 := sha512.Sum512(file)
	sri512 := "sha512-" + base64.StdEncoding.EncodeToString(s512[:])
	const opts = `{chunkSize: 256 * 1024, flushIntervalMs: 200%s}`
	cases := []struct {
		name  string
		query string // the server's: its Repr-Digest (SHA-256) or none
		extra string // the app's options
		// state returns the state to store in place of the saved one, or
		// nil to keep it.
		state func(t *testing.T, saved []byte, hashed int64) []byte
	}{
		{name: "sha-256/this-version", query: rate},
		{name: "sha-256/resumer-0.5", query: rate, state: func(t *testing.T, _ []byte, hashed int64) []byte {
			return rjs1(t, file[:hashed])
		}},
		{name: "sha-256/other-hash-wasm", query: rate, state: func(t *testing.T, saved []byte, _ int64) []byte {
			// The envelope names hash-wasm's version after "rhw1", the
			// algorithm and the version's length.
			if len(saved) < 7 || string(saved[:4]) != "rhw1" || saved[5] == 0 {
				t.Fatalf("saved state %x is not this version's", saved)
			}
			o := bytes.Clone(saved)
			o[6] ^= 1 // "4.13.0" → "5.13.0"
			return o
		}},
		{name: "sha-512/this-version", query: rate + "&digest=none", extra: fmt.Sprintf(", integrity: %q", sri512)},
		{name: "sha-512/resumer-0.5", query: rate + "&digest=none", extra: fmt.Sprintf(", integrity: %q", sri512), state: func(t *testing.T, _ []byte, hashed int64) []byte {
			h := sha512.New()
			h.Write(file[:hashed])
			g, err := protocol.MarshalHash(h)
			if err != nil {
				t.Fatal(err)
			}
			return g
		}},
	}
	forEngines(t, func(t *testing.T, e drive.Engine) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				p := newPage(t, e, "/blank.html")
				u := fileURL(t, medium, c.query)
				o := fmt.Sprintf(opts, c.extra)
				p.start(u, o)
				p.waitStored(u, 3<<20)
				eval[bool](p, fmt.Sprintf("T.D[%q].pause(), true", u))
				p.until(u, `s.state === "paused"`)
				rec := eval[hashRecord](p, fmt.Sprintf(hashRecordJS, p.db, u, "null"))
				saved, err := base64.StdEncoding.DecodeString(rec.HashState)
				if err != nil || rec.Hashed <= 0 || len(saved) == 0 {
					t.Fatalf("paused with %d bytes stored but no hash state saved: %+v", rec.Received, rec)
				}
				if c.state == nil && string(saved[:4]) != "rhw1" {
					t.Fatalf("saved state %x: not resumer-digest.js's", saved)
				}
				if c.state != nil {
					st := c.state(t, saved, rec.Hashed)
					eval[hashRecord](p, fmt.Sprintf(hashRecordJS, p.db, u, quote(base64.StdEncoding.EncodeToString(st))))
				}
				p.reload()
				l := p.list()
				if len(l) != 1 || l[0].Received <= 0 {
					t.Fatalf("after the reload, list() = %+v", l)
				}
				stored := l[0].Received
				t0 := time.Now()
				before := len(gets(t, u, 1))
				p.start(u, o)
				mustSHA(t, p.finish(u))

				// The stored bytes were kept: the resume asked for the
				// rest only, with If-Range.
				after := since(devReqs(gets(t, u, before+1)), t0)
				if len(after) == 0 || after[0].Start != stored || after[0].IfRange == "" || sentBy(after) != mediumSize-stored {
					t.Fatalf("resumed with %+v; want the %d bytes from %d with If-Range", after, mediumSize-stored, stored)
				}
				rehashed := false
				for _, n := range p.progressOf(u).Notices {
					rehashed = rehashed || strings.Contains(n, "state of the integrity check could not be taken up")
				}
				if want := c.state != nil; rehashed != want {
					t.Fatalf("notices %q: rehashed %v, want %v", p.progressOf(u).Notices, rehashed, want)
				}
			})
		}
	})
}

// digestJS hashes 9 MiB + 3 bytes with resumer-digest.js in pieces cut at
// awkward places (within a block, at block ends, across its 4 MiB reads),
// each piece on from the state the last returned, and compares the sums
// with Web Crypto's; then hands it states it must refuse. It returns
// {alg: [match, sum-only match]} and, per refused state, the error's name.
const digestJS = `(async () => {
  const { hashBlob } = await import("/resumer-digest.js");
  const data = new Uint8Array(9 * 1048576 + 3);
  for (let i = 0; i < data.length; i += 65536) crypto.getRandomValues(data.subarray(i, Math.min(i + 65536, data.length)));
  const hex = (b) => [...new Uint8Array(b)].map((x) => x.toString(16).padStart(2, "0")).join("");
  const cuts = [0, 1, 63, 64, 65, 4194305, 8388608, 9437184, data.length];
  const out = { sums: {}, refused: {} };
  const states = {};
  for (const alg of ["sha-256", "sha-384", "sha-512"]) {
    let st = null, sum;
    for (let i = 1; i < cuts.length; i++) ({ state: st, sum } = await hashBlob(alg, st, new Blob([data.subarray(cuts[i - 1], cuts[i])])));
    const want = hex(await crypto.subtle.digest(alg.toUpperCase(), data));
    const only = await hashBlob(alg, st, null);
    out.sums[alg] = [hex(sum) === want, hex(only.sum) === want];
    states[alg] = st;
  }
  const s = states["sha-256"];
  const edit = (i, x) => { const c = s.slice(); c[i] ^= x; return c; };
  const cases = {
    "resumer-0.5": ["sha-256", new Uint8Array([0x72, 0x6a, 0x73, 0x31, ...new Array(40).fill(0)])],
    "sha-384 as sha-512": ["sha-512", states["sha-384"]],
    "sha-256 as sha-512": ["sha-512", s],
    "other hash-wasm": ["sha-256", edit(6, 1)],
    "other build": ["sha-256", edit(6 + s[5], 1)],
    "cut short": ["sha-256", s.subarray(0, s.length - 1)],
  };
  for (const [name, [alg, st]] of Object.entries(cases)) {
    try {
      await hashBlob(alg, st, null);
      out.refused[name] = "taken up";
    } catch (e) {
      out.refused[name] = e.name;
    }
  }
  try { await hashBlob("md5", null, null); out.refused.md5 = "taken up"; } catch (e) { out.refused.md5 = e.name; }
  return out;
})()`

// TestDigestModule: resumer-digest.js gives Web Crypto's SHA-256, SHA-384
// and SHA-512 of bytes hashed in pieces on from saved states, and refuses
// with a TypeError (which the engine takes as "hash the stored bytes
// again") every state that is not its own for that algorithm: resumer
// 0.5's, another algorithm's, another hash-wasm release's or build's, a
// damaged one.
func TestDigestModule(t *testing.T) {
	forEngines(t, func(t *testing.T, e drive.Engine) {
		p := newPage(t, e, "/blank.html")
		got := eval[struct {
			Sums    map[string][2]bool `json:"sums"`
			Refused map[string]string  `json:"refused"`
		}](p, digestJS)
		for _, alg := range []string{"sha-256", "sha-384", "sha-512"} {
			if s, ok := got.Sums[alg]; !ok || !s[0] || !s[1] {
				t.Errorf("%s: sums match Web Crypto's %v (after the pieces, from the state alone)", alg, s)
			}
		}
		for _, name := range []string{"resumer-0.5", "sha-384 as sha-512", "sha-256 as sha-512", "other hash-wasm", "other build", "cut short"} {
			if got.Refused[name] != "TypeError" {
				t.Errorf("state %s: %q, want refused with a TypeError", name, got.Refused[name])
			}
		}
		if got.Refused["md5"] != "RangeError" {
			t.Errorf("md5: %q, want a RangeError", got.Refused["md5"])
		}
	})
}

// noWasmWorkerJS loads resumer with a hash worker that may not compile
// WebAssembly (the dev server's ?csp=no-wasm, a policy without
// 'wasm-unsafe-eval') and downloads url, whose server states its digest.
// It first asks such a worker whether this engine holds it to that policy:
// it is when the worker says it cannot hash, or fails a piece. A worker
// that hashes the piece shows the engine lets it compile WebAssembly.
// {enforced, hashing, verified, sha}.
const noWasmWorkerJS = `(async (db, url) => {
  const worker = "/resumer-hash-worker.js?csp=no-wasm";
  const probe = new Worker(worker, { type: "module" });
  const enforced = await new Promise((res) => {
    probe.onmessage = (ev) => {
      const m = ev.data || {};
      if (m.ready === false) res(true);
      else if (m.id === 1) res(!!m.error);
    };
    probe.onerror = () => res(true);
    probe.postMessage({ id: 1, alg: "sha-256", state: null, blob: new Blob(["x"]) });
  });
  probe.terminate();
  if (!enforced) return { enforced: false };
  const { load } = await import("/resumer.js");
  const R = await load({ dbName: db, workerURL: worker });
  const r = await R.download(url).done;
  const sum = new Uint8Array(await crypto.subtle.digest("SHA-256", await r.blob.arrayBuffer()));
  await R.clear();
  return { enforced: true, hashing: R.hashing, verified: r.verified, sha: [...sum].map((b) => b.toString(16).padStart(2, "0")).join("") };
})(%q, %q)`

// TestHashWorkerWithoutWasm: where the hash worker cannot run hash-wasm
// (its own Content-Security-Policy forbids WebAssembly), it says so at
// once and the page hashes instead: the Resumer reports hashing "page",
// and a download with a digest is verified and right, not failed.
func TestHashWorkerWithoutWasm(t *testing.T) {
	want := fileSHA(t, small)
	forEngines(t, func(t *testing.T, e drive.Engine) {
		p := openBare(t, e, env.browsers[e], env.base+"/blank.html")
		got := eval[struct {
			Enforced bool   `json:"enforced"`
			Hashing  string `json:"hashing"`
			Verified bool   `json:"verified"`
			SHA      string `json:"sha"`
		}](p, fmt.Sprintf(noWasmWorkerJS, "e2e-"+testID(t), fileURL(t, small, "")))
		if !got.Enforced {
			t.Skipf("not in %v: its workers compile WebAssembly under a policy without 'wasm-unsafe-eval'", e)
		}
		if got.Hashing != "page" || !got.Verified || got.SHA != want {
			t.Fatalf("hashing %q, verified %v, sha %s; want hashing on the page, verified, %s", got.Hashing, got.Verified, got.SHA, want)
		}
	})
}
