//go:build !js

package resumer_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-resumer/resumer/wasm/protocol"
	"github.com/go-resumer/resumer/wasm/resumer"
	"github.com/go-resumer/resumer/wasm/resumer/platform"
	"github.com/go-resumer/resumer/wasm/store/memstore"
)

// expiring is a server of signed links: a link (?sig=N) answers two
// requests, then 403 as S3 does for an expired signature; and every
// request must bring the token of its link.
type expiring struct {
	data []byte
	mu   sync.Mutex
	used map[string]int
	sent int64 // body bytes sent in 2xx answers
	got  []string
}

func (x *expiring) fetch(ctx context.Context, n int, req platform.Request) (*platform.Response, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	sig := req.URL[strings.LastIndex(req.URL, "=")+1:]
	x.got = append(x.got, sig+" "+req.Header["Authorization"]+" "+req.Range)
	x.used[sig]++
	if late := x.used[sig] - 3; late >= 0 || req.Header["Authorization"] != "Bearer "+sig {
		// Each later refusal of a link takes longer to arrive: with
		// several connections, some come after the fresh link.
		x.mu.Unlock()
		// (Every test of this server runs in a synctest bubble: the
		// sleep is latency on its fake clock, not a wait.)
		time.Sleep(time.Duration(max(late, 0)) * 150 * time.Millisecond)
		x.mu.Lock()
		return &platform.Response{Response: protocol.Response{Status: 403, ContentType: "application/xml", URL: req.URL},
			Body: &memBody{data: []byte("<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>"), cut: -1}}, nil
	}
	r := honestAnswer(x.data, `"v1"`, "application/octet-stream", req.URL, req, 20*time.Millisecond)
	x.sent += int64(len(r.Body.(*memBody).data))
	return r, nil
}

// TestRefresh: a download whose signed link expires mid-way asks the app
// for a fresh one (Options.Refresh) at each 403 and goes on from its
// stored bytes with the fresh URL and headers, never asking for a byte
// twice; an app that cannot give one, or whose fresh links keep being
// refused, ends the download with the 403, its bytes kept.
func TestRefresh(t *testing.T) {
	const size = 512 << 10
	for _, c := range []struct {
		name    string
		refresh func(n int, e resumer.Expired) (resumer.Link, error)
		calls   int    // the calls of Refresh
		code    string // "" for the file
		conns   int    // Options.Connections
	}{
		{"fresh links", func(n int, e resumer.Expired) (resumer.Link, error) {
			sig := fmt.Sprint(n + 2)
			return resumer.Link{URL: "https://x.test/f?sig=" + sig, Header: map[string]string{"Authorization": "Bearer " + sig}}, nil
		}, 3, "", 1},
		{"fresh links on four connections: a refusal of a link already replaced asks nothing", func(n int, e resumer.Expired) (resumer.Link, error) {
			sig := fmt.Sprint(n + 2)
			return resumer.Link{URL: "https://x.test/f?sig=" + sig, Header: map[string]string{"Authorization": "Bearer " + sig}}, nil
		}, -1, "", 4},
		{"a fresh link on another path and host", func(n int, e resumer.Expired) (resumer.Link, error) {
			sig := fmt.Sprint(n + 2)
			return resumer.Link{URL: "https://cdn" + sig + ".test/other/path?sig=" + sig, Header: map[string]string{"Authorization": "Bearer " + sig}}, nil
		}, 3, "", 1},
		{"no fresh link", func(n int, e resumer.Expired) (resumer.Link, error) {
			return resumer.Link{}, errors.New("signed out")
		}, 1, resumer.CodeHTTPStatus, 1},
		{"the same link again and again", func(n int, e resumer.Expired) (resumer.Link, error) {
			return resumer.Link{URL: e.URL}, nil
		}, protocol.MaxRefreshes, resumer.CodeHTTPStatus, 1},
		{"a fresh link with a header resumer owns", func(n int, e resumer.Expired) (resumer.Link, error) {
			return resumer.Link{URL: "https://x.test/f?sig=2", Header: map[string]string{"Range": "bytes=0-"}}, nil
		}, 1, resumer.CodeHTTPStatus, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				x := &expiring{data: pattern(size), used: map[string]int{}}
				p := &memNet{fetch: x.fetch}
				st := memstore.New()
				m := resumer.NewManager(st, p)
				var calls []resumer.Expired
				d, err := m.Download("https://x.test/f?sig=1", resumer.Options{ChunkSize: 64 << 10, Connections: c.conns,
					Header: map[string]string{"Authorization": "Bearer 1"},
					Refresh: func(ctx context.Context, e resumer.Expired) (resumer.Link, error) {
						calls = append(calls, e)
						time.Sleep(100 * time.Millisecond) // the app asks its own server
						return c.refresh(len(calls), e)
					}})
				if err != nil {
					t.Fatal(err)
				}
				res, err := d.Wait(context.Background())
				if (c.calls >= 0 && len(calls) != c.calls) || len(calls) == 0 || calls[0].Status != 403 || calls[0].URL != "https://x.test/f?sig=1" {
					t.Errorf("Refresh called %d times (%+v), want %d, first for the 403 of sig=1", len(calls), calls, c.calls)
				}
				// Each call is for the link in use then: a refusal of a
				// link already replaced asks nothing.
				asked := map[string]bool{}
				for _, e := range calls {
					if asked[e.URL] && c.code == "" {
						t.Errorf("Refresh asked twice for %s: %+v", e.URL, calls)
					}
					asked[e.URL] = true
				}
				if c.code == "" {
					if err != nil || res.Size != size {
						t.Fatalf("got %d bytes, %v; requests %q", res.Size, err, x.got)
					}
					mustMatch(t, res, sha256.Sum256(x.data))
					if res.Restarts != 0 || (c.refresh != nil && res.URL != "" && strings.HasSuffix(res.URL, "sig=1")) {
						t.Fatalf("restarts %d, url %q: want none, and the link last used", res.Restarts, res.URL)
					}
					if x.sent != size {
						t.Fatalf("the server sent %d bytes for a file of %d: requests %q", x.sent, size, x.got)
					}
					return
				}
				var e *resumer.Error
				if !errors.As(err, &e) || e.Code != c.code || e.Status != 403 {
					t.Fatalf("err %v, want %s 403", err, c.code)
				}
				if st.Used() == 0 {
					t.Fatalf("the stored bytes were discarded")
				}
			})
		})
	}
}

