//go:build !js

package resumer_test

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-resumer/resumer/serve/devserver"
	"github.com/go-resumer/resumer/wasm/internal/httpfetch"
	"github.com/go-resumer/resumer/wasm/protocol"
	"github.com/go-resumer/resumer/wasm/resumer"
	"github.com/go-resumer/resumer/wasm/store/memstore"
)

// TestChaos runs whole downloads (Manager, Download, the session and its
// shell: flights, body readers, writes, timers) against the dev server,
// whose every answer may get one of its faults at random, under
// testing/synctest: the server runs in the same bubble over its in-process
// transport, so time is fake, and a download that backs off for minutes or
// stalls for its whole StallTimeout ends in an instant of real time. (The
// session alone, with pages closed and paused at random, is driven event by
// event in TestSessionChaos.) It holds the engine to what matters:
//   - it ends: it finishes or fails with a code, never hangs;
//   - a finished file is exactly one version of it, the one whose ETag it
//     reports: bytes of two versions are never joined, and bytes past a
//     Content-Range are never kept;
//   - no storm: after an answer that gave it nothing to go on, it waits at
//     least MinRetryDelay, but for a few bounded changes of plan.
func TestChaos(t *testing.T) {
	for seed := range uint64(*chaosSeeds) {
		for _, conns := range []int{1, 4} {
			t.Run(fmt.Sprintf("seed %d/%d", seed, conns), func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) { chaosRun(t, seed, conns) })
			})
		}
	}
}

var chaosSeeds = flag.Int("chaos.seeds", 30, "how many random servers TestChaos runs against, on 1 and 4 connections")

// maxQuick is how many answers in a row may each lead to a new request at
// once: the file changed (the engine's maxRestarts) plus a switch to a
// single request, and the stored final URL asked directly.
const maxQuick = 5 + 1 + 1

// chaosFaults are the faults TestChaos picks from: the dev server's
// vocabulary (change= rewrites the file before the answer).
var chaosFaults = []string{
	"status=503&retry-after=1", "status=500", "cr=shift", "cr=unknown", "cr=overflow", "cr=missing",
	"ranges=none", "redirect=login", "stall=1000", "cut=10000", "cap=7000", "overrun=999",
	"change=0", "status=416", "status=412", "ifrange=ignore", "length=none",
}

// chaosReq is one request as the faulty transport passed it on.
type chaosReq struct {
	at           time.Time
	rng, ifRange string
	fault        string
}

// faulty is a RoundTripper that adds a random fault of the dev server's to
// each request for the file, and passes it to the dev server.
type faulty struct {
	srv  *devserver.Server
	rt   http.RoundTripper
	name string
	pick func() string

	mu       sync.Mutex
	log      []chaosReq
	versions [][]byte // every content the file had
}

func (f *faulty) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Path != "/files/"+f.name || r.URL.Query().Has("redirected") {
		return f.rt.RoundTrip(r) // where a redirect led: the fault is spent
	}
	fault := f.pick()
	if ir := r.Header.Get("If-Range"); fault == "overrun=999" && (r.Header.Get("Range") == "" || (ir != "" && ir != f.etag())) {
		// Junk after a 200 without Content-Length (what a request without
		// Range, or with a stale If-Range, gets) is the body as far as
		// anyone can tell: it ends where its connection does.
		fault = ""
	}
	q, _ := url.ParseQuery(fault)
	if q.Has("change") {
		q.Del("change")
		if err := f.srv.ChangeFile(f.name); err == nil {
			f.remember()
		}
	}
	f.mu.Lock()
	f.log = append(f.log, chaosReq{at: time.Now(), rng: r.Header.Get("Range"), ifRange: r.Header.Get("If-Range"), fault: fault})
	f.mu.Unlock()
	r2 := r.Clone(r.Context())
	r2.URL.RawQuery = q.Encode()
	return f.rt.RoundTrip(r2)
}

// etag is the ETag the dev server sends for the file now.
func (f *faulty) etag() string {
	p, err := f.srv.Path(f.name)
	if err != nil {
		return ""
	}
	fi, err := os.Stat(p)
	if err != nil {
		return ""
	}
	return devserver.ETagOf(fi.Size(), fi.ModTime())
}

