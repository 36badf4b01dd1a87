//go:build !js && !wasip1

package devserver

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"os"
	"path/filepath"
	"testing"
)

// staticEnv is a server with a small bundle: index.html, app.js and its
// declarations app.d.ts, a subfolder, app.wasm with a precompressed
// app.wasm.gz and app.wasm.br, and lib.wasm with only a .gz. (The .br
// holds other bytes than a brotli stream: the server sends the file it
// has, and the test tells which one came.)
func staticEnv(t *testing.T) (*env, map[string][]byte) {
	t.Helper()
	e := newEnv(t)
	wasm := bytes.Repeat([]byte("\x00asm fake module "), 500)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(wasm)
	zw.Close()
	files := map[string][]byte{
		"index.html":     []byte("<!doctype html><title>resumer</title>"),
		"app.js":         []byte("console.log('hi')"),
		"app.d.ts":       []byte("export function hi(): void;"),
		"app.wasm":       wasm,
		"app.wasm.gz":    gz.Bytes(),
		"app.wasm.br":    []byte("brotli of app.wasm"),
		"lib.wasm":       wasm[:100],
		"lib.wasm.gz":    []byte("gzip of lib.wasm"),
		"sub/index.html": []byte("<p>sub</p>"),
	}
	for name, b := range files {
		p := filepath.Join(e.web, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return e, files
}

func TestStatic(t *testing.T) {
	t.Parallel()
	e, files := staticEnv(t)
	wasm, gz, br := files["app.wasm"], files["app.wasm.gz"], files["app.wasm.br"]
	for _, tc := range []struct {
		name    string
		path    string
		hdr     map[string]string
		status  int
		headers map[string]string
		body    []byte
	}{
		{"index at /", "/", nil, 200,
			map[string]string{"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-cache"}, files["index.html"]},
		{"index of a subfolder", "/sub/", nil, 200, nil, files["sub/index.html"]},
		{"subfolder without slash redirects", "/sub", nil, 301, map[string]string{"Location": "/sub/"}, nil},
		{"js type and no-cache", "/app.js", nil, 200,
			map[string]string{"Content-Type": "text/javascript", "Cache-Control": "no-cache"}, files["app.js"]},
		{"declarations as text", "/app.d.ts", nil, 200,
			map[string]string{"Content-Type": "text/plain; charset=utf-8"}, files["app.d.ts"]},
		{"wasm without Accept-Encoding: identity", "/app.wasm", nil, 200,
			map[string]string{"Content-Type": "application/wasm", "Content-Encoding": "", "Vary": "Accept-Encoding"}, wasm},
		{"wasm with gzip: the .gz bytes", "/app.wasm", map[string]string{"Accept-Encoding": "gzip, deflate"}, 200,
			map[string]string{"Content-Type": "application/wasm", "Content-Encoding": "gzip", "Vary": "Accept-Encoding"}, gz},
		{"wasm with br: the .br bytes", "/app.wasm", map[string]string{"Accept-Encoding": "gzip, deflate, br, zstd"}, 200,
			map[string]string{"Content-Type": "application/wasm", "Content-Encoding": "br", "Vary": "Accept-Encoding",
				"Content-Length": "18"}, br},
		{"gzip;q=0 is a refusal", "/app.wasm", map[string]string{"Accept-Encoding": "gzip;q=0, deflate"}, 200,
			map[string]string{"Content-Encoding": ""}, wasm},
		{"br without a .br: the .gz", "/lib.wasm", map[string]string{"Accept-Encoding": "gzip, br"}, 200,
			map[string]string{"Content-Encoding": "gzip", "Vary": "Accept-Encoding"}, files["lib.wasm.gz"]},
		{"range never gets the .gz", "/app.wasm", map[string]string{"Accept-Encoding": "gzip, br", "Range": "bytes=10-19"}, 206,
			map[string]string{"Content-Encoding": "", "Content-Range": "bytes 10-19/8500", "Content-Type": "application/wasm"}, wasm[10:20]},
		{"csp=no-wasm: a policy without wasm-unsafe-eval", "/app.js?csp=no-wasm", nil, 200,
			map[string]string{"Content-Security-Policy": "script-src 'self'"}, files["app.js"]},
		{"no policy otherwise", "/app.js?csp=other", nil, 200,
			map[string]string{"Content-Security-Policy": ""}, files["app.js"]},
		{"missing file", "/nope.js", nil, 404, nil, nil},
		{"a data file is not in the bundle", "/a.bin", nil, 404, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := e.get(t, tc.path, tc.hdr)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			checkHeaders(t, resp.Header, tc.headers)
			if tc.body != nil && !bytes.Equal(body, tc.body) {
				t.Errorf("body %d bytes %.40q, want %d bytes %.40q", len(body), body, len(tc.body), tc.body)
			}
		})
	}
	// The gzip and identity representations must not share an ETag
	// (RFC 9110 §8.8.3), or a cache could mix them.
	r1, _ := e.get(t, "/app.wasm", nil)
	r2, _ := e.get(t, "/app.wasm", map[string]string{"Accept-Encoding": "gzip"})
	r3, _ := e.get(t, "/app.wasm", map[string]string{"Accept-Encoding": "br"})
	if tags := []string{r1.Header.Get("ETag"), r2.Header.Get("ETag"), r3.Header.Get("ETag")}; tags[0] == "" || tags[0] == tags[1] || tags[1] == tags[2] || tags[0] == tags[2] {
		t.Errorf("ETags %q: want three different ones", tags)
	}
	if r2.ContentLength != int64(len(gz)) {
		t.Errorf("gzip Content-Length %d, want %d", r2.ContentLength, len(gz))
	}
	// A precondition that fails gets a 412 that claims no body, and a
	// HEAD the length of the body a GET would get.
	r4, body := e.get(t, "/app.wasm", map[string]string{"Accept-Encoding": "br", "If-Match": `"another"`})
	if r4.StatusCode != http.StatusPreconditionFailed || r4.ContentLength > 0 || len(body) != 0 {
		t.Errorf("If-Match that fails: %d, Content-Length %d, %d bytes; want 412 without a body", r4.StatusCode, r4.ContentLength, len(body))
	}
	r5, _ := e.get(t, "/app.wasm", map[string]string{"Accept-Encoding": "br", "If-None-Match": r3.Header.Get("ETag")})
	if r5.StatusCode != http.StatusNotModified || r5.Header.Get("Content-Length") != "" {
		t.Errorf("If-None-Match of the brotli ETag: %d, Content-Length %q; want 304 without one", r5.StatusCode, r5.Header.Get("Content-Length"))
	}
	if len(e.s.Log()) != 0 {
		t.Errorf("static requests were logged: %+v", e.s.Log())
	}
}

func TestNoWebDir(t *testing.T) {
	t.Parallel()
	s, err := New(Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rec := httptestRecorder(s, "/")
	if rec.Code != http.StatusNotFound {
		t.Errorf("status %d, want 404 without a web folder", rec.Code)
	}
}
