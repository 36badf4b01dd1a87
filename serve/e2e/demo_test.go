//go:build !js && !wasip1

package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/go-resumer/resumer/serve/chrome"
)

type demoRow struct {
	State    string `json:"state"`
	Text     string `json:"text"`
	SHA      string `json:"sha"`
	Received int64  `json:"received"`
}

// demoRowJS reads the demo's row of a URL: its state, its text, and the
// SHA-256 of the finished file once there is one.
const demoRowJS = `(async (u) => {
  const r = window.demo && window.demo.rows.get(u);
  if (!r) return { state: "", text: "", sha: "", received: 0 };
  let sha = "";
  if (r.result) {
    const h = await crypto.subtle.digest("SHA-256", await r.result.blob.arrayBuffer());
    sha = [...new Uint8Array(h)].map((b) => b.toString(16).padStart(2, "0")).join("");
  }
  return { state: r.el.dataset.state || "", text: r.el.innerText, sha, received: (r.progress && r.progress.stored) || 0 };
})(%q)`

func demoState(t *testing.T, p *page, u string) demoRow {
	t.Helper()
	v, err := chrome.Eval[demoRow](p.ctx, fmt.Sprintf(demoRowJS, u))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// waitDemo polls the demo's row of u until cond holds.
func waitDemo(t *testing.T, p *page, u string, what string, cond func(demoRow) bool) demoRow {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		r := demoState(t, p, u)
		if cond(r) {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("demo row of %s never %s: %+v", u, what, r)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestDemoResumesAfterReload drives the demo page itself: a download started
// from the page continues by itself after the tab reloads.
func TestDemoResumesAfterReload(t *testing.T) {
	ctx, cancel := chromedp.NewContext(env.browser)
	defer cancel()
	p := &page{t: t, ctx: ctx}
	if err := chromedp.Do(ctx, chromedp.Navigate(env.base+"/index.html"), chromedp.WaitVisible("#samples button")); err != nil {
		t.Fatal(err)
	}
	waitReady := func() {
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool]("!!window.demo")); err != nil {
			t.Fatal(err)
		}
	}
	waitReady()
	u := fileURL(t, medium, rate)
	if _, err := chrome.Eval[bool](ctx, fmt.Sprintf("!!window.demo.start(%q)", u)); err != nil {
		t.Fatal(err)
	}
	waitDemo(t, p, u, "40% stored", func(r demoRow) bool { return r.Received >= mediumSize*4/10 })
	if err := chromedp.Do(ctx, chromedp.Reload()); err != nil {
		t.Fatal(err)
	}
	waitReady()
	status, _ := chrome.Eval[string](ctx, "document.querySelector('#status').textContent")
	if status != "Resumed 1 unfinished download." {
		l, _ := chrome.Eval[any](ctx, "window.demo.resumer.list()")
		t.Fatalf("status after reload: %q; list %+v", status, l)
	}
	r := waitDemo(t, p, u, "done", func(r demoRow) bool { return r.State == "done" && r.SHA != "" })
	if r.SHA != fileSHA(t, medium) {
		t.Fatalf("demo finished with sha %s, want %s", r.SHA, fileSHA(t, medium))
	}
	if g := devReqs(gets(t, u, 2)); g[len(g)-1].Start == 0 || g[len(g)-1].IfRange == "" {
		t.Fatalf("the demo did not resume: %+v", g)
	}
	// The finished row offers to save the file.
	if hidden, _ := chrome.Eval[bool](ctx, fmt.Sprintf(`window.demo.rows.get(%q).el.querySelector('[data-act="save"]').hidden`, u)); hidden {
		t.Fatal("no save button on the finished download")
	}
}
