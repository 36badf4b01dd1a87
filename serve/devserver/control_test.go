//go:build !js && !wasip1

package devserver

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// post sends a POST to the control API, with the token, and decodes the
// JSON answer.
func (e *env) post(t *testing.T, target string) (int, map[string]any) {
	t.Helper()
	resp, body, err := e.do(t, http.MethodPost, target, map[string]string{ControlHeader: e.s.ControlToken()})
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("POST %s: %v in %q", target, err, body)
	}
	return resp.StatusCode, v
}

func TestArm(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	if err := e.s.Arm("a.bin", 2, url.Values{"cut": {"10"}}); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		_, body, err := e.do(t, http.MethodGet, "/files/a.bin", nil)
		if err == nil || len(body) != 10 {
			t.Errorf("armed request %d: %d bytes, err %v; want cut after 10", i+1, len(body), err)
		}
	}
	if _, body := e.get(t, "/files/a.bin", nil); len(body) != aSize {
		t.Errorf("third request: %d bytes, want the whole file (arm spent)", len(body))
	}
	log := e.entries(t, 3)
	if !log[0].Cut || log[0].Sent != 10 || !strings.Contains(log[0].Fault, "cut=10 (armed)") || log[2].Cut || log[2].Fault != "" {
		t.Errorf("log %+v", log)
	}
}

// TestArmMergesWithQuery: armed faults add to the query's and win on the
// same key; preflights see them without spending them.
func TestArmMergesWithQuery(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	if err := e.s.Arm("a.bin", 1, url.Values{"cors": {"noifrange"}, "validators": {"etag"}}); err != nil {
		t.Fatal(err)
	}
	resp, _, _ := e.do(t, http.MethodOptions, "/files/a.bin", map[string]string{"Origin": "http://x.test", "Access-Control-Request-Method": "GET"})
	if got := resp.Header.Get("Access-Control-Allow-Headers"); got != "Range" {
		t.Errorf("preflight Allow-Headers %q, want Range (armed cors=noifrange)", got)
	}
	resp, _ = e.get(t, "/files/a.bin?validators=none&cr=missing", map[string]string{"Range": "bytes=0-9"})
	checkHeaders(t, resp.Header, map[string]string{"Content-Range": "", "Last-Modified": ""})
	if resp.StatusCode != 206 || resp.Header.Get("ETag") == "" {
		t.Errorf("status %d ETag %q: want 206 with an ETag (armed validators=etag beats the query's none)", resp.StatusCode, resp.Header.Get("ETag"))
	}
	resp, _ = e.get(t, "/files/a.bin", nil)
	if resp.Header.Get("Last-Modified") == "" {
		t.Errorf("arm not spent after one GET")
	}
}

func TestArmErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, tc := range []struct {
		name  string
		times int
		v     url.Values
	}{
		{"../a.bin", 1, url.Values{"cut": {"1"}}},
		{"a.bin", 0, url.Values{"cut": {"1"}}},
		{"a.bin", 1, url.Values{"bogus": {"1"}}},
		{"a.bin", 1, url.Values{"cut": {"-1"}}},
		{"a.bin", 1, url.Values{"retry-after": {"5"}}},
		{"a.bin", 1, url.Values{"overrun": {"0"}}},
		{"a.bin", 1, url.Values{"cap": {"none"}}},
		{"a.bin", 1, url.Values{"cr": {"star"}}},
		{"a.bin", 1, url.Values{"stall": {"soon"}}},
		{"a.bin", 1, url.Values{"stall": {"1"}, "cut": {"2"}}},
		{"a.bin", 1, url.Values{"length": {"0"}}},
		{"a.bin", 1, url.Values{"type": {""}}},
		{"a.bin", 1, url.Values{"redirect": {"file:../x"}}},
		{"a.bin", 1, url.Values{"redirect": {"login"}, "status": {"500"}}},
		{"a.bin", 1, url.Values{"redirected": {"1"}}}, // a cache buster, not a fault
	} {
		if err := e.s.Arm(tc.name, tc.times, tc.v); err == nil {
			t.Errorf("Arm(%q, %d, %v): no error", tc.name, tc.times, tc.v)
		}
	}
}

func TestControlAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	oldTag, _ := e.validators(t, "a.bin")

	code, v := e.post(t, "/_control/change?file=a.bin")
	newTag, _ := e.validators(t, "a.bin")
	if code != 200 || v["etag"] != newTag || newTag == oldTag {
		t.Errorf("change: %d %v; want 200 with the new ETag %s (old %s)", code, v, newTag, oldTag)
	}
	if code, _ := e.post(t, "/_control/change?file=nope.bin"); code != 403 {
		t.Errorf("change of a file that is no sample: %d, want 403", code)
	}
	if code, _ := e.post(t, "/_control/change?file=../x"); code != 400 {
		t.Errorf("change of ../x: %d, want 400", code)
	}
	if code, _ := e.post(t, "/_control/arm?file=a.bin&bogus=1"); code != 400 {
		t.Errorf("arm with an unknown key: %d, want 400", code)
	}
	if code, _ := e.post(t, "/_control/arm?file=a.bin&cut=5&times=1"); code != 200 {
		t.Fatalf("arm: %d, want 200", code)
	}
	if _, body, err := e.do(t, http.MethodGet, "/files/a.bin", nil); err == nil || len(body) != 5 {
		t.Errorf("armed over the API: %d bytes, err %v; want a cut after 5", len(body), err)
	}
	if resp, _ := e.get(t, "/_control/change?file=a.bin", map[string]string{ControlHeader: e.s.ControlToken()}); resp.StatusCode != 405 {
		t.Errorf("GET on change: %d, want 405", resp.StatusCode)
	}

	// The log, waiting for an entry that arrives later.
	done := make(chan []LogEntry)
	go func() {
		req, _ := http.NewRequest(http.MethodGet, e.ts.URL+"/_control/log?wait=2&timeout=5s", nil)
		req.Header.Set(ControlHeader, e.s.ControlToken())
		resp, err := e.client.Do(req)
		if err != nil {
			done <- nil
			return
		}
		defer resp.Body.Close()
		var log []LogEntry
		json.NewDecoder(resp.Body).Decode(&log)
		done <- log
	}()
	// Whether the entry comes before or after the log request starts,
	// wait=2 answers both entries.
	e.get(t, "/files/a.bin?validators=lm", nil)
	log := <-done
	if len(log) != 2 || !log[0].Cut || log[0].Sent != 5 || log[1].Query != "validators=lm" || log[1].Sent != aSize {
		t.Errorf("log over the API: %+v", log)
	}

	if code, _ := e.post(t, "/_control/arm?file=a.bin&status=500"); code != 200 {
		t.Fatalf("arm: %d", code)
	}
	if code, _ := e.post(t, "/_control/reset"); code != 200 {
		t.Fatalf("reset: %d", code)
	}
	if len(e.s.Log()) != 0 {
		t.Errorf("log not empty after reset")
	}
	if resp, _ := e.get(t, "/files/a.bin", nil); resp.StatusCode != 200 {
		t.Errorf("after reset: status %d, want 200 (armed fault dropped)", resp.StatusCode)
	}
}

// TestArmNewFaults: the header and body faults added for hostile servers
// can be armed like the others, over the API too, and combine.
func TestArmNewFaults(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	if code, v := e.post(t, "/_control/arm?file=a.bin&cap=10&length=none&type=text%2Fhtml&cr=unknown"); code != 200 {
		t.Fatalf("arm: %d %v", code, v)
	}
	if err := e.s.Arm("a.bin", 1, url.Values{"overrun": {"3"}}); err != nil {
		t.Fatal(err)
	}
	resp, body := e.get(t, "/files/a.bin", map[string]string{"Range": "bytes=100-"})
	checkHeaders(t, resp.Header, map[string]string{"Content-Range": "bytes 100-109/*", "Content-Length": "", "Content-Type": "text/html"})
	if resp.StatusCode != 206 || !bytes.Equal(body, e.file(t, "a.bin")[100:110]) {
		t.Errorf("status %d, %d bytes: want 206 with bytes 100-109", resp.StatusCode, len(body))
	}
	_, body = e.get(t, "/files/a.bin", map[string]string{"Range": "bytes=0-9"})
	if want := overrunBody(0, 10, 3)(e.file(t, "a.bin")); !bytes.Equal(body, want) {
		t.Errorf("second armed set: %x, want %x", body, want)
	}
	log := e.entries(t, 2)
	if !strings.Contains(log[0].Fault, "cap=10 (armed)") || !strings.Contains(log[0].Fault, "range capped") || log[0].Range != "bytes=100-" {
		t.Errorf("first entry %+v", log[0])
	}
	if !strings.Contains(log[1].Fault, "overrun=3 (armed)") || log[1].Sent != 13 {
		t.Errorf("second entry %+v", log[1])
	}
	if code, _ := e.post(t, "/_control/arm?file=a.bin&stall=1&cut=1"); code != 400 {
		t.Errorf("arm stall with cut: %d, want 400", code)
	}
	if code, _ := e.post(t, "/_control/arm?file=a.bin&redirect=nowhere"); code != 400 {
		t.Errorf("arm redirect=nowhere: %d, want 400", code)
	}
}

// TestArmNotSpentByBadRequest: a request refused for its own malformed
// query does not use up an armed fault meant for the next real request.
func TestArmNotSpentByBadRequest(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	if err := e.s.Arm("a.bin", 1, url.Values{"status": {"503"}}); err != nil {
		t.Fatal(err)
	}
	if resp, _ := e.get(t, "/files/a.bin?rate=fast", nil); resp.StatusCode != 400 {
		t.Fatalf("malformed query: status %d, want 400", resp.StatusCode)
	}
	for _, want := range []int{503, 200} {
		if resp, _ := e.get(t, "/files/a.bin", nil); resp.StatusCode != want {
			t.Errorf("status %d, want %d", resp.StatusCode, want)
		}
	}
}
