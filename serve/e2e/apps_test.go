//go:build !js && !wasip1

package e2e

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	neturl "net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/go-resumer/resumer/serve/devserver"
	"github.com/go-resumer/resumer/serve/drive"
)

// What apps build on, in the browser: integrity, a key that outlives its
// signed URL, request headers that are sent and never stored, stored bytes
// the browser evicted, and the queue. The native tests of the same
// features are in wasm/resumer/apps_test.go.

// appsJS adds window.A to a page: downloads started by a name of the
// test's choosing (a key can serve two URLs), with every state change and
// notice code kept, and the IndexedDB tools these tests need.
const appsJS = `(() => {
  if (window.A) return true;
  const S = {}, D = {}, W = new Set();
  const wake = () => { for (const w of [...W]) w(); };
  const hex = (buf) => [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, "0")).join("");
  const openDB = (db) => new Promise((res, rej) => { const r = indexedDB.open(db); r.onsuccess = () => res(r.result); r.onerror = () => rej(r.error); });
  const done = (tx) => new Promise((res, rej) => { tx.oncomplete = res; tx.onerror = () => rej(tx.error); tx.onabort = () => rej(tx.error); });
  // records reads every record of every object store of db: [{store, key, value}].
  const records = async (db) => {
    const idb = await openDB(db);
    const names = [...idb.objectStoreNames];
    const out = [];
    if (names.length) {
      const tx = idb.transaction(names, "readonly");
      await Promise.all(names.map((n) => new Promise((res, rej) => {
        const r = tx.objectStore(n).openCursor();
        r.onsuccess = () => {
          const c = r.result;
          if (!c) return res();
          out.push({ store: n, key: c.key, value: c.value });
          c.continue();
        };
        r.onerror = () => rej(r.error);
      })));
    }
    idb.close();
    return { names, out };
  };
  // plain turns a stored value into something JSON can hold whole: Blobs
  // and bytes become their text. Types are told by their tag, not by
  // instanceof: a script a driver runs may live in another realm than the
  // page's values (Firefox's Marionette sandbox).
  const plain = async (v) => {
    const tag = Object.prototype.toString.call(v);
    if (tag === "[object Blob]" || tag === "[object File]") return { blobText: await v.text() };
    if (tag === "[object ArrayBuffer]" || ArrayBuffer.isView(v)) return { bytesText: new TextDecoder().decode(v) };
    if (Array.isArray(v)) return Promise.all(v.map(plain));
    if (v && typeof v === "object") {
      const o = {};
      for (const k of Object.keys(v)) o[k] = await plain(v[k]);
      return o;
    }
    return v;
  };
  window.A = {
    S, D, R: null,
    // load replaces the resumer these helpers use (the harness's R by default).
    async load(opts) {
      const m = await import("/resumer.js");
      A.R = await m.load(opts);
      return A.R.maxConcurrent;
    },
    start(name, url, opts) {
      const d = (A.R || R).download(url, opts || {});
      D[name] = d;
      const s = { url, key: d.key, state: d.state, stored: 0, received: 0, states: [], noticeCodes: [], ended: false, error: "" };
      S[name] = s;
      d.addEventListener("statechange", (p) => { s.states.push(p.state); wake(); });
      d.addEventListener("progress", (p) => {
        Object.assign(s, { state: p.state, stored: p.stored, received: p.received });
        if (p.noticeCode && !s.noticeCodes.includes(p.noticeCode)) s.noticeCodes.push(p.noticeCode);
        wake();
      });
      d.done.then(() => { s.ended = true; s.state = "done"; wake(); },
        (e) => { s.ended = true; s.state = "failed"; s.error = String(e && e.code); wake(); });
      return true;
    },
    // until resolves with what the page saw of name once cond (a JS
    // expression of s, that record, and S, all of them) holds, checked at
    // every event; it fails after ms.
    until(name, cond, ms) {
      const f = new Function("s", "S", "return (" + cond + ");");
      return new Promise((res, rej) => {
        let timer;
        const check = () => {
          const s = S[name];
          if (!s || !f(s, S)) return;
          W.delete(check);
          clearTimeout(timer);
          res(s);
        };
        W.add(check);
        timer = setTimeout(() => { W.delete(check); rej(new Error("waited " + ms + " ms for " + cond + ": " + JSON.stringify(S))); }, ms);
        check();
      });
    },
    async finish(name) {
      try {
        const r = await D[name].done;
        const sha = hex(await crypto.subtle.digest("SHA-256", await r.blob.arrayBuffer()));
        return { sha, size: r.size, blobSize: r.blob.size, verified: r.verified, key: r.key, url: r.url, resumable: r.resumable };
      } catch (e) {
        return { error: { code: e.code, status: e.status || 0, message: e.message } };
      }
    },
    // search dumps every record of every object store of db (keys and
    // values, Blobs and bytes read as text) to one JSON text and says
    // which of needles it holds.
    async search(db, needles) {
      const { names, out } = await records(db);
      const text = JSON.stringify(await plain(out));
      return { stores: names, records: out.length, chars: text.length, found: needles.map((n) => text.includes(n)) };
    },
    // selfTest proves search on a scratch database: a needle only in a
    // key, one in an ArrayBuffer, one deep in an object, one in a Blob
    // (where the browser stores Blobs: not WebKit in an ephemeral
    // session). It returns what search found, and whether the Blob went in.
    async selfTest(db, needles) {
      await new Promise((res, rej) => { const r = indexedDB.deleteDatabase(db); r.onsuccess = res; r.onerror = () => rej(r.error); });
      const idb = await new Promise((res, rej) => {
        const r = indexedDB.open(db, 1);
        r.onupgradeneeded = () => r.result.createObjectStore("s");
        r.onsuccess = () => res(r.result);
        r.onerror = () => rej(r.error);
      });
      let tx = idb.transaction(["s"], "readwrite");
      tx.objectStore("s").put(1, ["k", needles[0]]);
      tx.objectStore("s").put({ bytes: new TextEncoder().encode(needles[1]).buffer }, "ab");
      tx.objectStore("s").put({ a: [{ b: { c: needles[2] } }] }, "deep");
      await done(tx);
      let blob = true;
      try {
        tx = idb.transaction(["s"], "readwrite");
        tx.objectStore("s").put({ blob: new Blob([needles[3]]) }, "blob");
        await done(tx);
      } catch {
        blob = false;
      }
      idb.close();
      const found = await A.search(db, needles);
      await new Promise((res) => { const r = indexedDB.deleteDatabase(db); r.onsuccess = res; r.onerror = res; });
      return { found: found.found, blob };
    },
    // evict deletes the middle chunk of key from every lane, as the
    // browser does when it evicts a Blob's file, and keeps the download's
    // record. It returns [start, size] of the chunk and how many there were.
    async evict(db, key) {
      const { out } = await records(db);
      const chunks = out.filter((r) => r.store.startsWith("chunks") && Array.isArray(r.key) && r.key[0] === key);
      chunks.sort((a, b) => a.value.start - b.value.start);
      const victim = chunks[Math.floor(chunks.length / 2)];
      const idb = await openDB(db);
      const lanes = [...idb.objectStoreNames].filter((n) => n.startsWith("chunks"));
      const tx = idb.transaction(lanes, "readwrite");
      for (const n of lanes) tx.objectStore(n).delete(victim.key);
      await done(tx);
      idb.close();
      return { start: victim.value.start, size: victim.value.size, chunks: chunks.length };
    },
  };
  return true;
})()`

