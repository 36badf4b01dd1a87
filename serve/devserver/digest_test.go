//go:build !js && !wasip1

package devserver

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// reprDigestRE is a Repr-Digest with one sha-256 member whose value is an
// RFC 8941 byte sequence of 32 bytes: 43 base64 characters and one "=".
var reprDigestRE = regexp.MustCompile(`^sha-256=:([A-Za-z0-9+/]{43}=):$`)

// digestBytes decodes a Repr-Digest of the form the dev server sends,
// failing the test on any other shape.
func digestBytes(t *testing.T, v string) []byte {
	t.Helper()
	m := reprDigestRE.FindStringSubmatch(v)
	if m == nil {
		t.Fatalf("Repr-Digest %q: want sha-256=:<base64 of 32 bytes>:", v)
	}
	b, err := base64.StdEncoding.DecodeString(m[1])
	if err != nil {
		t.Fatalf("Repr-Digest %q: %v", v, err)
	}
	return b
}

// sumOf is the SHA-256 of b as a slice.
func sumOf(b []byte) []byte {
	s := sha256.Sum256(b)
	return s[:]
}

// fullDigest downloads the whole sample with a plain GET and returns its
// Repr-Digest, after checking that it is the SHA-256 of the bytes served,
// and those bytes.
func (e *env) fullDigest(t *testing.T) (string, []byte) {
	t.Helper()
	resp, body := e.get(t, "/files/a.bin", nil)
	if resp.StatusCode != 200 || len(body) != aSize {
		t.Fatalf("GET: status %d, %d bytes", resp.StatusCode, len(body))
	}
	d := resp.Header.Get("Repr-Digest")
	if got := digestBytes(t, d); !bytes.Equal(got, sumOf(body)) {
		t.Fatalf("Repr-Digest %q is not the SHA-256 of the %d bytes served", d, len(body))
	}
	return d, body
}

// TestReprDigest: every response that describes a sample carries the
// SHA-256 of the whole file, 206 and HEAD and 304 included; responses
// without the representation (412, 416, status=, redirect=) carry none.
func TestReprDigest(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		method string // "" = GET
		query  string
		hdr    map[string]string // {etag} is the file's ETag
		status int
		digest bool // a Repr-Digest, the whole file's, is sent
	}{
		{name: "200", status: 200, digest: true},
		{name: "206", hdr: map[string]string{"Range": "bytes=10-19"}, status: 206, digest: true},
		{name: "206 open range at the end", hdr: map[string]string{"Range": "bytes=65000-"}, status: 206, digest: true},
		{name: "206 with If-Range", hdr: map[string]string{"Range": "bytes=100-199", "If-Range": "{etag}"}, status: 206, digest: true},
		{name: "200 for a stale If-Range", hdr: map[string]string{"Range": "bytes=100-199", "If-Range": `"stale"`}, status: 200, digest: true},
		{name: "several ranges: a 200 (RFC 9110 §14.2)", hdr: map[string]string{"Range": "bytes=0-9,100-109"}, status: 200, digest: true},
		{name: "HEAD", method: http.MethodHead, status: 200, digest: true},
		{name: "HEAD with Range: a 200 (RFC 9110 §14.2)", method: http.MethodHead, hdr: map[string]string{"Range": "bytes=0-9"}, status: 200, digest: true},
		{name: "304 for If-Modified-Since", hdr: map[string]string{"If-Modified-Since": "Fri, 31 Dec 9999 23:59:59 GMT"}, status: 304, digest: true},
		{name: "304 for If-None-Match", hdr: map[string]string{"If-None-Match": "{etag}"}, status: 304, digest: true},
		{name: "with validators=none", query: "validators=none", status: 200, digest: true},
		{name: "with ranges=none", query: "ranges=none", hdr: map[string]string{"Range": "bytes=10-19"}, status: 200, digest: true},
		{name: "with overrun=: the file's, not the junk's", query: "overrun=5", status: 200, digest: true},
		{name: "412", hdr: map[string]string{"If-Match": `"stale"`}, status: 412},
		{name: "416", hdr: map[string]string{"Range": "bytes=70000-"}, status: 416},
		{name: "status=503", query: "status=503", status: 503},
		{name: "redirect=same", query: "redirect=same", status: 302},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			want, _ := e.fullDigest(t)
			etag, _ := e.validators(t, "a.bin")
			hdr := map[string]string{}
			for k, v := range tc.hdr {
				hdr[k] = strings.ReplaceAll(v, "{etag}", etag)
			}
			method := tc.method
			if method == "" {
				method = http.MethodGet
			}
			target := "/files/a.bin"
			if tc.query != "" {
				target += "?" + tc.query
			}
			resp, _, err := e.do(t, method, target, hdr)
			if err != nil {
				t.Fatalf("reading body: %v", err)
			}
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			if !tc.digest {
				want = ""
			}
			checkHeaders(t, resp.Header, map[string]string{"Repr-Digest": want})
			if got := e.entries(t, 2)[1]; got.ReprDigest != want || got.Fault != "" && !strings.Contains(got.Fault, tc.query) {
				t.Errorf("log Repr-Digest %q, fault %q; want %q and only the query's faults", got.ReprDigest, got.Fault, want)
			}
		})
	}
}

