//go:build !js

package resumer_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-resumer/resumer/wasm/internal/httpfetch"
	"github.com/go-resumer/resumer/wasm/protocol"
	"github.com/go-resumer/resumer/wasm/resumer"
	"github.com/go-resumer/resumer/wasm/store"
	"github.com/go-resumer/resumer/wasm/store/memstore"
)

// TestWholeDownload: the probe, then the rest of the first cell of the
// grid, each answered with a 206 and read to its end.
func TestWholeDownload(t *testing.T) {
	f := newFixture(t)
	res, err := f.download(f.manager(), f.url+file, resumer.Options{})
	mustOK(t, f, res, err)
	if !res.Resumable || res.Restarts != 0 || res.Validators.ETag == "" {
		t.Fatalf("result %+v", res)
	}
	g := f.logged()
	if len(g) != 2 || g[0].Range != "bytes=0-65535" || g[1].Range != "bytes=65536-1048575" || g[1].IfRange != g[0].ETag {
		t.Fatalf("requests %v; want the probe and one range with If-Range", g)
	}
	for _, e := range g {
		if e.Status != 206 || e.ClientGone {
			t.Fatalf("a response was not read to its end: %v", e)
		}
	}
	if res.Stats.Requests != 2 {
		t.Fatalf("stats %+v", res.Stats)
	}
	// A finished download is kept: asking again returns it without a request.
	res, err = f.download(f.manager(), f.url+file, resumer.Options{})
	if err != nil || len(f.gets()) != 2 {
		t.Fatalf("second download: %v, %d requests", err, len(f.gets()))
	}
	mustMatch(t, res, f.sha())
}

// TestSmallFile: a file smaller than the probe takes one request.
func TestSmallFile(t *testing.T) {
	f := newFixtureOf(t, "tiny.bin", 1000)
	res, err := f.download(f.manager(), f.url+"tiny.bin", resumer.Options{})
	mustOK(t, f, res, err)
	if g := f.logged(); len(g) != 1 || g[0].ContentRange != "bytes 0-999/1000" {
		t.Fatalf("requests %v", g)
	}
}

// TestEmptyFile: "bytes=0-65535" of an empty file is a 416 (RFC 9110
// §14.1.2), which finishes the download with nothing to fetch.
func TestEmptyFile(t *testing.T) {
	f := newFixtureOf(t, "empty.bin", 0)
	res, err := f.download(f.manager(), f.url+"empty.bin", resumer.Options{})
	mustOK(t, f, res, err)
	// net/http answers a range of an empty file with a 200 of nothing,
	// which is as good.
	if g := f.logged(); len(g) != 1 || (g[0].Status != 416 && g[0].Status != 200) || res.Size != 0 {
		t.Fatalf("requests %v", g)
	}
}

// TestSameRequestsEveryRun: the requests depend on the file, the options
// and what is stored, never on timing: a fast and a throttled server get
// the same ranges, and every body the engine asked for arrives whole.
func TestSameRequestsEveryRun(t *testing.T) {
	for _, conns := range []int{1, 3} {
		var runs [][]string
		for _, q := range []string{"", "?rate=8388608", "?rate=2097152"} {
			f := newFixture(t)
			res, err := f.download(f.manager(), f.url+file+q, resumer.Options{ChunkSize: 128 << 10, Connections: conns})
			mustOK(t, f, res, err)
			var ranges []string
			for _, e := range f.logged() {
				if e.ClientGone || e.Status != 206 {
					t.Fatalf("%d connections%s: a response was aborted: %v", conns, q, e)
				}
				ranges = append(ranges, e.Range)
			}
			runs = append(runs, sortedCopy(ranges))
		}
		for _, r := range runs[1:] {
			if strings.Join(r, " ") != strings.Join(runs[0], " ") {
				t.Fatalf("%d connections: requests differ between runs:\n%v\n%v", conns, runs[0], r)
			}
		}
		if len(runs[0]) != 1+size/(128<<10) {
			t.Fatalf("%d requests: %v", len(runs[0]), runs[0])
		}
	}
}