// apps adds appsJS to the page; again after every reload.
func (p *page) apps() {
	p.t.Helper()
	eval[bool](p, appsJS)
}

type appsSeen struct {
	URL         string   `json:"url"`
	Key         string   `json:"key"`
	State       string   `json:"state"`
	Stored      int64    `json:"stored"`
	Received    int64    `json:"received"`
	States      []string `json:"states"`
	NoticeCodes []string `json:"noticeCodes"`
	Ended       bool     `json:"ended"`
	Error       string   `json:"error"`
}

type appsResult struct {
	SHA       string `json:"sha"`
	Size      int64  `json:"size"`
	BlobSize  int64  `json:"blobSize"`
	Verified  bool   `json:"verified"`
	Key       string `json:"key"`
	URL       string `json:"url"`
	Resumable bool   `json:"resumable"`
	Error     *struct {
		Code    string `json:"code"`
		Status  int    `json:"status"`
		Message string `json:"message"`
	} `json:"error"`
}

type appsEntry struct {
	Key      string `json:"key"`
	URL      string `json:"url"`
	Size     *int64 `json:"size"`
	Received int64  `json:"received"`
	State    string `json:"state"`
	Evicted  bool   `json:"evicted"`
	Verified bool   `json:"verified"`
	// ErrorCode and ErrorMessage say why a failed one failed.
	ErrorCode    string `json:"errorCode"`
	ErrorMessage string `json:"errorMessage"`
}

