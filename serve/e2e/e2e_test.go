//go:build !js && !wasip1

package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-resumer/resumer/serve/devserver"
	"github.com/go-resumer/resumer/serve/drive"
)

// slowOpts make pieces small and frequent so that a reload loses little and
// progress is visible at 40 %.
const slowOpts = `{chunkSize: 256 * 1024, flushIntervalMs: 200}`

// rate throttles the transfer so a test can act in the middle of it.
const rate = "rate=2097152"

// targets are the servers the main scenarios run against.
func targets() []target { return []target{devTarget(), env.nginx.target()} }

func TestWholeDownload(t *testing.T) {
	forEngines(t, func(t *testing.T, e drive.Engine) {
		for _, tg := range targets() {
			t.Run(tg.name, func(t *testing.T) {
				p := openPage(t, e, tg.origin+"/blank.html")
				u := tg.url(t, false)
				p.start(u, "")
				r := p.finish(u)
				if r.Error != nil {
					t.Fatalf("download failed: %+v", *r.Error)
				}
				if r.SHA != tg.sha(t) || r.Size != mediumSize || r.BlobSize != mediumSize {
					t.Fatalf("result %+v, want sha %s", r, tg.sha(t))
				}
				if !r.Resumable || r.Reason != "" || r.Restarts != 0 || r.ETag == "" {
					t.Fatalf("result %+v", r)
				}
				// The probe, the small cell that measures the link, then the
				// rest of the file's one 8 MiB chunk, all read to their end.
				g := tg.reqs(t, u, 3)
				if len(g) != 3 || g[0].Range != "bytes=0-65535" || g[1].Range != "bytes=65536-1048575" ||
					g[2].Range != "bytes=1048576-8388607" || g[1].IfRange == "" || g[2].IfRange == "" {
					t.Fatalf("requests %+v", g)
				}
				for _, e := range g {
					if e.Status != 206 || !e.Complete {
						t.Fatalf("requests %+v", g)
					}
				}
			})
		}
	})
}

func TestReloadResumes(t *testing.T) {
	forEngines(t, func(t *testing.T, e drive.Engine) {
		for _, tg := range targets() {
			t.Run(tg.name, func(t *testing.T) {
				p := openPage(t, e, tg.origin+"/blank.html")
				u := tg.url(t, true)
				p.start(u, slowOpts)
				seen := p.waitStored(u, mediumSize*4/10)
				p.reload()

				l := p.list()
				if len(l) != 1 || l[0].State != "interrupted" || l[0].Received < seen.Stored || l[0].Received >= mediumSize {
					t.Fatalf("after reload, list() = %+v; want one interrupted download with at least %d bytes", l, seen.Stored)
				}
				stored := l[0].Received
				t0 := time.Now()
				before := tg.reqs(t, u, 1)

				p.start(u, slowOpts)
				r := p.finish(u)
				if r.Error != nil || r.SHA != tg.sha(t) {
					t.Fatalf("result %+v, want sha %s", r, tg.sha(t))
				}
				after := since(tg.reqs(t, u, len(before)+1), t0)
				// No byte stored before the reload was asked for again, and
				// every answer of the resume arrived whole: the server sent
				// exactly what was missing.
				if len(after) == 0 || after[0].Start != stored || after[0].IfRange == "" {
					t.Fatalf("resumed with %+v; want a 206 from %d with If-Range", after, stored)
				}
				for _, e := range after {
					if e.Status != 206 || !e.Complete || e.IfRange == "" {
						t.Fatalf("resume request %+v", e)
					}
				}
				if sent := sentBy(after); sent != mediumSize-stored {
					t.Fatalf("the resume sent %d bytes for %d missing", sent, mediumSize-stored)
				}
			})
		}
	})
}

func TestFileChangesDuringReload(t *testing.T) {
	forEngines(t, func(t *testing.T, e drive.Engine) {
		for _, tg := range targets() {
			t.Run(tg.name, func(t *testing.T) {
				p := openPage(t, e, tg.origin+"/blank.html")
				u := tg.url(t, true)
				old := tg.sha(t)
				p.start(u, slowOpts)
				p.waitStored(u, mediumSize*4/10)
				p.reload()
				tg.change(t)
				now := tg.sha(t)
				if now == old {
					t.Fatal("the file did not change")
				}
				t0 := time.Now()
				p.start(u, slowOpts)
				r := p.finish(u)
				if r.Error != nil || r.SHA != now || r.Restarts != 1 {
					t.Fatalf("result %+v; want the new file (sha %s) and restarts 1", r, now)
				}
				// If-Range found the file changed: the answer was the whole new
				// version, read to its end, and nothing else was asked.
				all := tg.reqs(t, u, 2)
				after := since(all, t0)
				if len(after) != 1 || after[0].IfRange == "" || after[0].Status != 200 || !after[0].Complete || after[0].Sent != mediumSize {
					var b strings.Builder
					for _, r := range all {
						fmt.Fprintf(&b, "  %s %+v\n", r.Time.Format("15:04:05.000"), r)
					}
					t.Fatalf("the resume was not answered with the new version: %+v\nsince %s; all requests:\n%sthe page's progress: %+v", after, t0.Format("15:04:05.000"), b.String(), p.progressOf(u))
				}
			})
		}
	})
}

