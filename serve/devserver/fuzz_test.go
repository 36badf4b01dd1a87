//go:build !js && !wasip1

package devserver

import (
	"net/http"
	"net/url"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// FuzzCleanName: whatever a client puts in a /files/ URL or a control
// call, a name that cleanName (and, for URLs, checkEscapedPath) accepts
// cannot leave the data folder by itself. Symlinks are os.Root's business
// and are covered by TestTraversal.
func FuzzCleanName(f *testing.F) {
	for _, s := range []string{
		"a.bin", "sub/a.bin", "c d.bin", "...", "..a", "a..", ".hidden", "a/./b",
		"..", "../secret.txt", "../../etc/passwd", "sub/../../secret.txt", "./a.bin", "a.bin/", "a//b",
		"/etc/passwd", "//host/share", "C:/Windows", "C:\\Windows", "c:", "..\\secret.txt", "a\\b",
		"a\x00b", "\x00", "", "%2e%2e/secret.txt", "%2e%2e%2fsecret.txt", "..%2fsecret.txt",
		"%2E%2E%2F%2E%2E%2Fetc%2Fpasswd", "..%5csecret.txt", "%2fetc%2fpasswd", "%00", "a%2Fb",
		"%252e%252e/x", "a?b", "a#b", "a;b", "\u202e", "é.bin", ".resumer-gen-x",
	} {
		f.Add(s)
	}
	dir := filepath.FromSlash("/srv/resumer/data")
	f.Fuzz(func(t *testing.T, s string) {
		if name, err := cleanName(s); err == nil {
			if name != s {
				t.Errorf("cleanName(%q) = %q, want it unchanged", s, name)
			}
			checkContained(t, dir, name)
		}
		// The same string as the rest of a /files/ URL, decoded the way
		// net/http decodes a request target.
		u, err := url.ParseRequestURI("/files/" + s)
		if err != nil || !strings.HasPrefix(u.Path, "/files/") {
			return
		}
		name := strings.TrimPrefix(u.Path, "/files/")
		if checkEscapedPath(u) != nil {
			return
		}
		if _, err := cleanName(name); err == nil {
			checkContained(t, dir, name)
		}
	})
}

// checkContained fails unless name, accepted as a data file name, stays
// inside dir.
func checkContained(t *testing.T, dir, name string) {
	t.Helper()
	for _, el := range strings.Split(name, "/") {
		if el == ".." {
			t.Errorf("accepted %q: has a .. element", name)
		}
	}
	if strings.HasPrefix(name, "/") || filepath.IsAbs(name) || filepath.VolumeName(name) != "" {
		t.Errorf("accepted %q: absolute", name)
	}
	if strings.ContainsAny(name, "\\\x00") {
		t.Errorf("accepted %q: backslash or NUL", name)
	}
	p := filepath.Join(dir, filepath.FromSlash(name))
	if !strings.HasPrefix(p, dir+string(filepath.Separator)) || !within(dir, p) {
		t.Errorf("accepted %q: %s is not inside %s", name, p, dir)
	}
}

// FuzzParseFaults: for any query, parseFaults never panics, and when it
// accepts, its description names known keys only and parsing the
// description again gives the same faults.
func FuzzParseFaults(f *testing.F) {
	for _, s := range []string{
		"", "t=1", "redirected=1", "validators=none", "validators=weak&lm=now", "etag=%22x%22", "etag=",
		"etag=%0d%0aX:1", "ranges=none&ifrange=ignore", "cr=shift", "cr=unknown", "cr=overflow", "cr=hugetotal",
		"cr=star", "rate=1", "rate=0", "rate=-1", "rate=99999999999999999999", "cut=0", "change=10",
		"status=503&retry-after=7&fail=2", "fail=1", "retry-after=5", "status=199", "status=600",
		"cors=noifrange", "overrun=1", "overrun=0", "overrun=1000000000000000", "stall=0", "stall=-1",
		"stall=5&cut=10", "stall=5&rate=100&overrun=3&change=2", "cap=1", "cap=0", "cap=100&ranges=none",
		"length=none", "length=some", "type=text%2Fhtml", "type=", "type=%20", "type=a%00b", "type=%7f",
		"redirect=login", "redirect=same", "redirect=file:b.bin", "redirect=file%3Asub%2Fb.bin",
		"redirect=file:../x", "redirect=file:", "redirect=file:a%5Cb", "redirect=elsewhere",
		"redirect=same&status=302", "redirect=login&fail=1&status=500", "cut=1&cut=2", "cut=2&cut=x",
		"cut=%2B5", "cut=05", "cut", "cut=", "validators=none;cut=1", "%zz=1", "a=%zz&cut=3",
		"type=a%2C%20b&etag=W%2F%22x%2C%20y%22", "digest=bad", "digest=none", "digest=sha-256", "digest=",
		"digest=bad&validators=none&cr=shift", "auth=s3cr3t", "auth=", "auth=a%20b", "auth=ab%3D%3D",
		"auth=%3D", "auth=x&status=500", "auth=Bearer%20x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, _ := url.ParseQuery(raw) // as URL.Query: bad pairs are dropped
		got, err := parseFaults(q, nil)
		if err != nil {
			return
		}
		again := url.Values{}
		for _, d := range got.desc {
			k, v, ok := strings.Cut(d, "=")
			if !ok || !isFaultKey(k) {
				t.Fatalf("parseFaults(%q): description item %q is not a known key=value", raw, d)
			}
			if again.Has(k) {
				t.Fatalf("parseFaults(%q): key %s described twice", raw, k)
			}
			if k == "auth" {
				// The token is a secret, never described: take it from
				// the query.
				if v != authHidden {
					t.Fatalf("parseFaults(%q): auth described as %q, want %q", raw, v, authHidden)
				}
				v = q.Get(k)
			}
			again.Set(k, v)
		}
		for k := range q {
			if isFaultKey(k) != again.Has(k) {
				t.Errorf("parseFaults(%q): key %s in the query, described: %v", raw, k, again.Has(k))
			}
		}
		re, err := parseFaults(again, nil)
		if err != nil {
			t.Fatalf("parseFaults(%q) accepted, its description %q is refused: %v", raw, again.Encode(), err)
		}
		if !reflect.DeepEqual(got, re) {
			t.Errorf("parseFaults(%q) = %+v, from its description %+v", raw, got, re)
		}
	})
}