// TestRefreshAhead: a signed link whose query states its expiry
// (Expires=, as CloudFront's) is renewed before it expires, with
// Expired.Status 0 and no request refused; a refresh that fails then is
// no failure: the download goes on with the link it has.
func TestRefreshAhead(t *testing.T) {
	for _, c := range []struct {
		give bool
		life time.Duration // of the first link
	}{{true, 35 * time.Second}, {false, 35 * time.Second}, {true, -time.Second}} {
		give := c.give
		t.Run(fmt.Sprintf("fresh links %v, first link good for %v", c.give, c.life), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				const size = 1 << 20
				data := pattern(size)
				// 16 KiB every 100 ms: the file takes about 6.4 s. The first
				// link expires 35 s after the start, so renewing it 30 s
				// ahead (protocol.ExpiryMargin) happens at 5 s, mid-way; a
				// fresh link is good for 40 s.
				signed := func(at time.Time) string {
					return fmt.Sprintf("https://x.test/f?Expires=%d&Signature=s", at.Add(40*time.Second).Unix())
				}
				var mu sync.Mutex
				var refused int
				p := &memNet{fetch: func(ctx context.Context, n int, req platform.Request) (*platform.Response, error) {
					at, _ := protocol.LinkExpiry(req.URL)
					if time.Now().After(at) {
						mu.Lock()
						refused++
						mu.Unlock()
						return &platform.Response{Response: protocol.Response{Status: 403, URL: req.URL}, Body: &memBody{cut: -1}}, nil
					}
					return honestAnswer(data, `"v1"`, "application/octet-stream", req.URL, req, 100*time.Millisecond), nil
				}}
				m := resumer.NewManager(memstore.New(), p)
				var calls []resumer.Expired
				start := time.Now()
				// A link already expired is not even tried.
				first := fmt.Sprintf("https://x.test/f?Expires=%d&Signature=s", start.Add(c.life).Unix())
				d, _ := m.Download(first, resumer.Options{ChunkSize: 64 << 10,
					Refresh: func(ctx context.Context, e resumer.Expired) (resumer.Link, error) {
						calls = append(calls, e)
						if !give {
							return resumer.Link{}, errors.New("offline")
						}
						return resumer.Link{URL: signed(time.Now())}, nil
					}})
				res, err := d.Wait(context.Background())
				if err != nil || res.Size != size {
					t.Fatalf("got %d bytes, %v", res.Size, err)
				}
				if len(calls) == 0 || calls[0].Status != 0 || calls[0].URL != first || refused != 0 {
					t.Fatalf("refresh calls %+v, %d requests refused; want a call ahead of the expiry, none refused", calls, refused)
				}
				if !give && len(calls) != 1 {
					t.Fatalf("a refresh that failed was asked again: %+v", calls)
				}
			})
		})
	}
}

