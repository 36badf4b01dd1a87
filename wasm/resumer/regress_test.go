//go:build !js

package resumer_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	neturl "net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-resumer/resumer/serve/devserver"
	"github.com/go-resumer/resumer/wasm/protocol"
	"github.com/go-resumer/resumer/wasm/resumer"
	"github.com/go-resumer/resumer/wasm/resumer/platform"
	"github.com/go-resumer/resumer/wasm/store"
	"github.com/go-resumer/resumer/wasm/store/memstore"
)

// An in-memory platform for regression tests under testing/synctest: one
// honest RFC 9110 server (honest), bodies that are slow, cut or paced
// (memBody), and wrappers for cross-origin and locks. Each test below was
// first written to show a bug, and now holds the fix.

type memReq struct {
	at  time.Time
	req platform.Request
}

type memNet struct {
	mu    sync.Mutex
	reqs  []memReq
	fetch func(ctx context.Context, n int, req platform.Request) (*platform.Response, error)
	cross bool
}

func (p *memNet) Fetch(ctx context.Context, req platform.Request) (*platform.Response, error) {
	p.mu.Lock()
	n := len(p.reqs)
	p.reqs = append(p.reqs, memReq{time.Now(), req})
	p.mu.Unlock()
	return p.fetch(ctx, n, req)
}

func (p *memNet) Join(parts []store.Blob, contentType string) (store.Blob, error) {
	var out []byte
	for _, b := range parts {
		out = append(out, b.(memstore.Bytes)...)
	}
	return memstore.Bytes(out), nil
}

func (p *memNet) count() int { p.mu.Lock(); defer p.mu.Unlock(); return len(p.reqs) }

type memCross struct{ *memNet }

func (p memCross) CrossOrigin(string) bool { return true }

type memLocked struct {
	*memNet
	lock func(ctx context.Context, name string, wait bool) (func(), bool, error)
}

func (p memLocked) Lock(ctx context.Context, name string, wait bool) (func(), bool, error) {
	return p.lock(ctx, name, wait)
}

// memBody is a body in memory; delay slows every piece, cut drops the
// connection after that many bytes (-1 never).
type memBody struct {
	data  []byte
	pos   int
	delay time.Duration
	cut   int
	rate  *float64 // bytes/s for Whole, nil: instant
}