// TestReprDigestAfterChange: change= and POST /_control/change give the
// new version its own digest; the response that was under way when the
// file changed keeps the old one, which is that of the bytes it sends.
func TestReprDigestAfterChange(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d0, old := e.fullDigest(t)
	oldTag, _ := e.validators(t, "a.bin")
	if err := e.s.Arm("a.bin", 1, url.Values{"change": {"100"}}); err != nil {
		t.Fatal(err)
	}
	resp, body := e.get(t, "/files/a.bin", nil)
	if !bytes.Equal(body, old) || resp.Header.Get("Repr-Digest") != d0 {
		t.Fatalf("response that changed the file: Repr-Digest %q, old bytes %v; want the old digest %q with the old bytes",
			resp.Header.Get("Repr-Digest"), bytes.Equal(body, old), d0)
	}
	if got := e.entries(t, 2)[1]; !strings.Contains(got.Fault, "file changed after 100 bytes") {
		t.Fatalf("log %+v: want the change noted", got)
	}

	d1, body1 := e.fullDigest(t)
	if d1 == d0 || bytes.Equal(body1, old) || !bytes.Equal(body1, e.file(t, "a.bin")) {
		t.Fatalf("after change: Repr-Digest %q (before %q): want the new file and a new digest", d1, d0)
	}
	for _, tc := range []struct {
		method string
		hdr    map[string]string
		status int
	}{
		{http.MethodGet, map[string]string{"Range": "bytes=100-199"}, 206},
		{http.MethodHead, nil, 200},
		{http.MethodGet, map[string]string{"Range": "bytes=100-", "If-Range": oldTag}, 200},
	} {
		resp, body, err := e.do(t, tc.method, "/files/a.bin", tc.hdr)
		if err != nil || resp.StatusCode != tc.status {
			t.Fatalf("%s %v: status %d, err %v; want %d", tc.method, tc.hdr, resp.StatusCode, err, tc.status)
		}
		if got := resp.Header.Get("Repr-Digest"); got != d1 {
			t.Errorf("%s %v: Repr-Digest %q, want the new %q", tc.method, tc.hdr, got, d1)
		}
		if tc.status == 200 && tc.method == http.MethodGet && !bytes.Equal(body, body1) {
			t.Errorf("%s %v: want the whole new file", tc.method, tc.hdr)
		}
	}

	code, v := e.post(t, "/_control/change?file=a.bin")
	if code != 200 {
		t.Fatalf("change: %d %v", code, v)
	}
	d2, _ := e.fullDigest(t)
	if v["reprDigest"] != d2 || d2 == d1 || d2 == d0 {
		t.Errorf("change answered Repr-Digest %v, then served %q (earlier %q, %q): want the same, new", v["reprDigest"], d2, d1, d0)
	}
}