// FuzzPlan: whatever the query and the request headers, Plan answers with
// a known status, a body inside the file or a text its Content-Length
// counts, and the same answer twice.
func FuzzPlan(f *testing.F) {
	for _, s := range [][5]string{
		{"GET", "", "", "", ""},
		{"GET", "cap=10&cr=shift", "bytes=5-", "", ""},
		{"HEAD", "overrun=3&length=none", "bytes=0-0", `"e"`, ""},
		{"GET", "validators=weak", "bytes=0-9", "", `W/"e"`},
		{"GET", "status=503&retry-after=1", "", "", ""},
		{"GET", "redirect=same&cut=1", "bytes=0-", "", ""},
		{"OPTIONS", "cors=noifrange", "", "", ""},
		{"GET", "auth=tok&type=text/html", "bytes=-5", "*", "*"},
		{"GET", "lm=now&digest=bad", "bytes=100-", "Mon, 02 Nov 2026 10:00:00 GMT", ""},
		{"DELETE", "", "", "", ""},
	} {
		f.Add(s[0], s[1], s[2], s[3], s[4], int64(100))
	}
	now := time.Date(2026, 11, 3, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, method, query, rng, ifMatch, ifNoneMatch string, size int64) {
		q, err := url.ParseQuery(query)
		if err != nil {
			return
		}
		faults, err := ParseFaults(q)
		if err != nil {
			return
		}
		size = max(0, size%10000)
		file := File{Name: "f.bin", Size: size, ModTime: now.Add(-time.Hour), ETag: `"e"`}
		r, err := http.NewRequest(method, "/files/f.bin?"+query, nil)
		if err != nil {
			return
		}
		r.Header.Set("Range", rng)
		r.Header.Set("If-Range", ifMatch)
		r.Header.Set("If-Match", ifMatch)
		r.Header.Set("If-None-Match", ifNoneMatch)
		r.Header.Set("If-Modified-Since", ifNoneMatch)
		a := Plan(r, file, faults, now)
		if http.StatusText(a.Status) == "" && (a.Status < 200 || a.Status > 599) {
			t.Fatalf("status %d", a.Status)
		}
		if a.Start >= 0 && (a.Text != nil || a.Length < 0 || a.Start+a.Length > size) || a.Start < -1 {
			t.Fatalf("body [%d, +%d) of a file of %d bytes, text %q", a.Start, a.Length, size, a.Text)
		}
		if cl := a.Header.Get("Content-Length"); cl != "" && r.Method != http.MethodHead {
			n := a.Length
			if a.Text != nil {
				n = int64(len(a.Text))
			}
			if cl != strconv.FormatInt(n, 10) {
				t.Fatalf("Content-Length %s for a body of %d bytes: %+v", cl, n, a)
			}
		}
		if a.OfFile && a.Status != 200 && a.Status != 206 && a.Status != 304 && a.Status != 412 && a.Status != 416 {
			t.Fatalf("an answer of the file with status %d", a.Status)
		}
		if again := Plan(r, file, faults, now); !reflect.DeepEqual(a, again) {
			t.Fatalf("Plan is not pure: %+v, then %+v", a, again)
		}
	})
}
