//go:build !js && !wasip1

package devserver_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-resumer/resumer/serve/devserver"
)

// memServer serves one file held in memory at /files/<name> the way a test
// server of another package would, with the exported API only: the faults
// of the query, Plan, and Answer.Send (unshaped: this one leaves rate=,
// cut= and stall= aside).
func memServer(name string, content []byte, modTime time.Time) http.Handler {
	f := devserver.NewFile(name, content, modTime)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		faults, err := devserver.ParseFaults(r.URL.Query())
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		devserver.Plan(r, f, faults, time.Now()).Send(w, bytes.NewReader(content))
	})
}

// TestPlanInMemory: a file held in memory, served by Plan, gets the
// answers the dev server gives the same file on disk, byte for byte, over
// HTTP (Date aside).
func TestPlanInMemory(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	srv, err := devserver.New(devserver.Config{DataDir: dir, Samples: []devserver.Sample{{Name: "a.bin", Size: 5000}}})
	if err != nil {
		t.Fatal(err)
	}
	content, err := os.ReadFile(filepath.Join(dir, "a.bin"))
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, "a.bin"))
	if err != nil {
		t.Fatal(err)
	}
	disk := httptest.NewServer(srv.Handler())
	defer disk.Close()
	mem := httptest.NewServer(memServer("a.bin", content, fi.ModTime()))
	defer mem.Close()
	etag := devserver.ETagOf(fi.Size(), fi.ModTime())
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(base, method, target string, hdr map[string]string) (*http.Response, []byte) {
		req, _ := http.NewRequest(method, base+target, nil)
		req.Header.Set("Accept-Encoding", "identity")
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	for _, query := range []string{"", "validators=none", "validators=weak", "etag=%22x%22", "type=text/html", "length=none",
		"ranges=none", "cap=10", "ifrange=ignore", "cr=shift", "cr=hugetotal", "digest=bad", "overrun=100", "status=503&retry-after=2",
		"redirect=login", "redirect=same", "auth=tok", "cors=noexpose", "cors=noifrange"} {
		for _, hdr := range []map[string]string{nil, {"Range": "bytes=10-"}, {"Range": "bytes=4990-", "If-Range": etag},
			{"Range": "bytes=9000-"}, {"If-None-Match": etag}, {"If-Match": `"x"`}, {"Authorization": "Bearer tok", "Range": "bytes=0-0"}} {
			for _, method := range []string{"GET", "HEAD", "OPTIONS"} {
				target := "/files/a.bin?" + query
				want, wantBody := get(disk.URL, method, target, hdr)
				got, gotBody := get(mem.URL, method, target, hdr)
				name := fmt.Sprintf("%s %s %v", method, target, hdr)
				if got.StatusCode != want.StatusCode || !bytes.Equal(gotBody, wantBody) {
					t.Errorf("%s: %d, %d bytes; the dev server %d, %d bytes", name, got.StatusCode, len(gotBody), want.StatusCode, len(wantBody))
				}
				for _, h := range []http.Header{want.Header, got.Header} {
					for k := range h {
						if g, w := strings.Join(got.Header[k], "|"), strings.Join(want.Header[k], "|"); k != "Date" && g != w {
							t.Errorf("%s: %s %q; the dev server %q", name, k, g, w)
						}
					}
				}
			}
		}
	}
}

