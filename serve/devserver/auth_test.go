//go:build !js && !wasip1

package devserver

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// authToken is the secret of the auth= tests: it must never show in the log.
const authToken = "s3cr3t-T0ken_~+/.=="

// noSecret fails if the log entry holds the token anywhere, in its JSON
// form (GET /_control/log) or its one-line form (Config.Logf).
func noSecret(t *testing.T, e LogEntry, secret string) {
	t.Helper()
	j, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(j, []byte(secret)) || strings.Contains(e.String(), secret) {
		t.Errorf("the log holds the secret:\n%s\n%s", j, e.String())
	}
}

func TestAuth(t *testing.T) {
	t.Parallel()
	q := "auth=" + url.QueryEscape(authToken)
	for _, tc := range []struct {
		name      string
		method    string
		authz     string // Authorization header; "" = none
		rng       string
		status    int
		challenge string // WWW-Authenticate; "" = none
		note      string // in LogEntry.Fault
	}{
		{"no Authorization: 401 with a Bearer challenge", http.MethodGet, "", "", 401, "Bearer", "401: no Authorization"},
		{"right token: the file", http.MethodGet, "Bearer " + authToken, "", 200, "", "auth=(hidden)"},
		{"the scheme is case-insensitive", http.MethodGet, "bearer " + authToken, "", 200, "", "auth=(hidden)"},
		{"right token, Range: 206", http.MethodGet, "Bearer " + authToken, "bytes=10-19", 206, "", "auth=(hidden)"},
		{"wrong token: 401 invalid_token", http.MethodGet, "Bearer " + authToken + "x", "", 401, `Bearer error="invalid_token"`, "401: wrong Bearer token"},
		{"a token prefix is wrong", http.MethodGet, "Bearer " + authToken[:5], "", 401, `Bearer error="invalid_token"`, "401: wrong Bearer token"},
		{"another scheme: 401", http.MethodGet, "Basic " + authToken, "", 401, "Bearer", "401: an Authorization without a Bearer token"},
		{"HEAD without Authorization: 401", http.MethodHead, "", "", 401, "Bearer", "401: no Authorization"},
		{"HEAD with the token: 200", http.MethodHead, "Bearer " + authToken, "", 200, "", "auth=(hidden)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			hdr := map[string]string{"Origin": "http://other.test"}
			if tc.authz != "" {
				hdr["Authorization"] = tc.authz
			}
			if tc.rng != "" {
				hdr["Range"] = tc.rng
			}
			resp, body, err := e.do(t, tc.method, "/files/a.bin?"+q, hdr)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			// A cross-origin client must be able to read the 401.
			checkHeaders(t, resp.Header, map[string]string{"WWW-Authenticate": tc.challenge, "Access-Control-Allow-Origin": "*"})
			file := e.file(t, "a.bin")
			switch {
			case tc.method == http.MethodHead && len(body) != 0:
				t.Errorf("HEAD answered %d body bytes", len(body))
			case tc.status == 200 && tc.method == http.MethodGet && !bytes.Equal(body, file):
				t.Errorf("200 body is not the file (%d bytes)", len(body))
			case tc.status == 206 && !bytes.Equal(body, file[10:20]):
				t.Errorf("206 body %q is not bytes 10-19", body)
			case tc.status == 401 && tc.method == http.MethodGet && !bytes.HasPrefix(body, []byte("401 Unauthorized")):
				t.Errorf("the 401 body is %.40q, want the text of the fault", body)
			}
			got := e.entries(t, 1)[0]
			wantStart := int64(-1)
			switch {
			case tc.method == http.MethodHead:
			case tc.status == 200:
				wantStart = 0
			case tc.status == 206:
				wantStart = 10
			}
			if got.Status != tc.status || got.Auth != (tc.authz != "") || got.Start != wantStart || !strings.Contains(got.Fault, tc.note) {
				t.Errorf("log status %d auth %v start %d fault %q; want %d, %v, %d, %q",
					got.Status, got.Auth, got.Start, got.Fault, tc.status, tc.authz != "", wantStart, tc.note)
			}
			if !strings.Contains(got.Fault, "auth=(hidden)") {
				t.Errorf("fault %q does not say auth= applied", got.Fault)
			}
		})
	}
}

