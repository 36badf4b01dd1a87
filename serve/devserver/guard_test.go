//go:build !js && !wasip1

package devserver

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
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
	t.Run("armed size", func(t *testing.T) {
		t.Parallel()
		s, err := New(Config{DataDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		big := `"` + strings.Repeat("e", maxArmBytes) + `"`
		if err := s.Arm("a.bin", 1, url.Values{"etag": {big}}); err == nil || len(err.Error()) > 2*maxLogField {
			t.Errorf("arm of a %d-byte etag: %.100v, want a short error", len(big), err)
		}
		// Only the first value of a key is read, so only it is kept.
		if err := s.Arm("a.bin", 1, url.Values{"cut": {"1", big, big}}); err != nil {
			t.Fatalf("arm with extra values: %v", err)
		}
		if v := s.armed["a.bin"][0].values["cut"]; len(v) != 1 || v[0] != "1" {
			t.Errorf("armed cut = %.40q, want [1]", v)
		}
	})
	t.Run("fail counters", func(t *testing.T) {
		t.Parallel()
		s, err := New(Config{DataDir: t.TempDir(), Samples: []Sample{{Name: "a.bin", Size: 10}}, LogLimit: 8})
		if err != nil {
			t.Fatal(err)
		}
		const limit = 16
		s.fails = newFailCounters(limit) // maxFailCounters, in small
		pad := strings.Repeat("p", 16<<10)
		get := func(target string) int { return httptestRecorder(s, target).Code }
		// A test's URL, fail=1: 503 once, then the file, for as long
		// as it keeps being requested, whatever other URLs come.
		const kept = "/files/a.bin?status=503&fail=1&t=kept"
		if code := get(kept); code != 503 {
			t.Fatalf("first request: %d, want 503", code)
		}
		for i := range 5 * limit {
			if code := get(fmt.Sprintf("/files/a.bin?status=503&fail=1&i=%d&pad=%s", i, pad)); code != 503 {
				t.Fatalf("flood URL %d: %d, want 503", i, code)
			}
			if n := s.fails.len(); n > limit {
				t.Fatalf("after flood URL %d: %d counters, want at most %d", i, n, limit)
			}
			if i%(limit/2) == 0 {
				if code := get(kept); code != 200 {
					t.Fatalf("kept URL during the flood (at %d): %d, want 200: its counter was dropped while in use", i, code)
				}
			}
		}
		if n := s.fails.len(); n != limit {
			t.Errorf("%d counters after the flood, want %d", n, limit)
		}
		// The least recently requested URL was forgotten: it fails again.
		if code := get(fmt.Sprintf("/files/a.bin?status=503&fail=1&i=0&pad=%s", pad)); code != 503 {
			t.Errorf("first flood URL again: %d, want 503 (forgotten)", code)
		}
		s.ResetLog()
		if n := s.fails.len(); n != 0 {
			t.Errorf("%d counters after ResetLog", n)
		}
	})
}

// TestLogClipped: each value a client chose, in the request or through
// the faults that echo it in the response (etag=, type=, retry-after=,
// a Location), is kept in the log cut at maxLogField bytes, Fault at
// maxFaultField, and still valid UTF-8; the response itself is as asked.
func TestLogClipped(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 20000)
	wide := strings.Repeat("é", 10000) // a cut must not split a rune
	for _, tc := range []struct {
		name   string
		query  string
		hdr    map[string]string
		status int
		header string // a response header that must come whole
		want   string
		fault  string // in LogEntry.Fault: the cut description still says what applied
	}{
		{"etag", "etag=" + url.QueryEscape(`"`+long+`"`), nil, 200, "ETag", `"` + long + `"`, `etag="xxx`},
		{"etag, weak and wide", "etag=" + url.QueryEscape(`W/"`+wide+`"`), nil, 200, "ETag", `W/"` + wide + `"`, `etag=W/"éé`},
		{"type", "type=" + url.QueryEscape("text/"+long), nil, 200, "Content-Type", "text/" + long, `Content-Type "text/xxx`},
		{"type, wide", "type=" + url.QueryEscape("text/x; a="+wide), map[string]string{"Range": "bytes=0-1"}, 206,
			"Content-Type", "text/x; a=" + wide, `Content-Type "text/x; a=éé`},
		// An ETag longer than protocol.MaxValidatorLen never matches
		// If-Range (protocol.ServeRange): this one is longer than the log
		// keeps, and short enough to match.
		{"etag and type with If-Range", "etag=" + url.QueryEscape(`"`+long[:4000]+`"`) + "&type=" + url.QueryEscape("text/"+long),
			map[string]string{"Range": "bytes=0-1", "If-Range": `"` + long[:4000] + `"`}, 206, "ETag", `"` + long[:4000] + `"`, `Content-Type "text/xxx`},
		{"retry-after", "status=503&retry-after=" + long, nil, 503, "Retry-After", long, "retry-after=xxx"},
		{"redirect", "redirect=same&pad=" + long, nil, 302, "Location", "/files/a.bin?pad=" + long + "&redirected=1", "302 to /files/a.bin?pad=xxx"},
		{"a number with zeros", "rate=" + strings.Repeat("0", 20000) + "100000000", nil, 200, "", "", "rate=000"},
		{"every header", "t=" + long, map[string]string{"Origin": long, "Range": long, "If-Range": long, "If-Match": long,
			"Access-Control-Request-Headers": long}, 412, "", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, err := New(Config{DataDir: t.TempDir(), Samples: []Sample{{Name: "a.bin", Size: 10}}})
			if err != nil {
				t.Fatal(err)
			}
			rec := httptestRecorderHdr(s, "/files/a.bin?"+tc.query, tc.hdr)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %.200s", rec.Code, tc.status, rec.Body)
			}
			if tc.header != "" && rec.Header().Get(tc.header) != tc.want {
				t.Errorf("%s: %d bytes, want the %d asked for", tc.header, len(rec.Header().Get(tc.header)), len(tc.want))
			}
			l := serverLog(t, s, 1)
			checkClipped(t, l[0])
			if !strings.Contains(l[0].Fault, tc.fault) {
				t.Errorf("fault %.200q, want %q in it", l[0].Fault, tc.fault)
			}
		})
	}
}

// checkClipped fails if a text field of e is longer than the log keeps,
// or not valid UTF-8.
func checkClipped(t *testing.T, e LogEntry) {
	t.Helper()
	v := reflect.ValueOf(e)
	for i := range v.NumField() {
		f := v.Type().Field(i)
		if f.Type.Kind() != reflect.String {
			continue
		}
		s, bound := v.Field(i).String(), maxLogField
		if f.Name == "Fault" {
			bound = maxFaultField
		}
		if len(s) > bound+len("…") || !utf8.ValidString(s) {
			t.Errorf("log %s: %d bytes (valid UTF-8: %v), want at most %d: %.80q…",
				f.Name, len(s), utf8.ValidString(s), bound, s)
		}
	}
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