// TestReprDigestFaults: digest=bad sends a well-formed digest that is not
// the file's, digest=none sends none, from a URL or armed, and the log
// says so.
func TestReprDigestFaults(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	good, file := e.fullDigest(t)
	right := sumOf(file)
	wrong := make([]byte, len(right))
	for i, b := range right {
		wrong[i] = ^b
	}
	n := 1 // log entries so far
	next := func() LogEntry {
		t.Helper()
		n++
		return e.entries(t, n)[n-1]
	}

	for _, hdr := range []map[string]string{nil, {"Range": "bytes=10-19"}} {
		resp, body := e.get(t, "/files/a.bin?digest=bad", hdr)
		d := resp.Header.Get("Repr-Digest")
		if got := digestBytes(t, d); !bytes.Equal(got, wrong) {
			t.Errorf("digest=bad %v: Repr-Digest %q, want the complement of the right %q", hdr, d, good)
		}
		if len(body) == aSize && bytes.Equal(sumOf(body), digestBytes(t, d)) {
			t.Errorf("digest=bad: the digest matches the body")
		}
		if got := next(); got.ReprDigest != d || !strings.Contains(got.Fault, "digest=bad") || !strings.Contains(got.Fault, "Repr-Digest "+d+" instead of "+good) {
			t.Errorf("digest=bad %v: log Repr-Digest %q, fault %q", hdr, got.ReprDigest, got.Fault)
		}
	}
	resp, _, _ := e.do(t, http.MethodHead, "/files/a.bin?digest=bad", nil)
	if got := digestBytes(t, resp.Header.Get("Repr-Digest")); !bytes.Equal(got, wrong) {
		t.Errorf("digest=bad on HEAD: Repr-Digest %q", resp.Header.Get("Repr-Digest"))
	}
	next()

	resp, _ = e.get(t, "/files/a.bin?digest=none", map[string]string{"Range": "bytes=10-19"})
	checkHeaders(t, resp.Header, map[string]string{"Repr-Digest": ""})
	if resp.StatusCode != 206 {
		t.Errorf("digest=none: status %d, want 206", resp.StatusCode)
	}
	if got := next(); got.ReprDigest != "" || !strings.Contains(got.Fault, "Repr-Digest "+good+" removed") {
		t.Errorf("digest=none: log Repr-Digest %q, fault %q", got.ReprDigest, got.Fault)
	}

	// Armed: the next request only, then the right digest again.
	if err := e.s.Arm("a.bin", 1, url.Values{"digest": {"bad"}}); err != nil {
		t.Fatal(err)
	}
	if code, v := e.post(t, "/_control/arm?file=a.bin&digest=none"); code != 200 {
		t.Fatalf("arm over the API: %d %v", code, v)
	}
	for i, want := range []string{reprDigest([sha256.Size]byte(wrong)), "", good} {
		resp, _ := e.get(t, "/files/a.bin", nil)
		checkHeaders(t, resp.Header, map[string]string{"Repr-Digest": want})
		got := next()
		if armed := []string{"digest=bad (armed)", "digest=none (armed)", ""}[i]; armed != "" && !strings.Contains(got.Fault, armed) || armed == "" && got.Fault != "" {
			t.Errorf("request %d: log fault %q, want %q", i+1, got.Fault, armed)
		}
	}

	if resp, _ := e.get(t, "/files/a.bin?digest=wrong", nil); resp.StatusCode != 400 {
		t.Errorf("digest=wrong: status %d, want 400", resp.StatusCode)
	}
	if err := e.s.Arm("a.bin", 1, url.Values{"digest": {""}}); err == nil {
		t.Errorf("Arm digest=: no error")
	}
}

// TestReprDigestOnlyWhereKnown: a file the server did not generate gets no
// Repr-Digest, nor does a sample rewritten behind the server's back: no
// digest rather than a stale one.
func TestReprDigestOnlyWhereKnown(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	if err := os.WriteFile(filepath.Join(e.data, "own.bin"), []byte("somebody's own file"), 0o644); err != nil {
		t.Fatal(err)
	}
	resp, _ := e.get(t, "/files/own.bin", nil)
	checkHeaders(t, resp.Header, map[string]string{"Repr-Digest": ""})
	resp, _ = e.get(t, "/files/own.bin?digest=bad", nil)
	checkHeaders(t, resp.Header, map[string]string{"Repr-Digest": ""})
	if got := e.entries(t, 2)[1]; resp.StatusCode != 200 || !strings.Contains(got.Fault, "no Repr-Digest to corrupt") {
		t.Errorf("digest=bad on a file with no digest: status %d, log fault %q", resp.StatusCode, got.Fault)
	}

	old, _ := e.fullDigest(t)
	p, err := e.s.Path("a.bin")
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, bytes.Repeat([]byte{'x'}, aSize), 0o644); err != nil {
		t.Fatal(err)
	}
	later := fi.ModTime().Add(time.Hour) // a new mtime whatever the clock's resolution
	if err := os.Chtimes(p, later, later); err != nil {
		t.Fatal(err)
	}
	resp, body := e.get(t, "/files/a.bin", nil)
	if resp.StatusCode != 200 || !bytes.Equal(body, bytes.Repeat([]byte{'x'}, aSize)) {
		t.Fatalf("rewritten sample: status %d, want 200 with the new bytes", resp.StatusCode)
	}
	if got := resp.Header.Get("Repr-Digest"); got != "" {
		t.Errorf("rewritten sample: Repr-Digest %q (the old one was %q), want none", got, old)
	}
}

