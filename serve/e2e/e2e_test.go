//go:build !js && !wasip1

package e2e

import (
	"path/filepath"
	"strings"
	"testing"
)

// slowOpts make pieces small and frequent so that a reload loses little and
// progress is visible at 40 %.
const slowOpts = `{chunkSize: 256 * 1024, flushIntervalMs: 200}`

// rate throttles the transfer so a test can act in the middle of it.
const rate = "rate=2097152"

// targets are the servers the main scenarios run against.
func targets() []target { return []target{devTarget(), env.nginx.target()} }

func TestWholeDownload(t *testing.T) {
	for _, tg := range targets() {
		t.Run(tg.name, func(t *testing.T) {
			p := openPage(t, tg.origin+"/blank.html")
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
			if g := tg.reqs(t, u, 1); len(g) != 1 || g[0].Status != 206 || g[0].Sent != mediumSize {
				t.Fatalf("requests %+v", g)
			}
		})
	}
}

func TestReloadResumes(t *testing.T) {
	for _, tg := range targets() {
		t.Run(tg.name, func(t *testing.T) {
			p := openPage(t, tg.origin+"/blank.html")
			u := tg.url(t, true)
			p.start(u, slowOpts)
			seen := p.waitStored(u, mediumSize*4/10)
			p.reload()

			l := p.list()
			if len(l) != 1 || l[0].State != "interrupted" || l[0].Received < seen.Stored || l[0].Received >= mediumSize {
				t.Fatalf("after reload, list() = %+v; want one interrupted download with at least %d bytes", l, seen.Stored)
			}
			stored := l[0].Received
			if before := tg.reqs(t, u, 1); before[0].Complete || before[0].Sent >= mediumSize {
				t.Fatalf("the first request was not cut by the reload: %+v", before[0])
			}

			p.start(u, slowOpts)
			r := p.finish(u)
			if r.Error != nil || r.SHA != tg.sha(t) {
				t.Fatalf("result %+v, want sha %s", r, tg.sha(t))
			}
			after := tg.reqs(t, u, 2)[1:]
			if len(after) != 1 {
				t.Fatalf("resumed in %d requests: %+v", len(after), after)
			}
			// No byte before the last stored chunk was sent again.
			if after[0].Start != stored || after[0].IfRange == "" || after[0].Status != 206 || after[0].Sent != mediumSize-stored {
				t.Fatalf("resumed with %+v; want a 206 from %d with If-Range, %d bytes", after[0], stored, mediumSize-stored)
			}
		})
	}
}

func TestFileChangesDuringReload(t *testing.T) {
	for _, tg := range targets() {
		t.Run(tg.name, func(t *testing.T) {
			p := openPage(t, tg.origin+"/blank.html")
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
			p.start(u, slowOpts)
			r := p.finish(u)
			if r.Error != nil || r.SHA != now || r.Restarts != 1 {
				t.Fatalf("result %+v; want the new file (sha %s) and restarts 1", r, now)
			}
			g := tg.reqs(t, u, 2)
			if g[1].IfRange == "" || g[1].Status != 200 || g[1].ETag == g[0].ETag {
				t.Fatalf("the resume was not answered with the new version: %+v", g[1])
			}
		})
	}
}

// TestServerWithoutRanges downloads from python3 -m http.server, which
// answers every request with the whole file: the download finishes in one
// stream and says why it is not resumable.
func TestServerWithoutRanges(t *testing.T) {
	p := openPage(t, env.python.origin()+"/blank.html")
	u := env.python.origin() + "/" + medium
	p.start(u, "")
	r := p.finish(u)
	if r.Error != nil || r.SHA != sha(t, filepath.Join(env.python.dir, medium)) {
		t.Fatalf("result %+v", r)
	}
	if r.Resumable || r.ReasonCode != "no-ranges" {
		t.Fatalf("resumable %v, reason %s: %q", r.Resumable, r.ReasonCode, r.Reason)
	}
}

// TestNginxWithoutRanges uses nginx with max_ranges 0 (always 200) and cuts
// the transfer by reloading: the download starts over cleanly without
// Range and finishes right.
func TestNginxWithoutRanges(t *testing.T) {
	n := env.nginx
	origin := n.target().origin
	p := openPage(t, origin+"/blank.html")
	u := origin + "/noranges/" + medium + "?t=" + testID(t)
	p.start(u, "")
	r := p.finish(u)
	if r.Error != nil || r.SHA != n.target().sha(t) || r.Resumable || r.ReasonCode != "no-ranges" {
		t.Fatalf("result %+v", r)
	}
	if g := n.log(u); len(g) != 1 || g[0].Status != 200 || g[0].Range != "bytes=0-" {
		t.Fatalf("requests %+v", g)
	}
}

func TestNoValidatorsRestartsFromZero(t *testing.T) {
	p := newPage(t, "/blank.html")
	u := fileURL(t, medium, rate+"&validators=none")
	p.start(u, slowOpts)
	p.waitStored(u, mediumSize*4/10)
	p.reload()
	l := p.list()
	if len(l) != 1 || l[0].Resumable || !strings.Contains(l[0].Reason, "ETag") || !strings.Contains(l[0].Reason, "Last-Modified") {
		t.Fatalf("list() = %+v; want not resumable, naming ETag and Last-Modified", l)
	}
	p.start(u, slowOpts)
	r := p.finish(u)
	if r.Error != nil || r.SHA != fileSHA(t, medium) {
		t.Fatalf("result %+v", r)
	}
	if r.Resumable || !strings.Contains(r.Reason, "ETag") || !strings.Contains(r.Reason, "Last-Modified") || r.ReasonCode != "no-validators" {
		t.Fatalf("result resumable %v, reason %q (%s)", r.Resumable, r.Reason, r.ReasonCode)
	}
	g := gets(t, u, 2)
	if g[1].Start != 0 || g[1].IfRange != "" || g[1].Sent != mediumSize {
		t.Fatalf("after the reload: %+v; want the whole file again from byte 0", g[1])
	}
}

func TestPauseListRemove(t *testing.T) {
	p := newPage(t, "/blank.html")
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
}

func TestNotFound(t *testing.T) {
	p := newPage(t, "/blank.html")
	u := fileURL(t, "nope.bin", "")
	p.start(u, "")
	r := p.finish(u)
	if r.Error == nil || r.Error.Code != "http-status" || r.Error.Status != 404 || !r.Error.IsError || !strings.HasPrefix(r.Error.Message, "resumer:") {
		t.Fatalf("result %+v; want an Error with code http-status and status 404", r)
	}
}

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", `\'`) + "'" }