// TestParseFaults: the query's fault keys, parsed once, for Plan.
func TestParseFaults(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		query string
		err   bool
		fault string
		fail  int64
	}{
		{"", false, "", -1},
		{"t=1&redirected=1", false, "", -1},
		{"cut=10&type=text/html", false, "type=text/html, cut=10", -1},
		{"status=503&fail=2", false, "status=503, fail=2", 2},
		{"auth=s3cret", false, "auth=(hidden)", -1},
		{"change=10", true, "", 0}, // only armed: it rewrites the file
		{"cut=-1", true, "", 0},
		{"stall=1&cut=2", true, "", 0},
		{"fail=1", true, "", 0},
	} {
		q, _ := url.ParseQuery(tc.query)
		f, err := devserver.ParseFaults(q)
		if (err != nil) != tc.err {
			t.Errorf("%q: error %v, want one: %v", tc.query, err, tc.err)
			continue
		}
		if err == nil && (f.String() != tc.fault || f.Fail() != tc.fail) {
			t.Errorf("%q: %q, fail %d; want %q, %d", tc.query, f.String(), f.Fail(), tc.fault, tc.fail)
		}
	}
	var none devserver.Faults
	if none.String() != "" || none.Fail() != -1 {
		t.Errorf("the zero Faults: %q, fail %d; want none", none.String(), none.Fail())
	}
}

// TestStatusSpent: past fail=K, the caller plans with StatusSpent and the
// request gets the file, with a note that says why.
func TestStatusSpent(t *testing.T) {
	t.Parallel()
	f, err := devserver.ParseFaults(url.Values{"status": {"503"}, "fail": {"1"}})
	if err != nil {
		t.Fatal(err)
	}
	file := devserver.NewFile("x.bin", []byte("hello"), time.Unix(1e9, 0))
	r := httptest.NewRequest("GET", "/files/x.bin?status=503&fail=1", nil)
	if a := devserver.Plan(r, file, f, time.Unix(2e9, 0)); a.Status != 503 {
		t.Errorf("request 1: %d, want 503", a.Status)
	}
	a := devserver.Plan(r, file, f.StatusSpent(2), time.Unix(2e9, 0))
	if a.Status != 200 || !strings.Contains(a.Fault, "request 2 of this URL: status 503 no longer applied") {
		t.Errorf("request 2: %d, %q; want the file, and why", a.Status, a.Fault)
	}
	if f.String() != "status=503, fail=1" {
		t.Errorf("StatusSpent changed the faults it was given: %q", f.String())
	}
}

// TestJunk: junk is never the file's byte at its offset.
func TestJunk(t *testing.T) {
	t.Parallel()
	file := bytes.NewReader([]byte{0x00, 0xEE, 0x11, 0xFF})
	for _, tc := range []struct {
		off  int64
		n    int
		want []byte
	}{
		{0, 4, []byte{0xFF, 0x11, 0xEE, 0x00}},
		{2, 4, []byte{0xEE, 0x00, 0xEE, 0xEE}},
		{4, 2, []byte{0xEE, 0xEE}},
		{-1, 3, []byte{0xEE, 0xEE, 0xEE}},
	} {
		buf := make([]byte, tc.n)
		devserver.Junk(file, tc.off, buf)
		if !bytes.Equal(buf, tc.want) {
			t.Errorf("Junk at %d: % x, want % x", tc.off, buf, tc.want)
		}
	}
}

// ExamplePlan answers a resume of a file held in memory as the dev server
// would, here with the Content-Range shifted by one (cr=shift).
func ExamplePlan() {
	content := bytes.Repeat([]byte("resumer!"), 128) // 1024 bytes
	file := devserver.NewFile("model.bin", content, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	faults, err := devserver.ParseFaults(url.Values{"cr": {"shift"}})
	if err != nil {
		panic(err)
	}
	r := httptest.NewRequest("GET", "/files/model.bin?cr=shift", nil)
	r.Header.Set("Range", "bytes=1000-")
	r.Header.Set("If-Range", file.ETag)
	a := devserver.Plan(r, file, faults, time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC))
	body, _ := io.ReadAll(a.Body(bytes.NewReader(content)))
	fmt.Println(a.Status, a.Header.Get("Content-Range"), a.Header.Get("Content-Length"), len(body))
	fmt.Println(a.Fault)
	// Output:
	// 206 bytes 1001-1024/1024 24 24
	// cr=shift, Content-Range "bytes 1001-1024/1024" instead of "bytes 1000-1023/1024"
}
