//go:build !js && !wasip1

package devserver

import (
	"bytes"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

// TestRedirect: redirect= answers a 302 with CORS headers and a Location
// that, followed, gives what the fault promises; both requests are logged.
func TestRedirect(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		method   string // "" = GET
		query    string
		hdr      map[string]string
		location string
		// then is the request for Location: its status, a header, the
		// body (nil: not checked) and its log Query and Fault.
		status    int
		headers   map[string]string
		body      func(a, b []byte) []byte
		thenQuery string
		thenFault string
	}{
		{
			name: "login", query: "redirect=login&t=1", location: "/_login",
			status: 200, headers: map[string]string{"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"},
			body: func(a, b []byte) []byte { return []byte(loginPage) },
		},
		{
			name: "same: query minus redirect plus redirected=1, other faults kept", query: "validators=etag&redirect=same&t=1",
			location: "/files/a.bin?validators=etag&t=1&redirected=1",
			status:   200, headers: map[string]string{"Last-Modified": "", "Content-Length": sizeStr},
			body:      func(a, b []byte) []byte { return a },
			thenQuery: "validators=etag&t=1&redirected=1", thenFault: "validators=etag",
		},
		{
			name: "same: an earlier redirected=1 is not repeated", query: "redirected=1&redirect=same",
			location: "/files/a.bin?redirected=1",
			status:   200, body: func(a, b []byte) []byte { return a }, thenQuery: "redirected=1",
		},
		{
			name: "file: another file, the Range goes along", query: "redirect=file%3Ab.bin&cr=unknown",
			hdr:      map[string]string{"Range": "bytes=0-9"},
			location: "/files/b.bin?cr=unknown&redirected=1",
			status:   206, headers: map[string]string{"Content-Range": "bytes 0-9/*"},
			body:      func(a, b []byte) []byte { return b[:10] },
			thenQuery: "cr=unknown&redirected=1", thenFault: "cr=unknown",
		},
		{
			name: "file: a name that needs escaping", query: "redirect=file:c%20d.bin",
			location: "/files/c%20d.bin?redirected=1",
			status:   200, headers: map[string]string{"Content-Length": "100"}, thenQuery: "redirected=1",
		},
		{
			name: "body faults are for the target, not the 302", query: "redirect=same&stall=0",
			location: "/files/a.bin?stall=0&redirected=1",
		},
		{
			name: "HEAD", method: http.MethodHead, query: "redirect=login", location: "/_login",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, Sample{Name: "b.bin", Size: 1000}, Sample{Name: "c d.bin", Size: 100})
			method := tc.method
			if method == "" {
				method = http.MethodGet
			}
			resp, body, err := e.do(t, method, "/files/a.bin?"+tc.query, tc.hdr)
			if err != nil {
				t.Fatal(err)
			}
			wantBody := "302 Found: " + tc.location + " (redirect="
			if method == http.MethodHead {
				wantBody = ""
			}
			if resp.StatusCode != http.StatusFound || !strings.HasPrefix(string(body), wantBody) {
				t.Fatalf("status %d body %q, want 302 and %q...", resp.StatusCode, body, wantBody)
			}
			checkHeaders(t, resp.Header, map[string]string{
				"Location":                      tc.location,
				"Access-Control-Allow-Origin":   "*",
				"Access-Control-Expose-Headers": exposeHeaders,
				"Content-Type":                  "text/plain; charset=utf-8",
				"Cache-Control":                 "no-store",
				"ETag":                          "",
				"Content-Range":                 "",
			})
			g := e.idle(t)[0]
			if g.Status != 302 || g.Start != -1 || g.Sent != int64(len(body)) || g.Stalled || g.ClientGone ||
				!strings.Contains(g.Fault, "302 to "+tc.location) {
				t.Errorf("log %+v: want 302, Start -1, Sent %d, the redirect noted", g, len(body))
			}
			if tc.status == 0 {
				return
			}
			resp, body = e.get(t, tc.location, tc.hdr)
			if resp.StatusCode != tc.status {
				t.Fatalf("GET %s: status %d, want %d", tc.location, resp.StatusCode, tc.status)
			}
			checkHeaders(t, resp.Header, tc.headers)
			if tc.body != nil {
				if want := tc.body(e.file(t, "a.bin"), e.file(t, "b.bin")); !bytes.Equal(body, want) {
					t.Errorf("GET %s: %d bytes, want %d", tc.location, len(body), len(want))
				}
			}
			log := e.idle(t)
			if len(log) != 2 {
				t.Fatalf("log %+v, want the 302 and the request for Location", log)
			}
			u, _ := url.Parse(tc.location)
			if g := log[1]; g.Path != u.Path || g.Query != tc.thenQuery || g.Status != tc.status ||
				(tc.thenFault == "") != (g.Fault == "") || !strings.Contains(g.Fault, tc.thenFault) {
				t.Errorf("log of the target %+v, want path %s query %q fault %q", g, u.Path, tc.thenQuery, tc.thenFault)
			}
		})
	}
}

// TestRedirectFollowed: a client that follows redirects, as fetch does,
// lands on the sign-in page, a URL other than the one it asked for.
func TestRedirectFollowed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	follow := &http.Client{Transport: e.client.Transport}
	req, _ := http.NewRequest(http.MethodGet, e.ts.URL+"/files/a.bin?redirect=login", nil)
	req.Header.Set("Range", "bytes=100-")
	req.Header.Set("Origin", "http://other.test")
	resp, err := follow.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Request.URL.Path != "/_login" || resp.Header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Errorf("status %d at %s, type %q: want 200 text/html at /_login", resp.StatusCode, resp.Request.URL, resp.Header.Get("Content-Type"))
	}
	log := e.idle(t)
	if len(log) != 2 || log[0].Status != 302 || log[1].Path != "/_login" || log[1].Status != 200 ||
		log[1].Range != "bytes=100-" || log[1].Origin != "http://other.test" || log[1].Sent != int64(len(loginPage)) {
		t.Errorf("log %+v: want the 302, then GET /_login with the Range and Origin sent", log)
	}
}