// TestPageHideStopsRequests: once its page is being discarded (a pagehide
// that is not persisted), no request goes out from it. Firefox runs a
// reloaded page on for a moment after the new one has loaded; its session,
// backing off after the request the reload cut, sent that request again
// beside the new page's (TestFileChangesDuringReload saw it, 1 run in about
// 15). The session backs off as after a network failure, and the server
// sees nothing more.
func TestPageHideStopsRequests(t *testing.T) {
	forEngines(t, func(t *testing.T, e drive.Engine) {
		p := newPage(t, e, "/blank.html")
		u := fileURL(t, medium, rate)
		p.start(u, slowOpts)
		p.waitStored(u, mediumSize/10)
		eval[bool](p, `(dispatchEvent(new PageTransitionEvent("pagehide", {persisted: false})), true)`)
		// A request refused, the one in flight at the pagehide ended;
		// then, after the back-off, another refused.
		p.until(u, `s.maxAttempt >= 1 || s.state === "done"`)
		before := idleLog(t, u)
		pr := p.until(u, `s.maxAttempt >= 2 || s.state === "done"`)
		if pr.State == "done" {
			t.Fatalf("the download finished after the pagehide: %+v", pr)
		}
		if after := idleLog(t, u); len(after) != len(before) {
			t.Fatalf("%d requests after the pagehide's first refusal, %d before; the new ones:\n%s", len(after), len(before), lines(after[len(before):]))
		}
		if len(pr.ErrorCodes) == 0 || pr.ErrorCodes[len(pr.ErrorCodes)-1] != "network" {
			t.Fatalf("progress %+v: want the refusals as network failures", pr)
		}
	})
}

// TestServerWithoutRanges downloads from python3 -m http.server, which
// answers every request with the whole file: the download finishes in one
// stream and says why it is not resumable.
func TestServerWithoutRanges(t *testing.T) {
	forEngines(t, func(t *testing.T, e drive.Engine) {
		p := openPage(t, e, env.python.origin()+"/blank.html")
		u := env.python.origin() + "/" + medium
		p.start(u, "")
		r := p.finish(u)
		if r.Error != nil || r.SHA != sha(t, filepath.Join(env.python.dir, medium)) {
			t.Fatalf("result %+v", r)
		}
		if r.Resumable || r.ReasonCode != "no-ranges" {
			t.Fatalf("resumable %v, reason %s: %q", r.Resumable, r.ReasonCode, r.Reason)
		}
	})
}

// TestNginxWithoutRanges uses nginx with max_ranges 0 (always 200) and cuts
// the transfer by reloading: the download starts over cleanly without
// Range and finishes right.
func TestNginxWithoutRanges(t *testing.T) {
	forEngines(t, func(t *testing.T, e drive.Engine) {
		n := env.nginx
		origin := n.target().origin
		p := openPage(t, e, origin+"/blank.html")
		u := origin + "/noranges/" + medium + "?t=" + testID(t)
		p.start(u, "")
		r := p.finish(u)
		if r.Error != nil || r.SHA != n.target().sha(t) || r.Resumable || r.ReasonCode != "no-ranges" {
			t.Fatalf("result %+v", r)
		}
		// The probe's 200 carried the whole file, read as the one stream.
		if g := n.log(u); len(g) != 1 || g[0].Status != 200 || g[0].Range != "bytes=0-65535" || g[0].Sent != mediumSize {
			t.Fatalf("requests %+v", g)
		}
	})
}