func (b *memBody) Whole(ctx context.Context) (store.Blob, error) {
	if b.cut >= 0 {
		return nil, errors.New("cut")
	}
	if b.delay > 0 && b.rate == nil {
		// As slow as read in pieces: one delay per 16 KiB.
		select {
		case <-time.After(time.Duration((len(b.data)-b.pos)/(16<<10)+1) * b.delay):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if b.rate != nil && *b.rate > 0 {
		select {
		case <-time.After(time.Duration(float64(len(b.data)-b.pos) / *b.rate * float64(time.Second))):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	b.pos = len(b.data)
	return memstore.Bytes(append([]byte(nil), b.data...)), nil
}

func (b *memBody) Next(ctx context.Context, max int64, flush time.Duration, onData func(int64)) (store.Blob, error) {
	if b.delay > 0 {
		select {
		case <-time.After(b.delay):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	end := len(b.data)
	if b.cut >= 0 {
		end = min(end, b.cut)
	}
	n := min(int64(end-b.pos), max, 16<<10)
	piece := memstore.Bytes(append([]byte(nil), b.data[b.pos:b.pos+int(n)]...))
	b.pos += int(n)
	if n > 0 && onData != nil {
		onData(n)
	}
	switch {
	case b.pos == len(b.data):
		return piece, io.EOF
	case b.pos == b.cut:
		return piece, errors.New("connection reset")
	}
	return piece, nil
}

func (b *memBody) Close() {}

// honestAnswer answers req for data as the dev server answers for a file
// (devserver.Plan: protocol.ServeRange's ranges, If-Range and
// preconditions), with the strong ETag etag ("" for none: a server that
// proves no version), the media type ctype, from url. delay slows every
// piece of the body.
func honestAnswer(data []byte, etag, ctype, url string, req platform.Request, delay time.Duration) *platform.Response {
	f := devserver.File{Name: "f.bin", Size: int64(len(data)), ETag: etag, Type: ctype}
	q := neturl.Values{}
	if etag == "" {
		q.Set("validators", "none")
	}
	faults, err := devserver.ParseFaults(q)
	if err != nil {
		panic(err)
	}
	r, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		panic(err)
	}
	if req.Range != "" {
		r.Header.Set("Range", req.Range)
	}
	if req.IfRange != "" {
		r.Header.Set("If-Range", req.IfRange)
	}
	a := devserver.Plan(r, f, faults, time.Now())
	h := a.Header
	body, _ := io.ReadAll(a.Body(bytes.NewReader(data)))
	return &platform.Response{
		Response: protocol.Response{Status: a.Status, ContentRange: h.Get("Content-Range"), ContentLength: h.Get("Content-Length"),
			ContentType: h.Get("Content-Type"), URL: url, AcceptRanges: h.Get("Accept-Ranges"),
			Validators: protocol.Validators{ETag: h.Get("ETag"), LastModified: h.Get("Last-Modified"), Date: h.Get("Date")}},
		Body: &memBody{data: body, delay: delay, cut: -1},
	}
}

func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/253)
	}
	return b
}

// TestPauseThenResumeAtOnce: a pause taken back before it settled goes on
// with the download.
func TestPauseThenResumeAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		data := pattern(1 << 20)
		p := &memNet{fetch: func(ctx context.Context, n int, req platform.Request) (*platform.Response, error) {
			return honestAnswer(data, `"v1"`, "application/octet-stream", "https://x.test/f", req, 50*time.Millisecond), nil
		}}
		m := resumer.NewManager(memstore.New(), p)
		w := newWatch()
		d, err := m.Download("https://x.test/f", w.opts(resumer.Options{ChunkSize: 64 << 10}))
		if err != nil {
			t.Fatal(err)
		}
		w.until(t, "some bytes", func(p resumer.Progress) bool { return p.State == protocol.Running && p.Stored > 100<<10 })
		d.Pause()
		d.Resume()
		res, err := d.Wait(context.Background())
		w.check(t)
		if err != nil || !bytes.Equal(res.Blob.(memstore.Bytes), data) {
			t.Fatalf("Pause(); Resume(): %v (code %q)", err, resumer.CodeOf(err))
		}
	})
}

// TestCancelWhileLockedElsewhere: a Cancel from the progress handler that
// reports locked-elsewhere ends the download at once, and leaves the
// stored bytes to the tab that writes them.
func TestCancelWhileLockedElsewhere(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const u = "https://x.test/f"
		var dp atomic.Pointer[resumer.Download]
		gate := make(chan struct{})
		p := memLocked{
			memNet: &memNet{fetch: func(ctx context.Context, n int, req platform.Request) (*platform.Response, error) {
				return nil, errors.New("no request may go out")
			}},
			lock: func(ctx context.Context, name string, wait bool) (func(), bool, error) {
				if !wait {
					<-gate
					return nil, false, nil // another tab holds it
				}
				<-ctx.Done() // and does not let go
				return nil, false, ctx.Err()
			},
		}
		st := memstore.New()
		other := store.Record{URL: u, Schema: store.SchemaVersion, Gen: 7, Mode: protocol.ModeNew, Total: protocol.UnknownSize, State: protocol.Running}
		st.Put(context.Background(), other)
		m := resumer.NewManager(st, p)
		opts := resumer.Options{OnProgress: func(pr resumer.Progress) {
			if pr.State == protocol.LockedElsewhere {
				dp.Load().Cancel() // a UI that gives up when another tab has it
			}
		}}
		d, err := m.Download(u, opts)
		if err != nil {
			t.Fatal(err)
		}
		dp.Store(d)
		close(gate)
		ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
		defer cancel()
		if _, err = d.Wait(ctx); resumer.CodeOf(err) != resumer.CodeAborted {
			t.Fatalf("Cancel while locked elsewhere: %v, state %s", err, d.State())
		}
		if rec, err := st.Get(context.Background(), u); err != nil || rec.Gen != 7 {
			t.Fatalf("the other tab's download was deleted: %+v, %v", rec, err)
		}
	})
}

