//go:build !js

package resumer_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/go-resumer/resumer/wasm/protocol"
	"github.com/go-resumer/resumer/wasm/resumer"
)

// TestHostileServers runs the engine against servers that lie, short-change,
// stall or redirect, each on one connection and on four. Every row shows
// in the server's log that the fault happened, and that the result is the
// right file (SHA-256) or the error is clear, with nothing wrong stored.
func TestHostileServers(t *testing.T) {
	runFaults(t, []faultCase{
		{"every 206 body longer than its Content-Range", "overrun=5000", nil, chunk(512 << 10), func(t *testing.T, f *fixture, c run) {
			// The validators prove the bytes each Content-Range names; what
			// the server sends after them is cut, and the download finishes
			// at once: no range is asked twice, nothing backs off.
			mustOK(t, f, c.res, c.err)
			f.storedRight(c.url)
			if n := len(c.where(func(e logged) bool { return strings.Contains(e.Fault, "overrun") })); n < 3 || n != len(c.log) {
				t.Fatalf("%d overruns in %v", n, c.log)
			}
			asked := map[string]bool{}
			for _, e := range c.log {
				if asked[e.Range] {
					t.Fatalf("%s asked twice: %v", e.Range, c.log)
				}
				asked[e.Range] = true
			}
			if att, errs := c.w.failures(); att != 0 {
				t.Fatalf("backed off %d times: %v", att, errs)
			}
		}},
		{"one 206 body longer than its Content-Range", "", func(f *fixture) {
			f.arm(1, "")
			f.arm(1, "overrun=5000&rate=4194304")
		}, streamed(512 << 10), func(t *testing.T, f *fixture, c run) {
			// The body is cut at its Content-Range's end: its pieces
			// (streamed, stored as they came) count, and its span is not
			// asked for again.
			mustOK(t, f, c.res, c.err)
			over := c.only(t, func(e logged) bool { return strings.Contains(e.Fault, "overrun") })
			if again := c.where(func(e logged) bool { return e.Range == over.Range }); len(again) != 1 {
				t.Fatalf("the cut span was asked for again: %v", c.log)
			}
			if f.st.Used() != size {
				t.Fatalf("%d bytes stored for %d", f.st.Used(), size)
			}
		}},
		{"206 shorter than asked, Content-Range right", "cap=100000", nil, chunk(512 << 10), func(t *testing.T, f *fixture, c run) {
			mustOK(t, f, c.res, c.err)
			// Every short answer is a shorter piece: the rest of its cell
			// is asked for next, with no back-off.
			if att, errs := c.w.failures(); att != 0 {
				t.Fatalf("backed off %d times: %v", att, errs)
			}
			capped := 0
			for _, e := range c.log {
				if e.Status != 206 || e.ClientGone {
					t.Fatalf("%v", e)
				}
				if strings.Contains(e.Fault, "capped") {
					capped++
				}
			}
			// Two cells of 448 and 512 KiB in answers of at most 100000.
			if capped < 8 || len(c.log) != 1+5+6 {
				t.Fatalf("%d requests, %d capped: %v", len(c.log), capped, c.log)
			}
		}},
		{"unknown total on the first answer", "cr=unknown", nil, nil, func(t *testing.T, f *fixture, c run) {
			mustOK(t, f, c.res, c.err)
			if c.res.Resumable || c.res.Reason.Code != protocol.ReasonUnknownLength {
				t.Fatalf("resumable %v, reason %+v", c.res.Resumable, c.res.Reason)
			}
			// One probe, then the whole file in one request: no storm.
			if len(c.log) != 2 || !strings.Contains(c.log[0].ContentRange, "/*") || c.log[1].Range != "" || c.log[1].Sent != size {
				t.Fatalf("requests %v", c.log)
			}
		}},
		{"unknown total after the first answer", "", func(f *fixture) {
			f.arm(1, "")
			f.arm(100, "cr=unknown")
		}, nil, func(t *testing.T, f *fixture, c run) {
			mustOK(t, f, c.res, c.err)
			if !c.res.Resumable || !strings.HasSuffix(c.log[1].ContentRange, "/*") {
				t.Fatalf("resumable %v, requests %v", c.res.Resumable, c.log)
			}
		}},
		{"Content-Range whose length overflows", "cr=overflow", nil, nil, func(t *testing.T, f *fixture, c run) {
			if resumer.CodeOf(c.err) != resumer.CodeBadResponse || len(c.log) != 3 || f.st.Used() != 0 {
				t.Fatalf("err %v after %d requests, %d bytes stored; want bad-response after 3, nothing stored", c.err, len(c.log), f.st.Used())
			}
			if !strings.Contains(c.log[0].ContentRange, "9223372036854775807") {
				t.Fatalf("requests %v", c.log)
			}
		}},
		{"Content-Range whose total overflows", "cr=hugetotal", nil, nil, func(t *testing.T, f *fixture, c run) {
			if resumer.CodeOf(c.err) != resumer.CodeBadResponse || len(c.log) != 3 || f.st.Used() != 0 {
				t.Fatalf("err %v after %d requests; want bad-response after 3", c.err, len(c.log))
			}
		}},
		{"stalled body", "rate=2097152", func(f *fixture) {
			f.arm(1, "")
			f.arm(1, "stall=100000")
		}, stalling(chunk(512 << 10)), func(t *testing.T, f *fixture, c run) {
			mustOK(t, f, c.res, c.err)
			stalled := c.only(t, func(e logged) bool { return e.Stalled })
			if !stalled.ClientGone || stalled.Sent != 100000 {
				t.Fatalf("stalled %v; want the client gone after 100000 bytes", stalled)
			}
			if att, errs := c.w.failures(); att == 0 || !strings.Contains(strings.Join(errs, " "), "stalled") {
				t.Fatalf("the stall was not reported: attempts %d, %v", att, errs)
			}
		}},
		{"headers, then nothing", "", func(f *fixture) {
			f.arm(1, "")
			f.arm(1, "stall=0")
		}, stalling(chunk(512 << 10)), func(t *testing.T, f *fixture, c run) {
			mustOK(t, f, c.res, c.err)
			if stalled := c.only(t, func(e logged) bool { return e.Stalled }); stalled.Sent != 0 || !stalled.ClientGone {
				t.Fatalf("stalled %v", stalled)
			}
		}},
		{"body of unknown length", "ranges=none&length=none", nil, nil, func(t *testing.T, f *fixture, c run) {
			mustOK(t, f, c.res, c.err)
			if c.res.Resumable || c.res.Reason.Code != protocol.ReasonUnknownLength || len(c.log) != 1 {
				t.Fatalf("resumable %v, reason %+v, requests %v", c.res.Resumable, c.res.Reason, c.log)
			}
		}},
		{"body of unknown length past maxBytes", "ranges=none&length=none&rate=4194304", nil, func(o resumer.Options) resumer.Options {
			o.MaxBytes = size / 2
			return o
		}, func(t *testing.T, f *fixture, c run) {
			if resumer.CodeOf(c.err) != resumer.CodeTooLarge || f.st.Used() > size/2 {
				t.Fatalf("err %v, %d bytes stored; want too-large, at most %d stored", c.err, f.st.Used(), size/2)
			}
			if len(c.log) != 1 || !c.log[0].ClientGone {
				t.Fatalf("requests %v; want one, left before its end", c.log)
			}
		}},
		{"known length past maxBytes", "", nil, func(o resumer.Options) resumer.Options {
			o.MaxBytes = size - 1
			return o
		}, func(t *testing.T, f *fixture, c run) {
			if resumer.CodeOf(c.err) != resumer.CodeTooLarge || f.st.Used() != 0 || len(c.log) != 1 {
				t.Fatalf("err %v, %d bytes stored after %d requests; want too-large after the probe, nothing stored", c.err, f.st.Used(), len(c.log))
			}
		}},
		{"retry delays that would be 0", "status=503", nil, func(o resumer.Options) resumer.Options {
			o.Retry = protocol.RetryPolicy{Base: time.Nanosecond, Max: time.Nanosecond, Jitter: 1, Attempts: 5}
			return o
		}, func(t *testing.T, f *fixture, c run) {
			if resumer.CodeOf(c.err) != resumer.CodeHTTPStatus || len(c.log) != 5 {
				t.Fatalf("err %v after %d requests, want http-status after 5", c.err, len(c.log))
			}
			times := f.arrivals()
			for i := 1; i < len(times); i++ {
				if gap := times[i].Sub(times[i-1]); gap < protocol.MinRetryDelay {
					t.Fatalf("requests %d and %d arrived %v apart, less than the %v floor", i-1, i, gap, protocol.MinRetryDelay)
				}
			}
		}},
		{"ETag over 8 KiB", "validators=etag&etag=" + `"` + strings.Repeat("x", protocol.MaxValidatorLen) + `"`, nil, nil, func(t *testing.T, f *fixture, c run) {
			mustOK(t, f, c.res, c.err)
			if c.res.Resumable || c.res.Reason.Code != protocol.ReasonLongValidator || c.res.Validators.ETag != "" || !strings.HasSuffix(c.log[0].ETag, "…") {
				t.Fatalf("resumable %v, reason %+v, etag kept %d bytes", c.res.Resumable, c.res.Reason, len(c.res.Validators.ETag))
			}
			rec, _ := f.st.Get(context.Background(), c.url)
			if len(rec.Validators.ETag) > protocol.MaxValidatorLen {
				t.Fatalf("stored an ETag of %d bytes", len(rec.Validators.ETag))
			}
		}},
		{"every request redirected", "redirect=same", nil, chunk(512 << 10), func(t *testing.T, f *fixture, c run) {
			mustOK(t, f, c.res, c.err)
			rec, _ := f.st.Get(context.Background(), c.url)
			if !strings.Contains(rec.FinalURL, "redirected=1") || !c.res.Resumable {
				t.Fatalf("final URL %q, resumable %v", rec.FinalURL, c.res.Resumable)
			}
			if n := len(c.where(func(e logged) bool { return e.Status == 302 })); n != len(c.log)/2 {
				t.Fatalf("%d redirects of %d requests", n, len(c.log))
			}
		}},
		{"resume redirected to a login page", "", func(f *fixture) {
			f.arm(1, "")
			f.arm(1, "cut=200000")
			f.arm(100, "redirect=login")
		}, chunk(512 << 10), func(t *testing.T, f *fixture, c run) {
			if resumer.CodeOf(c.err) != resumer.CodeUnexpectedContent || !strings.Contains(c.err.Error(), "text/html") {
				t.Fatalf("err %v, want unexpected-content naming text/html", c.err)
			}
			if len(c.where(func(e logged) bool { return e.Path == "/_login" })) == 0 {
				t.Fatalf("no request reached the login page: %v", c.log)
			}
			kept := f.st.Used()
			if kept < small {
				t.Fatalf("%d bytes kept, want at least the probe's", kept)
			}
			// The page out of the way, the download resumes from what it kept.
			f.srv.Disarm()
			m, rec := f.recorded()
			res, err := f.download(m, f.url+file, with(c.conns))
			mustOK(t, f, res, err)
			if sent := rec.sent(); len(sent) == 0 || strings.HasPrefix(sent[0].Range, "bytes=0-") || res.Restarts != 0 {
				t.Fatalf("after the login page: %+v, restarts %d; want a resume of the %d bytes kept", sent, res.Restarts, kept)
			}
		}},
		{"resume redirected to another file", "", func(f *fixture) {
			f.arm(1, "")
			f.arm(1, "cut=200000")
			f.arm(100, "redirect=file:g.bin")
		}, chunk(512 << 10), func(t *testing.T, f *fixture, c run) {
			// The URL now leads to another path, whose answers do not
			// continue the stored bytes whatever their validators: the
			// stored URL is asked directly, and as it now leads there too
			// (the armed redirect), the download starts over with g.bin.
			if c.err != nil || c.res.Restarts != 1 {
				t.Fatalf("err %v, restarts %d", c.err, c.res.Restarts)
			}
			mustMatch(t, c.res, f.shaOf("g.bin"))
			if len(c.where(func(e logged) bool { return e.Path == "/files/g.bin" && e.Status == 200 })) == 0 {
				t.Fatalf("requests %v", c.log)
			}
		}},
		{"resume redirected to the same version", "", func(f *fixture) {
			f.arm(1, "")
			f.arm(1, "cut=200000")
			f.arm(100, "redirect=same")
		}, chunk(512 << 10), func(t *testing.T, f *fixture, c run) {
			// Another URL, but its 206s carry the stored strong ETag.
			mustOK(t, f, c.res, c.err)
			if c.res.Restarts != 0 {
				t.Fatalf("restarts %d", c.res.Restarts)
			}
			for _, e := range c.where(func(e logged) bool { return strings.Contains(e.Query, "redirected=1") }) {
				if e.Status != 206 || e.Start == 0 {
					t.Fatalf("redirected request %v; want a 206 resuming", e)
				}
			}
		}},
	})
}