// appsStart starts the download of url under name; opts is a JS object
// literal ("" for none).
func (p *page) appsStart(name, url, opts string) {
	p.t.Helper()
	if opts == "" {
		opts = "{}"
	}
	eval[bool](p, fmt.Sprintf("A.start(%q, %q, %s)", name, url, opts))
}

// appsUntil waits, in the page, for cond (a JS expression of s, what the
// page saw of name, and S, all downloads by name).
func (p *page) appsUntil(name, cond string) appsSeen {
	p.t.Helper()
	v, err := evalErr[appsSeen](p, fmt.Sprintf("A.until(%q, %q, 90000)", name, cond))
	if err != nil {
		p.t.Fatalf("waiting for %s of %s: %v", cond, name, err)
	}
	return v
}

func (p *page) appsSeen(name string) appsSeen {
	p.t.Helper()
	return eval[appsSeen](p, fmt.Sprintf("A.S[%q]", name))
}

func (p *page) appsFinish(name string) appsResult {
	p.t.Helper()
	return eval[appsResult](p, fmt.Sprintf("A.finish(%q)", name))
}

func (p *page) appsList() []appsEntry {
	p.t.Helper()
	return eval[[]appsEntry](p, "(A.R || R).list()")
}

// appsOK fails unless r is the file name, whole.
func appsOK(t *testing.T, r appsResult, name string, size int64) {
	t.Helper()
	if r.Error != nil {
		t.Fatalf("download failed: %+v", *r.Error)
	}
	if want := fileSHA(t, name); r.SHA != want || r.Size != size || r.BlobSize != size {
		t.Fatalf("result %+v, want %d bytes of sha %s", r, size, want)
	}
}

// appsFailed fails unless r is a failure with code.
func appsFailed(t *testing.T, r appsResult, code string) {
	t.Helper()
	if r.Error == nil || r.Error.Code != code {
		t.Fatalf("result %+v; want a failure with code %q", r, code)
	}
}

// sriOf is the Subresource Integrity metadata of a data file: sha256- and
// the base64 of its SHA-256; wrong flips one bit of the digest.
func sriOf(t *testing.T, name string, wrong bool) string {
	t.Helper()
	path, err := env.srv.Path(name)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	if wrong {
		sum[0] ^= 1
	}
	return "sha256-" + base64.StdEncoding.EncodeToString(sum[:])
}

// sentTotal sums the body bytes of log entries.
func sentTotal(log []devserver.LogEntry) int64 {
	var n int64
	for _, e := range log {
		n += e.Sent
	}
	return n
}

