//go:build !js

package resumer_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-resumer/resumer/wasm/protocol"
	"github.com/go-resumer/resumer/wasm/resumer"
	"github.com/go-resumer/resumer/wasm/resumer/platform"
	"github.com/go-resumer/resumer/wasm/store/memstore"
)

// releasable is a body that can go to the app unread: what the browser's
// fetch() Response is.
type releasable struct {
	*memBody
	released, closed bool
}

func (b *releasable) Release() any { b.released = true; return b }
func (b *releasable) Close()       { b.closed = !b.released }

// TestFirstAnswer: with Options.FirstAnswer (resumer.fetch), a download
// that has stored nothing answers as fetch() would: a server's error
// status ends it at once with the response, unread and not aborted; a
// network failure before any answer ends it, untried again. Once bytes
// are stored, the same failures are retried; and without the option, an
// error status is retried or fails as always.
func TestFirstAnswer(t *testing.T) {
	data := pattern(256 << 10)
	ok := func(req platform.Request) *platform.Response {
		return honestAnswer(data, `"v1"`, "application/octet-stream", "https://x.test/f", req, 0)
	}
	status := func(code int) *platform.Response {
		return &platform.Response{Response: protocol.Response{Status: code, ContentType: "text/html", URL: "https://x.test/f"},
			Body: &releasable{memBody: &memBody{data: []byte("<h1>Not here</h1>"), cut: -1}}}
	}
	for _, c := range []struct {
		name  string
		first bool
		// answer gives the response to request n (nil: a network error).
		answer   func(n int, req platform.Request) *platform.Response
		code     string // the error, "" for the file
		status   int
		handed   bool // the error carries the response, released
		requests int  // the file is four: the probe and three ranges
	}{
		{"404 to the first request is handed over", true, func(n int, req platform.Request) *platform.Response { return status(404) }, resumer.CodeHTTPStatus, 404, true, 1},
		{"500 to the first request is handed over, not retried", true, func(n int, req platform.Request) *platform.Response { return status(500) }, resumer.CodeHTTPStatus, 500, true, 1},
		{"503 with Retry-After too", true, func(n int, req platform.Request) *platform.Response {
			r := status(503)
			r.RetryAfter = "1"
			return r
		}, resumer.CodeHTTPStatus, 503, true, 1},
		{"a network failure before any answer ends it", true, func(n int, req platform.Request) *platform.Response { return nil }, resumer.CodeNetwork, 0, false, 1},
		{"a 500 once bytes are stored is retried", true, func(n int, req platform.Request) *platform.Response {
			if n == 1 {
				return status(500)
			}
			return ok(req)
		}, "", 0, false, 5},
		{"a network failure once bytes are stored is retried", true, func(n int, req platform.Request) *platform.Response {
			if n == 1 {
				return nil
			}
			return ok(req)
		}, "", 0, false, 5},
		{"without the option a 404 fails, the response closed", false, func(n int, req platform.Request) *platform.Response { return status(404) }, resumer.CodeHTTPStatus, 404, false, 1},
		{"without the option a 500 is retried", false, func(n int, req platform.Request) *platform.Response {
			if n == 0 {
				return status(500)
			}
			return ok(req)
		}, "", 0, false, 5},
	} {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var bodies []*releasable
				p := &memNet{fetch: func(ctx context.Context, n int, req platform.Request) (*platform.Response, error) {
					r := c.answer(n, req)
					if r == nil {
						return nil, errors.New("TypeError: Failed to fetch")
					}
					if b, ok := r.Body.(*releasable); ok {
						bodies = append(bodies, b)
					}
					return r, nil
				}}
				st := memstore.New()
				m := resumer.NewManager(st, p)
				d, err := m.Download("https://x.test/f", resumer.Options{ChunkSize: 64 << 10, FirstAnswer: c.first,
					Retry: protocol.RetryPolicy{Base: 100 * time.Millisecond, Max: time.Second, Attempts: 3}})
				if err != nil {
					t.Fatal(err)
				}
				res, err := d.Wait(context.Background())
				if got := p.count(); got != c.requests {
					t.Errorf("%d requests, want %d", got, c.requests)
				}
				if c.code == "" {
					if err != nil || res.Size != int64(len(data)) {
						t.Fatalf("got %d bytes, %v; want the file", res.Size, err)
					}
					return
				}
				var e *resumer.Error
				if !errors.As(err, &e) || e.Code != c.code || e.Status != c.status {
					t.Fatalf("err %v, want %s %d", err, c.code, c.status)
				}
				// The exchange that decided it goes with the error.
				if (c.status != 0) != !e.Decided.Empty() || (c.status != 0 && e.Decided.Status != c.status) {
					t.Errorf("decided by %+v, want the answer %d", e.Decided, c.status)
				}
				if c.handed {
					b, _ := e.Answer.(*releasable)
					if b == nil || !b.released || b.closed || b.pos != 0 || len(bodies) != 1 || bodies[0] != b {
						t.Fatalf("answer %T %+v; want the response, released unread", e.Answer, b)
					}
				} else {
					if e.Answer != nil {
						t.Fatalf("answer %v, want none", e.Answer)
					}
					for _, b := range bodies {
						if !b.closed || b.released {
							t.Fatalf("a body was left open or released: %+v", b)
						}
					}
				}
				infos, _ := m.List(context.Background())
				if len(infos) != 0 || st.Used() != 0 {
					t.Fatalf("stored after the failure: %+v, %d bytes", infos, st.Used())
				}
			})
		})
	}
}

// TestFirstAnswerRefreshFails: resumer.fetch of an expired link whose
// refresh gives no fresh one, before anything is stored, answers as fetch()
// would: with the server's own 401, unread (the link asked once more,
// without a refresh), not with an error of resumer's.
func TestFirstAnswerRefreshFails(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var bodies []*releasable
		p := &memNet{fetch: func(ctx context.Context, n int, req platform.Request) (*platform.Response, error) {
			b := &releasable{memBody: &memBody{data: []byte("<h1>Log in</h1>"), cut: -1}}
			bodies = append(bodies, b)
			return &platform.Response{Response: protocol.Response{Status: 401, ContentType: "text/html", URL: req.URL}, Body: b}, nil
		}}
		m := resumer.NewManager(memstore.New(), p)
		refreshes := 0
		d, err := m.Download("https://x.test/f", resumer.Options{FirstAnswer: true,
			Refresh: func(ctx context.Context, e resumer.Expired) (resumer.Link, error) {
				refreshes++
				return resumer.Link{}, errors.New("the app has no fresh token")
			}})
		if err != nil {
			t.Fatal(err)
		}
		_, err = d.Wait(context.Background())
		var e *resumer.Error
		if !errors.As(err, &e) || e.Status != 401 {
			t.Fatalf("err %v, want the 401", err)
		}
		b, _ := e.Answer.(*releasable)
		if b == nil || !b.released || b.pos != 0 || len(bodies) != 2 || bodies[1] != b || refreshes != 1 {
			t.Fatalf("answer %T %+v, %d requests, %d refreshes; want the second 401 handed over unread after one refresh", e.Answer, b, len(bodies), refreshes)
		}
	})
}
