//go:build !js && !wasip1

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/go-resumer/resumer/serve/drive"
)

type demoRow struct {
	State    string `json:"state"`
	Text     string `json:"text"`
	SHA      string `json:"sha"`
	Received int64  `json:"received"`
}

// demoUntilJS waits, in the demo page, until its row of a URL satisfies a
// condition (a JS expression of r, the row: r.state, r.stored), checking
// at every render, and returns the row: its state, its text, and the
// SHA-256 of the finished file once there is one.
const demoUntilJS = `(async (u, cond) => {
  const f = new Function("r", "return (" + cond + ");");
  const view = () => {
    const r = window.demo && window.demo.rows.get(u);
    return r ? { state: r.el.dataset.state || "", stored: (r.progress && r.progress.stored) || 0, r } : null;
  };
  const t0 = Date.now();
  for (;;) {
    const v = view();
    if (v && f(v)) {
      let sha = "";
      if (v.r.result) {
        const h = await crypto.subtle.digest("SHA-256", await v.r.result.blob.arrayBuffer());
        sha = [...new Uint8Array(h)].map((b) => b.toString(16).padStart(2, "0")).join("");
      }
      return { state: v.state, text: v.r.el.textContent, sha, received: v.stored };
    }
    if (Date.now() - t0 > 90000) throw new Error("the demo's row never got to " + cond + ": " + JSON.stringify(v && { state: v.state, stored: v.stored }));
    // The demo renders on its download's events; look again at the next one.
    await new Promise((res) => {
      const r = window.demo && window.demo.rows.get(u);
      const d = r && r.dl;
      if (!d) return setTimeout(res, 20);
      const once = () => { d.removeEventListener("progress", once); res(); };
      d.addEventListener("progress", once);
      d.done.then(res, res);
      setTimeout(res, 500);
    });
  }
})(%q, %q)`

// TestDemoResumesAfterReload drives the demo page itself: a download started
// from the page continues by itself after the tab reloads.
func TestDemoResumesAfterReload(t *testing.T) {
	forEngines(t, func(t *testing.T, e drive.Engine) {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		tab, err := env.browsers[e].NewTab(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer tab.Close(context.Background())
		js := func(expr string, out any) {
			t.Helper()
			raw, err := tab.Eval(ctx, expr)
			if err == nil && out != nil {
				err = json.Unmarshal(raw, out)
			}
			if err != nil {
				t.Fatalf("evaluate %.80q: %v", expr, err)
			}
		}
		ready := `(async () => { const t0 = Date.now(); while (!window.demo) { if (Date.now() - t0 > 60000) throw new Error("the demo did not start: " + document.querySelector("#status").textContent); await new Promise((r) => setTimeout(r, 20)); } return true; })()`
		if err := tab.Navigate(ctx, env.base+"/index.html"); err != nil {
			t.Fatal(err)
		}
		js(ready, nil)
		u := fileURL(t, medium, rate)
		js(fmt.Sprintf("!!window.demo.start(%q)", u), nil)
		var row demoRow
		js(fmt.Sprintf(demoUntilJS, u, fmt.Sprintf("r.stored >= %d", mediumSize*4/10)), &row)
		if err := tab.Reload(ctx); err != nil {
			t.Fatal(err)
		}
		js(ready, nil)
		var status string
		js("document.querySelector('#status').textContent", &status)
		if status != "Resumed 1 unfinished download." {
			var l any
			js("window.demo.resumer.list()", &l)
			t.Fatalf("status after reload: %q; list %+v", status, l)
		}
		js(fmt.Sprintf(demoUntilJS, u, `r.state === "done" && !!r.r.result`), &row)
		if row.SHA != fileSHA(t, medium) {
			t.Fatalf("demo finished with sha %s, want %s", row.SHA, fileSHA(t, medium))
		}
		if g := devReqs(gets(t, u, 2)); g[len(g)-1].Start == 0 || g[len(g)-1].IfRange == "" {
			t.Fatalf("the demo did not resume: %+v", g)
		}
		// The finished row offers to save the file.
		var hidden bool
		js(fmt.Sprintf(`window.demo.rows.get(%q).el.querySelector('[data-act="save"]').hidden`, u), &hidden)
		if hidden {
			t.Fatal("no save button on the finished download")
		}
	})
}