// getsAfter returns the GETs of log that arrived at or after t0.
func getsAfter(log []devserver.LogEntry, t0 time.Time) []devserver.LogEntry {
	var out []devserver.LogEntry
	for _, e := range log {
		if e.Method == "GET" && !e.Time.Before(t0) {
			out = append(out, e)
		}
	}
	return out
}

// idleLog returns every logged request of u, possibly none, once none of
// u is in flight.
func idleLog(t *testing.T, u string) []devserver.LogEntry {
	t.Helper()
	pu, err := neturl.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	match := func(path, query string) bool { return path == pu.Path && query == pu.RawQuery }
	log, err := env.srv.WaitIdle(ctx, match)
	if err != nil {
		t.Fatalf("requests of %s still in flight: %v", u, err)
	}
	var out []devserver.LogEntry
	for _, e := range log {
		if match(e.Path, e.Query) {
			out = append(out, e)
		}
	}
	return out
}

func TestAppsIntegrity(t *testing.T) {
	forEngines(t, func(t *testing.T, e drive.Engine) {
		t.Run("integrity matches: verified", func(t *testing.T) {
			p := newPage(t, e, "/blank.html")
			p.apps()
			// No Repr-Digest: the integrity option alone verifies.
			u := fileURL(t, medium, "digest=none")
			p.appsStart("f", u, fmt.Sprintf("{integrity: %q}", sriOf(t, medium, false)))
			r := p.appsFinish("f")
			appsOK(t, r, medium, mediumSize)
			if !r.Verified {
				t.Fatalf("result %+v not marked verified", r)
			}
			for _, g := range gets(t, u, 1) {
				if g.ReprDigest != "" {
					t.Fatalf("the server sent Repr-Digest: the test proves nothing\n%s", lines([]devserver.LogEntry{g}))
				}
			}
		})
		t.Run("integrity does not match: rejected at the end, bytes discarded", func(t *testing.T) {
			p := newPage(t, e, "/blank.html")
			p.apps()
			u := fileURL(t, medium, "digest=none")
			p.appsStart("f", u, fmt.Sprintf("{integrity: %q}", sriOf(t, medium, true)))
			appsFailed(t, p.appsFinish("f"), "integrity")
			// The whole file came before the check said no.
			if sent := sentTotal(gets(t, u, 1)); sent < mediumSize {
				t.Fatalf("the server sent %d bytes of %d: the check ran before the end?", sent, mediumSize)
			}
			if n := eval[int](p, "T.chunks("+quote(p.db)+")"); n != 0 {
				t.Fatalf("%d chunks kept after an integrity failure", n)
			}
			for _, l := range p.appsList() {
				if l.Key == u && l.Received != 0 {
					t.Fatalf("list() after an integrity failure: %+v", l)
				}
			}
		})
		t.Run("the Repr-Digest of the server is checked", func(t *testing.T) {
			p := newPage(t, e, "/blank.html")
			p.apps()
			u := fileURL(t, medium, "")
			p.appsStart("f", u, "")
			r := p.appsFinish("f")
			appsOK(t, r, medium, mediumSize)
			if !r.Verified {
				t.Fatalf("result %+v: a download whose server sent Repr-Digest is not verified", r)
			}
			if g := gets(t, u, 1); g[0].ReprDigest == "" {
				t.Fatal("the server sent no Repr-Digest: the test proves nothing")
			}
		})
		t.Run("a wrong Repr-Digest fails the download", func(t *testing.T) {
			p := newPage(t, e, "/blank.html")
			p.apps()
			u := fileURL(t, medium, "digest=bad")
			p.appsStart("f", u, "")
			appsFailed(t, p.appsFinish("f"), "integrity")
			if g := gets(t, u, 1); !strings.Contains(g[0].Fault, "digest=bad") || !strings.Contains(g[0].Fault, "Repr-Digest") {
				t.Fatalf("fault not applied:\n%s", lines(g))
			}
			if n := eval[int](p, "T.chunks("+quote(p.db)+")"); n != 0 {
				t.Fatalf("%d chunks kept after an integrity failure", n)
			}
		})
		t.Run("a server digest that contradicts integrity fails before storing", func(t *testing.T) {
			p := newPage(t, e, "/blank.html")
			p.apps()
			u := fileURL(t, medium, "digest=bad")
			p.appsStart("f", u, fmt.Sprintf("{integrity: %q}", sriOf(t, medium, false)))
			appsFailed(t, p.appsFinish("f"), "integrity")
			if g := gets(t, u, 1); len(g) != 1 {
				t.Fatalf("%d requests; the first answer says it all:\n%s", len(g), lines(g))
			}
			if n := eval[int](p, "T.chunks("+quote(p.db)+")"); n != 0 {
				t.Fatalf("%d chunks stored", n)
			}
		})
		t.Run("no digest anywhere: not verified", func(t *testing.T) {
			p := newPage(t, e, "/blank.html")
			p.apps()
			u := fileURL(t, medium, "digest=none")
			p.appsStart("f", u, "")
			r := p.appsFinish("f")
			appsOK(t, r, medium, mediumSize)
			if r.Verified {
				t.Fatalf("result %+v marked verified with no digest to check", r)
			}
		})
	})
}

