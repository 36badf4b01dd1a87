//go:build !js && !wasip1

package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	neturl "net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-resumer/resumer/serve/devserver"
	"github.com/go-resumer/resumer/serve/drive"
)

// The apps under examples/ as their users build and host them: the Vite
// and webpack apps' production builds, each from an origin of its own,
// and the static page with the package on another origin, a CDN's. Each
// downloads a file from the dev server (a third origin, with CORS), the
// tab reloads halfway, and the app continues by itself: the server's log
// shows the resume asked for the rest with Range and If-Range, and the
// file the app ends with has the right SHA-256. make examples builds them
// into $RESUMER_EXAMPLES.

// examplesDir is where make examples put the built apps.
func examplesDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("RESUMER_EXAMPLES")
	if dir == "" {
		t.Skip("RESUMER_EXAMPLES is not set: make test (or make examples, then RESUMER_EXAMPLES=$PWD/build/examples) builds the apps first")
	}
	return dir
}

// serveDir serves dir on an origin of its own for the test's length.
func serveDir(t *testing.T, dir string, cors bool) string {
	t.Helper()
	if _, err := os.Stat(filepath.Join(dir)); err != nil {
		t.Fatalf("the built app is missing (make examples): %v", err)
	}
	files := http.FileServer(http.Dir(dir))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if cors {
			// What a public CDN sends: module scripts, the worker's
			// module and resumer.wasm are fetched in CORS mode.
			w.Header().Set("Access-Control-Allow-Origin", "*")
		}
		files.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// staticApp serves examples/static's page with its import map pointed at
// a copy of the package on another origin, as its comment tells a user
// to do.
func staticApp(t *testing.T, dir string) string {
	t.Helper()
	cdn := serveDir(t, filepath.Join(dir, "cdn"), true)
	page, err := os.ReadFile(filepath.Join(dir, "index.html"))
	if err != nil {
		t.Fatalf("the static example is missing (make examples): %v", err)
	}
	const placeholder = "https://cdn.example/@go-resumer/resumer@0.5.0/"
	if !strings.Contains(string(page), placeholder) {
		t.Fatalf("examples/static/index.html no longer loads resumer from %s", placeholder)
	}
	html := strings.Replace(string(page), placeholder, cdn+"/", 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, html)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/"
}

// timedLines is lines with when each request came and ended.
func timedLines(log []devserver.LogEntry) string {
	var b strings.Builder
	for _, e := range log {
		fmt.Fprintf(&b, "%s..%s %s\n", e.Time.Format("15:04:05.000"), e.End.Format("15:04:05.000"), e.String())
	}
	return b.String()
}

// appState is what an example page shows: its <progress>, its status
// line, and the file it ends with, as the SHA-256 of the Blob behind the
// link it offers.
type appState struct {
	Value  float64 `json:"value"`
	Max    float64 `json:"max"`
	Status string  `json:"status"`
	Done   bool    `json:"done"`
	SHA    string  `json:"sha"`
	Size   int64   `json:"size"`
}

// appUntil waits, in the page, until cond (a JS expression of bar, status
// and link) holds, watching the page change rather than polling; it
// fails the test with what the page shows if 60 s pass first.
func appUntil(p *page, cond string) appState {
	p.t.Helper()
	v, err := evalErr[appState](p, `(async () => {
	  const [bar, status, link] = ["bar", "status", "file"].map((id) => document.getElementById(id));
	  const state = async () => {
	    const out = { value: bar.value, max: bar.max, status: status.textContent, done: !link.hidden };
	    if (out.done) {
	      const bytes = await (await fetch(link.href)).arrayBuffer();
	      out.size = bytes.byteLength;
	      out.sha = [...new Uint8Array(await crypto.subtle.digest("SHA-256", bytes))].map((b) => b.toString(16).padStart(2, "0")).join("");
	    }
	    return out;
	  };
	  const holds = () => `+cond+`;
	  if (!holds()) await new Promise((resolve, reject) => {
	    const seen = new MutationObserver(() => { if (holds()) { seen.disconnect(); clearTimeout(timer); resolve(); } });
	    seen.observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true });
	    const timer = setTimeout(() => { seen.disconnect(); reject(new Error("the page shows: " + status.textContent)); }, 60000);
	  });
	  return state();
	})()`)
	if err != nil {
		p.t.Fatalf("waiting for %s: %v", cond, err)
	}
	return v
}

func TestExamples(t *testing.T) {
	dir := examplesDir(t)
	apps := []struct {
		name      string
		origin    func(t *testing.T) string // the page's URL, on an origin of its own
		integrity bool                      // the app takes ?integrity=
	}{
		{"vite", func(t *testing.T) string { return serveDir(t, filepath.Join(dir, "vite", "dist"), false) + "/" }, false},
		{"webpack", func(t *testing.T) string { return serveDir(t, filepath.Join(dir, "webpack", "dist"), false) + "/" }, false},
		{"static", func(t *testing.T) string { return staticApp(t, filepath.Join(dir, "static")) }, true},
	}
	forEngines(t, func(t *testing.T, e drive.Engine) {
		for _, app := range apps {
			t.Run(app.name, func(t *testing.T) {
				// At 2 MiB/s the last cell takes four seconds after the
				// reload is asked for: a reload slowed by a busy machine
				// still cuts it (at 8 MiB/s, WebKit once let the old page
				// finish the file first).
				u := fileURL(t, tiles, rate)
				q := neturl.Values{"url": {u}}
				if app.integrity {
					q.Set("integrity", sriOf(t, tiles, false))
				}
				p := openBare(t, e, env.browsers[e], app.origin(t)+"?"+q.Encode())
				half := appUntil(p, `bar.value >= 0.4 * bar.max && bar.max > 1 || !link.hidden || /^[a-z-]+: /.test(status.textContent)`)
				if half.Done || half.Max != tilesSize {
					t.Fatalf("before the reload the page shows %+v; want a download under way of %d bytes", half, tilesSize)
				}
				if err := p.tab.Reload(p.ctx); err != nil {
					t.Fatalf("reload: %v", err)
				}
				end := appUntil(p, `!link.hidden || /^[a-z-]+: /.test(status.textContent)`)
				if want := fileSHA(t, tiles); !end.Done || end.SHA != want || end.Size != tilesSize {
					t.Fatalf("after the reload the page shows %+v; want the file, %d bytes of SHA-256 %s", end, int64(tilesSize), want)
				}
				// The old page goes on until the new one's answer arrives,
				// and may start a request after the reload was asked for:
				// the new page's requests are those after its document
				// was parsed: its module scripts, deferred, run only then.
				ms := eval[float64](p, `performance.timeOrigin + performance.getEntriesByType("navigation")[0].domInteractive`)
				t0 := time.UnixMicro(int64(ms * 1000))
				all := gets(t, u, 2)
				after := getsAfter(all, t0)
				if len(after) == len(all) {
					t.Fatalf("no request of %s before the reload: %s", u, lines(all))
				}
				if len(after) == 0 || after[0].Start <= 0 || after[0].Start >= tilesSize || after[0].IfRange == "" || after[0].Status != 206 {
					t.Fatalf("after the reload (the new page's document at %s) the app asked for %s; want a 206 of the rest with If-Range; every request: %s",
						t0.Format("15:04:05.000"), lines(after), timedLines(all))
				}
				if sent := sentTotal(after); sent > tilesSize-after[0].Start {
					t.Fatalf("the resume from %d sent %d bytes", after[0].Start, sent)
				}
			})
		}
	})
}

// TestWorkbox runs examples/workbox: a classic Service Worker built with
// Workbox 7.4.1 (workbox-sw loading workbox-routing with importScripts)
// whose one route is resumer-sw-classic.js's. Once the page has stored a
// video from the dev server, the network is made to fail for it (every
// request 503): a Range fetch and a whole one of its URL are still
// answered, with its bytes, by that route, and the server's log shows no
// request of it.
func TestWorkbox(t *testing.T) {
	dir := examplesDir(t)
	video := makeVideo(t)
	forEngines(t, func(t *testing.T, e drive.Engine) {
		name := "wb-" + testID(t) + ".webm"
		file := serveFile(t, video, name)
		u := env.base + "/files/" + name
		q := neturl.Values{"url": {u}, "db": {"e2e-wb-" + testID(t)}}
		p := openBare(t, e, env.browsers[e], serveDir(t, filepath.Join(dir, "workbox", "dist"), false)+"/?"+q.Encode())
		end := appUntil(p, `!link.hidden || /^[a-z-]+: /.test(status.textContent)`)
		if !end.Done || end.SHA != hexSHA(file) {
			t.Fatalf("the page shows %+v; want the video, SHA-256 %s", end, hexSHA(file))
		}
		if !eval[bool](p, `!!(navigator.serviceWorker && navigator.serviceWorker.controller)`) {
			t.Skipf("%s: no Service Worker controls the page in this session (%q): nothing for Workbox to route", e, end.Status)
		}
		t.Cleanup(func() {
			_, _ = evalErr[bool](p, `navigator.serviceWorker.getRegistrations().then((rs) => Promise.all(rs.map((r) => r.unregister()))).then(() => true)`)
		})
		eval[bool](p, fetchHelpersJS)
		before := logOf(t, u, 1)
		armFile(t, name, devserver.MaxArmTimes, "status=503")
		part := eval[read](p, fmt.Sprintf(`fetch(%q, {headers: {Range: "bytes=100-4195"}}).then(F.answer)`, u))
		if want := fmt.Sprintf("bytes 100-4195/%d", len(file)); part.Status != 206 || part.SHA != hexSHA(file[100:4196]) || part.Headers["content-range"] != want {
			t.Fatalf("a Range fetch through the Workbox route: %+v; want 206, %s, the video's bytes", part, want)
		}
		whole := eval[read](p, fmt.Sprintf(`fetch(%q).then(F.answer)`, u))
		if whole.Status != 200 || whole.SHA != hexSHA(file) {
			t.Fatalf("a fetch through the Workbox route: %d, sha %s; want 200 and the video", whole.Status, whole.SHA)
		}
		if after := logOf(t, u, 0)[len(before):]; len(after) > 0 {
			t.Fatalf("the stored video was asked of the network:\n%s", lines(after))
		}
	})
}
