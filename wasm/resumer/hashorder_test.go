//go:build !js

package resumer_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-resumer/resumer/wasm/internal/httpfetch"
	"github.com/go-resumer/resumer/wasm/resumer"
	"github.com/go-resumer/resumer/wasm/resumer/platform"
	"github.com/go-resumer/resumer/wasm/store"
	"github.com/go-resumer/resumer/wasm/store/memstore"
)

// scripted is a platform whose answers to chosen ranges are changed on the
// way, to play a server that lies in ways the dev server cannot: answer
// returns the body to hand over for the n-th answer (from 1) to a Range.
type scripted struct {
	httpfetch.Platform
	mu     sync.Mutex
	counts map[string]int
	// streamed drops Content-Length, so that every body is streamed.
	streamed bool
	// cross marks every answer cross-origin: a 206's bytes then count
	// only once its body ended exactly where its Content-Range says.
	cross  bool
	answer func(ctx context.Context, rng string, n int, b platform.Body) platform.Body
}

func (s *scripted) Fetch(ctx context.Context, req platform.Request) (*platform.Response, error) {
	resp, err := s.Platform.Fetch(ctx, req)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.counts[req.Range]++
	n := s.counts[req.Range]
	s.mu.Unlock()
	if s.streamed {
		// Never taken whole: a body without Content-Length.
		resp.ContentLength = ""
	}
	resp.CrossOrigin = s.cross
	resp.Body = s.answer(ctx, req.Range, n, resp.Body)
	return resp, nil
}

// changedBody hands over its body's bytes, each flipped when flip is set;
// with junk, it then runs on with junk more bytes.
type changedBody struct {
	platform.Body
	flip bool
	junk int
}

func (b *changedBody) Next(ctx context.Context, max int64, flush time.Duration, onData func(int64)) (store.Blob, error) {
	blob, err := b.Body.Next(ctx, max, flush, onData)
	if blob != nil && b.flip {
		in := blob.(memstore.Bytes)
		out := make(memstore.Bytes, len(in))
		for i, c := range in {
			out[i] = ^c
		}
		blob = out
	}
	if errors.Is(err, io.EOF) && b.junk > 0 {
		if blob != nil && blob.Size() > 0 {
			return blob, nil // the junk comes with the next call
		}
		j := make(memstore.Bytes, min(int64(b.junk), max))
		b.junk -= len(j)
		return j, nil
	}
	return blob, err
}