// TestAppsSignedURL: a download started from one signed link resumes from
// another after a reload, because both have the app's key.
func TestAppsSignedURL(t *testing.T) {
	forEngines(t, func(t *testing.T, e drive.Engine) {
		const key = "https://app.example/model.bin"
		p := newPage(t, e, "/blank.html")
		p.apps()
		one := fileURL(t, medium, rate+"&sig=one")
		two := fileURL(t, medium, rate+"&sig=two")
		opts := fmt.Sprintf("{key: %q, chunkSize: 256 * 1024, flushIntervalMs: 200}", key)
		p.appsStart("one", one, opts)
		seen := p.appsUntil("one", fmt.Sprintf("s.stored >= %d || s.ended", mediumSize*4/10))
		if seen.Stored < mediumSize*4/10 || seen.Key != key {
			t.Fatalf("before the reload: %+v", seen)
		}
		p.reload()
		p.apps()
		l := p.appsList()
		if len(l) != 1 || l[0].Key != key || l[0].URL != one || l[0].State != "interrupted" || l[0].Received < seen.Stored || l[0].Received >= mediumSize {
			t.Fatalf("after the reload, list() = %+v; want %s from %s, interrupted with at least %d bytes", l, key, one, seen.Stored)
		}
		stored := l[0].Received
		t0 := time.Now()
		p.appsStart("two", two, opts)
		r := p.appsFinish("two")
		appsOK(t, r, medium, mediumSize)
		if r.Key != key || r.URL != two {
			t.Fatalf("result key %q url %q; want %q from %q", r.Key, r.URL, key, two)
		}
		// The new session went to the new link only, resumed past what was
		// stored, and the server sent exactly the missing bytes.
		if late := getsAfter(idleLog(t, one), t0); len(late) != 0 {
			t.Fatalf("the old link was asked again:\n%s", lines(late))
		}
		g := gets(t, two, 1)
		if g[0].Start <= 0 || g[0].Range == "" || g[0].IfRange == "" {
			t.Fatalf("the first request to the new link:\n%s\nwant a Range past 0 with If-Range (%d bytes stored)", lines(g), stored)
		}
		for _, e := range g {
			if e.Status != 206 || e.IfRange == "" || e.ClientGone || e.Cut {
				t.Fatalf("resume request %s", e.String())
			}
		}
		if sent := sentTotal(g); sent != mediumSize-stored {
			t.Fatalf("the resume sent %d bytes for %d missing:\n%s", sent, mediumSize-stored, lines(g))
		}
		if l := p.appsList(); len(l) != 1 || l[0].Key != key || l[0].URL != two || l[0].State != "done" {
			t.Fatalf("list() after = %+v; want %s, done, from %s", l, key, two)
		}
	})
}