// TestRefreshNeverAnswers: an app whose refresh never returns (and does
// not heed its context) holds the download at most refreshTimeout: it then
// fails with the status that asked, its bytes kept; and a pause while
// waiting for it ends the session at once.
func TestRefreshNeverAnswers(t *testing.T) {
	for _, pause := range []bool{false, true} {
		t.Run(fmt.Sprint("pause ", pause), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				x := &expiring{data: pattern(512 << 10), used: map[string]int{}}
				st := memstore.New()
				m := resumer.NewManager(st, &memNet{fetch: x.fetch})
				never := make(chan struct{})
				defer close(never) // lets the callback go at the end
				asked := make(chan struct{}, 1)
				w := newWatch()
				d, _ := m.Download("https://x.test/f?sig=1", w.opts(resumer.Options{ChunkSize: 64 << 10,
					Header: map[string]string{"Authorization": "Bearer 1"},
					Refresh: func(ctx context.Context, e resumer.Expired) (resumer.Link, error) {
						asked <- struct{}{}
						<-never
						return resumer.Link{}, nil
					}}))
				<-asked
				start := time.Now()
				if pause {
					d.Pause()
					w.until(t, "the pause", func(p resumer.Progress) bool { return p.State == protocol.Paused })
					if took := time.Since(start); took > time.Second {
						t.Fatalf("the pause took %v while the refresh hung", took)
					}
					if st.Used() == 0 {
						t.Fatal("no bytes kept")
					}
					d.Cancel()
					return
				}
				_, err := d.Wait(context.Background())
				var e *resumer.Error
				if !errors.As(err, &e) || e.Code != resumer.CodeHTTPStatus || e.Status != 403 || st.Used() == 0 {
					t.Fatalf("err %v, %d bytes kept; want http-status 403, the bytes kept", err, st.Used())
				}
				if took := time.Since(start); took < 2*time.Minute || took > 3*time.Minute {
					t.Fatalf("failed after %v, want after the two minutes a refresh may take", took)
				}
			})
		})
	}
}

// TestRefreshKeepsOwner: a fresh link's headers (a renewed token) are the
// same caller's: a pause and a resume after a refresh go on from the
// stored bytes, never taking them for another user's, and the file is
// answered to the credentials the download was started with.
func TestRefreshKeepsOwner(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const size = 512 << 10
		x := &expiring{data: pattern(size), used: map[string]int{}}
		st := memstore.New()
		m := resumer.NewManager(st, &memNet{fetch: x.fetch})
		refreshed := make(chan struct{}, 8)
		// A call the pause gave up on may still run beside the next one
		// (Refresh need not heed its context): the count is atomic.
		var calls atomic.Int32
		w := newWatch()
		first := map[string]string{"Authorization": "Bearer 1"}
		d, _ := m.Download("https://x.test/f?sig=1", w.opts(resumer.Options{ChunkSize: 64 << 10, Header: first,
			Refresh: func(ctx context.Context, e resumer.Expired) (resumer.Link, error) {
				sig := fmt.Sprint(calls.Add(1) + 1)
				refreshed <- struct{}{}
				return resumer.Link{URL: "https://x.test/f?sig=" + sig, Header: map[string]string{"Authorization": "Bearer " + sig}}, nil
			}}))
		<-refreshed
		w.until(t, "bytes with the fresh link", func(p resumer.Progress) bool { return p.Stored >= 4*64<<10 })
		d.Pause()
		w.until(t, "the pause", func(p resumer.Progress) bool { return p.State == protocol.Paused })
		if list, _ := m.List(context.Background()); len(list) != 1 || list[0].State != protocol.Paused {
			t.Fatalf("after the pause: %+v; want the download paused", list)
		}
		x.mu.Lock()
		before := len(x.got)
		x.mu.Unlock()
		d.Resume()
		res, err := d.Wait(context.Background())
		if err != nil || res.Size != size {
			t.Fatalf("after the resume: %d bytes, %v", res.Size, err)
		}
		x.mu.Lock()
		after := x.got[before:]
		x.mu.Unlock()
		for _, g := range after {
			if strings.HasSuffix(g, " bytes=0-65535") {
				t.Fatalf("the resume began again from byte 0: %q", after)
			}
		}
		if codes := w.noticeCodes(); contains(codes, resumer.NoticeOtherCredentials) {
			t.Fatalf("notices %v: the stored bytes were taken for another caller's", codes)
		}
		if _, err := m.Serve(context.Background(), "https://x.test/f?sig=1", protocol.ServeRequest{}, resumer.Caller{Header: first}); err != nil {
			t.Fatalf("Serve to the credentials the download began with: %v", err)
		}
	})
}