// TestIntegrityCountsOnlyKeptBytes: the bytes of a body found broken are
// never hashed; their replacement is. A cross-origin 206 counts only once
// its body ended exactly where its Content-Range says (its coding may be
// hidden), so b's first body, which runs on, is held and dropped, never
// stored nor hashed; its refetch is wrong, with the same headers: only
// the hash can tell, and it must. The bytes before b come last, so that b
// waits to be hashed.
func TestIntegrityCountsOnlyKeptBytes(t *testing.T) {
	f := newFixture(t)
	// After the probe, one range measures the link; then a and b go out
	// together, on two connections.
	const a, b = "bytes=131072-196607", "bytes=196608-262143"
	bRefetched := make(chan struct{}) // b's second body has ended
	var once sync.Once
	p := &scripted{counts: map[string]int{}, streamed: true, cross: true, answer: func(ctx context.Context, rng string, n int, body platform.Body) platform.Body {
		switch {
		case rng == a && n == 1:
			return &waitFirst{Body: body, until: bRefetched}
		case rng == b && n == 1:
			return &changedBody{Body: body, junk: 100}
		case rng == b && n == 2:
			return &endsDone{Body: &changedBody{Body: body, flip: true}, done: func() { once.Do(func() { close(bRefetched) }) }}
		}
		return body
	}}
	m := resumer.NewManager(f.st, p)
	m.Rand = func() float64 { return 0 }
	o := with(2)
	o.Integrity = sri(f.sha())
	d, err := m.Download(f.url+f.name+"?digest=none", o)
	if err != nil {
		t.Fatal(err)
	}
	res, err := wait(t, d)
	if resumer.CodeOf(err) != resumer.CodeIntegrity {
		t.Fatalf("result %+v, error %v; want an integrity error: a wrong piece was stored", res, err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.counts[b] != 2 || p.counts[a] < 1 {
		t.Fatalf("requests %v: want b twice (its first body ran on)", p.counts)
	}
	if !strings.Contains(err.Error(), "discarded") {
		t.Errorf("error %q does not say the bytes are discarded", err)
	}
}

// waitFirst holds its body back until until is closed.
type waitFirst struct {
	platform.Body
	until <-chan struct{}
}

func (w *waitFirst) Next(ctx context.Context, max int64, flush time.Duration, onData func(int64)) (store.Blob, error) {
	select {
	case <-w.until:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return w.Body.Next(ctx, max, flush, onData)
}

// endsDone calls done once its body has ended.
type endsDone struct {
	platform.Body
	done func()
}

func (e *endsDone) Next(ctx context.Context, max int64, flush time.Duration, onData func(int64)) (store.Blob, error) {
	blob, err := e.Body.Next(ctx, max, flush, onData)
	if err != nil {
		e.done()
	}
	return blob, err
}

// TestNewVersionEveryAnswer: a server that answers every range after the
// first with the start of a new version (206 bytes 0-65535, a new strong
// ETag) makes the download start over a few times, then fail with
// bad-response: never a request storm.
func TestNewVersionEveryAnswer(t *testing.T) {
	f := newFixture(t)
	var n int
	var mu sync.Mutex
	p := &scripted{counts: map[string]int{}, answer: func(_ context.Context, _ string, _ int, body platform.Body) platform.Body { return body }}
	m := resumer.NewManager(f.st, &versioned{scripted: p, next: func() int { mu.Lock(); defer mu.Unlock(); n++; return n }})
	m.Rand = func() float64 { return 0 }
	res, err := f.download(m, f.url+f.name, fast)
	if resumer.CodeOf(err) != resumer.CodeBadResponse || !strings.Contains(err.Error(), "changed") {
		t.Fatalf("result resumable %v, reason %+v, restarts %d, stats %+v, error %v; want bad-response: the file changed too often\n%v",
			res.Resumable, res.Reason, res.Restarts, res.Stats, err, f.logged())
	}
	mu.Lock()
	defer mu.Unlock()
	// The probe, then one answer per start over and the one too many.
	if n > 8 {
		t.Fatalf("%d requests: a server naming a new version each time made the download loop", n)
	}
	if got := len(f.gets()); got != n {
		t.Fatalf("the server logged %d requests, the platform sent %d", got, n)
	}
}

// versioned answers every range but the probe as the first 64 KiB of a new
// version of the file.
type versioned struct {
	*scripted
	next func() int
}

func (v *versioned) Fetch(ctx context.Context, req platform.Request) (*platform.Response, error) {
	i := v.next()
	if i > 1 {
		req.Range, req.IfRange = "bytes=0-65535", ""
	}
	resp, err := v.scripted.Fetch(ctx, req)
	if err != nil || i == 1 {
		return resp, err
	}
	if resp.Status != 206 || resp.ContentRange != "bytes 0-65535/"+strconv.Itoa(size) {
		return nil, fmt.Errorf("the server answered %d %q to the first 64 KiB", resp.Status, resp.ContentRange)
	}
	resp.Validators.ETag = `"v` + strconv.Itoa(i) + `"`
	resp.Validators.LastModified = ""
	return resp, nil
}

// stepHasher is a platform whose hash counts how many bytes each call got.
type stepHasher struct {
	httpfetch.Platform
	mu      sync.Mutex
	calls   int
	largest int64
}

func (h *stepHasher) HashBlob(ctx context.Context, alg string, state []byte, b store.Blob) ([]byte, []byte, error) {
	if b != nil {
		h.mu.Lock()
		h.calls++
		h.largest = max(h.largest, b.Size())
		h.mu.Unlock()
	}
	return platform.HashRead(ctx, h.Platform, alg, state, b)
}

// TestIntegrityOfOneBigPiece: a file stored as one piece (Put) is checked
// against an integrity given later in steps of at most 16 MiB, each under
// its own deadline, and a wrong digest still fails.
func TestIntegrityOfOneBigPiece(t *testing.T) {
	const n = 40 << 20
	body := make(memstore.Bytes, n)
	for i := range body {
		body[i] = byte(i * 31)
	}
	sum := sha256.Sum256(body)
	for _, tt := range []struct {
		name string
		sum  [32]byte
		code string
	}{{"right", sum, ""}, {"wrong", func() [32]byte { s := sum; s[5] ^= 1; return s }(), resumer.CodeIntegrity}} {
		t.Run(tt.name, func(t *testing.T) {
			p := &stepHasher{}
			m := resumer.NewManager(memstore.New(), p)
			url := "https://app.test/big.bin"
			if err := m.Put(context.Background(), "", resumer.PutFile{URL: url, Blob: body, ETag: `"v1"`}); err != nil {
				t.Fatal(err)
			}
			d, err := m.Download(url, resumer.Options{Integrity: sri(tt.sum)})
			if err != nil {
				t.Fatal(err)
			}
			res, err := wait(t, d)
			if resumer.CodeOf(err) != tt.code || (tt.code == "" && !res.Verified) {
				t.Fatalf("verified %v, error %v; want code %q", res.Verified, err, tt.code)
			}
			p.mu.Lock()
			defer p.mu.Unlock()
			if p.calls != 3 || p.largest > 16<<20 {
				t.Fatalf("%d hash calls, the largest of %d bytes; want 3 of at most 16 MiB", p.calls, p.largest)
			}
		})
	}
}
