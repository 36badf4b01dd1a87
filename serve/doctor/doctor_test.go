//go:build !js

package doctor_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-resumer/resumer/serve/devserver"
	"github.com/go-resumer/resumer/serve/doctor"
	"github.com/go-resumer/resumer/wasm/protocol"
)

type fixture struct {
	srv  *devserver.Server
	base string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	// A sparse 512 MiB file: a check must cost a few KiB of it, not more.
	big, err := os.Create(filepath.Join(dir, "big.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if err := big.Truncate(512 << 20); err != nil {
		t.Fatal(err)
	}
	big.Close()
	// A second older than now: Last-Modified is then a strong validator.
	old := time.Now().Add(-time.Hour)
	os.Chtimes(big.Name(), old, old)
	srv, err := devserver.New(devserver.Config{DataDir: dir, Samples: []devserver.Sample{{Name: "f.bin", Size: 1 << 20}}})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewUnstartedServer(srv.Handler())
	hs.Listener = wanBuffers{hs.Listener}
	hs.Start()
	t.Cleanup(func() {
		srv.Close()
		hs.Close()
	})
	return &fixture{srv: srv, base: hs.URL}
}

// wanBuffers gives the server's connections the send buffer Linux starts a
// connection over a 1500-byte MTU with (twice ten segments): on loopback
// it sizes it from a 64 KiB MSS instead, about 1.3 MB, so that a server
// hands the kernel that much of an answer the client closes at once, which
// no network link would carry before the close arrives. The log's Sent
// then counts what a check costs over a network.
type wanBuffers struct{ net.Listener }

func (l wanBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetWriteBuffer(2 * 10 * 1460)
	}
	return c, err
}

// sent returns what the server sent for the requests of path, once none
// is in flight.
func (f *fixture) sent(t *testing.T, path string) (n int, bytes int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	log, err := f.srv.WaitIdle(ctx, func(p, _ string) bool { return p == path })
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range log {
		if e.Path == path {
			n++
			bytes += e.Sent
		}
	}
	return n, bytes
}

// faultCase is one of the dev server's fault modes that bear on resuming,
// and what a check of it must say.
type faultCase struct {
	query   string
	origin  string
	browser protocol.BrowserVerdict
	exit    int
	ios     bool
	want    map[string]protocol.Verdict
}

// other is the origin of a cross-origin check.
const other = "http://app.example"