// TestAuthArmed: armed, auth= keeps the token out of the URL, and so out
// of the whole log entry; the armed set is spent like any other.
func TestAuthArmed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	if err := e.s.Arm("a.bin", 2, url.Values{"auth": {authToken}}); err != nil {
		t.Fatal(err)
	}
	// A preflight neither needs the token (it never carries one) nor
	// spends the set.
	resp, _, _ := e.do(t, http.MethodOptions, "/files/a.bin", map[string]string{
		"Origin": "http://other.test", "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "authorization,if-range",
	})
	if resp.StatusCode != 204 || !strings.Contains(resp.Header.Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Fatalf("preflight %d, Allow-Headers %q: want 204 allowing Authorization", resp.StatusCode, resp.Header.Get("Access-Control-Allow-Headers"))
	}
	if resp, _ := e.get(t, "/files/a.bin", nil); resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") != "Bearer" {
		t.Fatalf("without the token: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	if resp, body := e.get(t, "/files/a.bin", map[string]string{"Authorization": "Bearer " + authToken}); resp.StatusCode != 200 || len(body) != aSize {
		t.Fatalf("with the token: %d, %d bytes", resp.StatusCode, len(body))
	}
	// Spent: the file is served to anyone again.
	if resp, _ := e.get(t, "/files/a.bin", nil); resp.StatusCode != 200 {
		t.Fatalf("after the armed set: %d", resp.StatusCode)
	}
	log := e.entries(t, 4)
	if log[0].Method != http.MethodOptions || log[0].Auth || log[1].Auth || !log[2].Auth || log[3].Auth {
		t.Errorf("log:\n%s", joinLog(log))
	}
	if !strings.Contains(log[1].Fault, "auth=(hidden) (armed)") {
		t.Errorf("fault %q", log[1].Fault)
	}
	for _, le := range log {
		noSecret(t, le, authToken)
	}
}

// TestAuthComesFirst: a request auth= refuses gets no other fault, and
// does not count towards fail=.
func TestAuthComesFirst(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	target := "/files/a.bin?auth=" + url.QueryEscape(authToken) + "&status=503&fail=1"
	with := map[string]string{"Authorization": "Bearer " + authToken}
	for i, want := range []struct {
		hdr    map[string]string
		status int
	}{{nil, 401}, {with, 503}, {nil, 401}, {with, 200}} {
		if resp, _ := e.get(t, target, want.hdr); resp.StatusCode != want.status {
			t.Fatalf("request %d: status %d, want %d", i+1, resp.StatusCode, want.status)
		}
	}
}

// TestLogAuth: the log says whether Authorization came, on any request,
// and never keeps its value.
func TestLogAuth(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const secret = "Basic dXNlcjpodW50ZXIy"
	e.get(t, "/files/a.bin", map[string]string{"Authorization": secret})
	e.get(t, "/files/a.bin", nil)
	log := e.entries(t, 2)
	if !log[0].Auth || log[1].Auth {
		t.Fatalf("auth %v, %v; want true, false", log[0].Auth, log[1].Auth)
	}
	if !strings.Contains(log[0].String(), " auth ") || strings.Contains(log[1].String(), " auth ") {
		t.Errorf("log lines:\n%s", joinLog(log))
	}
	noSecret(t, log[0], "dXNlcjpodW50ZXIy")
}

func TestAuthBadToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, q := range []string{"auth=", "auth=a%20b", "auth=%3Dabc", "auth=a%0Ab", "auth=%C3%A9", "auth=Bearer%20x"} {
		if resp, _ := e.get(t, "/files/a.bin?"+q, nil); resp.StatusCode != 400 {
			t.Errorf("%s: status %d, want 400", q, resp.StatusCode)
		}
		if err := e.s.Arm("a.bin", 1, mustQuery(t, q)); err == nil {
			t.Errorf("Arm(%s) accepted", q)
		}
	}
	if resp, _ := e.get(t, "/files/a.bin?auth=abc%3D%3D", map[string]string{"Authorization": "Bearer abc=="}); resp.StatusCode != 200 {
		t.Errorf("a padded token: status %d, want 200", resp.StatusCode)
	}
}