// TestPauseResumeWhileLockedElsewhere: pausing and resuming a download
// that waits for another tab keeps it waiting, then it runs.
func TestPauseResumeWhileLockedElsewhere(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		data := pattern(1 << 16)
		held := make(chan struct{})
		p := memLocked{
			memNet: &memNet{fetch: func(ctx context.Context, n int, req platform.Request) (*platform.Response, error) {
				return honestAnswer(data, `"v1"`, "application/octet-stream", "https://x.test/f", req, 0), nil
			}},
			lock: func(ctx context.Context, name string, wait bool) (func(), bool, error) {
				select {
				case <-held:
					return func() {}, true, nil
				default:
				}
				if !wait {
					return nil, false, nil
				}
				select {
				case <-held:
					return func() {}, true, nil
				case <-ctx.Done():
					return nil, false, ctx.Err()
				}
			},
		}
		m := resumer.NewManager(memstore.New(), p)
		w := newWatch()
		d, _ := m.Download("https://x.test/f", w.opts(resumer.Options{}))
		w.until(t, "waiting for the other tab", func(p resumer.Progress) bool { return p.State == protocol.LockedElsewhere })
		d.Pause()
		d.Resume()
		synctest.Wait()
		close(held) // the other tab lets go
		res, err := d.Wait(context.Background())
		w.check(t)
		if err != nil || !bytes.Equal(res.Blob.(memstore.Bytes), data) {
			t.Fatalf("Pause(); Resume() while locked elsewhere: %v (code %q), state %s", err, resumer.CodeOf(err), d.State())
		}
	})
}

// TestHiddenContentEncoding: without Range the browser asks for
// compression, and on another origin Content-Encoding is hidden while
// Content-Length (of the compressed bytes) is not: the body is read to its
// end, not cut at Content-Length.
func TestHiddenContentEncoding(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		data := pattern(300_000)
		compressed := int64(len(data) / 3)
		p := &memNet{}
		p.fetch = func(ctx context.Context, n int, req platform.Request) (*platform.Response, error) {
			if req.Range != "" {
				// Range: identity; ranges served, but ETag and Date not
				// exposed (the CORS default): not resumable.
				r := honestAnswer(data, "", "application/wasm", "https://cdn.test/f", req, 0)
				r.CrossOrigin = true
				return r, nil
			}
			return &platform.Response{Response: protocol.Response{Status: 200, ContentType: "application/wasm", URL: "https://cdn.test/f",
				ContentLength: strconv.FormatInt(compressed, 10), CrossOrigin: true},
				Body: &memBody{data: data, cut: -1}}, nil
		}
		m := resumer.NewManager(memstore.New(), p)
		d, _ := m.Download("https://cdn.test/f", resumer.Options{})
		res, err := d.Wait(context.Background())
		if err != nil || !bytes.Equal(res.Blob.(memstore.Bytes), data) {
			t.Fatalf("result of %d bytes, %v; want the %d decoded bytes", res.Size, err, len(data))
		}
	})
}

// TestPauseIsNoNetworkError: a user's pause during an unanswered
// cross-origin request with If-Range is no refused preflight: the mode
// stays, and no error is reported.
func TestPauseIsNoNetworkError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		data := pattern(1 << 20)
		asked := make(chan struct{}, 100)
		base := &memNet{}
		base.fetch = func(ctx context.Context, n int, req platform.Request) (*platform.Response, error) {
			if req.IfRange != "" {
				asked <- struct{}{}
				<-ctx.Done() // a slow server: headers take a while
				return nil, ctx.Err()
			}
			r := honestAnswer(data, `"v1"`, "application/octet-stream", "https://cdn.test/f", req, 0)
			r.CrossOrigin = true
			return r, nil
		}
		st := memstore.New()
		m := resumer.NewManager(st, memCross{base})
		w := newWatch()
		d, _ := m.Download("https://cdn.test/f", w.opts(resumer.Options{ChunkSize: 64 << 10}))
		<-asked
		d.Pause()
		w.until(t, "paused", func(p resumer.Progress) bool { return p.State == protocol.Paused })
		rec, _ := st.Get(context.Background(), "https://cdn.test/f")
		if _, errs := w.failures(); rec.Mode != protocol.ModeRanged || len(errs) > 0 {
			t.Fatalf("a pause changed the stored mode to %q, errors %q, notices %q", rec.Mode, errs, w.noticesSeen())
		}
		d.Cancel()
	})
}

