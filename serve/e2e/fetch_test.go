//go:build !js && !wasip1

package e2e

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strconv"
	"testing"

	"github.com/go-resumer/resumer/serve/devserver"
	"github.com/go-resumer/resumer/serve/drive"
)

// fetchHelpersJS adds window.F to a page: what the tests of resumer.fetch
// do with a Response, written as a consumer of the plain Fetch API would.
const fetchHelpersJS = `(() => {
  if (window.F) return true;
  const hex = (buf) => [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, "0")).join("");
  const pick = (h) => {
    const o = {};
    for (const k of ["content-length", "content-type", "etag", "last-modified", "accept-ranges", "content-range"]) o[k] = h.get(k);
    return o;
  };
  window.F = {
    hex, pick,
    // read reads a Response's body with getReader, chunk by chunk, and
    // describes what it got.
    async read(r) {
      const reader = r.body.getReader();
      const parts = [];
      let n = 0;
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        // (Not instanceof: under Marionette this script's globals are a
        // sandbox's, not the page's.)
        if (Object.prototype.toString.call(value) !== "[object Uint8Array]") throw new TypeError("a chunk is not a Uint8Array: " + Object.prototype.toString.call(value));
        parts.push(value);
        n += value.byteLength;
      }
      const all = new Uint8Array(n);
      let at = 0;
      for (const p of parts) { all.set(p, at); at += p.byteLength; }
      return { status: r.status, ok: r.ok, headers: pick(r.headers), size: n, chunks: parts.length,
        url: r.url, type: r.type, statusText: r.statusText,
        sha: hex(await crypto.subtle.digest("SHA-256", all)) };
    },
    // answer describes a Response read with arrayBuffer().
    async answer(r) {
      const b = await r.arrayBuffer();
      return { status: r.status, headers: pick(r.headers), size: b.byteLength, hex: b.byteLength <= 4096 ? hex(b) : "",
        url: r.url, type: r.type, statusText: r.statusText,
        sha: hex(await crypto.subtle.digest("SHA-256", b)) };
    },
    // within rejects after ms unless p settles first.
    within(p, ms, what) {
      let timer;
      return Promise.race([p, new Promise((_, rej) => { timer = setTimeout(() => rej(new Error("waited " + ms + " ms for " + what)), ms); })])
        .finally(() => clearTimeout(timer));
    },
    // watch records the states the page's engine tells other tabs of the
    // download of key (its relay, wasm/resumer/tell.go: a string of
    // fields, each its length, a colon and its text; the version, the
    // sender, the key and the state first; the test's keys are ASCII, so
    // lengths in bytes are lengths in characters), and waits for one.
    watch(key) {
      const seen = [];
      const waiters = new Set();
      const ch = new BroadcastChannel("resumer-progress:" + R.dbName);
      const fields = (s) => {
        const f = [];
        while (s.length > 0 && f.length < 4) {
          const colon = s.indexOf(":");
          const n = Number(s.slice(0, colon));
          f.push(s.slice(colon + 1, colon + 1 + n));
          s = s.slice(colon + 1 + n);
        }
        return f;
      };
      ch.onmessage = (ev) => {
        if (typeof ev.data !== "string") return;
        const [version, , k, state] = fields(ev.data);
        if (version !== "resumer-news-1" || k !== key) return;
        if (seen[seen.length - 1] !== state) seen.push(state);
        for (const w of [...waiters]) w();
      };
      return {
        seen,
        until(state, ms) {
          return F.within(new Promise((res) => {
            const check = () => { if (seen.includes(state)) { waiters.delete(check); res(seen); } };
            waiters.add(check);
            check();
          }), ms, "state " + state + " (saw " + seen.join(", ") + ")");
        },
        close() { ch.close(); },
      };
    },
  };
  return true;
})()`

