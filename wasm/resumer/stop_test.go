//go:build !js

package resumer_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-resumer/resumer/wasm/internal/httpfetch"
	"github.com/go-resumer/resumer/wasm/protocol"
	"github.com/go-resumer/resumer/wasm/resumer"
	"github.com/go-resumer/resumer/wasm/resumer/platform"
	"github.com/go-resumer/resumer/wasm/store"
	"github.com/go-resumer/resumer/wasm/store/memstore"
)

// storing starts a slow download and returns once it has stored bytes.
func storing(t *testing.T) (*fixture, *resumer.Manager, string, *resumer.Download, *watch) {
	t.Helper()
	f := newFixture(t)
	m := f.manager()
	url := f.url + f.name + "?rate=262144"
	w := newWatch()
	d, err := m.Download(url, w.opts(fast))
	if err != nil {
		t.Fatal(err)
	}
	w.until(t, "some bytes stored", func(p resumer.Progress) bool { return p.Stored > 0 })
	return f, m, url, d, w
}

// TestStop: Stop ends a Download as a pause does and for good (an
// AbortSignal in the browser): Wait returns CodePaused with the cause, the
// stored download stays paused with its bytes, a resume of the stopped
// handle does nothing, and the next Download of the URL is another one
// that takes the bytes up with a range.
func TestStop(t *testing.T) {
	f, m, url, d, w := storing(t)
	cause := errors.New("the app's signal")
	d.Stop(cause)
	ctx := context.Background()
	_, err := wait(t, d)
	if resumer.CodeOf(err) != resumer.CodePaused || !errors.Is(err, cause) {
		t.Fatalf("Wait after Stop: %v; want %s wrapping the cause", err, resumer.CodePaused)
	}
	d.Resume() // nothing: it has ended
	if s := d.State(); s != protocol.Paused {
		t.Fatalf("state after Stop: %s, want paused", s)
	}
	if list, err := m.List(ctx); err != nil || len(list) != 1 || list[0].State != protocol.Paused || list[0].Received == 0 {
		t.Fatalf("listed after Stop: %+v, %v; want paused with bytes", list, err)
	}
	w.check(t)

	before := len(f.gets())
	next, err := m.Download(url, fast)
	if err != nil || next == d {
		t.Fatalf("the next Download: %v, %v; want another one", next, err)
	}
	res, err := wait(t, next)
	mustOK(t, f, res, err)
	if g := f.gets(before + 1)[before:]; g[0].Start == 0 || g[0].IfRange == "" {
		t.Fatalf("the next Download did not resume the stored bytes: %+v", g[0])
	}
}

// TestStopPaused: a paused Download that is stopped ends at once, without
// a cause of the caller's (ErrStopped), and stays paused in the store.
func TestStopPaused(t *testing.T) {
	_, m, _, d, w := storing(t)
	d.Pause()
	w.until(t, "paused", func(p resumer.Progress) bool { return p.State == protocol.Paused })
	d.Stop(nil)
	if _, err := wait(t, d); resumer.CodeOf(err) != resumer.CodePaused || !errors.Is(err, resumer.ErrStopped) {
		t.Fatalf("Wait after Stop of a paused download: %v; want %s, ErrStopped", err, resumer.CodePaused)
	}
	if list, _ := m.List(context.Background()); len(list) != 1 || list[0].State != protocol.Paused || list[0].Received == 0 {
		t.Fatalf("listed after Stop: %+v; want paused with bytes", list)
	}
}

// lateStore writes records and chunks slowly: a stopped Download is still
// settling when the next one of its key is asked for. For synctest bubbles
// only: its sleeps are the store's latency on the bubble's fake clock,
// never a wait for something to happen.
type lateStore struct{ *memstore.Store }

func (s lateStore) PutChunk(ctx context.Context, c store.Chunk) error {
	time.Sleep(50 * time.Millisecond)
	return s.Store.PutChunk(ctx, c)
}