// stalling gives up a response that sends nothing for 300 ms.
func stalling(next func(resumer.Options) resumer.Options) func(resumer.Options) resumer.Options {
	return func(o resumer.Options) resumer.Options {
		o = next(o)
		o.StallTimeout = 300 * time.Millisecond
		return o
	}
}

// where returns the logged requests that match.
func (c run) where(match func(logged) bool) []logged {
	var out []logged
	for _, e := range c.log {
		if match(e) {
			out = append(out, e)
		}
	}
	return out
}

// only returns the one logged request that matches.
func (c run) only(t *testing.T, match func(logged) bool) logged {
	t.Helper()
	m := c.where(match)
	if len(m) != 1 {
		t.Fatalf("%d matching requests, want 1: %v", len(m), c.log)
	}
	return m[0]
}

// arrivals returns when the server got each request for the file.
func (f *fixture) arrivals() []time.Time {
	var out []time.Time
	for _, e := range f.gets() {
		out = append(out, e.Time)
	}
	return out
}

// TestRetryAfterCapped: a Retry-After too large for any clock, or retry
// settings past the caps, wait at most MaxRetryDelay, and never 0.
func TestRetryAfterCapped(t *testing.T) {
	for _, tt := range []struct {
		name, query string
		retry       protocol.RetryPolicy
	}{
		{"Retry-After that overflows", "status=503&retry-after=99999999999999999999", protocol.RetryPolicy{}},
		{"Retry-After of a year", "status=503&retry-after=31536000", protocol.RetryPolicy{}},
		{"retry settings that overflow", "status=503", protocol.RetryPolicy{Base: 1 << 62, Max: 1 << 62, Jitter: -1}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			w := newWatch()
			d, err := f.manager().Download(f.url+file+"?"+tt.query, w.opts(resumer.Options{Retry: tt.retry}))
			if err != nil {
				t.Fatal(err)
			}
			p := w.until(t, "a wait", func(p resumer.Progress) bool { return !p.RetryAt.IsZero() })
			left := time.Until(p.RetryAt)
			if left > protocol.MaxRetryDelay || left < protocol.MaxRetryDelay-time.Minute {
				t.Fatalf("waits %v, want the cap of %v", left, protocol.MaxRetryDelay)
			}
			d.Cancel()
			if _, err := wait(t, d); resumer.CodeOf(err) != resumer.CodeAborted {
				t.Fatalf("err %v", err)
			}
			if g := f.logged(); len(g) != 1 || g[0].Status != 503 {
				t.Fatalf("requests %v", g)
			}
		})
	}
}
