//go:build !js && !wasip1

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-resumer/resumer/serve/bundle"
	"github.com/go-resumer/resumer/serve/devserver"
	"github.com/go-resumer/resumer/serve/drive"
	"github.com/go-resumer/resumer/wasm/protocol"
)

// The demo page's tests drive it as a person would, through its form and
// buttons, and read back what it shows; the downloads themselves are
// checked by the SHA-256 of what resumer stored and by the server's log.

// domJS is the test side of a page under test: DT.until waits for a
// condition on what the page shows, checked at every change of its DOM
// (the demo re-renders a row at each of its download's events), never on
// a timer; the rest reads and clicks the demo page's parts.
const domJS = `(() => {
  if (window.DT) return true;
  const hex = (buf) => [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, "0")).join("");
  const DT = window.DT = {
    row(key) { return [...document.querySelectorAll("#downloads .dl")].find((el) => el.dataset.key === key) || null; },
    state(key) { const r = DT.row(key); return r ? r.dataset.state : ""; },
    stored(key) { const r = DT.row(key); return r ? Number(r.dataset.stored || 0) : 0; },
    field(key, name) { const r = DT.row(key); const f = r && r.querySelector('[data-field="' + name + '"]'); return f ? f.textContent : null; },
    text(sel) { const el = document.querySelector(sel); return el ? el.textContent : null; },
    // type starts a download as a person does: the URL in the form, then Download.
    type(url) {
      document.querySelector("#url").value = url;
      document.querySelector("#url-form button[type=submit]").click();
      return true;
    },
    // act clicks a row's button; a hidden button cannot be clicked by a person either.
    act(key, act) {
      const r = DT.row(key);
      if (!r) throw new Error("no row for " + key);
      const b = r.querySelector('[data-act="' + act + '"]');
      if (!b || b.hidden) throw new Error("no " + act + " button on the row in state " + r.dataset.state);
      b.click();
      return true;
    },
    toggle(key) { DT.row(key).querySelector(".dl-toggle").click(); return !DT.row(key).querySelector(".dl-details").hidden; },
    summary() {
      const rows = [...document.querySelectorAll("#downloads .dl")].map((el) => ({ key: el.dataset.key, state: el.dataset.state, stored: el.dataset.stored, resumable: el.dataset.resumable, text: el.querySelector(".dl-numbers").textContent, reason: el.querySelector(".dl-reason").textContent, error: el.querySelector(".dl-error").textContent }));
      const s = document.querySelector("#storage");
      return { status: DT.text("#status"), storage: s && { ...s.dataset, text: DT.text("#storage-text") }, rows };
    },
    until(cond, ms) {
      const f = new Function("DT", "return (" + cond + ");");
      return new Promise((res, rej) => {
        let obs = null, timer = 0;
        const check = () => {
          let v;
          try { v = f(DT); } catch (e) { return; }
          if (!v) return;
          if (obs) obs.disconnect();
          clearTimeout(timer);
          res(v);
        };
        obs = new MutationObserver(check);
        obs.observe(document, { subtree: true, childList: true, attributes: true, characterData: true });
        timer = setTimeout(() => {
          obs.disconnect();
          let seen = "";
          try { seen = JSON.stringify(DT.summary()); } catch (e) { seen = String(e); }
          rej(new Error("waited " + ms + " ms for " + cond + "; the page shows " + seen));
        }, ms);
        check();
      });
    },
    // sha is the SHA-256 of what resumer stored under key.
    async sha(key) {
      const r = await window.demo.resumer.response(key);
      if (!r) throw new Error("nothing stored finished under " + key);
      return hex(await crypto.subtle.digest("SHA-256", await r.arrayBuffer()));
    },
    async shaOfURL(url) {
      return hex(await crypto.subtle.digest("SHA-256", await (await fetch(url)).arrayBuffer()));
    },
  };
  return true;
})()`

// demoPage is one tab on the demo page, with a database of its own.
type demoPage struct {
	t   *testing.T
	e   drive.Engine
	tab drive.Tab
	ctx context.Context
}

// screenshotSize is the viewport of every screenshot: web/screenshot.png
// is one of them.
const screenshotWidth, screenshotHeight = 1000, 700

