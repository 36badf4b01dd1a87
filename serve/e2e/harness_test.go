//go:build !js && !wasip1

// Package e2e holds the end-to-end tests: the real bundle (built from this
// tree), the real dev server on a loopback port, and Debian's headless
// Chromium, driven by chromedp. Every download's result is checked by the
// SHA-256 of the finished Blob against the server's file, and every fault by
// the server's own log.
package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
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

	"github.com/chromedp/chromedp"

	"github.com/go-resumer/resumer/serve/bundle"
	"github.com/go-resumer/resumer/serve/chrome"
	"github.com/go-resumer/resumer/serve/devserver"
)

// Files of the test server.
const (
	medium     = "medium.bin"
	mediumSize = 8 << 20
	small      = "small.bin"
	smallSize  = 1 << 20
	big        = "big.bin"
	bigSize    = 256 << 20
)

var env struct {
	srv     *devserver.Server
	base    string // http://127.0.0.1:port
	base2   string // the same dev server on another port: another origin
	browser context.Context
	nginx   *nginx
	python  *python
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
		Samples: []devserver.Sample{{Name: medium, Size: mediumSize}, {Name: small, Size: smallSize}, {Name: big, Size: bigSize}},
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

	bctx, stop, err := chrome.Start(ctx, filepath.Join(tmp, "profile"))
	if err != nil {
		return 0, err
	}
	defer stop()
	env.srv, env.base, env.base2, env.browser = srv, addrs[0], addrs[1], bctx
	return m.Run(), nil
}

// page is one browser tab with the test harness loaded.
type page struct {
	t   *testing.T
	ctx context.Context
	db  string
}

// harnessJS is the test side of the page: it drives the public JS API and
// keeps what the tests poll.
const harnessJS = `(() => {
  if (window.T) return true;
  const P = {}, D = {};
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
        Object.assign(s, { state: p.state, stored: p.stored, received: p.received, total: p.total });
        s.maxAttempt = Math.max(s.maxAttempt, p.attempt);
        if (p.retryAt) s.sawRetryAt = true;
        if (p.notice && !s.notices.includes(p.notice)) s.notices.push(p.notice);
        if (p.errorCode && !s.errorCodes.includes(p.errorCode)) s.errorCodes.push(p.errorCode);
        if (s.states[s.states.length - 1] !== p.state) s.states.push(p.state);
      });
      d.done.then(() => { P[url].state = "done"; }, (e) => { P[url].state = "failed"; });
      return true;
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

// newPage opens a tab on path of the dev server and loads resumer with a
// database of its own.
func newPage(t *testing.T, path string) *page {
	t.Helper()
	return openPage(t, env.base+path)
}

// openPage opens a tab on a full URL and loads resumer with a database of
// its own.
func openPage(t *testing.T, pageURL string) *page {
	t.Helper()
	ctx, cancel := chromedp.NewContext(env.browser)
	ctx, cancelT := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() { cancelT(); cancel() })
	p := &page{t: t, ctx: ctx, db: "e2e-" + testID(t)}
	if err := chromedp.Do(ctx, chromedp.Navigate(pageURL)); err != nil {
		t.Fatalf("navigate: %v", err)
	}
	p.init()
	return p
}

func (p *page) init() {
	p.t.Helper()
	eval[bool](p, harnessJS)
	eval[bool](p, fmt.Sprintf("T.load(%q)", p.db))
}

func eval[T any](p *page, expr string) T {
	p.t.Helper()
	v, err := chrome.Eval[T](p.ctx, expr)
	if err != nil {
		p.t.Fatalf("evaluate %.80q: %v", expr, err)
	}
	return v
}

// reload reloads the tab: the running download dies with the page.
func (p *page) reload() {
	p.t.Helper()
	if err := chromedp.Do(p.ctx, chromedp.Reload()); err != nil {
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

// waitStored polls until the download of url has at least n bytes stored.
func (p *page) waitStored(url string, n int64) progress {
	p.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		pr := eval[progress](p, fmt.Sprintf("T.P[%q]", url))
		if pr.Stored >= n {
			return pr
		}
		if time.Now().After(deadline) || pr.State == "failed" || pr.State == "done" {
			p.t.Fatalf("waiting for %d bytes stored: %+v", n, pr)
		}
		time.Sleep(20 * time.Millisecond)
	}
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
		env.srv.WaitLog(ctx, len(log)+1) // the next entry, of any URL; on timeout WaitIdle says so
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
