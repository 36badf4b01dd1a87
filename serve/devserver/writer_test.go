//go:build !js && !wasip1

package devserver

import (
	"io"
	"net/http"
	"net/http/httptest"
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
	for _, tc := range []struct {
		query    string
		readFrom bool
	}{
		{"", true},
		{"validators=none&cr=shift&ranges=none&cors=noexpose", true}, // header faults keep it
		{"rate=100000000", false},
		{"cut=100000", false},
		{"change=100000", false},
	} {
		rec := &readFromRecorder{ResponseRecorder: httptest.NewRecorder()}
		e.s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/files/a.bin?"+tc.query, nil))
		if rec.Code != 200 || rec.Body.Len() != aSize {
			t.Errorf("%q: status %d, %d bytes", tc.query, rec.Code, rec.Body.Len())
		}
		if rec.readFrom != tc.readFrom {
			t.Errorf("%q: ReadFrom used %v, want %v", tc.query, rec.readFrom, tc.readFrom)
		}
	}
	for i, got := range e.entries(t, 5) {
		if got.Sent != aSize || got.Start != 0 {
			t.Errorf("entry %d: sent %d start %d, want %d 0", i, got.Sent, got.Start, aSize)
		}
	}
}

func TestAcceptsGzip(t *testing.T) {
	t.Parallel()
	for ae, want := range map[string]bool{
		"":                    false,
		"gzip":                true,
		"GZIP":                true,
		"br, gzip;q=0.5":      true,
		"gzip;q=0":            false,
		"gzip; q=0.0":         false,
		"identity":            false,
		"x-gzip2, deflate":    false,
		"deflate, gzip ; q=1": true,
	} {
		if got := acceptsGzip(ae); got != want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", ae, got, want)
		}
	}
}