// faultCases are the modes TestCheckDevServerFaults checks.
var faultCases = []faultCase{
	{"", "", protocol.Resumable, 0, true, map[string]protocol.Verdict{
		protocol.FindingRanges: protocol.VerdictOK, protocol.FindingValidators: protocol.VerdictOK,
		protocol.FindingIfRange: protocol.VerdictOK, protocol.FindingStale: protocol.VerdictOK,
		protocol.FindingIfMatch: protocol.VerdictOK, protocol.FindingCompression: protocol.VerdictOK,
		protocol.FindingAcceptRanges: protocol.VerdictOK}},
	{"validators=none", "", protocol.NotResumable, 1, false, map[string]protocol.Verdict{
		protocol.FindingRanges: protocol.VerdictOK, protocol.FindingValidators: protocol.VerdictBlocks}},
	{"validators=weak", "", protocol.NotResumable, 1, true, map[string]protocol.Verdict{protocol.FindingValidators: protocol.VerdictBlocks}},
	{"validators=etag", "", protocol.Resumable, 0, true, map[string]protocol.Verdict{protocol.FindingValidators: protocol.VerdictOK}},
	{"validators=lm&lm=now", "", protocol.NotResumable, 1, true, map[string]protocol.Verdict{protocol.FindingValidators: protocol.VerdictBlocks}},
	{"ranges=none", "", protocol.NotResumable, 1, false, map[string]protocol.Verdict{protocol.FindingRanges: protocol.VerdictBlocks}},
	{"ifrange=ignore", "", protocol.Resumable, 0, true, map[string]protocol.Verdict{
		protocol.FindingIfRange: protocol.VerdictOK, protocol.FindingStale: protocol.VerdictWarning}},
	{"cr=shift", "", protocol.NotResumable, 1, false, map[string]protocol.Verdict{protocol.FindingRanges: protocol.VerdictBlocks}},
	{"cr=unknown", "", protocol.NotResumable, 1, false, map[string]protocol.Verdict{protocol.FindingRanges: protocol.VerdictBlocks}},
	{"status=404", "", protocol.NotChecked, 2, false, map[string]protocol.Verdict{protocol.FindingReachable: protocol.VerdictBlocks}},
	{"auth=secret", "", protocol.NotChecked, 2, false, map[string]protocol.Verdict{protocol.FindingReachable: protocol.VerdictBlocks}},
	{"redirect=same", "", protocol.Resumable, 0, true, map[string]protocol.Verdict{protocol.FindingRedirect: protocol.VerdictOK}},
	{"redirect=login", "", protocol.NotResumable, 1, false, map[string]protocol.Verdict{
		protocol.FindingRedirect: protocol.VerdictWarning, protocol.FindingRanges: protocol.VerdictBlocks}},
	{"validators=etag&etag=abc", "", protocol.NotResumable, 1, true, map[string]protocol.Verdict{protocol.FindingValidators: protocol.VerdictBlocks}},
	{"cr=total", "", protocol.NotResumable, 1, false, map[string]protocol.Verdict{protocol.FindingRanges: protocol.VerdictBlocks}},
	{"cr=missing", "", protocol.NotResumable, 1, false, map[string]protocol.Verdict{protocol.FindingRanges: protocol.VerdictBlocks}},
	{"cr=overflow", "", protocol.NotResumable, 1, false, map[string]protocol.Verdict{protocol.FindingRanges: protocol.VerdictBlocks}},
	{"cr=hugetotal", "", protocol.NotResumable, 1, false, map[string]protocol.Verdict{protocol.FindingRanges: protocol.VerdictBlocks}},
	{"type=text/html", "", protocol.Resumable, 0, true, map[string]protocol.Verdict{protocol.FindingReachable: protocol.VerdictWarning}},
	{"length=none", "", protocol.Resumable, 0, true, map[string]protocol.Verdict{protocol.FindingRanges: protocol.VerdictOK}},
	{"cap=8", "", protocol.Resumable, 0, true, map[string]protocol.Verdict{protocol.FindingIfRange: protocol.VerdictOK}},
	{"status=503&retry-after=1", "", protocol.NotChecked, 2, false, map[string]protocol.Verdict{protocol.FindingReachable: protocol.VerdictBlocks}},
	{"status=503&fail=1", "", protocol.Resumable, 0, true, map[string]protocol.Verdict{protocol.FindingRanges: protocol.VerdictOK}},
	{"redirect=file:f.bin", "", protocol.Resumable, 0, true, map[string]protocol.Verdict{protocol.FindingRedirect: protocol.VerdictOK}},
	// Not here: the faults of a body (rate, overrun, cut, stall,
	// change, digest), which a check never reads; downloads meet
	// them (wasm/resumer TestHostileServers, TestIntegrity), and
	// validators=lm, whose date is strong or not by the second the
	// sample was written in.
	{"", other, protocol.Resumable, 0, true, map[string]protocol.Verdict{protocol.FindingCORS: protocol.VerdictOK}},
	{"cors=noexpose", other, protocol.ResumableSameOrigin, 1, true, map[string]protocol.Verdict{protocol.FindingCORS: protocol.VerdictBlocks}},
	{"cors=none", other, protocol.ResumableSameOrigin, 1, true, map[string]protocol.Verdict{protocol.FindingCORS: protocol.VerdictBlocks}},
	{"cors=noifrange", other, protocol.Resumable, 0, true, map[string]protocol.Verdict{protocol.FindingCORS: protocol.VerdictWarning}},
}

// TestCheckDevServerFaults runs the check against each of the dev server's
// fault modes that bear on resuming: the verdict, the exit status and the
// findings that decide.
func TestCheckDevServerFaults(t *testing.T) {
	f := newFixture(t)
	for _, tt := range faultCases {
		checkFault(t, f, tt, doctor.Options{Origin: tt.origin})
	}
}

// TestCheckOverTransport: the same checks through the dev server's
// in-process transport, with no socket, reach the same verdicts.
func TestCheckOverTransport(t *testing.T) {
	f := newFixture(t)
	f.base = "http://devserver.test"
	for _, tt := range faultCases {
		checkFault(t, f, tt, doctor.Options{Origin: tt.origin, Transport: f.srv.Transport()})
	}
}

