//go:build !js && !wasip1

// Package drive runs real browsers for the end-to-end tests, behind one
// small interface, so that one test body runs in every engine:
//
//   - Chromium (Debian's chromium), through the DevTools protocol
//     (chromedp);
//   - Firefox ESR (firefox-esr), through Marionette, the automation
//     protocol built into Firefox (no geckodriver needed);
//   - WebKitGTK, Safari's engine (webkit2gtk-driver), through W3C
//     WebDriver: WebKitWebDriver drives MiniBrowser, on an Xvfb display.
//
// A Browser opens Tabs; a Tab navigates, reloads, evaluates JavaScript
// (awaiting promises, results as JSON), takes a screenshot of what it shows,
// sets the size of its viewport, and closes. Everything else the
// tests need is done from the page itself, so that no engine-specific
// protocol leaks into them; what only one engine can do (Chromium's quota
// override) is asked through an optional interface.
package drive

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"time"
)

// Engine names a browser engine.
type Engine string

// The engines the tests run in.
const (
	Chromium Engine = "chromium"
	Firefox  Engine = "firefox"
	WebKit   Engine = "webkit"
)

// Engines is every engine, in the order the tests run them.
var Engines = []Engine{Chromium, Firefox, WebKit}

// Browser is one running browser with its own profile.
type Browser interface {
	// Engine says which engine it is.
	Engine() Engine
	// NewTab opens a tab on about:blank.
	NewTab(ctx context.Context) (Tab, error)
	// Close ends the browser process. Its profile stays on disk.
	Close() error
}

// Tab is one tab of a Browser. Its methods may be called from several
// goroutines; each call waits for the one before.
type Tab interface {
	// Navigate loads url and waits for its load event.
	Navigate(ctx context.Context, url string) error
	// Reload reloads the page and waits for its load event.
	Reload(ctx context.Context) error
	// Eval evaluates a JavaScript expression in the page, awaits it if it
	// is a Promise, and returns its value as JSON ("null" for undefined).
	// A thrown exception or a rejection is an error.
	Eval(ctx context.Context, expr string) (json.RawMessage, error)
	// Screenshot returns a PNG of the page's viewport, as a person would
	// see it; ErrNoScreenshots from a browser started without
	// Options.Screenshots that needs it.
	Screenshot(ctx context.Context) ([]byte, error)
	// SetViewport sizes the page's viewport (window.innerWidth and
	// innerHeight), in CSS pixels, for screenshots of a known size.
	SetViewport(ctx context.Context, width, height int) error
	// Close closes the tab.
	Close(ctx context.Context) error
}

// QuotaSetter is a Tab whose browser can override the storage quota of an
// origin (Chromium's DevTools protocol); 0 restores the browser's own.
type QuotaSetter interface {
	SetQuota(ctx context.Context, origin string, bytes int64) error
}

// Options say how to start a browser.
type Options struct {
	// Profile is the folder of the browser's profile: a fresh one for a
	// fresh browser, the same one again to restart it.
	Profile string
	// Log, if not nil, receives the browser's and its driver's output.
	Log func(format string, args ...any)
	// FirefoxPrefs are more preferences for Firefox (user.js), such as a
	// small storage quota for a test that fills it.
	FirefoxPrefs map[string]any
	// Screenshots makes every engine answer Tab.Screenshot. Chromium and
	// Firefox always do; WebKitGTK then composites its pages (in
	// software: CPU a busy test notices) and opens each Tab as a window
	// of its own.
	Screenshots bool
}

// ErrNoScreenshots is Tab.Screenshot's error in a browser that paints
// only with Options.Screenshots (WebKitGTK).
var ErrNoScreenshots = errors.New("drive: this browser was started without Options.Screenshots")

// TakesScreenshots reports whether the Tabs of b answer Screenshot.
func TakesScreenshots(b Browser) bool {
	if w, ok := b.(*webkit); ok {
		return w.s.shots
	}
	return true
}

// Start starts a browser of engine e.
func Start(ctx context.Context, e Engine, o Options) (Browser, error) {
	if o.Log == nil {
		o.Log = func(string, ...any) {}
	}
	switch e {
	case Chromium:
		return startChromium(ctx, o)
	case Firefox:
		return startFirefox(ctx, o)
	case WebKit:
		return startWebKit(ctx, o)
	}
	return nil, fmt.Errorf("drive: unknown engine %q", e)
}

// ParseEngines reads a comma-separated list of engines ("" or "all": every
// one).
func ParseEngines(s string) ([]Engine, error) {
	if s == "" || s == "all" {
		return Engines, nil
	}
	var out []Engine
	for _, name := range strings.Split(s, ",") {
		e := Engine(strings.TrimSpace(name))
		switch e {
		case Chromium, Firefox, WebKit:
			out = append(out, e)
		default:
			return nil, fmt.Errorf("unknown engine %q (have chromium, firefox, webkit)", name)
		}
	}
	return out, nil
}

