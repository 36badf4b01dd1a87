//go:build !js && !wasip1

package e2e

import (
	"fmt"
	"strings"
	"testing"

	"github.com/go-resumer/resumer/serve/devserver"
	"github.com/go-resumer/resumer/serve/drive"
)

// TestHostileServers runs the browser's download through servers that lie,
// short-change, stall or redirect, on one connection and on four: the
// parts of resumer these exercise in a real browser are fetch's redirects,
// Response.blob() against the stream reader, and the AbortController that
// gives up a stall. Each row checks the fault in the server's log and the
// result by its SHA-256, or the error's code.
func TestHostileServers(t *testing.T) {
	forEngines(t, func(t *testing.T, e drive.Engine) {
		tests := []struct {
			name  string
			cross bool // the file on the page's second origin
			query string
			arm   func(t *testing.T)
			opts  string
			check func(t *testing.T, p *page, u string, r result, log []devserver.LogEntry)
		}{
			{
				// The validators prove the bytes the Content-Range names: the
				// body is cut there (stream reader and Response.blob() alike),
				// its pieces count, and its span is not asked for again.
				name: "one body longer than its Content-Range",
				arm: func(t *testing.T) {
					arm(t, 1, "")
					arm(t, 1, "overrun=5000&rate=4194304")
				},
				opts: `{chunkSize: 2 << 20, flushIntervalMs: 100}`,
				check: func(t *testing.T, p *page, u string, r result, log []devserver.LogEntry) {
					mustSHA(t, r)
					over := overrunOf(t, log)
					for _, e := range log {
						if e.Range == over.Range && e != *over {
							t.Fatalf("the cut span %s was asked for again:\n%s", over.Range, lines(log))
						}
					}
				},
			},
			{
				// On another origin a Content-Encoding may be hidden from the
				// page, and its decoded body would run on: the body's bytes
				// count only once it ended exactly at its Content-Range's end.
				// This one did not: none of it counts, and its span is asked
				// for again.
				name:  "one body longer than its Content-Range, cross-origin",
				cross: true,
				arm: func(t *testing.T) {
					arm(t, 1, "")
					arm(t, 1, "overrun=5000&rate=4194304")
				},
				opts: `{chunkSize: 2 << 20, flushIntervalMs: 100}`,
				check: func(t *testing.T, p *page, u string, r result, log []devserver.LogEntry) {
					mustSHA(t, r)
					over := overrunOf(t, log)
					again := 0
					for _, e := range log {
						if e.Method == "GET" && e.Range == over.Range && !strings.Contains(e.Fault, "overrun") && e.Status == 206 {
							again++
						}
					}
					if again != 1 {
						t.Fatalf("the broken span %s was not asked for again:\n%s", over.Range, lines(log))
					}
				},
			},
			{
				name:  "every 206 shorter than asked",
				query: "cap=300000",
				opts:  `{chunkSize: 2 << 20}`,
				check: func(t *testing.T, p *page, u string, r result, log []devserver.LogEntry) {
					mustSHA(t, r)
					if pr := p.progressOf(u); pr.MaxAttempt != 0 {
						t.Fatalf("backed off after short answers: %+v", pr)
					}
					for _, e := range log {
						if e.Status != 206 || e.ClientGone {
							t.Fatalf("request %s", e.String())
						}
					}
				},
			},
			{
				name:  "unknown total",
				query: "cr=unknown",
				check: func(t *testing.T, p *page, u string, r result, log []devserver.LogEntry) {
					mustSHA(t, r)
					if r.Resumable || r.ReasonCode != "unknown-length" || len(log) != 2 || log[1].Range != "" {
						t.Fatalf("result %+v, requests:\n%s", r, lines(log))
					}
				},
			},
			{
				name:  "a length that overflows",
				query: "cr=overflow",
				opts:  quick,
				check: func(t *testing.T, p *page, u string, r result, log []devserver.LogEntry) {
					if r.Error == nil || r.Error.Code != "bad-response" || len(log) != 3 {
						t.Fatalf("result %+v after %d requests", r, len(log))
					}
				},
			},
			{
				name:  "a stalled body",
				query: "rate=4194304",
				arm: func(t *testing.T) {
					arm(t, 2, "")
					arm(t, 1, "stall=1000000")
				},
				opts: `{stallTimeoutMs: 500, retry: {baseMs: 50}}`,
				check: func(t *testing.T, p *page, u string, r result, log []devserver.LogEntry) {
					mustSHA(t, r)
					stalled := 0
					for _, e := range log {
						if e.Stalled && e.ClientGone {
							stalled++
						}
					}
					if pr := p.progressOf(u); stalled != 1 || !contains(pr.ErrorCodes, "network") {
						t.Fatalf("stalls given up %d, progress %+v:\n%s", stalled, pr, lines(log))
					}
				},
			},
			{
				name:  "a body of unknown length past maxBytes",
				query: "ranges=none&length=none&rate=8388608",
				opts:  `{maxBytes: 4 << 20}`,
				check: func(t *testing.T, p *page, u string, r result, log []devserver.LogEntry) {
					if r.Error == nil || r.Error.Code != "too-large" || len(log) != 1 {
						t.Fatalf("result %+v after %d requests", r, len(log))
					}
				},
			},
			{
				name: "a resume redirected to a login page",
				arm: func(t *testing.T) {
					arm(t, 2, "")
					arm(t, 1, "cut=3000000&"+paced)
					arm(t, 100, "redirect=login")
				},
				opts: quick,
				check: func(t *testing.T, p *page, u string, r result, log []devserver.LogEntry) {
					if r.Error == nil || r.Error.Code != "unexpected-content" || !strings.Contains(r.Error.Message, "text/html") {
						t.Fatalf("result %+v", r)
					}
					if l := p.list(); len(l) != 1 || l[0].Received < 65536 {
						t.Fatalf("list() = %+v; want the stored bytes kept", l)
					}
				},
			},
			{
				// A download that has stored nothing yet is as much a
				// download of a file: the page a redirect led to is not
				// stored, listed, or answered to resumer.fetch.
				name:  "a fresh download redirected to a login page",
				query: "redirect=login",
				check: func(t *testing.T, p *page, u string, r result, log []devserver.LogEntry) {
					if r.Error == nil || r.Error.Code != "unexpected-content" || !strings.Contains(r.Error.Message, "text/html") {
						t.Fatalf("result %+v", r)
					}
					if l := p.list(); len(l) != 0 {
						t.Fatalf("list() = %+v; want nothing stored", l)
					}
					if got := eval[string](p, fmt.Sprintf(`R.response(%q).then((r) => r === undefined ? "none" : "answered " + r.status)`, u)); got != "none" {
						t.Fatalf("response() of the download: %s", got)
					}
				},
			},
			{
				name:  "every request redirected",
				query: "redirect=same",
				check: func(t *testing.T, p *page, u string, r result, log []devserver.LogEntry) {
					mustSHA(t, r)
					targets := gets(t, strings.Replace(u, "redirect=same", "redirected=1", 1), len(log))
					if !r.Resumable || len(targets) != len(log) {
						t.Fatalf("result %+v, requests:\n%s\ntargets:\n%s", r, lines(log), lines(targets))
					}
					for i := range log {
						if log[i].Status != 302 || targets[i].Status != 206 {
							t.Fatalf("requests:\n%s\ntargets:\n%s", lines(log), lines(targets))
						}
					}
				},
			},
		}
		for _, conns := range []string{"1", "4"} {
			for _, tt := range tests {
				t.Run(tt.name+"/"+conns, func(t *testing.T) {
					p := newPage(t, e, "/blank.html")
					if tt.arm != nil {
						tt.arm(t)
					}
					u := fileURL(t, medium, tt.query)
					if tt.cross {
						u = crossURL(t, tt.query)
					}
					opts := tt.opts
					if opts == "" {
						opts = "{}"
					}
					opts = strings.Replace(opts, "{", "{connections: "+conns+", ", 1)
					p.start(u, opts)
					r := p.finish(u)
					tt.check(t, p, u, r, gets(t, u, 1))
				})
			}
		}
	})
}

// overrunOf returns the one request of log whose body ran on (overrun=).
func overrunOf(t *testing.T, log []devserver.LogEntry) *devserver.LogEntry {
	t.Helper()
	var over *devserver.LogEntry
	for i := range log {
		if strings.Contains(log[i].Fault, "overrun") {
			if over != nil {
				t.Fatalf("two overruns:\n%s", lines(log))
			}
			over = &log[i]
		}
	}
	if over == nil {
		t.Fatalf("no overrun:\n%s", lines(log))
	}
	return over
}