func (s lateStore) Put(ctx context.Context, r store.Record) error {
	time.Sleep(50 * time.Millisecond)
	return s.Store.Put(ctx, r)
}

// TestStopThenDownload: the Download asked for while a stopped one of the
// same key still settles sends nothing until that one has ended (two
// would write one download at once where no cross-tab lock orders them),
// then finishes the file from what the stopped one stored.
func TestStopThenDownload(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const size = 1 << 20
		data := pattern(size)
		var old atomic.Pointer[resumer.Download]
		var overlap atomic.Int32
		p := &memNet{fetch: func(ctx context.Context, n int, req platform.Request) (*platform.Response, error) {
			// A request of the stopped Download itself, planned before it
			// took in the stop, comes with its canceled context and goes
			// nowhere: only the next one's count.
			if d := old.Load(); d != nil && ctx.Err() == nil {
				select {
				case <-d.Done():
				default:
					overlap.Add(1)
				}
			}
			return honestAnswer(data, `"v1"`, "application/octet-stream", req.URL, req, 20*time.Millisecond), nil
		}}
		m := resumer.NewManager(lateStore{memstore.New()}, p)
		w := newWatch()
		d, _ := m.Download("https://x.test/f", w.opts(resumer.Options{ChunkSize: 64 << 10, Connections: 4}))
		w.until(t, "bytes stored", func(p resumer.Progress) bool { return p.Stored > 0 })
		d.Stop(nil)
		old.Store(d)
		next, err := m.Download("https://x.test/f", resumer.Options{ChunkSize: 64 << 10, Connections: 4})
		if err != nil || next == d {
			t.Fatalf("the next Download: %v, %v; want another one", next, err)
		}
		res, err := next.Wait(context.Background())
		if err != nil || !bytes.Equal(res.Blob.(memstore.Bytes), data) {
			t.Fatalf("the next Download: %d bytes, %v; want the file", res.Size, err)
		}
		if n := overlap.Load(); n > 0 {
			t.Fatalf("the next Download sent %d requests while the stopped one had not ended", n)
		}
	})
}

// TestStopQueuedKeepsDone: stopping a Download of a finished file before
// it ran (queued behind another) leaves the file finished and answered.
func TestStopQueuedKeepsDone(t *testing.T) {
	f := newFixture(t)
	m := f.manager()
	url := f.url + f.name
	res, err := f.download(m, url, fast)
	mustOK(t, f, res, err)
	m.SetMaxConcurrent(1)
	w := newWatch()
	hog, err := m.Download(f.url+f.name+"?rate=65536&hog", w.opts(fast))
	if err != nil {
		t.Fatal(err)
	}
	w.until(t, "the other download running", func(p resumer.Progress) bool { return p.State == protocol.Running })
	q := newWatch()
	d, err := m.Download(url, q.opts(fast))
	if err != nil {
		t.Fatal(err)
	}
	q.until(t, "queued", func(p resumer.Progress) bool { return p.State == protocol.Queued })
	d.Stop(nil)
	if _, err := wait(t, d); resumer.CodeOf(err) != resumer.CodePaused {
		t.Fatalf("Wait after Stop: %v, want %s", err, resumer.CodePaused)
	}
	if _, err := m.Serve(context.Background(), url, protocol.ServeRequest{}, resumer.Caller{}); err != nil {
		t.Fatalf("the finished file after a Stop of its queued Download: %v", err)
	}
	hog.Cancel()
}

// losingStore loses the bytes of one chunk before they are stored, as
// WebKit does with a fetch() body's Blob while its page unloads.
type losingStore struct {
	store.Store
	lost atomic.Int32
}

func (s *losingStore) PutChunk(ctx context.Context, c store.Chunk) error {
	if c.Start > 0 && s.lost.Add(1) == 1 {
		return fmt.Errorf("read the Blob to store its bytes: %w: NotReadableError", store.ErrBlobLost)
	}
	return s.Store.PutChunk(ctx, c)
}