func TestNoValidatorsRestartsFromZero(t *testing.T) {
	forEngines(t, func(t *testing.T, e drive.Engine) {
		p := newPage(t, e, "/blank.html")
		u := fileURL(t, medium, rate+"&validators=none")
		p.start(u, slowOpts)
		p.waitStored(u, mediumSize*4/10)
		p.reload()
		l := p.list()
		if len(l) != 1 || l[0].Resumable || !strings.Contains(l[0].Reason, "ETag") || !strings.Contains(l[0].Reason, "Last-Modified") {
			t.Fatalf("list() = %+v; want not resumable, naming ETag and Last-Modified", l)
		}
		t0 := time.Now()
		p.start(u, slowOpts)
		r := p.finish(u)
		if r.Error != nil || r.SHA != fileSHA(t, medium) {
			t.Fatalf("result %+v", r)
		}
		if r.Resumable || !strings.Contains(r.Reason, "ETag") || !strings.Contains(r.Reason, "Last-Modified") || r.ReasonCode != "no-validators" {
			t.Fatalf("result resumable %v, reason %q (%s)", r.Resumable, r.Reason, r.ReasonCode)
		}
		g := gets(t, u, 2)
		// Before the reload: the probe (its 64 KiB are all a server without
		// validators costs), then the file without Range.
		if g[0].Range != "bytes=0-65535" || g[0].Sent > 65536 || g[1].Range != "" {
			t.Fatalf("before the reload: %s", lines(g))
		}
		after := since(devReqs(g), t0)
		if len(after) != 1 || after[0].Start != 0 || after[0].IfRange != "" || after[0].Range != "" || after[0].Sent != mediumSize {
			t.Fatalf("after the reload: %+v; want the whole file again from byte 0", after)
		}
	})
}

// devReqs converts dev server log entries.
func devReqs(log []devserver.LogEntry) []req {
	var out []req
	for _, e := range log {
		out = append(out, req{e.Range, e.IfRange, e.Status, e.Start, e.Sent, !e.ClientGone && !e.Cut, e.ETag, e.Time})
	}
	return out
}

func TestPauseListRemove(t *testing.T) {
	forEngines(t, func(t *testing.T, e drive.Engine) {
		p := newPage(t, e, "/blank.html")
		u := fileURL(t, medium, rate)
		p.start(u, slowOpts)
		p.waitStored(u, 1)
		eval[any](p, "T.D["+quote(u)+"].pause()")
		for eval[string](p, "T.P["+quote(u)+"].state") != "paused" {
		}
		l := p.list()
		if len(l) != 1 || l[0].State != "paused" || l[0].Received <= 0 || l[0].URL != u {
			t.Fatalf("list() while paused = %+v", l)
		}
		if n := eval[int](p, "T.chunks("+quote(p.db)+")"); n == 0 {
			t.Fatal("no chunk stored while paused")
		}
		eval[any](p, "R.remove("+quote(u)+")")
		if l := p.list(); len(l) != 0 {
			t.Fatalf("list() after remove = %+v", l)
		}
		if n := eval[int](p, "T.chunks("+quote(p.db)+")"); n != 0 {
			t.Fatalf("%d chunks left after remove", n)
		}
		if r := p.finish(u); r.Error == nil || r.Error.Code != "aborted" {
			t.Fatalf("done of a removed download: %+v", r)
		}
	})
}

func TestNotFound(t *testing.T) {
	forEngines(t, func(t *testing.T, e drive.Engine) {
		p := newPage(t, e, "/blank.html")
		u := fileURL(t, "nope.bin", "")
		p.start(u, "")
		r := p.finish(u)
		if r.Error == nil || r.Error.Code != "http-status" || r.Error.Status != 404 || !r.Error.IsError || !strings.HasPrefix(r.Error.Message, "resumer:") {
			t.Fatalf("result %+v; want an Error with code http-status and status 404", r)
		}
	})
}

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", `\'`) + "'" }

// TestProgressDecidedBy: the proof of the mode (decidedBy) changes once per
// generation, not with each progress event: the events of one generation
// hand over one frozen object, which no listener can change for the next.
func TestProgressDecidedBy(t *testing.T) {
	forEngines(t, func(t *testing.T, e drive.Engine) {
		p := newPage(t, e, "/blank.html")
		u := fileURL(t, medium, rate)
		type proofs struct {
			Events int    `json:"events"` // progress events with a proof
			Same   bool   `json:"same"`   // all of them the same object
			Frozen bool   `json:"frozen"` // and frozen, deeply
			Range  string `json:"range"`  // the Range of the request that decided
		}
		got := eval[proofs](p, fmt.Sprintf(`(async (u) => {
		  const seen = [];
		  const d = R.download(u, {chunkSize: 1 << 20});
		  d.addEventListener("progress", (ev) => { if (ev.decidedBy) seen.push(ev.decidedBy); });
		  await d.done;
		  const x = seen[0] || {};
		  return { events: seen.length, same: seen.every((s) => s === x),
		    frozen: Object.isFrozen(x) && Object.isFrozen(x.request) && (x.request || []).every(Object.isFrozen),
		    range: ((x.request || [])[0] || {}).value || "" };
		})(%q)`, u))
		if got.Events < 3 || !got.Same || !got.Frozen || got.Range != "bytes=0-65535" {
			t.Fatalf("decidedBy over the progress events: %+v; want one frozen object, the probe's", got)
		}
	})
}
