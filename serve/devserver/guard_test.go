//go:build !js && !wasip1

package devserver

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestControlGuard: the control API answers only a caller that sends the
// token to the server's own address, and never with CORS headers.
func TestControlGuard(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok := e.s.ControlToken()
	if len(tok) < 32 {
		t.Fatalf("token %q: want 128 random bits", tok)
	}
	if other := newEnvToken(t); other == tok {
		t.Fatalf("two servers made the same token %q", tok)
	}
	host := strings.TrimPrefix(e.ts.URL, "http://")
	_, port, _ := strings.Cut(host, ":")
	for _, tc := range []struct {
		name, method, target string
		hdr                  map[string]string
		want                 int
	}{
		{"no token", "POST", "/_control/arm?file=a.bin&status=500", nil, 403},
		{"wrong token", "POST", "/_control/arm?file=a.bin&status=500", map[string]string{ControlHeader: tok + "x"}, 403},
		{"token in the query", "POST", "/_control/arm?file=a.bin&status=500&" + ControlHeader + "=" + tok, nil, 403},
		{"log without token", "GET", "/_control/log", nil, 403},
		{"reset without token", "POST", "/_control/reset", nil, 403},
		{"change without token", "POST", "/_control/change?file=a.bin", nil, 403},
		{"preflight", "OPTIONS", "/_control/arm?file=a.bin", map[string]string{"Origin": "http://evil.test", "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": ControlHeader}, 403},
		{"rebinding host", "POST", "/_control/arm?file=a.bin&status=500", map[string]string{ControlHeader: tok, "Host": "evil.test:" + port}, 403},
		{"other port", "POST", "/_control/arm?file=a.bin&status=500", map[string]string{ControlHeader: tok, "Host": "127.0.0.1:1"}, 403},
		{"localhost is loopback", "GET", "/_control/log", map[string]string{ControlHeader: tok, "Host": "localhost:" + port}, 200},
		{"own address", "GET", "/_control/log", map[string]string{ControlHeader: tok}, 200},
	} {
		req, err := http.NewRequest(tc.method, e.ts.URL+tc.target, nil)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range tc.hdr {
			if k == "Host" {
				req.Host = v
			} else {
				req.Header.Set(k, v)
			}
		}
		resp, err := e.client.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s: status %d, want %d", tc.name, resp.StatusCode, tc.want)
		}
		for k := range resp.Header {
			if strings.HasPrefix(k, "Access-Control-") {
				t.Errorf("%s: CORS header %s on /_control/", tc.name, k)
			}
		}
	}
	// Nothing refused took effect: no fault armed, the file as it was.
	if resp, _ := e.get(t, "/files/a.bin", nil); resp.StatusCode != 200 {
		t.Errorf("after the refused calls: status %d, want 200 (nothing armed)", resp.StatusCode)
	}
	if e.s.nArmed != 0 {
		t.Errorf("%d sets armed by refused calls", e.s.nArmed)
	}
}

// newEnvToken starts another server and returns its token.
func newEnvToken(t *testing.T) string {
	s, err := New(Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	return s.ControlToken()
}

// TestChangeOnlySamples: only generated samples can be rewritten, by the
// API or an armed change=; a file somebody put in the data folder stays.
func TestChangeOnlySamples(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	own := filepath.Join(e.data, "mine.bin")
	if err := os.WriteFile(own, []byte("somebody's own file"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := e.s.ChangeFile("mine.bin"); !errors.Is(err, errNotSample) {
		t.Errorf("ChangeFile(mine.bin): %v, want errNotSample", err)
	}
	if code, _ := e.post(t, "/_control/change?file=mine.bin"); code != 403 {
		t.Errorf("change of mine.bin over the API: %d, want 403", code)
	}
	if code, _ := e.post(t, "/_control/arm?file=mine.bin&change=1"); code != 403 {
		t.Errorf("arm change= on mine.bin: %d, want 403", code)
	}
	if err := e.s.Arm("mine.bin", 1, url.Values{"cut": {"3"}}); err != nil {
		t.Errorf("other faults on mine.bin: %v", err)
	}
	if b, _ := os.ReadFile(own); string(b) != "somebody's own file" {
		t.Errorf("mine.bin now %q", b)
	}
}

// TestBounds: what the server keeps for its clients is bounded.
func TestBounds(t *testing.T) {
	t.Parallel()
	t.Run("log", func(t *testing.T) {
		t.Parallel()
		s, err := New(Config{DataDir: t.TempDir(), Samples: []Sample{{Name: "a.bin", Size: 10}}, LogLimit: 8})
		if err != nil {
			t.Fatal(err)
		}
		long := strings.Repeat("r", 10000)
		for i := range 30 {
			rec := httptestRecorderHdr(s, fmt.Sprintf("/files/a.bin?i=%d", i), map[string]string{"Range": long})
			if rec.Code != 200 && rec.Code != 416 {
				t.Fatalf("request %d: status %d", i, rec.Code)
			}
		}
		l, err := s.WaitLog(t.Context(), 30)
		if err != nil {
			t.Fatal(err)
		}
		if len(l) > 8 || len(l) < 6 {
			t.Fatalf("log of %d entries, want the newest 6 to 8", len(l))
		}
		if last := l[len(l)-1]; last.Query != "i=29" || len(last.Range) > maxLogField+len("…") {
			t.Errorf("last entry %q, range %d bytes: want i=29, range cut at %d", last.Query, len(last.Range), maxLogField)
		}
	})
	t.Run("armed", func(t *testing.T) {
		t.Parallel()
		s, err := New(Config{DataDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		for i := range MaxArmed {
			if err := s.Arm(fmt.Sprintf("f%d.bin", i), 1, url.Values{"cut": {"1"}}); err != nil {
				t.Fatalf("arm %d: %v", i, err)
			}
		}
		if err := s.Arm("one-more.bin", 1, url.Values{"cut": {"1"}}); !errors.Is(err, errTooMany) {
			t.Errorf("arm %d: %v, want errTooMany", MaxArmed+1, err)
		}
		if err := s.Arm("a.bin", MaxArmTimes+1, url.Values{"cut": {"1"}}); err == nil {
			t.Errorf("arm times=%d: no error", MaxArmTimes+1)
		}
		s.Disarm()
		if err := s.Arm("a.bin", 1, url.Values{"cut": {"1"}}); err != nil {
			t.Errorf("arm after Disarm: %v", err)
		}
	})
}

// TestDotfiles: names with a dot-led element are refused everywhere.
func TestDotfiles(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, p := range []string{filepath.Join(e.data, ".env"), filepath.Join(e.web, ".git", "config"), filepath.Join(e.data, "d", ".htpasswd")} {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("secret"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, target := range []string{"/files/.env", "/.git/config", "/files/d/.htpasswd", "/files/%2eenv"} {
		resp, body := e.get(t, target, nil)
		if resp.StatusCode == 200 || strings.Contains(string(body), "secret") {
			t.Errorf("GET %s: status %d, body %q", target, resp.StatusCode, body)
		}
	}
}