// fetchPage opens a blank page with resumer loaded and the fetch helpers.
func fetchPage(t *testing.T, e drive.Engine) *page {
	t.Helper()
	p := newPage(t, e, "/blank.html")
	eval[bool](p, fetchHelpersJS)
	return p
}

// read is a Response as F.read or F.answer describe it.
type read struct {
	Status  int               `json:"status"`
	OK      bool              `json:"ok"`
	Headers map[string]string `json:"headers"`
	Size    int64             `json:"size"`
	Chunks  int               `json:"chunks"`
	SHA     string            `json:"sha"`
	Hex     string            `json:"hex"`
	// URL is Response.url. Type and StatusText no test relies on: they
	// are logged where resumer.fetch's Response is not the browser's (it
	// is made, not fetched).
	URL        string `json:"url"`
	Type       string `json:"type"`
	StatusText string `json:"statusText"`
}

// etagOf is the ETag the dev server sent for u, from its log.
func etagOf(t *testing.T, u string) string {
	t.Helper()
	for _, e := range gets(t, u, 1) {
		if e.ETag != "" {
			return e.ETag
		}
	}
	t.Fatalf("the dev server sent no ETag for %s", u)
	return ""
}

// TestFetch holds resumer.fetch to what a consumer written against the
// plain Fetch API relies on.
func TestFetch(t *testing.T) {
	forEngines(t, func(t *testing.T, e drive.Engine) {
		t.Run("body read with getReader is the file with the server headers", func(t *testing.T) {
			p := fetchPage(t, e)
			u := fileURL(t, medium, "")
			r := eval[read](p, fmt.Sprintf(`R.fetch(%q).then(F.read)`, u))
			t.Logf("the body came in %d chunks", r.Chunks)
			if r.Status != 200 || !r.OK || r.Size != mediumSize || r.SHA != fileSHA(t, medium) {
				t.Fatalf("resumer.fetch: status %d ok %v, %d bytes, sha %s; want 200, %d bytes, sha %s", r.Status, r.OK, r.Size, r.SHA, mediumSize, fileSHA(t, medium))
			}
			// The same file fetched by the browser itself: the headers a
			// consumer reads must be the server's.
			plain := eval[read](p, fmt.Sprintf(`fetch(%q).then(F.answer)`, u+"&plain=1"))
			t.Logf("made, not fetched: type %q, statusText %q (the browser's fetch: %q, %q)",
				r.Type, r.StatusText, plain.Type, plain.StatusText)
			// Response.url is the one the browser's fetch would give.
			if r.URL != u || plain.URL != u+"&plain=1" {
				t.Errorf("Response.url %q, want %q (the browser's own: %q)", r.URL, u, plain.URL)
			}
			h, ph := r.Headers, plain.Headers
			if plain.Status != 200 || ph["etag"] == "" || ph["last-modified"] == "" {
				t.Fatalf("the browser's own fetch: %+v", plain)
			}
			if h["content-length"] != strconv.Itoa(mediumSize) || h["content-type"] != ph["content-type"] ||
				h["etag"] != ph["etag"] || h["etag"] != etagOf(t, u) || h["last-modified"] != ph["last-modified"] ||
				h["accept-ranges"] != "bytes" || h["content-range"] != "" {
				t.Fatalf("resumer.fetch headers %v; the server's %v", h, ph)
			}
		})

		t.Run("a Range header gets the server answers 206 and 416", func(t *testing.T) {
			p := fetchPage(t, e)
			u := fileURL(t, medium, "")
			for _, rg := range []string{"bytes=100-1099", "bytes=8388000-", "bytes=-10"} {
				// The first is asked before anything is stored: resumer
				// downloads the file, then answers the range.
				mine := eval[read](p, fmt.Sprintf(`R.fetch(%q, {headers: {Range: %q}}).then(F.answer)`, u, rg))
				theirs := eval[read](p, fmt.Sprintf(`fetch(%q, {headers: {Range: %q}}).then(F.answer)`, u+"&plain=1", rg))
				if theirs.Status != 206 {
					t.Fatalf("the server answered %s with %+v", rg, theirs)
				}
				if mine.Status != 206 || mine.SHA != theirs.SHA || mine.Size != theirs.Size ||
					mine.Headers["content-range"] != theirs.Headers["content-range"] ||
					mine.Headers["content-length"] != theirs.Headers["content-length"] {
					t.Fatalf("Range %s: resumer.fetch %+v; the server %+v", rg, mine, theirs)
				}
			}
			want := fmt.Sprintf("bytes 100-1099/%d", mediumSize)
			if r := eval[read](p, fmt.Sprintf(`R.fetch(%q, {headers: new Headers([["range", "bytes=100-1099"]])}).then(F.answer)`, u)); r.Status != 206 || r.Headers["content-range"] != want || r.Size != 1000 {
				t.Fatalf("Range in a Headers object: %+v; want 206 with Content-Range %s", r, want)
			}
			if r := eval[read](p, fmt.Sprintf(`R.fetch(new Request(%q, {headers: {Range: "bytes=100-1099"}})).then(F.answer)`, u)); r.Status != 206 || r.Headers["content-range"] != want {
				t.Fatalf("Range in a Request: %+v; want 206 with Content-Range %s", r, want)
			}
			bad := fmt.Sprintf("bytes=%d-", mediumSize)
			mine := eval[read](p, fmt.Sprintf(`R.fetch(%q, {headers: {Range: %q}}).then(F.answer)`, u, bad))
			theirs := eval[read](p, fmt.Sprintf(`fetch(%q, {headers: {Range: %q}}).then(F.answer)`, u+"&plain=1", bad))
			if theirs.Status != 416 {
				t.Fatalf("the server answered %s with %+v", bad, theirs)
			}
			if mine.Status != 416 || mine.Size != 0 || mine.Headers["content-range"] != fmt.Sprintf("bytes */%d", mediumSize) {
				t.Fatalf("Range %s: resumer.fetch %+v; want 416 with Content-Range bytes */%d (the server: %+v)", bad, mine, mediumSize, theirs)
			}
		})

		t.Run("a stored file is answered without the network also by a bare function", func(t *testing.T) {
			p := fetchPage(t, e)
			u := fileURL(t, medium, "")
			want := fileSHA(t, medium)
			if r := eval[read](p, fmt.Sprintf(`R.fetch(%q).then(F.answer)`, u)); r.Status != 200 || r.SHA != want {
				t.Fatalf("first resumer.fetch: %+v", r)
			}
			before := gets(t, u, 1)
			// As transformers.js calls env.fetch: a plain function, with a
			// string or a URL.
			bare := fmt.Sprintf(`(async (u) => { const f = R.fetch; const a = await F.answer(await f(u));
			  const b = await F.answer(await f.call(undefined, new URL(u)));
			  const h = await f(u, {method: "HEAD"}); const hb = (await h.arrayBuffer()).byteLength;
			  return [a, b, {status: h.status, size: hb, headers: F.pick(h.headers)}]; })(%q)`, u)
			for round := range 2 {
				rs := eval[[]read](p, bare)
				if rs[0].Status != 200 || rs[0].SHA != want || rs[1].Status != 200 || rs[1].SHA != want {
					t.Fatalf("round %d: bare resumer.fetch: %+v", round, rs)
				}
				if rs[2].Status != 200 || rs[2].Size != 0 || rs[2].Headers["content-length"] != strconv.Itoa(mediumSize) {
					t.Fatalf("round %d: HEAD: %+v", round, rs[2])
				}
				// Then again from a fresh page: the answers come from
				// IndexedDB, not from the page's memory.
				p.reload()
				eval[bool](p, fetchHelpersJS)
			}
			if after := gets(t, u, len(before)); len(after) != len(before) {
				t.Fatalf("a stored file was fetched again:\n%s", lines(after[len(before):]))
			}
		})

		t.Run("an aborted signal rejects with AbortError and the next call resumes", func(t *testing.T) {
			p := fetchPage(t, e)
			u := fileURL(t, medium, rate)
			type aborted struct {
				Name        string   `json:"name"`
				Message     string   `json:"message"`
				DOMExc      bool     `json:"domException"`
				Resolved    bool     `json:"resolved"`
				Stored      int64    `json:"stored"`
				Received    int64    `json:"received"`
				States      []string `json:"states"`
				PreName     string   `json:"preName"`
				ReasonKept  bool     `json:"reasonKept"`
				PausedAfter float64  `json:"pausedAfterMs"`
				LateName    string   `json:"lateName"`
			}
			// Abort once 2 MiB of the 8 are stored (the file comes at 2 MiB/s),
			// from the progress callback as an app would; then wait until the
			// download says it paused.
			a := eval[aborted](p, fmt.Sprintf(`(async (u) => {
			  const w = F.watch(u);
			  const ctl = new AbortController();
			  const out = {};
			  const onprogress = (ev) => {
			    if (ctl.signal.aborted || ev.stored < (2 << 20)) return;
			    out.stored = ev.stored; out.received = ev.received;
			    out.abortedAt = performance.now();
			    ctl.abort();
			  };
			  try {
			    await F.within(R.fetch(u, {signal: ctl.signal, resumer: {onprogress}}), 60000, "the fetch to settle");
			    out.resolved = true;
			  } catch (e) {
			    out.name = e && e.name; out.message = String(e && e.message); out.domException = e instanceof DOMException;
			  }
			  if (!out.resolved) {
			    try {
			      out.states = await w.until("paused", 60000);
			      out.pausedAfterMs = Math.round(performance.now() - out.abortedAt);
			    } catch (e) {
			      const l = (await R.list()).find((x) => x.key === u);
			      throw new Error(e.message + "; list() has " + JSON.stringify(l));
			    }
			  }
			  w.close();
			  // A signal aborted before the call rejects at once, with its reason.
			  const mine = new Error("mine");
			  const c2 = new AbortController(); c2.abort(mine);
			  try { await R.fetch(u, {signal: c2.signal}); } catch (e) { out.reasonKept = e === mine; }
			  const c3 = new AbortController(); c3.abort();
			  try { await R.fetch(u, {signal: c3.signal}); } catch (e) { out.preName = e && e.name; }
			  // Aborted right after the call, while it looks in storage.
			  const c4 = new AbortController();
			  const late = R.fetch(u + "&late=1", {signal: c4.signal});
			  c4.abort();
			  try { await F.within(late, 60000, "a fetch aborted at once to settle"); out.lateName = "resolved"; } catch (e) { out.lateName = e && e.name; }
			  return out;
			})(%q)`, u))
			if a.Resolved {
				t.Fatalf("the download finished before the abort: %+v", a)
			}
			if a.Name != "AbortError" || !a.DOMExc || a.Stored < 2<<20 || a.Stored >= mediumSize {
				t.Fatalf("aborted fetch: %+v; want a DOMException named AbortError in the middle of the file", a)
			}
			if !a.ReasonKept || a.PreName != "AbortError" {
				t.Fatalf("an already aborted signal: reason kept %v, name %q", a.ReasonKept, a.PreName)
			}
			if a.LateName != "AbortError" {
				t.Fatalf("a signal aborted right after the call: the fetch ended with %q, want AbortError", a.LateName)
			}
			t.Logf("aborted with %d of %d bytes stored; states %v, paused %.0f ms after the abort", a.Stored, mediumSize, a.States, a.PausedAfter)
			before := gets(t, u, 1)
			var sent int64
			for _, g := range before {
				sent += g.Sent
			}
			if sent >= mediumSize {
				t.Fatalf("the server sent the whole file before the abort took effect:\n%s", lines(before))
			}

			r := eval[read](p, fmt.Sprintf(`R.fetch(%q).then(F.read)`, u))
			if r.Status != 200 || r.SHA != fileSHA(t, medium) {
				t.Fatalf("the next resumer.fetch: %+v; want sha %s", r, fileSHA(t, medium))
			}
			all := gets(t, u, len(before)+1)
			after := all[len(before):]
			if len(after) == 0 || after[0].Start < a.Stored || after[0].IfRange == "" || after[0].Status != 206 {
				t.Fatalf("want the resume to ask from byte %d on, with If-Range; before the abort:\n%safter:\n%s", a.Stored, lines(before), lines(after))
			}
			okStatuses(t, after)
		})

		t.Run("pauseAll rejects a waiting fetch, and the next call resumes", func(t *testing.T) {
			p := fetchPage(t, e)
			u := fileURL(t, medium, rate)
			type paused struct {
				Name     string `json:"name"`
				Code     string `json:"code"`
				Stored   int64  `json:"stored"`
				Resolved bool   `json:"resolved"`
			}
			got := eval[paused](p, fmt.Sprintf(`(async (u) => {
			  let stored = 0;
			  const onprogress = (ev) => { stored = ev.stored; if (ev.stored >= (1 << 20)) R.pauseAll(); };
			  try {
			    await F.within(R.fetch(u, {resumer: {onprogress}}), 60000, "a paused fetch to settle");
			    return { resolved: true, stored, code: "" };
			  } catch (e) { return { name: e.name, code: e.code || String(e), stored, resolved: false }; }
			})(%q)`, u))
			if got.Resolved || got.Code != "paused" || got.Name != "AbortError" || got.Stored < 1<<20 || got.Stored >= mediumSize {
				t.Fatalf("a fetch whose download paused: %+v; want an AbortError of code paused, with part of the file stored", got)
			}
			before := gets(t, u, 1)
			r := eval[read](p, fmt.Sprintf(`R.fetch(%q).then(F.read)`, u))
			if r.Status != 200 || r.SHA != fileSHA(t, medium) {
				t.Fatalf("the next resumer.fetch: %+v; want sha %s", r, fileSHA(t, medium))
			}
			after := gets(t, u, len(before)+1)[len(before):]
			if after[0].Start < got.Stored || after[0].IfRange == "" {
				t.Fatalf("want the resume to ask from byte %d on, with If-Range:\n%s", got.Stored, lines(after))
			}
		})

		t.Run("integrity is checked against a file already stored without it", func(t *testing.T) {
			p := fetchPage(t, e)
			u := fileURL(t, small, "digest=none")
			type checked struct {
				Wrong string `json:"wrong"` // the code a wrong digest rejects with
				Right string `json:"right"` // the sha the right one answers
			}
			sum := fileSHA(t, small)
			right, wrong := digests(t, sum)
			got := eval[checked](p, fmt.Sprintf(`(async (u, wrong, right) => {
			  await R.download(u).done; // stored, checked against nothing
			  const out = {};
			  try { await R.fetch(u, {integrity: wrong}); out.wrong = "resolved"; } catch (e) { out.wrong = e.code || String(e); }
			  out.right = (await F.read(await R.fetch(u, {integrity: right}))).sha;
			  return out;
			})(%q, %q, %q)`, u, wrong, right))
			if got.Wrong != "integrity" || got.Right != sum {
				t.Fatalf("resumer.fetch with integrity of a stored file: %+v; want integrity, then sha %s", got, sum)
			}
		})

		t.Run("integrity of a call that joins a running download is checked, once", func(t *testing.T) {
			p := fetchPage(t, e)
			sum := fileSHA(t, medium)
			right, wrong := digests(t, sum)
			type joined struct {
				Right    string `json:"right"`    // the sha the right digest answers
				Verified bool   `json:"verified"` // list() says the file was checked
				Wrong    string `json:"wrong"`    // the code a wrong digest rejects with
				Kept     int    `json:"kept"`     // downloads stored after the wrong one
			}
			// The app's download has no digest; resumer.fetch calls with
			// one join it while it runs, and check the stored file once it
			// is there (hashed off the page's thread; no second download).
			got := eval[joined](p, fmt.Sprintf(`(async (u, v, right, wrong) => {
			  const out = {};
			  const dl = R.download(u);
			  out.right = (await R.fetch(u, {integrity: right}).then(F.read)).sha;
			  await dl.done;
			  out.verified = (await R.list()).some((e) => e.key === u && e.verified);
			  const dl2 = R.download(v);
			  try { await R.fetch(v, {integrity: wrong}); out.wrong = "resolved"; } catch (e) { out.wrong = e.code || String(e); }
			  await dl2.done.catch(() => {});
			  out.kept = (await R.list()).filter((e) => e.key === v).length;
			  return out;
			})(%q, %q, %q, %q)`, fileURL(t, medium, rate+"&digest=none"), fileURL(t, medium, rate+"&digest=none&other=1"), right, wrong))
			if got.Right != sum || !got.Verified || got.Wrong != "integrity" || got.Kept != 0 {
				t.Fatalf("resumer.fetch with integrity joining downloads: %+v; want sha %s, verified, then integrity and nothing kept", got, sum)
			}
		})

		t.Run("aborting one fetch leaves the others and the app download running", func(t *testing.T) {
			p := fetchPage(t, e)
			type outcome struct {
				Aborted string `json:"aborted"` // the aborted call's error name
				Other   read   `json:"other"`   // what the call that was not aborted got
			}
			// Two calls for one file, as two parts of an app would make; the
			// one with a signal aborts once 1 MiB is stored.
			both := `(async (u, viaDownload) => {
			  const ctl = new AbortController();
			  const onprogress = (ev) => { if (ev.stored >= (1 << 20)) ctl.abort(); };
			  const other = viaDownload ? R.download(u).done.then((r) => new Response(r.blob)) : R.fetch(u);
			  const mine = R.fetch(u, {signal: ctl.signal, resumer: {onprogress}});
			  const out = {};
			  try { await F.within(mine, 60000, "the call with a signal to settle"); out.aborted = "none"; } catch (e) { out.aborted = e && e.name; }
			  out.other = await F.within(other, 60000, "the call that was not aborted").then(F.read);
			  return out;
			})(%q, %v)`
			for _, viaDownload := range []bool{false, true} {
				u := fileURL(t, medium, rate+"&download="+strconv.FormatBool(viaDownload))
				o := eval[outcome](p, fmt.Sprintf(both, u, viaDownload))
				if o.Aborted != "AbortError" || o.Other.Status != 200 || o.Other.SHA != fileSHA(t, medium) {
					t.Fatalf("download() %v: the aborted call got %q; the other %+v, want sha %s", viaDownload, o.Aborted, o.Other, fileSHA(t, medium))
				}
			}
		})
	})
}

// digests returns the integrity metadata of the SHA-256 sum (hex), and
// one of another sum.
func digests(t *testing.T, sum string) (right, wrong string) {
	t.Helper()
	raw, err := hex.DecodeString(sum)
	if err != nil {
		t.Fatal(err)
	}
	right = "sha256-" + base64.StdEncoding.EncodeToString(raw)
	raw[0] ^= 1
	return right, "sha256-" + base64.StdEncoding.EncodeToString(raw)
}

// okStatuses fails unless every request in log got a 200 or 206.
func okStatuses(t *testing.T, log []devserver.LogEntry) {
	t.Helper()
	for _, e := range log {
		if e.Status != 200 && e.Status != 206 {
			t.Fatalf("request answered %d:\n%s", e.Status, lines(log))
		}
	}
}