// TestBlobLost: a piece whose bytes cannot be read to be stored is not a
// failure of the storage: its span is asked again after a back-off, and
// the download finishes right (before, it failed with "storage", and a
// page that unloaded in WebKit left its download failed).
func TestBlobLost(t *testing.T) {
	f := newFixture(t)
	st := &losingStore{Store: f.st}
	m := resumer.NewManager(st, httpfetch.Platform{})
	m.Rand = func() float64 { return 0 }
	res, err := f.download(m, f.url+f.name, fast)
	mustOK(t, f, res, err)
	if st.lost.Load() < 2 {
		t.Fatalf("no chunk was lost (%d puts)", st.lost.Load())
	}
}

// TestWaitingCallers: callers that only wait for the file (Options.Waiting,
// resumer.fetch) share one Download. One that gives up leaves it running
// for the others; the last one to give up pauses it, its bytes kept; and a
// Download that a caller without Waiting joined is that caller's: waiting
// callers that give up leave it running.
func TestWaitingCallers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const url = "https://x.test/f"
		data := pattern(1 << 20)
		p := &memNet{fetch: func(ctx context.Context, n int, req platform.Request) (*platform.Response, error) {
			return honestAnswer(data, `"v1"`, "application/octet-stream", req.URL, req, 20*time.Millisecond), nil
		}}
		m := resumer.NewManager(memstore.New(), p)
		waiting := resumer.Options{ChunkSize: 64 << 10, Waiting: true}
		w := newWatch()
		a, err := m.Download(url, w.opts(waiting))
		if err != nil {
			t.Fatal(err)
		}
		b, err := m.Download(url, waiting)
		if err != nil || b != a {
			t.Fatalf("a second waiting caller: %v, %v; want the running Download", b, err)
		}
		w.until(t, "bytes stored", func(p resumer.Progress) bool { return p.Stored > 0 })
		synctest.Wait()
		a.Leave(true)
		synctest.Wait()
		if s := a.State(); s != protocol.Running {
			t.Fatalf("one of two waiting callers gave up and the download is %s; the other still waits", s)
		}
		b.Leave(true)
		synctest.Wait()
		if s := a.State(); s != protocol.Paused {
			t.Fatalf("the last waiting caller gave up and the download is %s, want paused", s)
		}
		if list, err := m.List(context.Background()); err != nil || len(list) != 1 || list[0].State != protocol.Paused || list[0].Received == 0 {
			t.Fatalf("listed: %+v, %v; want paused with bytes", list, err)
		}

		// The app takes it up; a waiting caller that joins and gives up
		// leaves it running.
		app, err := m.Download(url, resumer.Options{ChunkSize: 64 << 10})
		if err != nil || app != a {
			t.Fatalf("the app's Download: %v, %v; want the paused one, resumed", app, err)
		}
		c, err := m.Download(url, waiting)
		if err != nil || c != a {
			t.Fatalf("a waiting caller: %v, %v; want the running Download", c, err)
		}
		synctest.Wait()
		c.Leave(true)
		synctest.Wait()
		if s := a.State(); s != protocol.Running {
			t.Fatalf("a waiting caller gave up the app's download: %s", s)
		}
		res, err := a.Wait(context.Background())
		if err != nil || !bytes.Equal(res.Blob.(memstore.Bytes), data) {
			t.Fatalf("the app's download: %d bytes, %v; want the file", res.Size, err)
		}

		// The last waiting caller leaves without giving up (it got its
		// answer some other way): nothing pauses.
		const url2 = "https://x.test/g"
		g, err := m.Download(url2, waiting)
		if err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		g.Leave(false)
		synctest.Wait()
		if s := g.State(); s != protocol.Running {
			t.Fatalf("the last waiting caller left, not aborted, and the download is %s", s)
		}
		g.Cancel()
		g.Wait(context.Background())
	})
}