// shotBrowsers are browsers started for the tests that take screenshots,
// in the engines whose shared browser cannot (drive.TakesScreenshots):
// painting every frame costs a busy machine CPU the other tests need.
var shotBrowsers struct {
	sync.Mutex
	m map[drive.Engine]drive.Browser
}

// shotBrowser returns a browser of engine e that takes screenshots.
func shotBrowser(t *testing.T, e drive.Engine) drive.Browser {
	t.Helper()
	if b := env.browsers[e]; drive.TakesScreenshots(b) {
		return b
	}
	shotBrowsers.Lock()
	defer shotBrowsers.Unlock()
	if b := shotBrowsers.m[e]; b != nil {
		return b
	}
	l, _ := env.logs.LoadOrStore(e, &browserLog{})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	b, err := drive.Start(ctx, e, drive.Options{Profile: filepath.Join(env.tmp, "profile-shots-"+string(e)), Log: l.(*browserLog).add, Screenshots: true})
	if err != nil {
		t.Fatalf("start %s for screenshots: %v", e, err)
	}
	if shotBrowsers.m == nil {
		shotBrowsers.m = map[drive.Engine]drive.Browser{}
	}
	shotBrowsers.m[e] = b
	return b
}

// closeShotBrowsers ends the browsers shotBrowser started.
func closeShotBrowsers() {
	shotBrowsers.Lock()
	defer shotBrowsers.Unlock()
	for _, b := range shotBrowsers.m {
		b.Close()
	}
	shotBrowsers.m = nil
}

// openTab opens a tab of engine e, in a browser that takes screenshots,
// with a viewport of the screenshots' size, and navigates it to path of the
// dev server.
func openTab(t *testing.T, e drive.Engine, path string) *demoPage {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	t.Cleanup(cancel)
	tab, err := shotBrowser(t, e).NewTab(ctx)
	if err != nil {
		t.Fatalf("new tab: %v", err)
	}
	t.Cleanup(func() {
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = tab.Close(cctx)
	})
	d := &demoPage{t: t, e: e, tab: tab, ctx: ctx}
	if err := tab.SetViewport(ctx, screenshotWidth, screenshotHeight); err != nil {
		t.Fatalf("viewport: %v", err)
	}
	if err := tab.Navigate(ctx, env.base+path); err != nil {
		t.Fatalf("navigate to %s: %v", path, err)
	}
	d.js(domJS, nil)
	return d
}

// openDemo opens the demo page on a database of the test's own and waits
// until it has started.
func openDemo(t *testing.T, e drive.Engine) *demoPage {
	t.Helper()
	d := openTab(t, e, "/index.html?db=demo-"+testID(t))
	d.until(`document.body.dataset.ready === "true"`)
	return d
}

func (d *demoPage) js(expr string, out any) {
	d.t.Helper()
	raw, err := d.tab.Eval(d.ctx, expr)
	if err == nil && out != nil {
		err = json.Unmarshal(raw, out)
	}
	if err != nil {
		d.t.Fatalf("evaluate %.100q: %v", expr, err)
	}
}

// until waits for cond, a JS expression of DT, to hold in the page.
func (d *demoPage) until(cond string) {
	d.t.Helper()
	d.js(fmt.Sprintf("DT.until(%q, 90000)", cond), nil)
}

func (d *demoPage) reload() {
	d.t.Helper()
	if err := d.tab.Reload(d.ctx); err != nil {
		d.t.Fatalf("reload: %v", err)
	}
	d.js(domJS, nil)
}

// text returns the text of the element sel selects.
func (d *demoPage) text(sel string) string {
	d.t.Helper()
	var s string
	d.js(fmt.Sprintf("DT.text(%q)", sel), &s)
	return s
}

// field returns the text of a field of a row's details panel.
func (d *demoPage) field(key, name string) string {
	d.t.Helper()
	var s string
	d.js(fmt.Sprintf("DT.field(%q, %q)", key, name), &s)
	return s
}