func mustQuery(t *testing.T, q string) url.Values {
	t.Helper()
	v, err := url.ParseQuery(q)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func joinLog(log []LogEntry) string {
	var b strings.Builder
	for _, e := range log {
		b.WriteString(e.String() + "\n")
	}
	return b.String()
}

// TestAuthHidden: the token of auth= is kept nowhere and printed nowhere,
// however the URL spells it: not in the log entry (Query, Fault, the
// one-line form), not in an error (a 400, Arm), not in the answer of
// /_control/arm.
func TestAuthHidden(t *testing.T) {
	t.Parallel()
	tok := url.QueryEscape(authToken)
	with := map[string]string{"Authorization": "Bearer " + authToken}
	for _, tc := range []struct {
		name   string
		query  string
		hdr    map[string]string
		status int
		query2 string // the entry's Query
		fault  string // in the entry's Fault
	}{
		{"no Authorization", "auth=" + tok, nil, 401, "auth=(hidden)", "auth=(hidden), 401: no Authorization"},
		{"the right token", "t=1&auth=" + tok + "&x=2", with, 200, "t=1&auth=(hidden)&x=2", "auth=(hidden)"},
		{"an escaped key", "%61uth=" + tok, nil, 401, "%61uth=(hidden)", "auth=(hidden)"},
		{"twice", "auth=" + tok + "&auth=" + tok, with, 200, "auth=(hidden)&auth=(hidden)", "auth=(hidden)"},
		{"a redirect keeps it in Location", "redirect=same&auth=" + tok, with, 302,
			"redirect=same&auth=(hidden)", "302 to /files/a.bin?auth=(hidden)&redirected=1"},
		{"a malformed token: 400", "auth=" + tok + "%21", nil, 400, "auth=(hidden)", ""},
		{"after a semicolon", "t=1;auth=" + tok, nil, 200, "t=1;auth=(hidden)", ""},
		{"with fail=", "auth=" + tok + "&status=503&fail=1", with, 503, "auth=(hidden)&status=503&fail=1", "fail=1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var lines []string
			s, err := New(Config{DataDir: t.TempDir(), Samples: []Sample{{Name: "a.bin", Size: 10}},
				Logf: func(format string, args ...any) { lines = append(lines, fmt.Sprintf(format, args...)) }})
			if err != nil {
				t.Fatal(err)
			}
			rec := httptestRecorderHdr(s, "/files/a.bin?"+tc.query, tc.hdr)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %q", rec.Code, tc.status, rec.Body)
			}
			if tc.status == 400 && strings.Contains(rec.Body.String(), authToken) {
				t.Errorf("the 400 echoes the token: %q", rec.Body)
			}
			log := serverLog(t, s, 1)
			if got := log[0]; got.Query != tc.query2 || !strings.Contains(got.Fault, tc.fault) {
				t.Errorf("log query %q fault %q, want %q and %q in it", got.Query, got.Fault, tc.query2, tc.fault)
			}
			for _, secret := range []string{authToken, tok} {
				noSecret(t, log[0], secret)
				for _, l := range lines {
					if strings.Contains(l, secret) {
						t.Errorf("Config.Logf printed the secret: %s", l)
					}
				}
			}
		})
	}
	t.Run("arm", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		if err := e.s.Arm("a.bin", 1, url.Values{"auth": {authToken + "!"}}); err == nil || strings.Contains(err.Error(), authToken) {
			t.Errorf("Arm of a malformed token: %v, want an error without the token", err)
		}
		code, answer := e.post(t, "/_control/arm?file=a.bin&auth="+tok)
		if j, _ := json.Marshal(answer); code != 200 || bytes.Contains(j, []byte(authToken)) || bytes.Contains(j, []byte(tok)) {
			t.Errorf("POST /_control/arm: %d %s, want 200 without the token", code, j)
		}
		code, answer = e.post(t, "/_control/arm?file=a.bin&auth="+tok+"%21")
		if j, _ := json.Marshal(answer); code != 400 || bytes.Contains(j, []byte(authToken)) {
			t.Errorf("POST /_control/arm, a malformed token: %d %s, want 400 without the token", code, j)
		}
	})
}

func TestHideAuth(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"t=1", "t=1"},
		{"auth=x", "auth=(hidden)"},
		{"a=1&auth=x&b=2", "a=1&auth=(hidden)&b=2"},
		{"auth=x&auth=y", "auth=(hidden)&auth=(hidden)"},
		{"%61uth=x", "%61uth=(hidden)"},
		{"%61%75%74%68=x", "%61%75%74%68=(hidden)"},
		{"a=1;auth=x", "a=1;auth=(hidden)"},
		{"auth=a=b", "auth=(hidden)"},
		{"auth", "auth"},
		{"auth=", "auth=(hidden)"},
		{"xauth=1&authx=2&a=auth", "xauth=1&authx=2&a=auth"},
		{"%zz=1&auth%zz=2", "%zz=1&auth%zz=2"},
		{"&&auth=x&", "&&auth=(hidden)&"},
	} {
		if got := hideAuth(tc.in); got != tc.want {
			t.Errorf("hideAuth(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// serverLog waits for n entries of the log of s and returns them.
func serverLog(t *testing.T, s *Server, n int) []LogEntry {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	log, err := s.WaitLog(ctx, n)
	if err != nil {
		t.Fatalf("waiting for %d log entries, have %d: %v", n, len(log), err)
	}
	return log
}
