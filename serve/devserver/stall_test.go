//go:build !js && !wasip1

package devserver

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// stallPatience is how long a stall test's client waits, once the bytes
// before the stall have arrived, for bytes that must never come. It
// starts only then, so a slow machine cannot fail a correct server; a
// server that does not stall sends the next bytes at once. The server is
// told nothing: the log must show it saw the client go.
const stallPatience = 300 * time.Millisecond

// idle waits (with a deadline) until every /files/ request is logged.
func (e *env) idle(t *testing.T) []LogEntry {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	log, err := e.s.WaitIdle(ctx, nil)
	if err != nil {
		t.Fatalf("WaitIdle: %v (log %+v)", err, log)
	}
	return log
}

// TestStall: a stalled body delivers exactly N bytes and then nothing,
// with the connection open, until the client gives up; the log says it
// stalled and that the client left.
func TestStall(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		query    string
		hdr      map[string]string
		status   int
		headers  map[string]string
		body     func([]byte) []byte // what arrives before the stall
		start    int64
		isChunk  bool
		noteWant string
	}{
		{
			name: "stall=0: headers, then nothing", query: "stall=0", status: 200,
			headers: map[string]string{"Content-Length": sizeStr}, body: empty, start: 0,
			noteWant: "stalled after 0 bytes",
		},
		{
			name: "stall=1000 on a 200", query: "stall=1000", status: 200,
			headers: map[string]string{"Content-Length": sizeStr}, body: part(0, 1000), start: 0,
			noteWant: "stalled after 1000 bytes",
		},
		{
			name: "stall=5 on a 206", query: "stall=5", hdr: map[string]string{"Range": "bytes=100-199"}, status: 206,
			headers: map[string]string{"Content-Length": "100", "Content-Range": "bytes 100-199/" + sizeStr},
			body:    part(100, 105), start: 100, noteWant: "stalled after 5 bytes",
		},
		{
			name: "stall with length=none", query: "stall=1000&length=none", status: 200,
			headers: map[string]string{"Content-Length": ""}, body: part(0, 1000), start: 0, isChunk: true,
			noteWant: "stalled after 1000 bytes",
		},
		{
			name: "stall with rate=", query: "stall=3000&rate=1000000", status: 200,
			body: part(0, 3000), start: 0, noteWant: "stalled after 3000 bytes",
		},
		{
			// Every file byte arrives, then neither junk nor the end of
			// the chunked body.
			name: "stall where overrun's junk begins", query: "overrun=100&stall=65536", status: 200,
			headers: map[string]string{"Content-Length": ""}, body: full, start: 0, isChunk: true,
			noteWant: "stalled after 65536 bytes",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			// A generous deadline for the request, and the client's
			// patience from the moment the stall should have begun.
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.ts.URL+"/files/a.bin?"+tc.query, nil)
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tc.hdr {
				req.Header.Set(k, v)
			}
			resp, err := e.client.Do(req)
			if err != nil {
				t.Fatalf("GET: %v", err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			checkHeaders(t, resp.Header, tc.headers)
			if tc.isChunk {
				chunked(t, resp)
			}
			want := tc.body(e.file(t, "a.bin"))
			got := make([]byte, len(want))
			if _, err := io.ReadFull(resp.Body, got); err != nil {
				t.Fatalf("reading the %d bytes before the stall: %v", len(want), err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("body before the stall differs from the file")
			}
			time.AfterFunc(stallPatience, cancel)
			more, err := io.ReadAll(resp.Body)
			if !errors.Is(err, context.Canceled) || len(more) != 0 {
				t.Errorf("after the stall: %d more bytes, err %v; want none until the client gives up", len(more), err)
			}
			log := e.idle(t)
			if len(log) != 1 {
				t.Fatalf("log %+v, want one entry", log)
			}
			g := log[0]
			if !g.Stalled || !g.ClientGone || g.Cut || g.Sent != int64(len(got)) || g.Start != tc.start || g.Status != tc.status {
				t.Errorf("log %+v: want Stalled, ClientGone, not Cut, Sent %d, Start %d", g, len(got), tc.start)
			}
			if !strings.Contains(g.Fault, tc.noteWant) {
				t.Errorf("log Fault %q, want %q", g.Fault, tc.noteWant)
			}
			if !strings.Contains(g.String(), " stalled client-gone") {
				t.Errorf("log line %q: want stalled client-gone", g.String())
			}
		})
	}
}