func sortedCopy(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func TestResumeAfterInterruption(t *testing.T) {
	f := newFixture(t)
	url := f.url + file + "?rate=2097152"
	stored := f.interrupt(url, size*4/10, resumer.Options{ChunkSize: small})
	if stored <= 0 || stored >= size {
		t.Fatalf("stored %d", stored)
	}
	m, rec := f.recorded()
	res, err := f.download(m, url, resumer.Options{})
	mustOK(t, f, res, err)
	// The resume asks for what is missing (a hole, where the last pieces
	// committed out of order, and the rest), each with If-Range, and the
	// server sends exactly the missing bytes.
	var sent int64
	for _, req := range rec.sent() {
		e := f.served(req)
		if req.IfRange == "" || e.Status != 206 || e.ClientGone {
			t.Fatalf("resume request %+v answered %v", req, e)
		}
		sent += e.Sent
	}
	if sent != size-stored {
		t.Fatalf("the resume sent %d bytes for %d missing", sent, size-stored)
	}
}

func TestFileChangedWhileInterrupted(t *testing.T) {
	f := newFixture(t)
	url := f.url + file + "?rate=2097152"
	old := f.sha()
	f.interrupt(url, size/4, resumer.Options{ChunkSize: small})
	if err := f.srv.ChangeFile(file); err != nil {
		t.Fatal(err)
	}
	if f.sha() == old {
		t.Fatal("ChangeFile did not change the file")
	}
	m, rec := f.recorded()
	res, err := f.download(m, url, resumer.Options{})
	mustOK(t, f, res, err)
	if res.Restarts != 1 {
		t.Fatalf("restarts = %d, want 1", res.Restarts)
	}
	// If-Range got the whole new version (a 200), which was read to its
	// end: nothing more was asked. (The interrupted session's last
	// request may reach the server late: only this session's count.)
	sent := rec.sent()
	if len(sent) != 1 || sent[0].IfRange == "" {
		t.Fatalf("this session sent %+v; want one request with If-Range", sent)
	}
	if got := f.served(sent[0]); got.Status != 200 || got.Sent != size {
		t.Fatalf("after the change %v; want one 200 with the whole new file", got)
	}
}

func TestNoValidators(t *testing.T) {
	f := newFixture(t)
	url := f.url + file + "?validators=none&rate=2097152"
	w := newWatch()
	ps := &pausing{Store: f.st, at: size / 4}
	d := ps.start(t, resumer.NewManager(ps, httpfetch.Platform{}), url, w.opts(resumer.Options{ChunkSize: small}))
	w.until(t, "the pause", func(p resumer.Progress) bool { return p.State == protocol.Paused })
	if p := d.Progress(); p.Resumable || p.Reason.Code != protocol.ReasonNoValidators {
		t.Fatalf("progress says resumable %v, reason %+v", p.Resumable, p.Reason)
	}
	before := len(f.gets())
	d.Resume()
	res, err := wait(t, d)
	mustOK(t, f, res, err)
	if res.Resumable || res.Reason.Code != protocol.ReasonNoValidators ||
		!strings.Contains(res.Reason.Text, "ETag") || !strings.Contains(res.Reason.Text, "Last-Modified") {
		t.Fatalf("resumable %v, reason %+v", res.Resumable, res.Reason)
	}
	if res.Restarts != 0 {
		t.Fatalf("restarts = %d: a restart without a change of file is not counted", res.Restarts)
	}
	g := f.logged()
	// The probe (thrown away: nothing proves later bytes belong with
	// it), then one request without Range; after the pause, the whole
	// file again from byte 0.
	if g[0].Range != "bytes=0-65535" || g[0].Sent > small || g[1].Range != "" || g[1].Status != 200 {
		t.Fatalf("requests %v; want the probe, then a GET without Range", g)
	}
	if after := g[before:]; len(after) != 1 || after[0].Range != "" || after[0].IfRange != "" || after[0].Sent != size {
		t.Fatalf("after the pause: %v; want the whole file again", after)
	}
}

func TestHTTPStatus(t *testing.T) {
	f := newFixture(t)
	_, err := f.download(f.manager(), f.url+"missing.bin", resumer.Options{})
	var re *resumer.Error
	if !errors.As(err, &re) || re.Code != resumer.CodeHTTPStatus || re.Status != 404 {
		t.Fatalf("err = %v, want http-status 404", err)
	}
}

func TestPauseResume(t *testing.T) {
	f := newFixture(t)
	ps := &pausing{Store: f.st, at: size / 4}
	rec := &recorder{}
	m := resumer.NewManager(ps, rec)
	w := newWatch()
	d := ps.start(t, m, f.url+file+"?rate=4194304", w.opts(resumer.Options{ChunkSize: 256 << 10}))
	w.until(t, "the pause", func(p resumer.Progress) bool { return p.State == protocol.Paused })
	infos, _ := m.List(context.Background())
	if len(infos) != 1 || infos[0].State != protocol.Paused || infos[0].Received <= 0 {
		t.Fatalf("list while paused: %+v", infos)
	}
	paused := infos[0].Received
	before := len(rec.sent())
	d.Resume()
	res, err := wait(t, d)
	mustOK(t, f, res, err)
	w.check(t)
	// What arrived before the pause was kept: the next request starts
	// where the stored bytes end. (The requests are the ones this session
	// sent after the pause: one sent before it may reach the server late.)
	if after := rec.sent()[before:]; len(after) == 0 || !strings.HasPrefix(after[0].Range, fmt.Sprintf("bytes=%d-", paused)) {
		t.Fatalf("requests after the pause %+v; want the first from %d", after, paused)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	want := []protocol.State{protocol.Running, protocol.Paused, protocol.Running, protocol.Done}
	if s := w.states; len(s) < 4 || !equalStates(s[len(s)-4:], want) {
		t.Fatalf("states %v, want to end with %v", w.states, want)
	}
}

func equalStates(a, b []protocol.State) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestCancelDeletes(t *testing.T) {
	f := newFixture(t)
	u := f.url + file + "?rate=2097152"
	w := newWatch()
	d, _ := f.manager().Download(u, w.opts(resumer.Options{ChunkSize: small}))
	w.until(t, "a byte stored", func(p resumer.Progress) bool { return p.Stored > 0 })
	d.Cancel()
	_, err := wait(t, d)
	if resumer.CodeOf(err) != resumer.CodeAborted || !errors.Is(err, resumer.ErrCanceled) {
		t.Fatalf("err = %v, want aborted", err)
	}
	if f.st.Used() != 0 {
		t.Fatalf("%d bytes left after cancel", f.st.Used())
	}
	if _, err := f.st.Get(context.Background(), u); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("record left after cancel: %v", err)
	}
}

func TestRemove(t *testing.T) {
	f := newFixture(t)
	m := f.manager()
	if _, err := f.download(m, f.url+file, resumer.Options{}); err != nil {
		t.Fatal(err)
	}
	if err := m.Remove(context.Background(), f.url+file); err != nil {
		t.Fatal(err)
	}
	if infos, _ := m.List(context.Background()); len(infos) != 0 || f.st.Used() != 0 {
		t.Fatalf("after remove: %+v, %d bytes", infos, f.st.Used())
	}
}

func TestInvalidArguments(t *testing.T) {
	st := memstore.New()
	m := resumer.NewManager(st, httpfetch.Platform{})
	for _, tt := range []struct {
		url  string
		opts resumer.Options
	}{
		{"ftp://x/y", resumer.Options{}},
		{"/relative", resumer.Options{}},
		{"http:///nohost", resumer.Options{}},
		{"https://user:pass@x.test/y", resumer.Options{}},
		{"https://user@x.test/y", resumer.Options{}},
		{"http://x/y", resumer.Options{ChunkSize: 10}},
		{"http://x/y", resumer.Options{ChunkSize: 2 << 30}},
		{"http://x/y", resumer.Options{FlushInterval: -1}},
		{"http://x/y", resumer.Options{StallTimeout: time.Millisecond}},
		{"http://x/y", resumer.Options{MaxBytes: -1}},
		{"http://x/y", resumer.Options{Connections: 17}},
	} {
		if _, err := m.Download(tt.url, tt.opts); resumer.CodeOf(err) != resumer.CodeInvalid {
			t.Errorf("Download(%q, %+v) = %v, want invalid-argument", tt.url, tt.opts, err)
		}
	}
	if recs, _ := st.List(context.Background()); len(recs) != 0 {
		t.Fatalf("stored %+v for invalid downloads", recs)
	}
	// An "@" after the authority is no credential.
	if _, err := m.Download("http://127.0.0.1:1/a@b", resumer.Options{Retry: protocol.RetryPolicy{Attempts: 1}}); err != nil {
		t.Fatalf("an @ in the path: %v", err)
	}
}

func TestQuotaPausesAndResumes(t *testing.T) {
	f := newFixture(t)
	f.st.Limit = size / 2
	m := f.manager()
	w := newWatch()
	d, _ := m.Download(f.url+file, w.opts(resumer.Options{ChunkSize: small}))
	p := w.until(t, "a pause for quota", func(p resumer.Progress) bool { return p.State == protocol.Paused })
	if p.ErrCode != resumer.CodeQuota || p.Stored == 0 || p.Stored > size/2 {
		t.Fatalf("paused with %+v", p)
	}
	infos, _ := m.List(context.Background())
	if infos[0].ErrCode != resumer.CodeQuota || infos[0].Received != p.Stored {
		t.Fatalf("list: %+v", infos[0])
	}
	f.st.Limit = 0
	d.Resume()
	res, err := wait(t, d)
	mustOK(t, f, res, err)
	w.check(t)
}

func TestJoinTrimsOverlaps(t *testing.T) {
	// Overlapping chunks (a piece stored twice after a lost acknowledgement)
	// are joined without repeating bytes.
	f := newFixture(t)
	url := f.url + file
	want, _ := os.ReadFile(mustPath(t, f.srv, file))
	if _, err := f.download(f.manager(), url, resumer.Options{}); err != nil {
		t.Fatal(err)
	}
	rec, _ := f.st.Get(context.Background(), url)
	ctx := context.Background()
	if err := f.st.PutChunk(ctx, store.Chunk{URL: url, Gen: rec.Gen, Start: 100, Data: memstore.Bytes(want[100:300000])}); err != nil {
		t.Fatal(err)
	}
	res, err := f.download(f.manager(), url, resumer.Options{})
	if err != nil || !bytes.Equal(res.Blob.(memstore.Bytes), want) {
		t.Fatalf("join with an overlap: %v", err)
	}
}

// TestDecidedIsTheProof: the exchange a download keeps as the proof of its
// mode is the answer that decided it, with the lines that decided, and
// survives the later requests (and a listing from the store).
func TestDecidedIsTheProof(t *testing.T) {
	for _, tt := range []struct {
		name, query string
		resumable   bool
		status      int
		// has and missing are response headers the proof must show, and
		// must name as missing.
		has, missing []string
	}{
		{"resumable", "", true, 206, []string{"Accept-Ranges", "Content-Range", "ETag", "Last-Modified", "Date", "Repr-Digest"}, nil},
		{"no validators", "?validators=none", false, 206, []string{"Content-Range"}, []string{"ETag", "Last-Modified"}},
		{"server ignores ranges", "?ranges=none", false, 200, []string{"Accept-Ranges", "ETag", "Content-Length"}, []string{"Content-Range"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			m := f.manager()
			res, err := f.download(m, f.url+file+tt.query, resumer.Options{})
			mustOK(t, f, res, err)
			if res.Resumable != tt.resumable {
				t.Fatalf("resumable %v, want %v", res.Resumable, tt.resumable)
			}
			if n := len(f.gets()); (tt.status == 206) != (n > 1) {
				// A 200 to the probe is the whole file; after a 206, the
				// proof must outlast the later requests.
				t.Fatalf("%d requests after a %d", n, tt.status)
			}
			infos, err := m.List(context.Background())
			if err != nil || len(infos) != 1 {
				t.Fatalf("List: %v, %v", infos, err)
			}
			x, first := infos[0].Decided, f.logged()[0]
			if x.Status != tt.status || first.Status != tt.status {
				t.Fatalf("proof status %d, first answer %d; want %d", x.Status, first.Status, tt.status)
			}
			if len(x.Request) != 1 || x.Request[0] != (protocol.Field{Name: "Range", Value: first.Range}) || first.Range != "bytes=0-65535" {
				t.Fatalf("proof request %v; the probe sent %q", x.Request, first.Range)
			}
			for _, h := range tt.has {
				if x.Get(h) == "" {
					t.Errorf("proof lacks %s: %+v", h, x.Response)
				}
			}
			for _, h := range tt.missing {
				if x.Get(h) != "" || !slices.Contains(x.Missing, h) {
					t.Errorf("proof shows %s %q, missing %v", h, x.Get(h), x.Missing)
				}
			}
			if x.Get("ETag") != first.ETag {
				t.Errorf("proof ETag %q, the server sent %q", x.Get("ETag"), first.ETag)
			}
		})
	}
}