// TestAppsHeaders: a header the app gives (a Bearer token) goes with every
// request, same-origin and cross-origin, and is written nowhere in
// IndexedDB.
func TestAppsHeaders(t *testing.T) {
	forEngines(t, func(t *testing.T, e drive.Engine) {
		for _, tc := range []struct {
			name  string
			url   func(t *testing.T, query string) string
			cross bool
		}{
			{"same origin", func(t *testing.T, q string) string { return fileURL(t, medium, q) }, false},
			{"cross origin", crossURL, true},
		} {
			t.Run(tc.name, func(t *testing.T) {
				secret := randomHex(t)
				// Armed, so that the token is not in the URL (which is
				// stored); every request of the file needs it.
				arm(t, devserver.MaxArmTimes, "auth="+secret)
				p := newPage(t, e, "/blank.html")
				p.apps()
				u := tc.url(t, "which=with")
				p.appsStart("with", u, fmt.Sprintf(`{headers: {Authorization: "Bearer %s"}}`, secret))
				appsOK(t, p.appsFinish("with"), medium, mediumSize)
				log := logOf(t, u, 1)
				for _, e := range log {
					if e.Method == "GET" && (!e.Auth || e.Status != 206 && e.Status != 200) {
						t.Fatalf("a request without the header, or refused:\n%s", lines(log))
					}
				}
				if tc.cross {
					// Authorization is never CORS-safelisted: the first
					// request waited for a preflight that allowed it.
					if log[0].Method != "OPTIONS" || !strings.Contains(log[0].ACRH, "authorization") || log[0].Status != 204 {
						t.Fatalf("want a preflight for authorization first:\n%s", lines(log))
					}
				}

				v := tc.url(t, "which=without")
				p.appsStart("without", v, "")
				r := p.appsFinish("without")
				appsFailed(t, r, "http-status")
				if r.Error.Status != 401 {
					t.Fatalf("failure %+v, want status 401", *r.Error)
				}
				if g := gets(t, v, 1); g[0].Auth || g[0].Status != 401 {
					t.Fatalf("requests without the header:\n%s", lines(g))
				}

				// The search can find what it looks for, wherever it is…
				needles := []string{"key-" + randomHex(t), "bytes-" + randomHex(t), "deep-" + randomHex(t), "blob-" + randomHex(t)}
				st := eval[struct {
					Found []bool `json:"found"`
					Blob  bool   `json:"blob"`
				}](p, fmt.Sprintf("A.selfTest(%q, %s)", p.db+"-selftest", jsStrings(needles)))
				if !st.Found[0] || !st.Found[1] || !st.Found[2] || st.Blob && !st.Found[3] {
					t.Fatalf("the search of IndexedDB misses planted needles: %+v", st)
				}
				// …and the secret is nowhere in resumer's database, which
				// does hold the download (its URL, its bytes).
				d := eval[struct {
					Stores  []string `json:"stores"`
					Records int      `json:"records"`
					Chars   int      `json:"chars"`
					Found   []bool   `json:"found"`
				}](p, fmt.Sprintf("A.search(%q, %s)", p.db, jsStrings([]string{secret, u})))
				if !d.Found[1] || d.Chars < mediumSize {
					t.Fatalf("the database holds neither the download nor its bytes: %+v", d)
				}
				if d.Found[0] {
					t.Fatalf("the secret is stored in IndexedDB (%d records in %v)", d.Records, d.Stores)
				}
			})
		}
	})
}

