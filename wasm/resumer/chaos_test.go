//go:build !js

package resumer_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-resumer/resumer/wasm/protocol"
	"github.com/go-resumer/resumer/wasm/resumer"
	"github.com/go-resumer/resumer/wasm/store"
	"github.com/go-resumer/resumer/wasm/store/memstore"
)

// A server in memory for tests that run under testing/synctest: with no
// real network, time is fake, and a download that backs off for minutes or
// stalls for its whole StallTimeout ends in an instant of real time, the
// same way every run.

// fault is a way for the chaos server to misanswer one request.
type fault int

const (
	honest        fault = iota
	unavailable         // 503, with a random Retry-After
	shiftedRange        // Content-Range one byte off
	unknownTotal        // bytes a-b/*
	overflowRange       // last-pos MaxInt64
	ignoreRange         // 200 with the whole file
	loginPage           // 200 text/html
	stallBody           // some bytes, then nothing
	cutBody             // some bytes, then the connection drops
	shortAnswer         // a correct, shorter 206
	overrunBody         // the body runs past its Content-Range, no Content-Length
	newVersion          // the file changes, then an honest answer
	missingRange        // 206 without Content-Range
	garbage416          // 416 without Content-Range
	nFaults
)

var faultNames = [...]string{"honest", "503", "shifted", "unknown total", "overflow", "200 whole", "login page", "stall",
	"cut", "short", "overrun", "new version", "no Content-Range", "416"}

func (f fault) String() string { return faultNames[f] }

// version is one content of the file.
type version struct {
	etag string
	data []byte
}

// chaosServer answers like an RFC 9110 server, except that each request
// may get a fault.
type chaosServer struct {
	mu       sync.Mutex
	versions []version // the current one is the last
	pick     func(n int) fault
	log      []chaosReq
	nextData func(n int) []byte
}

type chaosReq struct {
	at    time.Time
	req   resumer.Request
	fault fault
	// sound: the answer was honest and its body complete, so the client
	// had what it needed to go on at once.
	sound bool
}

func newChaos(size int, pick func(n int) fault) *chaosServer {
	s := &chaosServer{pick: pick}
	s.nextData = func(n int) []byte {
		b := make([]byte, size+n*7)
		for i := range b {
			b[i] = byte(i*31 + n*101 + i/251)
		}
		return b
	}
	s.versions = []version{{etag: `"v0"`, data: s.nextData(0)}}
	return s
}

func (s *chaosServer) current() version { return s.versions[len(s.versions)-1] }

// Join implements resumer.Platform.
func (s *chaosServer) Join(parts []store.Blob, contentType string) (store.Blob, error) {
	var out []byte
	for _, p := range parts {
		out = append(out, p.(memstore.Bytes)...)
	}
	return memstore.Bytes(out), nil
}

// Fetch implements resumer.Fetcher.
func (s *chaosServer) Fetch(ctx context.Context, req resumer.Request) (*resumer.Response, error) {
	s.mu.Lock()
	n := len(s.log)
	f := s.pick(n)
	if (f == loginPage && req.IfRange == "") || (f == overrunBody && req.Range == "") {
		// A login page in answer to a first request is the file as far
		// as anyone can tell; a 200 without Content-Length ends where
		// its connection does, so nothing runs past it.
		f = honest
	}
	if f == newVersion {
		s.versions = append(s.versions, version{etag: `"v` + strconv.Itoa(len(s.versions)) + `"`, data: s.nextData(len(s.versions))})
	}
	v := s.current()
	s.log = append(s.log, chaosReq{at: time.Now(), req: req, fault: f})
	s.mu.Unlock()
	resp := &resumer.Response{Response: protocol.Response{
		Status: 206, ContentType: "application/octet-stream", URL: "https://chaos.test/f",
		Validators: protocol.Validators{ETag: v.etag},
	}}
	total := int64(len(v.data))
	first, last := int64(0), total-1
	whole := req.Range == ""
	if !whole {
		spec := strings.TrimPrefix(req.Range, "bytes=")
		a, b, _ := strings.Cut(spec, "-")
		first, _ = strconv.ParseInt(a, 10, 64)
		if b != "" {
			last, _ = strconv.ParseInt(b, 10, 64)
		}
		last = min(last, total-1)
		if req.IfRange != "" && req.IfRange != v.etag {
			whole = true // If-Range does not match: the whole current file
		}
		if first >= total {
			resp.Status, resp.ContentRange = 416, "bytes */"+strconv.FormatInt(total, 10)
			resp.Body = &chaosBody{}
			return resp, nil
		}
	}
	if whole {
		resp.Status, first, last = 200, 0, total-1
	}
	body := &chaosBody{data: v.data[first : last+1], cut: -1, stall: -1}
	switch f {
	case unavailable:
		resp.Status, resp.RetryAfter, body.data = 503, strconv.Itoa(n%3), nil
	case ignoreRange:
		resp.Status, body.data = 200, v.data
	case loginPage:
		resp.Status, resp.ContentType, body.data = 200, "text/html", []byte("<!doctype html><form>Sign in</form>")
		resp.Validators = protocol.Validators{}
	case stallBody:
		body.stall = len(body.data) / 3
	case cutBody:
		body.cut = len(body.data) / 2
	case shortAnswer:
		if resp.Status == 206 && last > first {
			last = first + (last-first)/2
			body.data = body.data[:last-first+1]
		}
	case overrunBody:
		if resp.Status == 206 {
			body.data = append(append([]byte(nil), body.data...), bytes.Repeat([]byte{0xEE}, 999)...)
		}
	case garbage416:
		resp.Status, body.data = 416, nil
	}
	resp.ContentLength = strconv.Itoa(len(body.data))
	if resp.Status == 206 {
		resp.ContentRange = fmt.Sprintf("bytes %d-%d/%d", first, last, total)
		switch f {
		case shiftedRange:
			resp.ContentRange = fmt.Sprintf("bytes %d-%d/%d", first+1, last+1, total)
		case unknownTotal:
			resp.ContentRange = fmt.Sprintf("bytes %d-%d/*", first, last)
		case overflowRange:
			resp.ContentRange = fmt.Sprintf("bytes %d-9223372036854775807/*", first)
		case missingRange:
			resp.ContentRange = ""
		case overrunBody:
			resp.ContentLength = ""
		}
	}
	s.mu.Lock()
	s.log[n].sound = f == honest || f == newVersion || f == shortAnswer
	s.mu.Unlock()
	resp.Body = body
	return resp, nil
}