// TestPauseOfSingleKeepsBytes: a pause of a download that is not
// resumable keeps what it stored (the next start begins again at byte 0)
// and reports no error.
func TestPauseOfSingleKeepsBytes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		data := pattern(1 << 20)
		p := &memNet{}
		p.fetch = func(ctx context.Context, n int, req platform.Request) (*platform.Response, error) {
			return honestAnswer(data, "", "application/octet-stream", "https://x.test/f", req, 50*time.Millisecond), nil
		}
		st := memstore.New()
		m := resumer.NewManager(st, p)
		w := newWatch()
		d, _ := m.Download("https://x.test/f", w.opts(resumer.Options{ChunkSize: 64 << 10}))
		w.until(t, "some bytes", func(p resumer.Progress) bool { return p.Stored > 100<<10 })
		d.Pause()
		w.until(t, "paused", func(p resumer.Progress) bool { return p.State == protocol.Paused })
		if _, errs := w.failures(); len(errs) > 0 || st.Used() == 0 {
			t.Fatalf("after the pause %d bytes stored, errors %q", st.Used(), errs)
		}
		d.Resume()
		res, err := d.Wait(context.Background())
		if err != nil || !bytes.Equal(res.Blob.(memstore.Bytes), data) {
			t.Fatalf("after the pause: %v", err)
		}
	})
}

// TestLoginPageAfterExpiry: a session that expires mid-download sends
// every request to a static login page, served with ranges and a strong
// ETag: it is never adopted as the file, on the same origin (200 to
// If-Range) or on another one after a fallback to plain Range (416 of the
// page's length, then a probe of it).
func TestLoginPageAfterExpiry(t *testing.T) {
	for _, cross := range []bool{false, true} {
		t.Run(fmt.Sprint("cross-origin ", cross), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				data := pattern(1 << 20)
				login := []byte("<!doctype html><form>Sign in</form>")
				var expired atomic.Bool
				base := &memNet{}
				base.fetch = func(ctx context.Context, n int, req platform.Request) (*platform.Response, error) {
					if cross && n == 1 {
						return nil, errors.New("TypeError: Failed to fetch") // a refused preflight, or a blip
					}
					if n == 4 {
						expired.Store(true)
					}
					var r *platform.Response
					if expired.Load() {
						r = honestAnswer(login, `"login-1"`, "text/html", "https://x.test/login.html", req, 0)
					} else {
						r = honestAnswer(data, `"v1"`, "application/octet-stream", "https://x.test/f", req, 0)
					}
					r.CrossOrigin = cross
					return r, nil
				}
				var p platform.Platform = base
				if cross {
					p = memCross{base}
				}
				st := memstore.New()
				m := resumer.NewManager(st, p)
				d, _ := m.Download("https://x.test/f", resumer.Options{ChunkSize: 64 << 10})
				res, err := d.Wait(context.Background())
				if err == nil {
					t.Fatalf("finished with %d bytes of %s instead of the file", res.Size, res.ContentType)
				}
				if code := resumer.CodeOf(err); code != resumer.CodeUnexpectedContent && code != resumer.CodeBadResponse {
					t.Fatalf("err %v, want unexpected-content or bad-response", err)
				}
				if st.Used() == 0 {
					t.Fatalf("the stored bytes were discarded")
				}
			})
		})
	}
}

// slowStore takes its time to commit each chunk.
type slowStore struct {
	store.Store
	delay time.Duration
}

func (s slowStore) PutChunk(ctx context.Context, c store.Chunk) error {
	select {
	case <-time.After(s.delay):
	case <-ctx.Done():
		return ctx.Err()
	}
	return s.Store.PutChunk(ctx, c)
}

// TestSlowStorageIsNoStall: waiting for the storage to take a piece is no
// stall of the server's, on a resumable download and on one that is not.
func TestSlowStorageIsNoStall(t *testing.T) {
	for _, etag := range []string{`"v1"`, ""} {
		t.Run("etag "+etag, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				data := pattern(4 << 20)
				p := &memNet{}
				p.fetch = func(ctx context.Context, n int, req platform.Request) (*platform.Response, error) {
					// 16 KiB every 100 ms: a steady 160 kB/s, never stalled
					return honestAnswer(data, etag, "application/octet-stream", "https://x.test/f", req, 100*time.Millisecond), nil
				}
				m := resumer.NewManager(slowStore{memstore.New(), 12 * time.Second}, p)
				w := newWatch()
				d, _ := m.Download("https://x.test/f", w.opts(resumer.Options{ChunkSize: 4 << 20, StallTimeout: 5 * time.Second}))
				res, err := d.Wait(context.Background())
				att, errs := w.failures()
				// The probe, then the cells [64 KiB, 1 MiB) and [1 MiB, 4 MiB);
				// without validators, the probe and one GET without Range.
				want := map[string]int{`"v1"`: 3, "": 2}[etag]
				if err != nil || res.Size != int64(len(data)) || p.count() != want || att != 0 {
					t.Fatalf("%d bytes, %v, %d requests, %d failures: %q", res.Size, err, p.count(), att, errs)
				}
			})
		})
	}
}

