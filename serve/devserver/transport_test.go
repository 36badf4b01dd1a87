//go:build !js && !wasip1

package devserver

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// transportClient is a client of s through s.Transport(), which follows
// no redirect (as e.client).
func transportClient(s *Server) *http.Client {
	return &http.Client{
		Transport:     s.Transport(),
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// exchangeResult is what a client saw of one exchange.
type exchangeResult struct {
	status   int
	header   http.Header
	length   int64    // Response.ContentLength
	encoding []string // Response.TransferEncoding
	body     []byte
	readErr  error
}

// roundTrip sends one request with c and reads the whole body.
func roundTrip(t *testing.T, c *http.Client, method, u string, hdr map[string]string) exchangeResult {
	t.Helper()
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	// Neither client may ask for compression: the real one would, and
	// would undo it.
	req.Header.Set("Accept-Encoding", "identity")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	body, readErr := io.ReadAll(resp.Body)
	return exchangeResult{resp.StatusCode, resp.Header, resp.ContentLength, resp.TransferEncoding, body, readErr}
}

// TestTransportAgreesWithHTTP: the same requests, through Transport and
// through a real HTTP connection, get the same status, headers (Date
// aside), framing and bytes, and a cut body breaks the same way.
func TestTransportAgreesWithHTTP(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.age(t, "a.bin", time.Hour) // a strong Last-Modified, for If-Range by date
	etag, lm := e.validators(t, "a.bin")
	tc := transportClient(e.s)
	const origin = "http://other.test"
	for _, c := range []struct {
		method, target string
		hdr            map[string]string
	}{
		{"GET", "/files/a.bin", nil},
		{"GET", "/files/a.bin", map[string]string{"Range": "bytes=10-19"}},
		{"GET", "/files/a.bin", map[string]string{"Range": "bytes=65000-", "If-Range": etag}},
		{"GET", "/files/a.bin", map[string]string{"Range": "bytes=100-", "If-Range": lm}},
		{"GET", "/files/a.bin", map[string]string{"Range": "bytes=100-", "If-Range": `"stale"`}},
		{"GET", "/files/a.bin", map[string]string{"Range": "bytes=70000-"}},
		{"GET", "/files/a.bin", map[string]string{"Range": "bytes=0-9,20-29"}},
		{"GET", "/files/a.bin", map[string]string{"If-Match": `"stale"`}},
		{"GET", "/files/a.bin", map[string]string{"If-None-Match": etag}},
		{"GET", "/files/a.bin", map[string]string{"If-Modified-Since": lm}},
		{"GET", "/files/a.bin", map[string]string{"If-Unmodified-Since": "Sat, 01 Jan 2000 00:00:00 GMT"}},
		{"HEAD", "/files/a.bin", nil},
		{"HEAD", "/files/a.bin?length=none", nil},
		{"OPTIONS", "/files/a.bin?cors=noifrange", map[string]string{"Origin": origin, "Access-Control-Request-Method": "GET"}},
		{"POST", "/files/a.bin", nil},
		{"GET", "/files/a.bin?validators=none", map[string]string{"Origin": origin}},
		{"GET", "/files/a.bin?validators=weak&cors=noexpose", nil},
		{"GET", "/files/a.bin?etag=%22forced%22", map[string]string{"Range": "bytes=0-9", "If-Range": `"forced"`}},
		{"GET", "/files/a.bin?type=text/html&digest=bad", nil},
		{"GET", "/files/a.bin?length=none", nil},
		{"GET", "/files/a.bin?length=none", map[string]string{"Range": "bytes=10-19"}},
		{"GET", "/files/a.bin?ranges=none", map[string]string{"Range": "bytes=10-19"}},
		{"GET", "/files/a.bin?cap=100", map[string]string{"Range": "bytes=1000-"}},
		{"GET", "/files/a.bin?cr=shift", map[string]string{"Range": "bytes=10-19"}},
		{"GET", "/files/a.bin?cr=unknown&digest=none", map[string]string{"Range": "bytes=10-"}},
		{"GET", "/files/a.bin?overrun=100", map[string]string{"Range": "bytes=65500-"}},
		{"GET", "/files/a.bin?overrun=70000", nil},
		{"GET", "/files/a.bin?rate=100000000", nil},
		{"GET", "/files/a.bin?cut=1000", nil},
		{"GET", "/files/a.bin?cut=5&length=none", map[string]string{"Range": "bytes=10-19"}},
		{"GET", "/files/a.bin?cut=3000&overrun=10000", map[string]string{"Range": "bytes=0-99"}},
		{"GET", "/files/a.bin?status=503&retry-after=7", nil},
		{"HEAD", "/files/a.bin?status=500", nil},
		{"GET", "/files/a.bin?status=304", nil},
		{"GET", "/files/a.bin?redirect=same&t=1", nil},
		{"GET", "/files/a.bin?redirect=login", nil},
		{"GET", "/files/a.bin?auth=tok", nil},
		{"GET", "/files/a.bin?auth=tok", map[string]string{"Authorization": "Bearer tok"}},
		{"GET", "/files/a.bin?cut=x", nil},
		{"GET", "/files/none.bin", nil},
		{"GET", "/files/none.bin?status=503", nil},
		{"GET", "/files/", nil},
		{"GET", "/_login", nil},
		{"GET", "/nothing-here", nil},
	} {
		t.Run(c.method+" "+c.target+" "+fmtMap(c.hdr), func(t *testing.T) {
			real := roundTrip(t, e.client, c.method, e.ts.URL+c.target, c.hdr)
			got := roundTrip(t, tc, c.method, "http://devserver.test"+c.target, c.hdr)
			if got.status != real.status || got.length != real.length || strings.Join(got.encoding, ",") != strings.Join(real.encoding, ",") {
				t.Errorf("status %d, length %d, encoding %q; over HTTP %d, %d, %q",
					got.status, got.length, got.encoding, real.status, real.length, real.encoding)
			}
			for _, h := range []http.Header{real.header, got.header} {
				for k := range h {
					if k == "Date" {
						continue
					}
					if a, b := strings.Join(got.header[k], "|"), strings.Join(real.header[k], "|"); a != b {
						t.Errorf("header %s %q, over HTTP %q", k, a, b)
					}
				}
			}
			if got.header.Get("Date") == "" {
				t.Errorf("no Date")
			}
			if !bytes.Equal(got.body, real.body) {
				t.Errorf("body of %d bytes, over HTTP %d, or other bytes", len(got.body), len(real.body))
			}
			if (got.readErr == nil) != (real.readErr == nil) || got.readErr != nil && !errors.Is(got.readErr, io.ErrUnexpectedEOF) {
				t.Errorf("reading the body: %v; over HTTP %v", got.readErr, real.readErr)
			}
		})
	}
}

// fmtMap prints a header map in a stable order, for test names.
func fmtMap(m map[string]string) string {
	var b strings.Builder
	for _, k := range []string{"Range", "If-Range", "If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since", "Authorization", "Origin", "Access-Control-Request-Method"} {
		if v, ok := m[k]; ok {
			b.WriteString(k + "=" + v + " ")
		}
	}
	return b.String()
}

// TestTransportCut: cut=N through Transport gives exactly N bytes of the
// body, then io.ErrUnexpectedEOF, whatever the framing; the log says Cut.
func TestTransportCut(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	file := e.file(t, "a.bin")
	c := transportClient(e.s)
	for _, tc := range []struct {
		query string
		hdr   map[string]string
		want  []byte
	}{
		{"cut=0", nil, nil},
		{"cut=1", nil, file[:1]},
		{"cut=1000", nil, file[:1000]},
		{"cut=65535", nil, file[:65535]},
		{"cut=2048&length=none", nil, file[:2048]},
		{"cut=5", map[string]string{"Range": "bytes=100-199"}, file[100:105]},
		{"cut=150&overrun=100", map[string]string{"Range": "bytes=100-199"}, append(file[100:200:200], overrunBody(200, 200, 50)(file)...)},
		{"cut=100&rate=1000000", nil, file[:100]},
	} {
		e.s.ResetLog()
		got := roundTrip(t, c, "GET", "http://devserver.test/files/a.bin?"+tc.query, tc.hdr)
		if !errors.Is(got.readErr, io.ErrUnexpectedEOF) || !bytes.Equal(got.body, tc.want) {
			t.Errorf("%s: %d bytes (as asked: %v), then %v; want %d bytes, then io.ErrUnexpectedEOF",
				tc.query, len(got.body), bytes.Equal(got.body, tc.want), got.readErr, len(tc.want))
		}
		if g := e.idle(t)[0]; !g.Cut || g.Sent != int64(len(tc.want)) || g.ClientGone {
			t.Errorf("%s: log %+v, want Cut after %d bytes", tc.query, g, len(tc.want))
		}
	}
	// A cut at or past the end of the body never happens.
	if got := roundTrip(t, c, "GET", "http://devserver.test/files/a.bin?cut=65536", nil); got.readErr != nil || !bytes.Equal(got.body, file) {
		t.Errorf("cut=65536: %d bytes, %v; want the whole file", len(got.body), got.readErr)
	}
}

// newBubbleServer makes, inside a synctest bubble, a server with the sample
// a.bin of size bytes: the server must belong to the bubble, whose fake
// clock its body faults then follow.
func newBubbleServer(t *testing.T, size int64) *Server {
	t.Helper()
	s, err := New(Config{DataDir: filepath.Join(t.TempDir(), "data"), Samples: []Sample{{Name: "a.bin", Size: size}}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// fileOf returns the bytes of a data file of s.
func fileOf(t *testing.T, s *Server, name string) []byte {
	t.Helper()
	p, err := s.Path(name)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// idleLog waits for s to log every request it began.
func idleLog(t *testing.T, s *Server) []LogEntry {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	log, err := s.WaitIdle(ctx, nil)
	if err != nil {
		t.Fatalf("WaitIdle: %v", err)
	}
	return log
}

// TestTransportStall: under a fake clock, stall= holds the body, with no
// byte after the N first, exactly until the client gives up (its context
// ends, or it closes the body), and the log says so; a client that never
// gives up is let go after the server's stall timeout, 10 minutes of fake
// time, with a broken body.
func TestTransportStall(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		leave   func(cancel context.CancelFunc, body io.Closer) // after 5 fake minutes; nil: never
		wantErr error
		gone    bool
		after   time.Duration
	}{
		{"context canceled", func(cancel context.CancelFunc, _ io.Closer) { cancel() }, context.Canceled, true, 5 * time.Minute},
		{"body closed", func(_ context.CancelFunc, body io.Closer) { body.Close() }, errBodyClosed, true, 5 * time.Minute},
		{"nobody leaves", nil, io.ErrUnexpectedEOF, false, stallTimeout},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				s := newBubbleServer(t, aSize)
				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				req, _ := http.NewRequestWithContext(ctx, "GET", "http://devserver.test/files/a.bin?stall=1000", nil)
				resp, err := s.Transport().RoundTrip(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				got := make([]byte, 1000)
				if _, err := io.ReadFull(resp.Body, got); err != nil || !bytes.Equal(got, fileOf(t, s, "a.bin")[:1000]) {
					t.Fatalf("the 1000 bytes before the stall: %v", err)
				}
				t0 := time.Now()
				if tc.leave != nil {
					go func() {
						time.Sleep(5 * time.Minute)
						tc.leave(cancel, resp.Body)
					}()
				}
				more, err := io.ReadAll(resp.Body)
				if len(more) != 0 || !errors.Is(err, tc.wantErr) {
					t.Errorf("after the stall: %d more bytes, %v; want none, then %v", len(more), err, tc.wantErr)
				}
				if d := time.Since(t0); d != tc.after {
					t.Errorf("the stall lasted %v of fake time, want %v", d, tc.after)
				}
				g := idleLog(t, s)[0]
				if !g.Stalled || g.ClientGone != tc.gone || g.Sent != 1000 || g.Cut {
					t.Errorf("log %+v: want Stalled after 1000 bytes, ClientGone %v", g, tc.gone)
				}
			})
		})
	}
}

// TestTransportRate: under a fake clock, rate=1048576 (1 MiB/s) sends a
// 4 MiB file in 4 s, to within one slice of the pacing (1/50 s), and a
// client that closes the body half-way is recorded as gone at once.
func TestTransportRate(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		const size = 4 << 20
		s := newBubbleServer(t, size)
		c := transportClient(s)
		t0 := time.Now()
		got := roundTrip(t, c, "GET", "http://devserver.test/files/a.bin?rate=1048576", nil)
		d := time.Since(t0)
		if got.readErr != nil || !bytes.Equal(got.body, fileOf(t, s, "a.bin")) {
			t.Fatalf("%d bytes, %v: want the whole file", len(got.body), got.readErr)
		}
		if d < 4*time.Second-time.Second/50 || d > 4*time.Second {
			t.Errorf("4 MiB at 1 MiB/s took %v of fake time, want 4 s", d)
		}

		s.ResetLog()
		resp, err := c.Get("http://devserver.test/files/a.bin?rate=1048576")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(resp.Body, make([]byte, size/2)); err != nil {
			t.Fatal(err)
		}
		t1 := time.Now()
		resp.Body.Close()
		g := idleLog(t, s)[0]
		if !g.ClientGone || g.Cut || g.Sent < size/2 || g.Sent >= size || time.Since(t1) != 0 {
			t.Errorf("log %+v, %v after the close: want ClientGone half-way, at once", g, time.Since(t1))
		}
	})
}