// remember keeps the file's current content.
func (f *faulty) remember() {
	p, err := f.srv.Path(f.name)
	if err != nil {
		return
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return
	}
	f.mu.Lock()
	f.versions = append(f.versions, b)
	f.mu.Unlock()
}

func chaosRun(t *testing.T, seed uint64, conns int) {
	rng := rand.New(rand.NewPCG(seed, uint64(conns)))
	rate := 0.1 + 0.5*rng.Float64() // how often a request gets a fault
	size := []int64{1, 70_000, 300_000}[rng.IntN(3)]
	chunk := []int64{16 << 10, 64 << 10, 100_000}[rng.IntN(3)]
	srv, err := devserver.New(devserver.Config{DataDir: t.TempDir(), Samples: []devserver.Sample{{Name: "c.bin", Size: size}}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	var mu sync.Mutex
	tr := &faulty{srv: srv, rt: srv.Transport(), name: "c.bin", pick: func() string {
		mu.Lock()
		defer mu.Unlock()
		if rng.Float64() >= rate {
			return ""
		}
		return chaosFaults[rng.IntN(len(chaosFaults))]
	}}
	tr.remember()
	st := memstore.New()
	m := resumer.NewManager(st, httpfetch.Platform{Client: &http.Client{Transport: tr}})
	m.Rand = func() float64 { mu.Lock(); defer mu.Unlock(); return rng.Float64() }
	w := newWatch()
	opts := resumer.Options{ChunkSize: chunk, Connections: conns, StallTimeout: 5 * time.Second,
		Retry: protocol.RetryPolicy{Attempts: 6}}
	d, err := m.Download("http://dev.test/files/c.bin", w.opts(opts))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 24*time.Hour)
	defer cancel()
	res, err := d.Wait(ctx)
	w.check(t)
	tr.mu.Lock()
	defer tr.mu.Unlock()
	describe := func() string {
		var b strings.Builder
		for i, r := range tr.log {
			fmt.Fprintf(&b, "\n  %3d %v %-24s %q if-range %q", i, r.at.Format("15:04:05.000"), r.fault, r.rng, r.ifRange)
		}
		return b.String()
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		t.Fatalf("the download did not end in a day: %+v%s", d.Progress(), describe())
	case err != nil:
		if code := resumer.CodeOf(err); code == "" || code == resumer.CodeInternal {
			t.Fatalf("failed without a code: %v%s", err, describe())
		}
	default:
		got := res.Blob.(memstore.Bytes)
		found := false
		for _, v := range tr.versions {
			found = found || bytes.Equal(got, v)
		}
		if !found {
			t.Fatalf("finished with %d bytes (sha %x) reported as %s, which is no version of the file%s",
				len(got), sha256.Sum256(got), res.Validators.ETag, describe())
		}
	}
	// No storm: a request that follows an answer the client could not use
	// at once comes after a back-off, but for a few changes of plan in a
	// row (a restart, a switch to one whole request).
	streak := 0
	for i := 1; i < len(tr.log); i++ {
		prev, cur := tr.log[i-1], tr.log[i]
		sound := prev.fault == "" || strings.HasPrefix(prev.fault, "cap=") || strings.HasPrefix(prev.fault, "overrun=") ||
			prev.fault == "ifrange=ignore" || prev.fault == "length=none" || prev.fault == "change=0"
		if sound || cur.at.Sub(prev.at) >= protocol.MinRetryDelay {
			streak = 0
			continue
		}
		if streak++; streak > 2*conns+maxQuick {
			t.Fatalf("request %d: %d requests in a row without a back-off after answers that gave nothing%s", i, streak, describe())
		}
	}
	if len(tr.log) > 2000 {
		t.Fatalf("%d requests for a file of %d bytes%s", len(tr.log), size, describe())
	}
	if len(tr.log) == 0 {
		t.Fatal("no request reached the server")
	}
	t.Logf("%d requests, %d versions; %v", len(tr.log), len(tr.versions), cmp.Or(resumer.CodeOf(err), "done"))
}