// asyncScript wraps expr for WebDriver's Execute Async Script: the value is
// sent back JSON-encoded in a string, so that every protocol returns it the
// same way, and an exception comes back with its stack.
func asyncScript(expr string) string {
	return `const done = arguments[arguments.length - 1];
Promise.resolve().then(() => (` + expr + `)).then(
  (v) => done({ ok: true, v: JSON.stringify(v === undefined ? null : v) }),
  (e) => done({ ok: false, e: String(e) + (e && e.stack ? "\n" + e.stack : "") }));`
}

// asyncResult decodes what asyncScript sent back.
func asyncResult(raw json.RawMessage) (json.RawMessage, error) {
	var r struct {
		OK bool   `json:"ok"`
		V  string `json:"v"`
		E  string `json:"e"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, fmt.Errorf("drive: script result %.200s: %w", raw, err)
	}
	if !r.OK {
		return nil, &ScriptError{Message: r.E}
	}
	if r.V == "" {
		return json.RawMessage("null"), nil
	}
	return json.RawMessage(r.V), nil
}

// decodePNG decodes the base64 PNG that WebDriver's Take Screenshot
// (§17.1) and Marionette answer.
func decodePNG(b64 string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, fmt.Errorf("drive: screenshot: %w", err)
	}
	if !bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) {
		return nil, fmt.Errorf("drive: screenshot: not a PNG (%d bytes)", len(b))
	}
	return b, nil
}

// fitViewport sizes a window whose protocol can only set its outer size
// (WebDriver's Set Window Rect, §11.8.2) so that its viewport is
// width×height: the window's frame and toolbars are what the page
// measures between its outer and inner size. The page sees a new size
// when its resize event fires, which can be after Set Window Rect
// returned: viewport waits for that event.
func fitViewport(ctx context.Context, t Tab, setRect func(ctx context.Context, w, h int) error, width, height int) error {
	var frame [2]int
	raw, err := t.Eval(ctx, "[window.outerWidth - window.innerWidth, window.outerHeight - window.innerHeight]")
	if err == nil {
		err = json.Unmarshal(raw, &frame)
	}
	if err != nil {
		return fmt.Errorf("drive: measure the window: %w", err)
	}
	want := [2]int{width, height}
	outer := [2]int{width + frame[0], height + frame[1]}
	for try := 0; ; try++ {
		if err := setRect(ctx, outer[0], outer[1]); err != nil {
			return fmt.Errorf("drive: set window size: %w", err)
		}
		got, err := viewport(ctx, t, want)
		if err != nil {
			return fmt.Errorf("drive: measure the viewport: %w", err)
		}
		if got == want {
			return nil
		}
		if try == 1 {
			return fmt.Errorf("drive: asked for a %dx%d viewport, got %dx%d", width, height, got[0], got[1])
		}
		// The frame measured wrong (a toolbar that appeared): correct by
		// what the page got.
		outer = [2]int{outer[0] + width - got[0], outer[1] + height - got[1]}
	}
}

// viewport returns the page's viewport size once it is want, or what it
// is when no resize event came for a second.
func viewport(ctx context.Context, t Tab, want [2]int) ([2]int, error) {
	var got [2]int
	raw, err := t.Eval(ctx, fmt.Sprintf(`new Promise((res) => {
  const size = () => [window.innerWidth, window.innerHeight];
  const ok = () => window.innerWidth === %d && window.innerHeight === %d;
  let timer = 0;
  const done = () => { window.removeEventListener("resize", onResize); clearTimeout(timer); res(size()); };
  const quiet = () => { clearTimeout(timer); timer = setTimeout(done, 1000); };
  const onResize = () => (ok() ? done() : quiet());
  if (ok()) return res(size());
  window.addEventListener("resize", onResize);
  quiet();
})`, want[0], want[1]))
	if err == nil {
		err = json.Unmarshal(raw, &got)
	}
	return got, err
}

// ScriptError is an exception thrown, or a rejection, in the page.
type ScriptError struct{ Message string }

func (e *ScriptError) Error() string { return "in the page: " + e.Message }

// freePort returns a loopback port nobody listens on now.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// waitPort waits until something accepts connections on port, or the
// process ends, or ctx does.
func waitPort(ctx context.Context, port int, exited <-chan struct{}) error {
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		t := time.NewTimer(20 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-exited:
			t.Stop()
			return errors.New("the process ended before it listened")
		case <-t.C:
		}
	}
}

// process is a child process that is killed with its own children.
type process struct {
	cmd    *exec.Cmd
	exited chan struct{}
}

func startProcess(name string, args []string, env []string, log func(string, ...any)) (*process, error) {
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout = logWriter{log, name}
	cmd.Stderr = logWriter{log, name}
	setGroup(cmd)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("drive: start %s: %w", name, err)
	}
	p := &process{cmd: cmd, exited: make(chan struct{})}
	go func() {
		cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// stop ends the process and its children, and waits for it.
func (p *process) stop() {
	if p == nil {
		return
	}
	killGroup(p.cmd)
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
	}
}

type logWriter struct {
	log  func(string, ...any)
	name string
}

func (w logWriter) Write(b []byte) (int, error) {
	for _, line := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		if line != "" {
			w.log("%s: %s", w.name, line)
		}
	}
	return len(b), nil
}
