//go:build !js && !wasip1

// Package e2e holds the end-to-end tests: the real bundle (built from this
// tree), the real dev server on a loopback port, and real browsers: every
// test body runs in Chromium, Firefox ESR and WebKitGTK (Safari's engine),
// driven through serve/drive. Every download's result is checked by the
// SHA-256 of the finished Blob against the server's file, and every fault
// by the server's own log.
//
// RESUMER_ENGINES=chromium,firefox (say) runs some engines only.
package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	neturl "net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-resumer/resumer/serve/bundle"
	"github.com/go-resumer/resumer/serve/devserver"
	"github.com/go-resumer/resumer/serve/drive"
)

// Files of the test server.
const (
	medium     = "medium.bin"
	mediumSize = 8 << 20
	small      = "small.bin"
	smallSize  = 1 << 20
	big        = "big.bin"
	bigSize    = 256 << 20
	// tiles is three cells of the default 8 MiB grid: a cross-origin
	// range counts only once its body ended (protocol.Body.Exact), so a
	// file that a reload cuts after some of it is stored needs several.
	tiles     = "tiles.bin"
	tilesSize = 24 << 20
)

var env struct {
	srv      *devserver.Server
	base     string // http://127.0.0.1:port
	base2    string // the same dev server on another port: another origin
	tmp      string
	engines  []drive.Engine
	browsers map[drive.Engine]drive.Browser
	nginx    *nginx
	python   *python
	logs     sync.Map // engine → *browserLog
}

func TestMain(m *testing.M) {
	code, err := setup(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

func setup(m *testing.M) (int, error) {
	tmp, err := os.MkdirTemp("", "resumer-e2e-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(tmp)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	if env.engines, err = drive.ParseEngines(os.Getenv("RESUMER_ENGINES")); err != nil {
		return 0, fmt.Errorf("RESUMER_ENGINES: %w", err)
	}
	root, err := bundle.Root(".")
	if err != nil {
		return 0, err
	}
	web := filepath.Join(tmp, "web")
	if err := bundle.Build(ctx, root, web); err != nil {
		return 0, err
	}
	// A blank page of the same origin for tests that use only the JS API.
	if err := os.WriteFile(filepath.Join(web, "blank.html"), []byte("<!doctype html><title>blank</title>"), 0o644); err != nil {
		return 0, err
	}
	srv, err := devserver.New(devserver.Config{
		DataDir: filepath.Join(tmp, "data"), WebDir: web,
		Samples: []devserver.Sample{{Name: medium, Size: mediumSize}, {Name: small, Size: smallSize}, {Name: big, Size: bigSize}, {Name: tiles, Size: tilesSize}},
		// Every request of a whole run, three engines' worth: the tests
		// look up their own.
		LogLimit: 200000,
	})
	if err != nil {
		return 0, err
	}
	defer srv.Close()
	hs := &http.Server{Handler: srv.Handler(), ConnContext: srv.ConnContext}
	defer hs.Close()
	var addrs []string
	for range 2 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		go hs.Serve(ln)
		addrs = append(addrs, "http://"+ln.Addr().String())
	}
	if env.nginx, err = startNginx(tmp, web); err != nil {
		return 0, err
	}
	defer env.nginx.stop()
	if env.python, err = startPython(tmp, web); err != nil {
		return 0, err
	}
	defer env.python.stop()

	env.srv, env.base, env.base2, env.tmp = srv, addrs[0], addrs[1], tmp
	env.browsers = map[drive.Engine]drive.Browser{}
	defer func() {
		for _, b := range env.browsers {
			b.Close()
		}
	}()
	defer closeShotBrowsers()
	for _, e := range env.engines {
		b, err := startBrowser(ctx, e, filepath.Join(tmp, "profile-"+string(e)), nil)
		if err != nil {
			return 0, fmt.Errorf("start %s: %w", e, err)
		}
		env.browsers[e] = b
	}
	return m.Run(), nil
}

// browserLog keeps the last lines a browser and its driver printed, for a
// test that fails.
type browserLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *browserLog) add(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
	if len(l.lines) > 200 {
		l.lines = l.lines[len(l.lines)-200:]
	}
}

