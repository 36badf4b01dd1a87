//go:build !js && !wasip1

package devserver

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// aSize is the size of the test sample a.bin: small, so that each test
// can have its own server, yet larger than net/http's buffers.
const aSize = 64 << 10

// env is one dev server under test, with its folders and an HTTP client
// that neither compresses nor decompresses behind the test's back.
type env struct {
	s      *Server
	ts     *httptest.Server
	dir    string // parent of data and web: where "outside" files live
	data   string
	web    string
	client *http.Client
}

// newEnv starts a server with the sample a.bin (and extra samples) in a
// fresh temporary folder.
func newEnv(t *testing.T, extra ...Sample) *env {
	t.Helper()
	dir := t.TempDir()
	e := &env{dir: dir, data: filepath.Join(dir, "data"), web: filepath.Join(dir, "web")}
	if err := os.MkdirAll(e.web, 0o755); err != nil {
		t.Fatal(err)
	}
	samples := append([]Sample{{Name: "a.bin", Size: aSize, Desc: "test sample"}}, extra...)
	s, err := New(Config{DataDir: e.data, WebDir: e.web, Samples: samples})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	e.s = s
	e.ts = httptest.NewUnstartedServer(s.Handler())
	e.ts.Config.ConnContext = s.ConnContext
	e.ts.Start()
	tr := &http.Transport{DisableCompression: true}
	e.client = &http.Client{
		Transport:     identity{tr},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	// Cleanups run last-in first-out: s.Close ends throttled handlers,
	// then ts.Close can wait for the rest.
	t.Cleanup(e.ts.Close)
	t.Cleanup(tr.CloseIdleConnections)
	t.Cleanup(func() { s.Close() })
	return e
}

// identity asks for the identity content coding on every request that
// does not choose one itself, so that the body a test reads is exactly the
// bytes the server sent.
type identity struct{ http.RoundTripper }

func (t identity) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Header.Get("Accept-Encoding") == "" {
		r = r.Clone(r.Context()) // a RoundTripper must not change its request
		r.Header.Set("Accept-Encoding", "identity")
	}
	return t.RoundTripper.RoundTrip(r)
}

// file returns the current bytes of a data file.
func (e *env) file(t *testing.T, name string) []byte {
	t.Helper()
	p, err := e.s.Path(name)
	if err != nil {
		t.Fatalf("Path(%q): %v", name, err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// validators returns the ETag and Last-Modified the server should send
// for a data file, computed independently from the file's metadata.
func (e *env) validators(t *testing.T, name string) (etag, lastModified string) {
	t.Helper()
	p, err := e.s.Path(name)
	if err != nil {
		t.Fatalf("Path(%q): %v", name, err)
	}
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	etag = fmt.Sprintf(`"%x-%x"`, fi.Size(), fi.ModTime().UnixNano())
	return etag, fi.ModTime().UTC().Format(http.TimeFormat)
}

// age sets the mtime of a data file d earlier. A sample the test just
// generated changed within the current second, so its Last-Modified is no
// strong validator until the next one (RFC 9110 §8.8.2.2), and an If-Range
// with it gets a 200 (§13.1.5); aged, it is strong at once. The server
// then knows no digest of the file (see fileSum), so it sends no
// Repr-Digest.
func (e *env) age(t *testing.T, name string, d time.Duration) {
	t.Helper()
	p, err := e.s.Path(name)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	old := fi.ModTime().Add(-d)
	if err := os.Chtimes(p, old, old); err != nil {
		t.Fatal(err)
	}
}

// do sends a request and reads the whole body; readErr is the error of
// reading the body (a cut connection), not a failure of the test.
func (e *env) do(t *testing.T, method, target string, hdr map[string]string) (resp *http.Response, body []byte, readErr error) {
	t.Helper()
	req, err := http.NewRequest(method, e.ts.URL+target, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err = e.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	defer resp.Body.Close()
	body, readErr = io.ReadAll(resp.Body)
	return resp, body, readErr
}

// get is do for a GET whose body must read completely.
func (e *env) get(t *testing.T, target string, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	resp, body, err := e.do(t, http.MethodGet, target, hdr)
	if err != nil {
		t.Fatalf("GET %s: reading body: %v", target, err)
	}
	return resp, body
}

// entries waits until the log holds n entries and returns them.
func (e *env) entries(t *testing.T, n int) []LogEntry {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	log, err := e.s.WaitLog(ctx, n)
	if err != nil {
		t.Fatalf("waiting for %d log entries, have %d: %v", n, len(log), err)
	}
	return log
}

// raw sends a request line exactly as given, bypassing any client-side
// URL cleaning, and returns the status and body.
func (e *env) raw(t *testing.T, target string) (int, string) {
	t.Helper()
	conn, err := net.Dial("tcp", e.ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n", target)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("GET %s: %v", target, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// checkHeaders compares response headers with want; a want value of ""
// means the header must be absent.
func checkHeaders(t *testing.T, h http.Header, want map[string]string) {
	t.Helper()
	for k, v := range want {
		got, present := h[http.CanonicalHeaderKey(k)]
		switch {
		case v == "" && present:
			t.Errorf("header %s = %q, want none", k, got)
		case v != "" && (!present || strings.Join(got, ", ") != v):
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
}

// httptestRecorder serves one GET in-process, without a network.
func httptestRecorder(s *Server, target string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
	return rec
}

// httptestRecorderHdr serves one GET with these request headers in-process.
func httptestRecorderHdr(s *Server, target string, hdr map[string]string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, target, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	s.Handler().ServeHTTP(rec, req)
	return rec
}