// TestLogin: the sign-in page, its headers and its log entries.
func TestLogin(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	resp, body := e.get(t, "/_login", nil)
	checkHeaders(t, resp.Header, map[string]string{
		"Content-Type":                "text/html; charset=utf-8",
		"Cache-Control":               "no-store",
		"Access-Control-Allow-Origin": "*",
		"Content-Length":              strconv.Itoa(len(loginPage)),
	})
	if resp.StatusCode != 200 || !strings.Contains(string(body), "<form") || !strings.Contains(string(body), "Sign in") || len(body) > 1000 {
		t.Errorf("status %d, %d bytes: want 200 and a small sign-in form", resp.StatusCode, len(body))
	}
	resp, body, _ = e.do(t, http.MethodHead, "/_login", nil)
	if resp.StatusCode != 200 || len(body) != 0 || resp.Header.Get("Content-Length") != strconv.Itoa(len(loginPage)) {
		t.Errorf("HEAD: status %d, %d bytes, Content-Length %q", resp.StatusCode, len(body), resp.Header.Get("Content-Length"))
	}
	resp, _, _ = e.do(t, http.MethodOptions, "/_login", map[string]string{
		"Origin": "http://other.test", "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "if-range,range"})
	if resp.StatusCode != 204 || resp.Header.Get("Access-Control-Allow-Headers") != allowHeaders {
		t.Errorf("preflight: status %d, Allow-Headers %q", resp.StatusCode, resp.Header.Get("Access-Control-Allow-Headers"))
	}
	if resp, _, _ := e.do(t, http.MethodPost, "/_login", nil); resp.StatusCode != 405 {
		t.Errorf("POST: status %d, want 405", resp.StatusCode)
	}
	log := e.idle(t)
	want := []struct {
		method string
		status int
		sent   int
	}{{"GET", 200, len(loginPage)}, {"HEAD", 200, 0}, {"OPTIONS", 204, 0}, {"POST", 405, -1}}
	if len(log) != len(want) {
		t.Fatalf("log %+v, want %d entries", log, len(want))
	}
	for i, w := range want {
		g := log[i]
		if g.Path != "/_login" || g.Method != w.method || g.Status != w.status || (w.sent >= 0 && g.Sent != int64(w.sent)) || g.Start != -1 {
			t.Errorf("entry %d %+v, want %s /_login %d", i, g, w.method, w.status)
		}
	}
}

// TestArmRedirect: an armed redirect is spent by the 302; the request for
// Location takes the next armed set.
func TestArmRedirect(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	if code, _ := e.post(t, "/_control/arm?file=a.bin&redirect=same"); code != 200 {
		t.Fatalf("arm redirect: %d", code)
	}
	if err := e.s.Arm("a.bin", 1, url.Values{"validators": {"none"}}); err != nil {
		t.Fatal(err)
	}
	resp, _ := e.get(t, "/files/a.bin?t=1", nil)
	if loc := resp.Header.Get("Location"); resp.StatusCode != 302 || loc != "/files/a.bin?t=1&redirected=1" {
		t.Fatalf("status %d Location %q, want 302 to /files/a.bin?t=1&redirected=1", resp.StatusCode, loc)
	}
	resp, body := e.get(t, resp.Header.Get("Location"), nil)
	if resp.StatusCode != 200 || resp.Header.Get("ETag") != "" || len(body) != aSize {
		t.Errorf("target: status %d ETag %q: want the whole file without validators (second armed set)", resp.StatusCode, resp.Header.Get("ETag"))
	}
	if resp, _ := e.get(t, "/files/a.bin", nil); resp.StatusCode != 200 || resp.Header.Get("ETag") == "" {
		t.Errorf("third request: status %d ETag %q, want a plain 200 (both sets spent)", resp.StatusCode, resp.Header.Get("ETag"))
	}
	log := e.idle(t)
	if len(log) != 3 || !strings.Contains(log[0].Fault, "redirect=same (armed)") || !strings.Contains(log[1].Fault, "validators=none (armed)") || log[2].Fault != "" {
		t.Errorf("log %+v", log)
	}
}

// TestArmRedirectDoesNotLoop: a set with redirect= armed for several
// requests redirects each request a client makes, not the targets of its
// own redirects, which would loop.
func TestArmRedirectDoesNotLoop(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	if err := e.s.Arm("a.bin", 2, url.Values{"redirect": {"same"}}); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		resp, _ := e.get(t, "/files/a.bin?t=1", nil)
		if resp.StatusCode != 302 {
			t.Fatalf("request %d: status %d, want 302", i, resp.StatusCode)
		}
		resp, body := e.get(t, resp.Header.Get("Location"), nil)
		if resp.StatusCode != 200 || len(body) != aSize {
			t.Fatalf("target %d: status %d, %d bytes; want the file", i, resp.StatusCode, len(body))
		}
	}
	if resp, _ := e.get(t, "/files/a.bin?t=1", nil); resp.StatusCode != 200 {
		t.Fatalf("third request: status %d, want 200 (the set is spent)", resp.StatusCode)
	}
	if log := e.idle(t); len(log) != 5 || log[0].Status != 302 || log[1].Status != 200 || log[2].Status != 302 || log[3].Status != 200 {
		t.Fatalf("log %+v", log)
	}
}