// sha is the SHA-256 of what resumer stored finished under key.
func (d *demoPage) sha(key string) string {
	d.t.Helper()
	var s string
	d.js(fmt.Sprintf("DT.sha(%q)", key), &s)
	return s
}

// shot saves a screenshot of the tab as build/screenshots/<engine>-<name>.png.
func (d *demoPage) shot(name string) {
	d.t.Helper()
	b, err := d.tab.Screenshot(d.ctx)
	if err != nil {
		d.t.Fatalf("screenshot %s: %v", name, err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		d.t.Fatalf("screenshot %s: %v", name, err)
	}
	if w, h := img.Bounds().Dx(), img.Bounds().Dy(); w < screenshotWidth/2 || h < screenshotHeight/2 {
		d.t.Fatalf("screenshot %s is %dx%d, want about %dx%d", name, w, h, screenshotWidth, screenshotHeight)
	}
	if !varied(img) {
		d.t.Fatalf("screenshot %s is one colour: the page was not drawn", name)
	}
	root, err := bundle.Root(".")
	if err != nil {
		d.t.Fatal(err)
	}
	dir := filepath.Join(root, "build", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		d.t.Fatal(err)
	}
	path := filepath.Join(dir, fmt.Sprintf("%s-%s.png", d.e, name))
	if err := os.WriteFile(path, b, 0o644); err != nil {
		d.t.Fatal(err)
	}
	d.t.Logf("screenshot %s", path)
}

// varied reports whether an image has more than one colour.
func varied(img image.Image) bool {
	b := img.Bounds()
	r0, g0, b0, _ := img.At(b.Min.X, b.Min.Y).RGBA()
	for y := b.Min.Y; y < b.Max.Y; y += 3 {
		for x := b.Min.X; x < b.Max.X; x += 3 {
			if r, g, bl, _ := img.At(x, y).RGBA(); r != r0 || g != g0 || bl != b0 {
				return true
			}
		}
	}
	return false
}

type demoEntry struct {
	Key        string `json:"key"`
	State      string `json:"state"`
	Size       *int64 `json:"size"`
	Resumable  bool   `json:"resumable"`
	Reason     string `json:"reason"`
	ReasonCode string `json:"reasonCode"`
	Verified   bool   `json:"verified"`
}

// entries is what resumer stores, by key.
func (d *demoPage) entries() map[string]demoEntry {
	d.t.Helper()
	var list []demoEntry
	d.js("window.demo.resumer.list()", &list)
	m := map[string]demoEntry{}
	for _, e := range list {
		m[e.Key] = e
	}
	return m
}

// TestDemoResumesAfterReload: a download started from the demo page
// continues by itself after the tab reloads, from its stored bytes.
func TestDemoResumesAfterReload(t *testing.T) {
	forEngines(t, func(t *testing.T, e drive.Engine) {
		d := openDemo(t, e)
		// 24 MiB at 2 MiB/s: seven seconds left when the reload is asked
		// for, so that a reload slowed by a busy machine still cuts it
		// (with 8 MiB, Firefox once let the old page finish first).
		u := fileURL(t, tiles, rate)
		d.js(fmt.Sprintf("DT.type(%q)", u), nil)
		d.until(fmt.Sprintf("DT.stored(%q) >= %d", u, tilesSize*4/10))
		d.reload()
		d.until(`document.body.dataset.ready === "true"`)
		if status := d.text("#status"); status != "Resumed 1 unfinished download." {
			t.Fatalf("status after reload: %q; stored %+v", status, d.entries())
		}
		d.until(fmt.Sprintf("DT.state(%q) === 'done'", u))
		if got, want := d.sha(u), fileSHA(t, tiles); got != want {
			t.Fatalf("demo finished with sha %s, want %s", got, want)
		}
		if g := devReqs(gets(t, u, 2)); g[len(g)-1].Start == 0 || g[len(g)-1].IfRange == "" {
			t.Fatalf("the demo did not resume: %+v", g)
		}
		// The finished row offers to save the file.
		var hidden bool
		d.js(fmt.Sprintf(`DT.row(%q).querySelector('[data-act="save"]').hidden`, u), &hidden)
		if hidden {
			t.Fatal("no save button on the finished download")
		}
	})
}

// TestDemoTwoAtOnce: two downloads run side by side, each in its own row,
// both finish with the right bytes; the details panel shows the ETag the
// server sent and that the download was resumable; the storage bar counts
// both.
func TestDemoTwoAtOnce(t *testing.T) {
	forEngines(t, func(t *testing.T, e drive.Engine) {
		d := openDemo(t, e)
		u1 := fileURL(t, medium, rate)               // 8 MiB at 2 MiB/s
		u2 := fileURL(t, small, "rate=262144&n=two") // 1 MiB at 256 KiB/s
		d.js(fmt.Sprintf("DT.type(%q)", u1), nil)
		d.js(fmt.Sprintf("DT.type(%q)", u2), nil)
		// Both transfer at the same time: with one slot, one would be
		// queued. (The storage bar counting both makes a truer picture.)
		d.until(fmt.Sprintf("DT.state(%q) === 'running' && DT.state(%q) === 'running' && DT.stored(%[1]q) > 0 && DT.stored(%[2]q) > 0 && document.querySelector('#storage').dataset.downloads === '2'", u1, u2))
		if !toggle(d, u1) {
			t.Fatal("clicking the row did not open its details")
		}
		d.shot("running")

		d.until(fmt.Sprintf("DT.state(%q) === 'done' && DT.state(%q) === 'done'", u1, u2))
		for u, name := range map[string]string{u1: medium, u2: small} {
			if got, want := d.sha(u), fileSHA(t, name); got != want {
				t.Errorf("%s: stored sha %s, want %s", name, got, want)
			}
		}
		stored := d.entries()
		for u, size := range map[string]int64{u1: mediumSize, u2: smallSize} {
			if en, ok := stored[u]; !ok || en.State != "done" || en.Size == nil || *en.Size != size || !en.Resumable {
				t.Errorf("stored %s: %+v (present %v), want done, resumable, %d bytes", u, en, ok, size)
			}
		}

		// The details name the validator the server sent, and the verdict.
		log := gets(t, u1, 2)
		etag := log[0].ETag
		if etag == "" {
			t.Fatalf("the server sent no ETag for %s: %+v", u1, devReqs(log))
		}
		if got := d.field(u1, "etag"); got != etag {
			t.Errorf("details show ETag %q, the server sent %q", got, etag)
		}
		if got := d.field(u1, "resumable"); !strings.HasPrefix(got, "resumable") {
			t.Errorf("details say %q, want resumable", got)
		}
		// The proof is the first exchange, line for line as the server
		// log has it: the probe's Range, the 206 and its Content-Range.
		proof := d.field(u1, "headers")
		lines := strings.Split(proof, "\n")
		for _, line := range []string{"Range: " + log[0].Range, fmt.Sprintf("HTTP %d", log[0].Status),
			"Content-Range: " + log[0].ContentRange, "ETag: " + etag, "Accept-Ranges: bytes"} {
			if !slices.Contains(lines, line) {
				t.Errorf("details' proof lacks %q:\n%s", line, proof)
			}
		}
		if log[0].Status != 206 || log[0].Range != "bytes=0-65535" {
			t.Errorf("first request %+v: want the probe answered 206", devReqs(log[:1]))
		}
		if got := d.field(u1, "verified"); !strings.HasPrefix(got, "yes") {
			t.Errorf("details say verified %q; the dev server sends Repr-Digest, so want yes", got)
		}
		var reason string
		d.js(fmt.Sprintf("DT.row(%q).querySelector('.dl-reason').textContent", u1), &reason)
		if reason != "" {
			t.Errorf("a resumable download shows a reason: %q", reason)
		}

		// The storage bar counts both files; the share of the quota only
		// where the browser tells it.
		d.until(fmt.Sprintf("document.querySelector('#storage').dataset.stored === '%d' && document.querySelector('#storage').dataset.downloads === '2'", mediumSize+smallSize))
		var q struct {
			Estimate, Quota, BarShown bool
		}
		d.js(`({ Estimate: !!(navigator.storage && navigator.storage.estimate), Quota: "quota" in document.querySelector("#storage").dataset, BarShown: !document.querySelector("#storage-bar").hidden })`, &q)
		if q.Quota != q.Estimate || q.BarShown != q.Estimate {
			t.Errorf("storage estimate available %v, but the page shows a quota %v and the bar %v", q.Estimate, q.Quota, q.BarShown)
		}
		if s := d.text("#storage-text"); !strings.Contains(s, "9.0 MiB stored in 2 downloads") {
			t.Errorf("storage says %q", s)
		}
		d.shot("finished")
	})
}

func toggle(d *demoPage, key string) bool {
	d.t.Helper()
	var open bool
	d.js(fmt.Sprintf("DT.toggle(%q)", key), &open)
	return open
}

// TestDemoQueuePauseResume: with one download at a time the second waits,
// "queued"; pausing the first frees its slot for the second; resuming it
// continues from its stored bytes.
func TestDemoQueuePauseResume(t *testing.T) {
	forEngines(t, func(t *testing.T, e drive.Engine) {
		d := openDemo(t, e)
		d.js(`(() => { const m = document.querySelector("#max"); m.value = "1"; m.dispatchEvent(new Event("change", { bubbles: true })); return window.demo.resumer.maxConcurrent; })()`, nil)
		// 8 MiB at 1 MiB/s: pieces commit up to 2 MiB at a time, so the
		// pause, clicked once the first is stored, comes seconds before
		// the end even on a loaded machine (at 2 MiB/s a Firefox run
		// once saw the file finish first).
		u1 := fileURL(t, medium, "rate=1048576")
		u2 := fileURL(t, small, "rate=262144&n=second")
		d.js(fmt.Sprintf("DT.type(%q)", u1), nil)
		d.until(fmt.Sprintf("DT.state(%q) === 'running'", u1))
		d.js(fmt.Sprintf("DT.type(%q)", u2), nil)
		d.until(fmt.Sprintf("DT.state(%q) === 'queued'", u2))
		if b := d.text(".dl[data-state=queued] .dl-state"); b != "queued" {
			t.Errorf("the waiting row's badge says %q", b)
		}

		d.until(fmt.Sprintf("DT.stored(%q) > 0", u1))
		d.js(fmt.Sprintf("DT.act(%q, 'pause')", u1), nil)
		d.until(fmt.Sprintf("DT.state(%q) === 'paused' && DT.state(%q) === 'running'", u1, u2))
		var stored int64
		d.js(fmt.Sprintf("DT.stored(%q)", u1), &stored)
		d.shot("paused")

		d.js(fmt.Sprintf("DT.act(%q, 'resume')", u1), nil)
		d.until(fmt.Sprintf("DT.state(%q) === 'done' && DT.state(%q) === 'done'", u1, u2))
		for u, name := range map[string]string{u1: medium, u2: small} {
			if got, want := d.sha(u), fileSHA(t, name); got != want {
				t.Errorf("%s: stored sha %s, want %s", name, got, want)
			}
		}
		// The resume asked for the bytes after the stored ones, for the
		// same version.
		g := devReqs(gets(t, u1, 2))
		last := g[len(g)-1]
		if last.Start < stored || last.IfRange == "" {
			t.Fatalf("after a pause at %d bytes stored the download did not resume from them: %+v", stored, g)
		}
	})
}

// TestDemoNotResumable: a server that sends no validators gets a row that
// says, in resumer's words, why its download cannot resume.
func TestDemoNotResumable(t *testing.T) {
	forEngines(t, func(t *testing.T, e drive.Engine) {
		d := openDemo(t, e)
		u := fileURL(t, medium, "validators=none&"+rate)
		d.js(fmt.Sprintf("DT.type(%q)", u), nil)
		d.until(fmt.Sprintf("DT.row(%q).dataset.resumable === 'false' && DT.row(%[1]q).querySelector('.dl-reason').textContent !== ''", u))
		if !toggle(d, u) {
			t.Fatal("clicking the row did not open its details")
		}
		d.shot("not-resumable")
		d.until(fmt.Sprintf("DT.state(%q) === 'done'", u))
		if got, want := d.sha(u), fileSHA(t, medium); got != want {
			t.Fatalf("stored sha %s, want %s", got, want)
		}
		en := d.entries()[u]
		if en.Resumable || en.ReasonCode != "no-validators" || en.Reason == "" {
			t.Fatalf("stored %+v: want not resumable, no-validators", en)
		}
		var reason string
		d.js(fmt.Sprintf("DT.row(%q).querySelector('.dl-reason').textContent", u), &reason)
		if !strings.Contains(reason, en.Reason) {
			t.Errorf("the row says %q, resumer's reason is %q", reason, en.Reason)
		}
		if got := d.field(u, "resumable"); !strings.HasPrefix(got, "not resumable") || !strings.Contains(got, "no-validators") {
			t.Errorf("details say %q", got)
		}
		if got := d.field(u, "etag"); got != "none sent" {
			t.Errorf("details show ETag %q; the server sent none", got)
		}
		log := gets(t, u, 2)
		for _, g := range log {
			if g.ETag != "" {
				t.Fatalf("the server sent ETag %q despite validators=none", g.ETag)
			}
		}
		// The proof is the probe's answer, not the later request without
		// Range that fetched the file: a 206 with no validator at all.
		proof := d.field(u, "headers")
		lines := strings.Split(proof, "\n")
		if log[0].Status != 206 || !slices.Contains(lines, "Range: "+log[0].Range) ||
			!slices.Contains(lines, "HTTP 206") || !slices.Contains(lines, "Content-Range: "+log[0].ContentRange) ||
			!regexp.MustCompile(`\(not sent: [^)]*ETag, Last-Modified`).MatchString(proof) {
			t.Errorf("details' proof does not show the probe's 206 without validators (first answer %+v):\n%s", devReqs(log[:1]), proof)
		}
		if log[1].Range != "" || log[1].Status != 200 {
			t.Errorf("second request %+v: want the file without Range", devReqs(log[1:2]))
		}
	})
}

// TestDemoClearAll: "Clear all" removes every download, a running one too
// (its transfer stops), and the storage bar drops to nothing.
func TestDemoClearAll(t *testing.T) {
	forEngines(t, func(t *testing.T, e drive.Engine) {
		d := openDemo(t, e)
		// One from the sample list, one typed, one still running.
		var sample string
		d.js(`DT.until("[...document.querySelectorAll('#samples button')].some((b) => b.dataset.url && new URL(b.dataset.url).pathname === '/files/small.bin')", 30000).then(() => { const b = [...document.querySelectorAll('#samples button')].find((b) => b.dataset.url && new URL(b.dataset.url).pathname === '/files/small.bin' && !new URL(b.dataset.url).search); b.click(); return b.dataset.url; })`, &sample)
		typed := fileURL(t, small, "")
		d.js(fmt.Sprintf("DT.type(%q)", typed), nil)
		d.until(fmt.Sprintf("DT.state(%q) === 'done' && DT.state(%q) === 'done' && document.querySelector('#storage').dataset.downloads === '2' && document.querySelector('#storage').dataset.stored === '%d'", sample, typed, 2*smallSize))
		running := fileURL(t, medium, "rate=1048576")
		d.js(fmt.Sprintf("DT.type(%q)", running), nil)
		// At 1 MiB stored the running one is past its first requests, in
		// one that asks for the rest of the file (7 s at this rate): Clear
		// all, clicked in the same turn as the check, finds it in flight.
		var at string
		d.js(fmt.Sprintf("DT.until(%q, 90000).then(() => { const s = DT.state(%q); document.querySelector('#clear').click(); return s; })",
			fmt.Sprintf("DT.state(%q) === 'running' && DT.stored(%[1]q) >= %d", running, 1<<20), running), &at)
		if at != "running" {
			t.Fatalf("Clear all clicked in state %q", at)
		}
		d.until(`document.querySelectorAll('#downloads .dl').length === 0 && document.querySelector('#storage').dataset.stored === '0' && document.querySelector('#storage').dataset.downloads === '0'`)
		if s := d.text("#storage-text"); s != "Nothing stored." {
			t.Errorf("storage says %q after Clear all", s)
		}
		var empty bool
		d.js(`!document.querySelector("#empty").hidden`, &empty)
		if !empty {
			t.Error("the empty list does not say so")
		}
		// The running download was canceled: its transfer stopped short.
		g := gets(t, running, 2)
		var sent int64
		for _, r := range g {
			sent += r.Sent
		}
		if last := g[len(g)-1]; !last.ClientGone || sent >= mediumSize {
			t.Errorf("the running download was not cut short by Clear all: %+v", devReqs(g))
		}
		// Its requests have ended: nothing came back into storage.
		if en := d.entries(); len(en) != 0 {
			t.Errorf("stored after Clear all: %+v", en)
		}
	})
}

// TestDemoCheck: a URL typed into the form is checked before anything is
// started, and one that will not resume says so; a download's details
// panel checks its URL on request, with the findings and their fixes.
func TestDemoCheck(t *testing.T) {
	forEngines(t, func(t *testing.T, e drive.Engine) {
		d := openDemo(t, e)
		u := fileURL(t, medium, "validators=none&"+rate)
		// Typed as a person types: the value, then an input event.
		d.js(fmt.Sprintf(`(() => { const i = document.querySelector("#url"); i.value = %q; i.dispatchEvent(new Event("input", {bubbles: true})); return true; })()`, u), nil)
		d.until(`document.querySelector("#check-verdict").dataset.browser === "not resumable"`)
		if got := d.text("#check-verdict"); !strings.HasPrefix(got, "Will not resume if interrupted") || !strings.Contains(got, "ETag") {
			t.Errorf("the form's check says %q", got)
		}
		var blocks string
		d.js(`[...document.querySelectorAll("#check-findings [data-verdict=blocks]")].map((li) => li.dataset.finding).join(",")`, &blocks)
		if blocks != protocol.FindingValidators {
			t.Errorf("findings that block: %q, want validators", blocks)
		}
		var fix string
		d.js(`document.querySelector("#check-findings [data-finding=validators] .fix")?.textContent ?? ""`, &fix)
		if !strings.HasPrefix(fix, "Fix (nginx)") {
			t.Errorf("the finding's first fix: %q", fix)
		}
		// The dev server names no server: every server's fix is one
		// click away, none shown open.
		var open, folded int
		d.js(`document.querySelectorAll("#check-findings [data-finding=validators] > .fix").length`, &open)
		d.js(`document.querySelectorAll("#check-findings [data-finding=validators] > details.fixes-other .fix").length`, &folded)
		if open != 0 || folded < 5 {
			t.Errorf("validators fixes: %d shown, %d folded; want none shown, each server's folded", open, folded)
		}
		var started int
		d.js(`document.querySelectorAll("#downloads .dl").length`, &started)
		if started != 0 {
			t.Fatalf("%d downloads started by typing a URL", started)
		}
		// The server saw the check's small requests, not a download's.
		for _, g := range gets(t, u, 2) {
			if g.Range == "bytes=0-65535" || (g.Range == "" && g.Method == "GET") {
				t.Fatalf("typing a URL sent a download's request: %+v", devReqs([]devserver.LogEntry{g}))
			}
		}
		d.shot("check")

		// Started, its details check it again on request.
		r := fileURL(t, small, "")
		d.js(fmt.Sprintf("DT.type(%q)", r), nil)
		d.until(fmt.Sprintf("DT.state(%q) === 'done'", r))
		if !toggle(d, r) {
			t.Fatal("clicking the row did not open its details")
		}
		d.js(fmt.Sprintf("DT.act(%q, 'check')", r), nil)
		d.until(fmt.Sprintf(`DT.row(%q).querySelector('[data-field="check"]').dataset.browser === "resumable"`, r))
		var verdicts string
		d.js(fmt.Sprintf(`[...DT.row(%q).querySelectorAll(".dl-findings li")].map((li) => li.dataset.finding + "=" + li.dataset.verdict).join(",")`, r), &verdicts)
		for _, want := range []string{"ranges=ok", "validators=ok", "if-range=ok", "if-range-stale=ok"} {
			if !strings.Contains(","+verdicts+",", ","+want+",") {
				t.Errorf("details' findings %q lack %s", verdicts, want)
			}
		}
	})
}