// checkFault checks one fault mode with opts.
func checkFault(t *testing.T, f *fixture, tt faultCase, opts doctor.Options) {
	name := tt.query
	if tt.origin != "" {
		name += " from " + tt.origin
	}
	t.Run(name, func(t *testing.T) {
		u := f.base + "/files/f.bin?" + tt.query
		res, err := doctor.Check(context.Background(), u, opts)
		if err != nil {
			t.Fatal(err)
		}
		var text bytes.Buffer
		if err := res.WriteText(&text); err != nil {
			t.Fatal(err)
		}
		if res.Browser != tt.browser || res.Exit() != tt.exit || res.IOS != tt.ios {
			t.Errorf("browser %q, exit %d, iOS %v; want %q, %d, %v\n%s", res.Browser, res.Exit(), res.IOS, tt.browser, tt.exit, tt.ios, text.String())
		}
		got := map[string]protocol.Verdict{}
		for _, fd := range res.Findings {
			got[fd.ID] = fd.Verdict
		}
		for id, v := range tt.want {
			if got[id] != v {
				t.Errorf("finding %s: %q, want %q\n%s", id, got[id], v, text.String())
			}
		}
		// The report's last two lines: the verdict for browsers, and
		// iOS on a line of its own.
		lines := strings.Split(strings.TrimSpace(text.String()), "\n")
		if n := len(lines); n < 2 || !strings.HasPrefix(lines[n-2], "browsers: "+string(tt.browser)) || !strings.HasPrefix(lines[n-1], "iOS URLSession resume data: ") {
			t.Errorf("report ends:\n%s", strings.Join(lines[max(0, len(lines)-2):], "\n"))
		}
		// The faults the check was about were applied by the server.
		if tt.query != "" {
			log := f.srv.Log()
			faulted := false
			for _, e := range log {
				faulted = faulted || (e.Query == strings.ReplaceAll(tt.query, "auth=secret", "auth=(hidden)") && e.Fault != "") || (strings.HasPrefix(tt.query, "redirect=") && e.Status == 302)
			}
			if !faulted && !strings.HasPrefix(tt.query, "validators=etag") {
				t.Errorf("no request of %q had a fault applied", tt.query)
			}
		}
	})
}

// TestCheckCostsLittle: a check of a 512 MiB file transfers less than
// 64 KiB, even when the server answers every range with the whole file
// (the check closes the connection after the headers).
func TestCheckCostsLittle(t *testing.T) {
	f := newFixture(t)
	for _, q := range []string{"", "ranges=none", "ifrange=ignore"} {
		t.Run(q, func(t *testing.T) {
			f.srv.ResetLog()
			u := f.base + "/files/big.bin?" + q
			res, err := doctor.Check(context.Background(), u, doctor.Options{})
			if err != nil {
				t.Fatal(err)
			}
			n, sent := f.sent(t, "/files/big.bin")
			if n < 2 || sent >= 64<<10 {
				t.Fatalf("%d requests, %d bytes sent; want less than 64 KiB (verdict %q)", n, sent, res.Browser)
			}
			t.Logf("%s: %d requests, %d bytes sent, verdict %q", q, n, sent, res.Browser)
		})
	}
}

// TestCheckJSON: --json's form of a report holds the findings and the
// verdicts under stable names.
func TestCheckJSON(t *testing.T) {
	f := newFixture(t)
	res, err := doctor.Check(context.Background(), f.base+"/files/f.bin?validators=none", doctor.Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	var back struct {
		URL      string `json:"url"`
		Browser  string `json:"browser"`
		IOS      *bool  `json:"ios"`
		Findings []struct {
			ID, Verdict, Text string
			Fix               []struct{ Server, Text string }
		} `json:"findings"`
	}
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	var blocks []string
	for _, fd := range back.Findings {
		if fd.Verdict == "blocks" {
			blocks = append(blocks, fd.ID)
			if len(fd.Fix) == 0 || fd.Fix[0].Server == "" {
				t.Errorf("finding %s has no fix in JSON: %s", fd.ID, b)
			}
		}
	}
	if back.Browser != "not resumable" || back.IOS == nil || *back.IOS || len(blocks) != 1 || blocks[0] != "validators" {
		t.Fatalf("JSON %s", b)
	}
	if _, err := url.Parse(back.URL); err != nil || back.URL == "" {
		t.Fatalf("url %q", back.URL)
	}
}