// TestTwoTabsWithoutLocks: two tabs without Web Locks (an http:// origin,
// Safari before 15.4) download the same URL while the file changes: each
// may fail the other, but neither finishes with bytes of two versions.
func TestTwoTabsWithoutLocks(t *testing.T) {
	for seed := range 10 {
		synctest.Test(t, func(t *testing.T) {
			v1, v2 := pattern(1<<20), pattern(1<<20)
			for i := range v2 {
				v2[i] ^= 0xFF
			}
			mk := func(data []byte, etag string) *memNet {
				return &memNet{fetch: func(ctx context.Context, n int, req platform.Request) (*platform.Response, error) {
					return honestAnswer(data, etag, "application/octet-stream", "https://x.test/f", req, time.Duration(seed+1)*time.Millisecond), nil
				}}
			}
			st := memstore.New()
			a := resumer.NewManager(st, mk(v1, `"v1"`))
			b := resumer.NewManager(st, mk(v2, `"v2"`))
			da, _ := a.Download("https://x.test/f", resumer.Options{ChunkSize: 64 << 10})
			db, _ := b.Download("https://x.test/f", resumer.Options{ChunkSize: 64 << 10})
			for name, d := range map[string]*resumer.Download{"tab A": da, "tab B": db} {
				r, err := d.Wait(context.Background())
				if err != nil {
					continue
				}
				got := r.Blob.(memstore.Bytes)
				if !bytes.Equal(got, v1) && !bytes.Equal(got, v2) {
					t.Fatalf("seed %d: %s finished (%s) with a mix of versions", seed, name, r.Validators.ETag)
				}
			}
		})
	}
}

// TestReceivedNeverDips: Progress.Received counts every byte received,
// whether it is stored, on its way to storage, or held until its body's
// end (a cross-origin 206, Body.Exact): it never goes back while the bytes
// stay, and never counts less than Stored. (The pieces of an exact body
// once left the flight's count without entering the session's: received
// fell back by a megabyte at each, and a page that waited for 40 % saw it
// only at the end.)
func TestReceivedNeverDips(t *testing.T) {
	for _, cross := range []bool{false, true} {
		t.Run(fmt.Sprint("cross-origin ", cross), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				const size = 4 << 20
				data := pattern(size)
				base := &memNet{}
				base.fetch = func(ctx context.Context, n int, req platform.Request) (*platform.Response, error) {
					r := honestAnswer(data, `"v1"`, "application/octet-stream", "https://x.test/f", req, 10*time.Millisecond)
					r.CrossOrigin = cross
					return r, nil
				}
				var p platform.Platform = base
				if cross {
					p = memCross{base}
				}
				var mu sync.Mutex
				var seen []resumer.Progress
				m := resumer.NewManager(memstore.New(), p)
				d, _ := m.Download("https://x.test/f", resumer.Options{ChunkSize: size, OnProgress: func(p resumer.Progress) {
					mu.Lock()
					seen = append(seen, p)
					mu.Unlock()
				}})
				res, err := d.Wait(context.Background())
				if err != nil || res.Size != size {
					t.Fatalf("got %d bytes, %v", res.Size, err)
				}
				mu.Lock()
				defer mu.Unlock()
				var last, ahead int64
				for i, p := range seen {
					if p.Received < last || p.Stored > p.Received || p.Received > size {
						t.Fatalf("report %d of %d: received %d (before %d), stored %d", i, len(seen), p.Received, last, p.Stored)
					}
					last = p.Received
					ahead = max(ahead, p.Received-p.Stored)
				}
				if len(seen) < 20 || last != size {
					t.Fatalf("%d reports, the last received %d", len(seen), last)
				}
				// Exact: the 4 MiB range is stored only at its end, but
				// received shows it arrive.
				if cross && ahead < size/2 {
					t.Fatalf("received was at most %d bytes ahead of stored", ahead)
				}
			})
		})
	}
}