var errChaosCut = errors.New("connection reset by chaos")

// chaosBody is a body in memory that may drop or stall.
type chaosBody struct {
	data       []byte
	pos        int
	cut, stall int // -1: never
}

func (b *chaosBody) Whole(ctx context.Context) (store.Blob, error) {
	if b.cut >= 0 {
		return nil, errChaosCut
	}
	if b.stall >= 0 {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	b.pos = len(b.data)
	return memstore.Bytes(append([]byte(nil), b.data...)), nil
}

func (b *chaosBody) Next(ctx context.Context, max int64, flush time.Duration, onData func(int64)) (store.Blob, error) {
	end := len(b.data)
	if b.cut >= 0 {
		end = min(end, b.cut)
	}
	if b.stall >= 0 {
		end = min(end, b.stall)
	}
	n := min(int64(end-b.pos), max)
	piece := memstore.Bytes(append([]byte(nil), b.data[b.pos:b.pos+int(n)]...))
	b.pos += int(n)
	if n > 0 && onData != nil {
		onData(n)
	}
	switch {
	case b.pos == len(b.data):
		return piece, io.EOF
	case b.pos == b.cut:
		return piece, errChaosCut
	case b.pos == b.stall && n == 0:
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return piece, nil
}

func (b *chaosBody) Close() {}

// TestChaos runs downloads against a server that misanswers at random,
// under a fake clock, and holds the engine to what matters:
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

func chaosRun(t *testing.T, seed uint64, conns int) {
	rng := rand.New(rand.NewPCG(seed, uint64(conns)))
	rate := 0.1 + 0.5*rng.Float64() // how often a request gets a fault
	size := []int{0, 1, 70_000, 300_000}[rng.IntN(4)]
	chunk := []int64{16 << 10, 64 << 10, 100_000}[rng.IntN(3)]
	var mu sync.Mutex
	srv := newChaos(size, func(n int) fault {
		mu.Lock()
		defer mu.Unlock()
		if rng.Float64() >= rate {
			return honest
		}
		return fault(1 + rng.IntN(int(nFaults)-1))
	})
	st := memstore.New()
	m := resumer.NewManager(st, srv)
	m.Rand = func() float64 { mu.Lock(); defer mu.Unlock(); return rng.Float64() }
	w := newWatch()
	opts := resumer.Options{ChunkSize: chunk, Connections: conns, StallTimeout: 5 * time.Second,
		Retry: protocol.RetryPolicy{Attempts: 6}}
	d, err := m.Download("https://chaos.test/f", w.opts(opts))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 24*time.Hour)
	defer cancel()
	res, err := d.Wait(ctx)
	w.check(t)
	srv.mu.Lock()
	defer srv.mu.Unlock()
	describe := func() string {
		var b strings.Builder
		for i, r := range srv.log {
			fmt.Fprintf(&b, "\n  %3d %v %-14s %q if-range %q", i, r.at.Format("15:04:05.000"), r.fault, r.req.Range, r.req.IfRange)
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
		var want *version
		for i := range srv.versions {
			if srv.versions[i].etag == res.Validators.ETag {
				want = &srv.versions[i]
			}
		}
		got := res.Blob.(memstore.Bytes)
		if want == nil || !bytes.Equal(got, want.data) {
			t.Fatalf("finished with %d bytes (sha %x) reported as %s, which is not that version%s",
				len(got), sha256.Sum256(got), res.Validators.ETag, describe())
		}
	}
	// No storm: a request that follows an answer the client could not use
	// at once comes after a back-off, but for a few changes of plan in a
	// row (a restart, a switch to one whole request).
	streak := 0
	for i := 1; i < len(srv.log); i++ {
		prev, cur := srv.log[i-1], srv.log[i]
		if prev.sound || cur.at.Sub(prev.at) >= protocol.MinRetryDelay {
			streak = 0
			continue
		}
		if streak++; streak > 2*conns+maxQuick {
			t.Fatalf("request %d: %d requests in a row without a back-off after answers that gave nothing%s", i, streak, describe())
		}
	}
	if len(srv.log) > 2000 {
		t.Fatalf("%d requests for a file of %d bytes%s", len(srv.log), size, describe())
	}
}

var chaosSeeds = flag.Int("chaos.seeds", 60, "how many random servers TestChaos runs against, on 1 and 4 connections")

// maxQuick is how many answers in a row may each lead to a new request at
// once: the file changed (the engine's maxRestarts) plus a switch to a
// single request.
const maxQuick = 5 + 1
