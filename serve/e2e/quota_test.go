//go:build !js && !wasip1

package e2e

import (
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-resumer/resumer/serve/drive"
)

// setQuota overrides the storage quota of an origin, where the engine can
// (Chromium, through the DevTools protocol); 0 restores the browser's own.
func setQuota(t *testing.T, p *page, origin string, bytes int64) {
	t.Helper()
	q, ok := p.tab.(drive.QuotaSetter)
	if !ok {
		t.Fatalf("%s cannot override a quota", p.e)
	}
	if err := q.SetQuota(p.ctx, origin, bytes); err != nil {
		t.Fatal(err)
	}
}

// stubEstimateJS makes navigator.storage.estimate() report window.__quota
// as the quota while it is set. The DevTools quota override makes the
// browser refuse writes past it, but estimate() does not reflect it; the
// stub makes estimate() tell what a really full disk would.
const stubEstimateJS = `(() => {
  const real = navigator.storage.estimate.bind(navigator.storage);
  window.__quota = null;
  window.__estimates = 0;
  navigator.storage.estimate = async () => {
    window.__estimates++;
    const e = await real();
    return window.__quota == null ? e : { usage: e.usage, quota: window.__quota };
  };
  return true;
})()`

type estimate struct {
	Usage float64 `json:"usage"`
	Quota float64 `json:"quota"`
}

func (p *page) estimate() estimate {
	return eval[estimate](p, "navigator.storage.estimate().then(e => ({usage: e.usage, quota: e.quota}))")
}

func TestQuota(t *testing.T) {
	forEngines(t, func(t *testing.T, e drive.Engine) {
		t.Run("too big to fit fails at once with the numbers", func(t *testing.T) {
			p := newPage(t, e, "/blank.html")
			if !eval[bool](p, "!!(navigator.storage && navigator.storage.estimate)") {
				// No StorageManager (WebKitGTK): no precheck, resumer
				// finds out by storing. The fallback is that nothing
				// fails for want of an estimate.
				t.Logf("%s has no navigator.storage.estimate: no precheck", e)
				u := fileURL(t, medium, "")
				p.start(u, "")
				mustSHA(t, p.finish(u))
				return
			}
			eval[bool](p, stubEstimateJS)
			eval[any](p, "window.__quota = "+ftoa(p.estimate().Usage+2<<20))
			u := fileURL(t, medium, "")
			p.start(u, "")
			r := p.finish(u)
			if r.Error == nil || r.Error.Code != "quota-exceeded" || !strings.Contains(r.Error.Message, "needs 8388608 more bytes") {
				t.Fatalf("result %+v; want quota-exceeded naming the 8388608 bytes needed", r)
			}
			if n := eval[int](p, "T.chunks("+quote(p.db)+")"); n != 0 {
				t.Fatalf("%d chunks stored before failing", n)
			}
		})
		t.Run("storage full mid-download pauses, keeps bytes, resumes when freed", func(t *testing.T) {
			// Filling the storage takes an engine whose quota can be made
			// small: Chromium's DevTools override.
			onlyIn(t, e, "no way to make its quota small from a test", drive.Chromium)
			// Chromium applies a quota override only to an origin that has not
			// written yet: serve this test from an origin of its own.
			origin := freshOrigin(t)
			p := openPage(t, e, origin+"/blank.html")
			eval[bool](p, stubEstimateJS)
			t.Cleanup(func() { setQuota(t, p, origin, 0) })
			// The browser will refuse writes past 3 MiB, while the estimate
			// says the file fits: the storage fills up mid-download.
			setQuota(t, p, origin, 3<<20)
			u := strings.Replace(fileURL(t, medium, rate), env.base, origin, 1)
			p.start(u, slowOpts)
			// Something else takes the space meanwhile: the estimate drops too.
			p.waitStored(u, 2<<20)
			eval[any](p, "navigator.storage.estimate().then(e => { window.__quota = e.usage + 1e5; })")
			pr := p.until(u, `s.state === "paused" || s.state === "done" || s.state === "failed"`)
			if pr.State != "paused" {
				t.Fatalf("never paused: %+v", pr)
			}
			if !contains(pr.ErrorCodes, "quota-exceeded") {
				t.Fatalf("paused without quota-exceeded: %+v", pr)
			}
			l := p.list()
			if len(l) != 1 || l[0].State != "paused" || l[0].Received < 2<<20 || l[0].Received > 3<<20 {
				t.Fatalf("list() while full = %+v; want the 2-3 MiB stored kept", l)
			}
			held := l[0].Received
			// The paused download asks for an estimate again every 5 s; the
			// same estimate that let the storage fill up must not resume it.
			asked := eval[int](p, "window.__estimates")
			eval[bool](p, fmt.Sprintf(`(async () => { const t = Date.now(); while (window.__estimates < %d + 2) { if (Date.now() - t > 20000) throw new Error("no recheck"); await new Promise((r) => setTimeout(r, 20)); } return true; })()`, asked))
			if pr := p.progressOf(u); pr.State != "paused" {
				t.Fatalf("resumed while still full: %+v", pr)
			}
			// Space is freed: the download resumes by itself.
			setQuota(t, p, origin, 0)
			freed := time.Now()
			eval[any](p, "window.__quota = null")
			r := p.finish(u)
			mustSHA(t, r)
			after := since(devReqs(gets(t, u, 2)), freed)
			if len(after) == 0 || after[0].Start != held || after[0].IfRange == "" {
				t.Fatalf("resumed with %+v; want from %d with If-Range", after, held)
			}
		})
	})
}

func ftoa(f float64) string { return strconv.FormatFloat(f, 'f', 0, 64) }

// freshOrigin serves the dev server on a new port: an origin with no stored
// data yet.
func freshOrigin(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: env.srv.Handler(), ConnContext: env.srv.ConnContext}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })
	return "http://" + ln.Addr().String()
}