func (l *browserLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// startBrowser starts a browser of engine e on a profile folder.
func startBrowser(ctx context.Context, e drive.Engine, profile string, prefs map[string]any) (drive.Browser, error) {
	l, _ := env.logs.LoadOrStore(e, &browserLog{})
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	return drive.Start(ctx, e, drive.Options{Profile: profile, Log: l.(*browserLog).add, FirefoxPrefs: prefs})
}

// forEngines runs fn once per engine, each in a subtest named after it.
func forEngines(t *testing.T, fn func(t *testing.T, e drive.Engine)) {
	t.Helper()
	for _, e := range env.engines {
		t.Run(string(e), func(t *testing.T) {
			t.Cleanup(func() {
				if t.Failed() {
					if l, ok := env.logs.Load(e); ok {
						t.Logf("%s said lately:\n%s", e, l)
					}
				}
			})
			fn(t, e)
		})
	}
}

// onlyIn skips a test in the engines not named, saying why: a test of what
// only some engines can do (a quota override, a persistent profile).
func onlyIn(t *testing.T, e drive.Engine, why string, in ...drive.Engine) {
	t.Helper()
	for _, x := range in {
		if x == e {
			return
		}
	}
	t.Skipf("not in %s: %s", e, why)
}

// page is one browser tab with the test harness loaded.
type page struct {
	t   *testing.T
	e   drive.Engine
	tab drive.Tab
	ctx context.Context // the test's deadline
	db  string
}

// harnessJS is the test side of the page: it drives the public JS API and
// keeps what the tests poll.
const harnessJS = `(() => {
  if (window.T) return true;
  const P = {}, D = {}, W = new Set();
  const wake = () => { for (const w of [...W]) w(); };
  const hex = (buf) => [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, "0")).join("");
  window.T = {
    P, D,
    async load(db) {
      const m = await import("/resumer.js");
      window.R = await m.load({ dbName: db });
      return true;
    },
    start(url, opts) {
      const d = R.download(url, opts || {});
      D[url] = d;
      P[url] = { state: d.state, stored: 0, received: 0, maxAttempt: 0, sawRetryAt: false, notices: [], errorCodes: [], states: [] };
      d.addEventListener("progress", (p) => {
        const s = P[url];
        Object.assign(s, { state: p.state, stored: p.stored, received: p.received, total: p.total, elsewhere: p.elsewhere });
        s.maxAttempt = Math.max(s.maxAttempt, p.attempt);
        if (p.retryAt) s.sawRetryAt = true;
        if (p.notice && !s.notices.includes(p.notice)) s.notices.push(p.notice);
        if (p.errorCode && !s.errorCodes.includes(p.errorCode)) s.errorCodes.push(p.errorCode);
        if (s.states[s.states.length - 1] !== p.state) s.states.push(p.state);
        wake();
      });
      d.done.then(() => { P[url].state = "done"; wake(); }, (e) => { P[url].state = "failed"; wake(); });
      return true;
    },
    // until resolves with what the page saw of url once cond (a JS
    // expression of s, that record) holds, checked at every event: the
    // tests wait for events, never for time. It fails after ms.
    until(url, cond, ms) {
      const f = new Function("s", "return (" + cond + ");");
      return new Promise((res, rej) => {
        let timer;
        const check = () => {
          const s = P[url];
          if (!s || !f(s)) return;
          W.delete(check);
          clearTimeout(timer);
          res(s);
        };
        W.add(check);
        timer = setTimeout(() => { W.delete(check); rej(new Error("waited " + ms + " ms for " + cond + ": " + JSON.stringify(P[url]))); }, ms);
        check();
      });
    },
    async finish(url) {
      try {
        const r = await D[url].done;
        const sha = hex(await crypto.subtle.digest("SHA-256", await r.blob.arrayBuffer()));
        return { sha, size: r.size, blobSize: r.blob.size, resumable: r.resumable, reason: r.reason,
          reasonCode: r.reasonCode, restarts: r.restarts, etag: r.etag };
      } catch (e) {
        return { error: { code: e.code, status: e.status || 0, message: e.message, isError: e instanceof Error } };
      }
    },
    // chunks counts the chunk records of every lane of the database.
    async chunks(db) {
      const idb = await new Promise((res, rej) => { const r = indexedDB.open(db); r.onsuccess = () => res(r.result); r.onerror = () => rej(r.error); });
      const names = [...idb.objectStoreNames].filter((n) => n.startsWith("chunks"));
      const tx = idb.transaction(names, "readonly");
      const counts = await Promise.all(names.map((n) => new Promise((res) => { const r = tx.objectStore(n).count(); r.onsuccess = () => res(r.result); })));
      idb.close();
      return counts.reduce((a, b) => a + b, 0);
    },
  };
  return true;
})()`

// newPage opens a tab of engine e on path of the dev server and loads
// resumer with a database of its own.
func newPage(t *testing.T, e drive.Engine, path string) *page {
	t.Helper()
	return openPage(t, e, env.base+path)
}

// openPage opens a tab of engine e on a full URL and loads resumer with a
// database of its own.
func openPage(t *testing.T, e drive.Engine, pageURL string) *page {
	t.Helper()
	return openIn(t, e, env.browsers[e], pageURL, "e2e-"+testID(t))
}

// openIn opens a tab of browser b on pageURL, with resumer on database db.
func openIn(t *testing.T, e drive.Engine, b drive.Browser, pageURL, db string) *page {
	t.Helper()
	p := openBare(t, e, b, pageURL)
	p.db = db
	p.init()
	return p
}

// openBare opens a tab of browser b on pageURL and leaves the page to
// itself: an app that loads resumer its own way.
func openBare(t *testing.T, e drive.Engine, b drive.Browser, pageURL string) *page {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	tab, err := b.NewTab(ctx)
	if err != nil {
		t.Fatalf("new tab: %v", err)
	}
	p := &page{t: t, e: e, tab: tab, ctx: ctx}
	t.Cleanup(func() {
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = tab.Close(cctx)
	})
	if err := tab.Navigate(ctx, pageURL); err != nil {
		t.Fatalf("navigate to %s: %v", pageURL, err)
	}
	return p
}

func (p *page) init() {
	p.t.Helper()
	eval[bool](p, harnessJS)
	eval[bool](p, fmt.Sprintf("T.load(%q)", p.db))
}

// eval evaluates a JavaScript expression in the page, awaiting a Promise,
// and decodes its value.
func eval[T any](p *page, expr string) T {
	p.t.Helper()
	v, err := evalErr[T](p, expr)
	if err != nil {
		p.t.Fatalf("evaluate %.120q: %v", expr, err)
	}
	return v
}

func evalErr[T any](p *page, expr string) (T, error) {
	var v T
	raw, err := p.tab.Eval(p.ctx, expr)
	if err != nil {
		return v, err
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return v, fmt.Errorf("decode %.200s: %w", raw, err)
	}
	return v, nil
}

// reload reloads the tab: the running download dies with the page.
func (p *page) reload() {
	p.t.Helper()
	if err := p.tab.Reload(p.ctx); err != nil {
		p.t.Fatalf("reload: %v", err)
	}
	p.init()
}

func (p *page) start(url string, opts string) {
	p.t.Helper()
	if opts == "" {
		opts = "{}"
	}
	eval[bool](p, fmt.Sprintf("T.start(%q, %s)", url, opts))
}

type progress struct {
	State      string   `json:"state"`
	Stored     int64    `json:"stored"`
	Received   int64    `json:"received"`
	MaxAttempt int      `json:"maxAttempt"`
	SawRetryAt bool     `json:"sawRetryAt"`
	Notices    []string `json:"notices"`
	ErrorCodes []string `json:"errorCodes"`
	States     []string `json:"states"`
}

// progressOf returns what the page saw of a download.
func (p *page) progressOf(url string) progress {
	p.t.Helper()
	return eval[progress](p, fmt.Sprintf("T.P[%q]", url))
}

// until waits, in the page, for cond (a JS expression of s, what the page
// saw of url: s.state, s.stored, …) and returns what it saw then.
func (p *page) until(url, cond string) progress {
	p.t.Helper()
	v, err := evalErr[progress](p, fmt.Sprintf("T.until(%q, %q, 90000)", url, cond))
	if err != nil {
		p.t.Fatalf("waiting for %s: %v", cond, err)
	}
	return v
}

// waitStored waits until the download of url has at least n bytes stored.
func (p *page) waitStored(url string, n int64) progress {
	p.t.Helper()
	pr := p.until(url, fmt.Sprintf(`s.stored >= %d || s.state === "failed" || s.state === "done"`, n))
	if pr.Stored < n {
		p.t.Fatalf("waiting for %d bytes stored: %+v", n, pr)
	}
	return pr
}

type result struct {
	SHA        string `json:"sha"`
	Size       int64  `json:"size"`
	BlobSize   int64  `json:"blobSize"`
	Resumable  bool   `json:"resumable"`
	Reason     string `json:"reason"`
	ReasonCode string `json:"reasonCode"`
	Restarts   int    `json:"restarts"`
	ETag       string `json:"etag"`
	Error      *struct {
		Code    string `json:"code"`
		Status  int    `json:"status"`
		Message string `json:"message"`
		IsError bool   `json:"isError"`
	} `json:"error"`
}

func (p *page) finish(url string) result {
	p.t.Helper()
	return eval[result](p, fmt.Sprintf("T.finish(%q)", url))
}

type entry struct {
	URL          string `json:"url"`
	Size         *int64 `json:"size"`
	Received     int64  `json:"received"`
	State        string `json:"state"`
	ETag         string `json:"etag"`
	LastModified string `json:"lastModified"`
	Resumable    bool   `json:"resumable"`
	Reason       string `json:"reason"`
	ErrorCode    string `json:"errorCode"`
	ErrorMessage string `json:"errorMessage"`
	DecidedBy    *struct {
		Status      int    `json:"status"`
		URL         string `json:"url"`
		CrossOrigin bool   `json:"crossOrigin"`
		Request     []struct {
			Name  string `json:"name"`
			Value string `json:"value"`
		} `json:"request"`
		Missing []string `json:"missing"`
	} `json:"decidedBy"`
}

func (p *page) list() []entry {
	p.t.Helper()
	return eval[[]entry](p, "R.list()")
}

// fileSHA is the SHA-256 of a file as the dev server has it now.
func fileSHA(t *testing.T, name string) string {
	t.Helper()
	path, err := env.srv.Path(name)
	if err != nil {
		t.Fatal(err)
	}
	return sha(t, path)
}

// sha is the SHA-256 of a file.
func sha(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// url returns the absolute URL of a file with a query that names the test,
// so that its log entries are its own.
func fileURL(t *testing.T, name, query string) string {
	q := "t=" + testID(t)
	if query != "" {
		q += "&" + query
	}
	return env.base + "/files/" + name + "?" + q
}

// gets returns the logged GETs of u in the order they arrived, once at
// least n are logged and none of u is still in flight (the server logs a
// request when its handler returns, which can be after the browser has
// seen the response end or given up on it).
func gets(t *testing.T, u string, n int) []devserver.LogEntry {
	t.Helper()
	var out []devserver.LogEntry
	for _, e := range logOf(t, u, n) {
		if e.Method == "GET" {
			out = append(out, e)
		}
	}
	return out
}

// logOf returns every logged request of u (preflights too) in the order
// they arrived, once at least n GETs are logged and none of u is in flight.
func logOf(t *testing.T, u string, n int) []devserver.LogEntry {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	pu, err := neturl.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	match := func(path, query string) bool { return path == pu.Path && query == pu.RawQuery }
	for {
		seen := env.srv.LogTotal()
		log, err := env.srv.WaitIdle(ctx, match)
		var all []devserver.LogEntry
		got := 0
		for _, e := range log {
			if match(e.Path, e.Query) {
				all = append(all, e)
				if e.Method == "GET" {
					got++
				}
			}
		}
		if got >= n {
			return all
		}
		if err != nil {
			t.Fatalf("%d requests logged for %s, want %d: %v", got, u, n, err)
		}
		env.srv.WaitLog(ctx, seen+1) // the next entry, of any URL
		if err := ctx.Err(); err != nil {
			// WaitIdle does not fail when nothing of u is in flight: with
			// fewer than n requests ever made, this is where the wait ends.
			t.Fatalf("%d requests logged for %s, want %d: %v", got, u, n, err)
		}
	}
}

var testIDs sync.Map // *testing.T → string

// testID names one run of a test: its name and a number, so that with
// -count=N each run has URLs (and server log entries) and a database of
// its own.
func testID(t *testing.T) string {
	if id, ok := testIDs.Load(t); ok {
		return id.(string)
	}
	id := strings.NewReplacer("/", "-", " ", "-").Replace(t.Name()) + "-" + strconv.FormatInt(runSeq.Add(1), 10)
	actual, _ := testIDs.LoadOrStore(t, id)
	return actual.(string)
}

var runSeq atomic.Int64
