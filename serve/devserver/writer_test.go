//go:build !js && !wasip1

package devserver

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
)

// readFromRecorder is a ResponseWriter that, like net/http's own, has
// ReadFrom (the road to sendfile), and says whether it was taken.
type readFromRecorder struct {
	*httptest.ResponseRecorder
	readFrom bool
}

func (r *readFromRecorder) ReadFrom(src io.Reader) (int64, error) {
	r.readFrom = true
	return io.Copy(r.ResponseRecorder, src)
}

// TestSendfilePath: without body faults the body goes through the
// underlying ReadFrom (sendfile on a TCP connection); with one, it cannot.
func TestSendfilePath(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cases := []struct {
		query    string
		readFrom bool
		extra    int    // junk bytes after the file
		arm      string // faults armed for this request (change= is armed only)
	}{
		{"", true, 0, ""},
		{"validators=none&cr=shift&ranges=none&cors=noexpose", true, 0, ""}, // header faults keep it
		{"length=none&type=text/plain&cap=10&cr=unknown&redirected=1", true, 0, ""},
		{"rate=100000000", false, 0, ""},
		{"cut=100000", false, 0, ""},
		{"", false, 0, "change=100000"},
		{"overrun=10", false, 10, ""},
		{"stall=100000", false, 0, ""},
	}
	for _, tc := range cases {
		if tc.arm != "" {
			v, _ := url.ParseQuery(tc.arm)
			if err := e.s.Arm("a.bin", 1, v); err != nil {
				t.Fatal(err)
			}
		}
		rec := &readFromRecorder{ResponseRecorder: httptest.NewRecorder()}
		e.s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/files/a.bin?"+tc.query, nil))
		if rec.Code != 200 || rec.Body.Len() != aSize+tc.extra {
			t.Errorf("%q: status %d, %d bytes", tc.query, rec.Code, rec.Body.Len())
		}
		if rec.readFrom != tc.readFrom {
			t.Errorf("%q: ReadFrom used %v, want %v", tc.query, rec.readFrom, tc.readFrom)
		}
	}
	for i, got := range e.entries(t, len(cases)) {
		if got.Sent != int64(aSize+cases[i].extra) || got.Start != 0 {
			t.Errorf("entry %d: sent %d start %d, want %d 0", i, got.Sent, got.Start, aSize+cases[i].extra)
		}
	}
}

// TestPickEncoding: the precompressed file sent for an Accept-Encoding
// (RFC 9110 §12.5.3): the highest weight among those stored, brotli
// between equals, none for q=0 or for codings not stored.
func TestPickEncoding(t *testing.T) {
	t.Parallel()
	both := []string{"br", "gzip"}
	for _, c := range []struct {
		ae     string
		stored []string
		want   string // "" for the file as it is
	}{
		{"", both, ""},
		{"gzip", both, "gzip"},
		{"GZIP", both, "gzip"},
		{"gzip, deflate, br, zstd", both, "br"},
		{"br;q=0.5, gzip", both, "gzip"},
		{"br, gzip;q=0.5", both, "br"},
		{"gzip;q=0, br", both, "br"},
		{"gzip;q=0", both, ""},
		{"gzip; q=0.0", both, ""},
		{"br;q=0, gzip;q=0", both, ""},
		{"identity", both, ""},
		{"x-gzip2, deflate", both, ""},
		{"deflate, gzip ; q=1", both, "gzip"},
		{"*", both, "br"},
		{"*;q=0.3, br;q=0", both, "gzip"},
		{"br", []string{"gzip"}, ""},
		{"gzip, br", []string{"gzip"}, "gzip"},
		{"gzip;q=bad", both, ""},
		{"gzip;Q=0", both, ""},
		{"br;Q=0, gzip;q=0", both, ""},
		{"x-gzip", both, "gzip"},
		{"identity, br;q=0.1", both, ""},
		{"identity;q=0.5, br", both, "br"},
		{"*, br;q=oops", both, "gzip"},
		{"br;q=2", both, ""},
		{"br;level=5;q=0.4, gzip;q=0.3", both, "br"},
	} {
		e, ok := pickEncoding(c.ae, c.stored)
		got := ""
		if ok {
			got = e.coding
		}
		if got != c.want {
			t.Errorf("pickEncoding(%q, %v) = %q, want %q", c.ae, c.stored, got, c.want)
		}
	}
}