// TestReprDigestKeptSample: a sample kept from an earlier run (checked by
// its first bytes only) gets the digest of the bytes on disk, which is what
// is served, even where they differ from what the generator would make.
func TestReprDigestKeptSample(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	samples := []Sample{{Name: "a.bin", Size: aSize}}
	s1, err := New(Config{DataDir: dir, Samples: samples})
	if err != nil {
		t.Fatal(err)
	}
	s1.Close()
	generated := httptestRecorder(s1, "/files/a.bin").Header().Get("Repr-Digest")
	p := filepath.Join(dir, "a.bin")
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(p, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("past the checked prefix"), checkLen+100); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}

	s2, err := New(Config{DataDir: dir, Samples: samples})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if fi2, err := os.Stat(p); err != nil || !fi2.ModTime().Equal(fi.ModTime()) {
		t.Fatalf("the sample was regenerated (%v), not kept", err)
	}
	rec := httptestRecorder(s2, "/files/a.bin")
	d := rec.Header().Get("Repr-Digest")
	if body := rec.Body.Bytes(); rec.Code != 200 || !bytes.Equal(digestBytes(t, d), sumOf(body)) {
		t.Errorf("kept sample: status %d, Repr-Digest %q is not the SHA-256 of the %d bytes served", rec.Code, d, len(body))
	}
	if d == generated {
		t.Errorf("kept sample: Repr-Digest %q is the generated file's, not the file's on disk", d)
	}
}

// TestReprDigestCORS: a script on another origin can read Repr-Digest.
func TestReprDigestCORS(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, hdr := range []map[string]string{
		{"Origin": "http://other.test:8081"},
		{"Origin": "http://other.test:8081", "Range": "bytes=10-19"},
	} {
		resp, _ := e.get(t, "/files/a.bin", hdr)
		exposed := false
		for name := range strings.SplitSeq(resp.Header.Get("Access-Control-Expose-Headers"), ",") {
			exposed = exposed || strings.EqualFold(strings.TrimSpace(name), "Repr-Digest")
		}
		if !exposed || resp.Header.Get("Repr-Digest") == "" || resp.Header.Get("Access-Control-Allow-Origin") != "*" {
			t.Errorf("%v: Repr-Digest %q, Access-Control-Expose-Headers %q: want it sent and exposed",
				hdr, resp.Header.Get("Repr-Digest"), resp.Header.Get("Access-Control-Expose-Headers"))
		}
	}
}

// TestReprDigestWhileChanging: responses racing with ChangeFile never send
// a digest that is not that of the bytes they send.
func TestReprDigestWhileChanging(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	done := make(chan error, 1)
	go func() {
		var err error
		for range 5 {
			if err = e.s.ChangeFile("a.bin"); err != nil {
				break
			}
		}
		done <- err
	}()
	check := func() {
		t.Helper()
		resp, body := e.get(t, "/files/a.bin", nil)
		if d := resp.Header.Get("Repr-Digest"); d != "" && !bytes.Equal(digestBytes(t, d), sumOf(body)) {
			t.Fatalf("Repr-Digest %q is not the SHA-256 of the body sent", d)
		}
	}
	for running := true; running; {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			running = false
		default:
			check()
		}
	}
	e.fullDigest(t) // once the changes are over, the digest is there
}