// TestStallPastTheEnd: like cut=, a stall at or after the end of the
// body never happens.
func TestStallPastTheEnd(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, q := range []string{"stall=65536", "stall=100000", "stall=10&length=none"} {
		hdr := map[string]string{}
		if strings.Contains(q, "length") {
			hdr["Range"] = "bytes=0-9" // a 10-byte body: stall=10 is its end
		}
		resp, body := e.get(t, "/files/a.bin?"+q, hdr)
		if resp.StatusCode/100 != 2 || len(body) == 0 || !bytes.HasPrefix(e.file(t, "a.bin"), body) {
			t.Errorf("%s: status %d, %d bytes: want the whole body", q, resp.StatusCode, len(body))
		}
	}
	for _, g := range e.idle(t) {
		if g.Stalled || g.ClientGone || strings.Contains(g.Fault, "stalled") {
			t.Errorf("log %+v: want no stall", g)
		}
	}
}

// TestStallClose: Close ends a stalled response at once, and the log
// says why rather than blaming the client.
func TestStallClose(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	resp, err := e.client.Get(e.ts.URL + "/files/a.bin?stall=0")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	// With stall=0 the headers leave only when the stall begins: from
	// here on the handler is stalled (or about to be).
	t0 := time.Now()
	e.s.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if err == nil || n != 0 {
		t.Errorf("after Close: read %d bytes, err %v; want 0 bytes and a broken body", n, err)
	}
	if d := time.Since(t0); d > 2*time.Second {
		t.Errorf("stalled response went on for %v after Close", d)
	}
	g := e.idle(t)[0]
	if !g.Stalled || g.ClientGone || g.Sent != 0 || !strings.Contains(g.Fault, "server closing") {
		t.Errorf("log %+v: want Stalled, not ClientGone, closing noted", g)
	}
}

// TestStallTimeout: a stall gives up after stallFor and aborts the
// connection (so a chunked body cannot end as if complete). The real
// limit is 10 minutes; here a writer is built with a short one.
func TestStallTimeout(t *testing.T) {
	t.Parallel()
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/files/a.bin?stall=3", nil)
	e := newEntry(req)
	w := newRespWriter(rec, req, e, make(chan struct{}))
	w.shape.stall, w.start, w.stallFor = 3, 0, 20*time.Millisecond
	w.Header().Set("Content-Length", "5")
	panicked := func() (v any) {
		defer func() { v = recover() }()
		w.Write([]byte("hello"))
		return nil
	}()
	w.finish()
	if panicked != http.ErrAbortHandler {
		t.Errorf("Write after the stall: panic %v, want http.ErrAbortHandler", panicked)
	}
	if rec.Body.String() != "hel" || !rec.Flushed {
		t.Errorf("sent %q (flushed %v), want hel, flushed", rec.Body.String(), rec.Flushed)
	}
	if !e.Stalled || e.ClientGone || e.Sent != 3 || !strings.Contains(e.Fault, "stall timed out after 20ms") {
		t.Errorf("log %+v: want Stalled, timed out, not ClientGone", e)
	}
}

// TestOverrunEndless: an overrun can be made endless. A client that stops
// reading where the 206 ends and leaves is recorded as gone, and Close
// ends an endless overrun nobody leaves.
func TestOverrunEndless(t *testing.T) {
	t.Parallel()
	const endless = "overrun=1000000000000000"
	t.Run("client leaves", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.ts.URL+"/files/a.bin?"+endless, nil)
		req.Header.Set("Range", "bytes=100-199")
		resp, err := e.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body := make([]byte, 100+1<<20) // the range and 1 MiB of junk
		if _, err := io.ReadFull(resp.Body, body); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(body[:100], e.file(t, "a.bin")[100:200]) || body[len(body)-1] != 0xEE {
			t.Errorf("want the range, then junk")
		}
		cancel()
		resp.Body.Close()
		g := e.idle(t)[0]
		if !g.ClientGone || g.Cut || g.Sent < int64(len(body)) || !strings.Contains(g.Fault, "junk bytes") {
			t.Errorf("log %+v: want ClientGone after at least %d bytes", g, len(body))
		}
	})
	t.Run("Close", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		resp, err := e.client.Get(e.ts.URL + "/files/a.bin?" + endless)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if _, err := io.ReadFull(resp.Body, make([]byte, aSize+1)); err != nil {
			t.Fatal(err)
		}
		e.s.Close()
		if _, err := io.Copy(io.Discard, resp.Body); err == nil {
			t.Errorf("endless body ended cleanly after Close, want a broken one")
		}
		g := e.idle(t)[0]
		if g.ClientGone || !strings.Contains(g.Fault, "server closing") {
			t.Errorf("log %+v: want server closing noted, not ClientGone", g)
		}
	})
}
