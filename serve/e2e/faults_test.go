//go:build !js && !wasip1

package e2e

import (
	"net/url"
	"strings"
	"testing"

	"github.com/go-resumer/resumer/serve/devserver"
	"github.com/go-resumer/resumer/serve/drive"
)

// quick retries keep the fault tests short; the policy is an option.
const quick = `{retry: {baseMs: 50, maxMs: 200, attempts: 3}}`

// paced goes with every cut= in these tests. The server cuts with a reset:
// bytes the client has not yet read from its socket are lost with it. On
// loopback an unpaced server fills the socket in microseconds, and whether
// the browser read the bytes before the reset is a race; paced, the
// browser reads them as they come, and what it received is what the test
// can expect to be kept.
const paced = "rate=16777216"

// arm queues faults for the next requests of the medium file.
func arm(t *testing.T, times int, query string) {
	t.Helper()
	v, err := url.ParseQuery(query)
	if err != nil {
		t.Fatal(err)
	}
	if err := env.srv.Arm(medium, times, v); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(env.srv.Disarm)
}

// TestFaults runs one download per misbehaviour of the dev server, in the
// browser. Each row checks in the server's log that the fault happened, and
// that the result is right (SHA-256) or the failure has the expected code
// with stored bytes intact.
func TestFaults(t *testing.T) {
	forEngines(t, func(t *testing.T, e drive.Engine) {
		tests := []struct {
			name  string
			query string
			arm   func(t *testing.T)
			opts  string
			check func(t *testing.T, p *page, u string, r result, log []devserver.LogEntry)
		}{
			{
				name: "connection cut keeps the bytes received inside the chunk",
				// 4 MiB/s: the 8 MiB cell after the probe takes longer than
				// flushIntervalMs, so its body is streamed and stored piece by
				// piece; the cut keeps what arrived.
				query: "rate=4194304",
				arm: func(t *testing.T) {
					arm(t, 2, "") // the probe and the first cell
					arm(t, 1, "cut=3000000")
				},
				opts: `{retry: {baseMs: 50}}`,
				check: func(t *testing.T, p *page, u string, r result, log []devserver.LogEntry) {
					mustSHA(t, r)
					const at = 1 << 20 // the cell [1 MiB, 8 MiB)
					if !log[2].Cut || log[2].Sent != 3000000 || log[2].Start != at {
						t.Fatalf("not cut at 3000000: %+v", log[2])
					}
					t.Logf("cut after 3000000 bytes, resumed from %d", log[3].Start)
					if log[3].Start < at+2000000 || log[3].Start > at+3000000 || log[3].IfRange == "" {
						t.Fatalf("resumed from %d; want close to the cut at %d, with If-Range", log[3].Start, at+3000000)
					}
				},
			},
			{
				name:  "503 with Retry-After, twice",
				query: "status=503&retry-after=1&fail=2",
				opts:  `{retry: {baseMs: 50, attempts: 4}}`,
				check: func(t *testing.T, p *page, u string, r result, log []devserver.LogEntry) {
					mustSHA(t, r)
					if len(log) != 5 || log[0].Status != 503 || log[1].Status != 503 || log[2].Status != 206 || log[2].Range != "bytes=0-65535" {
						t.Fatalf("statuses %v", statuses(log))
					}
					// Retry-After (1 s) wins over the 50 ms backoff.
					if gap := log[1].Time.Sub(log[0].Time); gap < 900e6 {
						t.Fatalf("retried after %v, before Retry-After", gap)
					}
					pr := p.progressOf(u)
					if pr.MaxAttempt != 2 || !pr.SawRetryAt || !contains(pr.ErrorCodes, "http-status") {
						t.Fatalf("progress did not report the retries: %+v", pr)
					}
				},
			},
			{
				name:  "429 then fine",
				query: "status=429&fail=1",
				opts:  quick,
				check: func(t *testing.T, p *page, u string, r result, log []devserver.LogEntry) {
					mustSHA(t, r)
					if len(log) != 4 || log[0].Status != 429 || log[1].Status != 206 {
						t.Fatalf("statuses %v", statuses(log))
					}
				},
			},
			{
				name:  "403 is not retried",
				query: "status=403",
				opts:  quick,
				check: func(t *testing.T, p *page, u string, r result, log []devserver.LogEntry) {
					if r.Error == nil || r.Error.Code != "http-status" || r.Error.Status != 403 || len(log) != 1 {
						t.Fatalf("result %+v after %d requests", r, len(log))
					}
				},
			},
			{
				name:  "server without range support, interrupted",
				query: "ranges=none",
				arm:   func(t *testing.T) { arm(t, 1, "cut=3000000&"+paced) },
				opts:  quick,
				check: func(t *testing.T, p *page, u string, r result, log []devserver.LogEntry) {
					mustSHA(t, r)
					if r.Resumable || r.ReasonCode != "no-ranges" {
						t.Fatalf("resumable %v, reason %s", r.Resumable, r.ReasonCode)
					}
					if log[0].Status != 200 || !log[0].Cut || log[1].Range != "" || log[1].Status != 200 || log[1].Sent != mediumSize {
						t.Fatalf("requests %v", log)
					}
				},
			},
			{
				name:  "weak ETag only",
				query: "validators=weak",
				check: func(t *testing.T, p *page, u string, r result, log []devserver.LogEntry) {
					mustSHA(t, r)
					if r.Resumable || r.ReasonCode != "weak-etag" || !strings.HasPrefix(log[0].ETag, "W/") {
						t.Fatalf("result %+v, ETag %s", r, log[0].ETag)
					}
				},
			},
			{
				name:  "Last-Modified within the second of Date",
				query: "validators=lm&lm=now",
				check: func(t *testing.T, p *page, u string, r result, log []devserver.LogEntry) {
					mustSHA(t, r)
					if r.Resumable || r.ReasonCode != "weak-last-modified" {
						t.Fatalf("result %+v", r)
					}
				},
			},
			{
				name: "file changes and the server ignores If-Range",
				arm: func(t *testing.T) {
					arm(t, 2, "")
					arm(t, 1, "change=2000000&cut=3000000&"+paced)
					arm(t, 1, "ifrange=ignore")
				},
				opts: quick,
				check: func(t *testing.T, p *page, u string, r result, log []devserver.LogEntry) {
					mustSHA(t, r) // the new version
					if r.Restarts != 1 {
						t.Fatalf("restarts %d", r.Restarts)
					}
					// The resume got a 206 of the new version: its ETag gave it
					// away, nothing of it was appended, and the download
					// started over with a probe.
					if !log[2].Cut || log[3].Status != 206 || log[3].ETag == log[0].ETag || log[3].IfRange != log[0].ETag || log[4].Range != "bytes=0-65535" {
						t.Fatalf("requests %v", log)
					}
				},
			},
			{
				name: "Content-Range that does not match is never stored",
				arm:  func(t *testing.T) { arm(t, 3, "cr=shift") },
				opts: quick,
				check: func(t *testing.T, p *page, u string, r result, log []devserver.LogEntry) {
					if r.Error == nil || r.Error.Code != "bad-response" || len(log) != 3 {
						t.Fatalf("result %+v after %d requests", r, len(log))
					}
					if n := eval[int](p, "T.chunks("+quote(p.db)+")"); n != 0 {
						t.Fatalf("%d chunks of inconsistent responses stored", n)
					}
				},
			},
			{
				name:  "Content-Range missing on resume keeps what is stored",
				query: "rate=4194304",
				arm: func(t *testing.T) {
					arm(t, 2, "")
					arm(t, 1, "cut=3000000")
					arm(t, 3, "cr=missing")
				},
				opts: `{flushIntervalMs: 100, retry: {baseMs: 50, attempts: 3}}`,
				check: func(t *testing.T, p *page, u string, r result, log []devserver.LogEntry) {
					if r.Error == nil || r.Error.Code != "bad-response" {
						t.Fatalf("result %+v", r)
					}
					const at = 1 << 20
					l := p.list()
					if len(l) != 1 || l[0].Received < at+2000000 || l[0].Received > at+3000000 {
						t.Fatalf("list() = %+v; want the bytes before the cut still stored", l)
					}
				},
			},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				p := newPage(t, e, "/blank.html")
				if tt.arm != nil {
					tt.arm(t)
				}
				u := fileURL(t, medium, tt.query)
				p.start(u, tt.opts)
				r := p.finish(u)
				tt.check(t, p, u, r, gets(t, u, 1))
			})
		}
	})
}

func mustSHA(t *testing.T, r result) {
	t.Helper()
	if r.Error != nil {
		t.Fatalf("download failed: %+v", *r.Error)
	}
	if want := fileSHA(t, medium); r.SHA != want {
		t.Fatalf("sha %s, want %s", r.SHA, want)
	}
}

func statuses(log []devserver.LogEntry) []int {
	var s []int
	for _, e := range log {
		s = append(s, e.Status)
	}
	return s
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