// randomHex returns 128 random bits in hex.
func randomHex(t *testing.T) string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// jsStrings is a JS array literal of strings.
func jsStrings(s []string) string {
	q := make([]string, len(s))
	for i, v := range s {
		q[i] = fmt.Sprintf("%q", v)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// TestAppsEvicted: a stored chunk that vanished (the browser evicted its
// Blob) is noticed, not served, and fetched again alone.
func TestAppsEvicted(t *testing.T) {
	forEngines(t, func(t *testing.T, e drive.Engine) {
		p := newPage(t, e, "/blank.html")
		p.apps()
		u := fileURL(t, medium, "")
		const opts = "{chunkSize: 1 << 20}"
		p.appsStart("first", u, opts)
		appsOK(t, p.appsFinish("first"), medium, mediumSize)
		before := len(gets(t, u, 1))
		victim := eval[struct {
			Start  int64 `json:"start"`
			Size   int64 `json:"size"`
			Chunks int   `json:"chunks"`
		}](p, fmt.Sprintf("A.evict(%q, %q)", p.db, u))
		if victim.Chunks < 3 || victim.Size <= 0 {
			t.Fatalf("evicted %+v: too few chunks for a middle one", victim)
		}
		l := p.appsList()
		if len(l) != 1 || !l[0].Evicted || l[0].Key != u {
			t.Fatalf("list() does not report the eviction: %+v", l)
		}
		if !eval[bool](p, fmt.Sprintf("R.response(%q).then((r) => r === undefined)", u)) {
			t.Fatal("response() answers a file with evicted bytes")
		}
		p.appsStart("again", u, opts)
		appsOK(t, p.appsFinish("again"), medium, mediumSize)
		if s := p.appsSeen("again"); !contains(s.NoticeCodes, "evicted") {
			t.Fatalf("no progress with noticeCode evicted: %+v", s)
		}
		// Only the missing bytes were fetched again, checked by If-Range.
		after := gets(t, u, before+1)[before:]
		for _, g := range after {
			if g.Start != victim.Start || g.Sent != victim.Size || g.Status != 206 || g.IfRange == "" {
				t.Fatalf("refetched:\n%s\nonly %d bytes at %d were evicted", lines(after), victim.Size, victim.Start)
			}
		}
		if l := p.appsList(); len(l) != 1 || l[0].Evicted || l[0].State != "done" || l[0].Received != mediumSize {
			t.Fatalf("list() after the repair: %+v", l)
		}
	})
}

// firstStart and lastEnd are when the first request of log arrived and
// when the last one ended.
func firstStart(log []devserver.LogEntry) time.Time {
	var t time.Time
	for _, e := range log {
		if t.IsZero() || e.Time.Before(t) {
			t = e.Time
		}
	}
	return t
}

func lastEnd(log []devserver.LogEntry) time.Time {
	var t time.Time
	for _, e := range log {
		if e.End.After(t) {
			t = e.End
		}
	}
	return t
}

func TestAppsQueue(t *testing.T) {
	forEngines(t, func(t *testing.T, e drive.Engine) {
		t.Run("one at a time, first come first served", func(t *testing.T) {
			p := newPage(t, e, "/blank.html")
			p.apps()
			if n := eval[int](p, fmt.Sprintf("A.load({dbName: %q, maxConcurrent: 1})", p.db)); n != 1 {
				t.Fatalf("maxConcurrent %d, want 1", n)
			}
			// The first runs for seconds (throttled), so that the others
			// queue behind it for as long as it runs.
			ua := fileURL(t, medium, rate+"&which=a")
			ub := fileURL(t, small, paced+"&which=b")
			uc := fileURL(t, small, paced+"&which=c")
			p.appsStart("a", ua, "")
			p.appsUntil("a", `s.state === "running" || s.ended`)
			p.appsStart("b", ub, "")
			p.appsStart("c", uc, "")
			p.appsUntil("b", `s.states.includes("queued") || s.ended`)
			p.appsUntil("c", `s.states.includes("queued") || s.ended`)
			a, b, c := p.appsSeen("a"), p.appsSeen("b"), p.appsSeen("c")
			if a.Ended || b.Ended || c.Ended || b.States[0] != "queued" || c.States[0] != "queued" || b.Stored != 0 || c.Stored != 0 {
				t.Fatalf("want a running, b and c queued with nothing stored:\na %+v\nb %+v\nc %+v", a, b, c)
			}
			appsOK(t, p.appsFinish("a"), medium, mediumSize)
			appsOK(t, p.appsFinish("b"), small, smallSize)
			appsOK(t, p.appsFinish("c"), small, smallSize)
			for _, name := range []string{"b", "c"} {
				if s := p.appsSeen(name); !contains(s.States, "running") {
					t.Fatalf("%s never ran: %+v", name, s)
				}
			}
			// One after the other: no request of b before the last of a
			// ended, none of c before the last of b.
			la, lb, lc := gets(t, ua, 1), gets(t, ub, 1), gets(t, uc, 1)
			if firstStart(lb).Before(lastEnd(la)) || firstStart(lc).Before(lastEnd(lb)) {
				t.Fatalf("downloads overlapped:\na:\n%sb:\n%sc:\n%s", lines(la), lines(lb), lines(lc))
			}
		})
		t.Run("pauseAll pauses every running download", func(t *testing.T) {
			p := newPage(t, e, "/blank.html")
			p.apps()
			ux := fileURL(t, medium, rate+"&which=x")
			uy := fileURL(t, medium, rate+"&which=y")
			p.appsStart("x", ux, slowOpts)
			p.appsStart("y", uy, slowOpts)
			p.appsUntil("x", `s.stored > 0 || s.ended`)
			p.appsUntil("y", `s.stored > 0 || s.ended`)
			if x, y := p.appsSeen("x"), p.appsSeen("y"); x.State != "running" || y.State != "running" {
				t.Fatalf("want both running:\nx %+v\ny %+v", x, y)
			}
			eval[any](p, "R.pauseAll()")
			p.appsUntil("x", `s.state === "paused" || s.ended`)
			p.appsUntil("y", `s.state === "paused" || s.ended`)
			for _, l := range p.appsList() {
				if l.State != "paused" || l.Received <= 0 || l.Received >= mediumSize {
					t.Fatalf("list() after pauseAll: %+v", l)
				}
			}
			// Paused, not stopped for good: both finish when resumed.
			eval[any](p, "A.D.x.resume(), A.D.y.resume()")
			appsOK(t, p.appsFinish("x"), medium, mediumSize)
			appsOK(t, p.appsFinish("y"), medium, mediumSize)
		})
		t.Run("a paused queued download leaves the queue", func(t *testing.T) {
			p := newPage(t, e, "/blank.html")
			p.apps()
			eval[int](p, fmt.Sprintf("A.load({dbName: %q, maxConcurrent: 1})", p.db))
			ua := fileURL(t, medium, rate+"&which=a")
			ub := fileURL(t, small, "which=b")
			uc := fileURL(t, small, "which=c")
			p.appsStart("a", ua, "")
			p.appsUntil("a", `s.state === "running" || s.ended`)
			p.appsStart("b", ub, "")
			p.appsStart("c", uc, "")
			p.appsUntil("b", `s.states.includes("queued") || s.ended`)
			p.appsUntil("c", `s.states.includes("queued") || s.ended`)
			eval[any](p, "A.D.b.pause()")
			p.appsUntil("b", `s.state === "paused" || s.ended`)
			if a := p.appsSeen("a"); a.Ended {
				t.Fatalf("a ended before b paused: %+v", a)
			}
			// c gets the slot after a; b stays paused and asks nothing.
			appsOK(t, p.appsFinish("a"), medium, mediumSize)
			appsOK(t, p.appsFinish("c"), small, smallSize)
			if log := idleLog(t, ub); len(log) != 0 {
				t.Fatalf("a paused queued download made requests:\n%s", lines(log))
			}
			if b := p.appsSeen("b"); b.State != "paused" || contains(b.States, "running") {
				t.Fatalf("b after c finished: %+v; want paused, never run", b)
			}
			eval[any](p, "A.D.b.resume()")
			appsOK(t, p.appsFinish("b"), small, smallSize)
		})
	})
}