// TestTransportCutNow: CutNow cuts a response of Transport like a
// connection: the client reads what was sent, then io.ErrUnexpectedEOF.
func TestTransportCutNow(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		s := newBubbleServer(t, aSize)
		resp, err := transportClient(s).Get("http://devserver.test/files/a.bin?rate=10000")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if _, err := io.ReadFull(resp.Body, make([]byte, 100)); err != nil {
			t.Fatal(err)
		}
		if n := s.CutNow("a.bin"); n != 1 {
			t.Fatalf("CutNow cut %d responses, want 1", n)
		}
		rest, err := io.ReadAll(resp.Body)
		if !errors.Is(err, io.ErrUnexpectedEOF) || 100+len(rest) >= aSize {
			t.Errorf("after CutNow: %d more bytes, %v; want the end of what was sent, then io.ErrUnexpectedEOF", len(rest), err)
		}
		if g := idleLog(t, s)[0]; !g.Cut || g.ClientGone || !strings.Contains(g.Fault, "cut by CutNow") {
			t.Errorf("log %+v: want Cut by CutNow", g)
		}
	})
}

// TestTransportFraming: what the pipe does with handlers that misbehave or
// leave the framing to the server, as net/http's server would.
func TestTransportFraming(t *testing.T) {
	t.Parallel()
	big := bytes.Repeat([]byte("x"), 3000)
	for _, tc := range []struct {
		name     string
		method   string
		handler  http.HandlerFunc
		rtErr    bool   // RoundTrip fails
		status   int    // else
		length   int64  // Response.ContentLength
		chunked  bool   // Transfer-Encoding: chunked
		body     string // what the body reads
		readErr  error  // and then, nil for io.EOF
		writeErr error  // what the handler's last Write returned
	}{
		{name: "small body: a Content-Length of its own", handler: func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "hello")
		}, status: 200, length: 5, body: "hello"},
		{name: "large body: chunked", handler: func(w http.ResponseWriter, r *http.Request) {
			w.Write(big)
		}, status: 200, length: -1, chunked: true, body: string(big)},
		{name: "flushed: chunked", handler: func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "a")
			w.(http.Flusher).Flush()
			io.WriteString(w, "b")
		}, status: 200, length: -1, chunked: true, body: "ab"},
		{name: "short of its Content-Length", handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "10")
			io.WriteString(w, "12345")
		}, status: 200, length: 10, body: "12345", readErr: io.ErrUnexpectedEOF},
		{name: "past its Content-Length", handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "3")
			io.WriteString(w, "123")
			if _, err := io.WriteString(w, "4"); err != http.ErrContentLength {
				panic(err)
			}
		}, status: 200, length: 3, body: "123"},
		{name: "HEAD: writes eaten", method: "HEAD", handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "3")
			io.WriteString(w, "123")
		}, status: 200, length: 3},
		{name: "304: no body", handler: func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(304)
			if _, err := io.WriteString(w, "x"); err != http.ErrBodyNotAllowed {
				panic(err)
			}
		}, status: 304},
		{name: "nothing written: an empty 200", handler: func(w http.ResponseWriter, r *http.Request) {},
			status: 200},
		{name: "aborted before the header", handler: func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "lost")
			panic(http.ErrAbortHandler)
		}, rtErr: true},
		{name: "aborted after it", handler: func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "sent")
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler)
		}, status: 200, length: -1, chunked: true, body: "sent", readErr: io.ErrUnexpectedEOF},
		{name: "another panic: an error that says so", handler: func(w http.ResponseWriter, r *http.Request) {
			panic("oops")
		}, rtErr: true},
		{name: "the request as a server sees it", handler: func(w http.ResponseWriter, r *http.Request) {
			if r.URL.String() != "/p%2Fq?a=1" || r.URL.Path != "/p/q" || r.Host != "h.test" || r.RequestURI != "/p%2Fq?a=1" ||
				r.Header.Get("X-Test") != "1" || r.Proto != "HTTP/1.1" || r.Body == nil {
				http.Error(w, r.URL.String()+" "+r.Host+" "+r.RequestURI, 500)
			}
		}, status: 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				method := tc.method
				if method == "" {
					method = "GET"
				}
				req, _ := http.NewRequest(method, "http://h.test/p%2Fq?a=1", nil)
				req.Header.Set("X-Test", "1")
				resp, err := transport{h: tc.handler}.RoundTrip(req)
				if tc.rtErr {
					if err == nil || !errors.Is(err, io.ErrUnexpectedEOF) {
						t.Fatalf("RoundTrip: %v, want an error", err)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				body, err := io.ReadAll(resp.Body)
				if resp.StatusCode != tc.status || resp.ContentLength != tc.length || (len(resp.TransferEncoding) == 1) != tc.chunked ||
					string(body) != tc.body || !errors.Is(err, tc.readErr) {
					t.Errorf("status %d, length %d, encoding %q, body %q, %v; want %d, %d, chunked %v, %q, %v",
						resp.StatusCode, resp.ContentLength, resp.TransferEncoding, body, err, tc.status, tc.length, tc.chunked, tc.body, tc.readErr)
				}
			})
		})
	}
}

// TestTransportContextBeforeHeader: a client whose context ends before the
// header comes gets its context's error from RoundTrip, and the handler
// sees the client leave.
func TestTransportContextBeforeHeader(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		left := make(chan struct{})
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			<-r.Context().Done()
			close(left)
		})
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", "http://h.test/", nil)
		t0 := time.Now()
		if _, err := (transport{h: h}).RoundTrip(req); !errors.Is(err, context.DeadlineExceeded) || time.Since(t0) != time.Minute {
			t.Errorf("RoundTrip: %v after %v, want the deadline after a minute", err, time.Since(t0))
		}
		<-left
	})
}

// TestTransportBadURL: a request RoundTrip cannot make is an error.
func TestTransportBadURL(t *testing.T) {
	t.Parallel()
	if _, err := (transport{h: http.NotFoundHandler()}).RoundTrip(&http.Request{Method: "GET"}); err == nil {
		t.Error("a request without URL: no error")
	}
	u := &url.URL{Scheme: "http", Host: "h.test", Opaque: "%zz"}
	if _, err := (transport{h: http.NotFoundHandler()}).RoundTrip(&http.Request{Method: "GET", URL: u}); err == nil {
		t.Error("a request target that does not parse: no error")
	}
}
