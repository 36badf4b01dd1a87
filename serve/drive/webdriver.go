//go:build !js && !wasip1

package drive

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// A W3C WebDriver session over HTTP (https://www.w3.org/TR/webdriver2/),
// with only the commands the tests use. WebKitWebDriver speaks it for
// WebKitGTK's MiniBrowser.

// wdSession is one WebDriver session: one browser, several windows. The
// protocol has one current window per session, so mu guards it: every
// command of a tab switches to its window first.
type wdSession struct {
	base    string // http://127.0.0.1:port/session/<id>
	client  *http.Client
	mu      sync.Mutex
	current string // handle of the current window
	// shots: the browser paints its pages (Options.Screenshots), so Take
	// Screenshot answers; each Tab is then a window of its own.
	shots bool
}

// wdError is an error the remote end answered (§6.6 of the spec).
type wdError struct {
	Code, Message string
}

func (e *wdError) Error() string { return "webdriver: " + e.Code + ": " + e.Message }

// do sends one command and decodes its value into out (when not nil).
func (s *wdSession) do(ctx context.Context, method, path string, body, out any) error {
	return wdDo(ctx, s.client, method, s.base+path, body, out)
}

func wdDo(ctx context.Context, client *http.Client, method, url string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("webdriver %s %s: %w", method, url, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("webdriver %s %s: %w", method, url, err)
	}
	var env struct {
		Value json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal(raw, &env); err != nil {
		return fmt.Errorf("webdriver %s %s: status %d, %.200s", method, url, resp.StatusCode, raw)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error   string `json:"error"`
			Message string `json:"message"`
		}
		_ = json.Unmarshal(env.Value, &e)
		return &wdError{Code: e.Error, Message: e.Message}
	}
	if out != nil {
		return json.Unmarshal(env.Value, out)
	}
	return nil
}

// newWDSession opens a session with these capabilities on the driver at
// base (http://127.0.0.1:port), retrying while the driver starts.
func newWDSession(ctx context.Context, base string, caps map[string]any) (*wdSession, error) {
	client := &http.Client{}
	var created struct {
		SessionID string `json:"sessionId"`
	}
	body := map[string]any{"capabilities": map[string]any{"alwaysMatch": caps}}
	if err := wdDo(ctx, client, http.MethodPost, base+"/session", body, &created); err != nil {
		return nil, err
	}
	s := &wdSession{base: base + "/session/" + created.SessionID, client: client}
	// Scripts may run for minutes (a whole download awaited); pages load
	// from loopback.
	if err := s.do(ctx, http.MethodPost, "/timeouts", map[string]any{"script": 10 * 60 * 1000, "pageLoad": 60 * 1000}, nil); err != nil {
		return nil, err
	}
	var handle string
	if err := s.do(ctx, http.MethodGet, "/window", nil, &handle); err != nil {
		return nil, err
	}
	s.current = handle
	return s, nil
}

// wdTab is one window of a WebDriver session.
type wdTab struct {
	s      *wdSession
	handle string
}

// switchTo makes the tab's window current; s.mu held.
func (t *wdTab) switchTo(ctx context.Context) error {
	if t.s.current == t.handle {
		return nil
	}
	if err := t.s.do(ctx, http.MethodPost, "/window", map[string]any{"handle": t.handle}, nil); err != nil {
		return err
	}
	t.s.current = t.handle
	return nil
}

func (t *wdTab) command(ctx context.Context, method, path string, body, out any) error {
	t.s.mu.Lock()
	defer t.s.mu.Unlock()
	if err := t.switchTo(ctx); err != nil {
		return err
	}
	return t.s.do(ctx, method, path, body, out)
}

func (t *wdTab) Navigate(ctx context.Context, url string) error {
	return t.command(ctx, http.MethodPost, "/url", map[string]any{"url": url}, nil)
}

func (t *wdTab) Reload(ctx context.Context) error {
	return t.command(ctx, http.MethodPost, "/refresh", map[string]any{}, nil)
}

func (t *wdTab) Eval(ctx context.Context, expr string) (json.RawMessage, error) {
	var raw json.RawMessage
	if err := t.command(ctx, http.MethodPost, "/execute/async", map[string]any{"script": asyncScript(expr), "args": []any{}}, &raw); err != nil {
		return nil, err
	}
	return asyncResult(raw)
}

// Screenshot is WebDriver's Take Screenshot (§17.1): the viewport of the
// tab's window, a base64 PNG.
func (t *wdTab) Screenshot(ctx context.Context) ([]byte, error) {
	if !t.s.shots {
		return nil, ErrNoScreenshots
	}
	var b64 string
	if err := t.command(ctx, http.MethodGet, "/screenshot", nil, &b64); err != nil {
		return nil, err
	}
	return decodePNG(b64)
}

// SetViewport sets the window's outer size with Set Window Rect (§11.8.2)
// until its viewport has the size asked.
func (t *wdTab) SetViewport(ctx context.Context, width, height int) error {
	return fitViewport(ctx, t, func(ctx context.Context, w, h int) error {
		return t.command(ctx, http.MethodPost, "/window/rect", map[string]any{"width": w, "height": h}, nil)
	}, width, height)
}

func (t *wdTab) Close(ctx context.Context) error {
	t.s.mu.Lock()
	defer t.s.mu.Unlock()
	if err := t.switchTo(ctx); err != nil {
		return err
	}
	var left []string
	if err := t.s.do(ctx, http.MethodDelete, "/window", nil, &left); err != nil {
		return err
	}
	t.s.current = ""
	if len(left) > 0 {
		// Some window must be current for the next command of another tab
		// to switch from.
		if err := t.s.do(ctx, http.MethodPost, "/window", map[string]any{"handle": left[0]}, nil); err == nil {
			t.s.current = left[0]
		}
	}
	return nil
}

// newTab opens a tab in the session. The window the session started
// with is never handed out: closing a session's last window ends the
// session (WebDriver §11.3), so it stays open, on about:blank. With
// screenshots, each Tab is a window of its own: MiniBrowser keeps a new tab
// in the background (document.visibilityState "hidden") whatever Switch To
// Window says, and never paints it, so Take Screenshot of it waits forever.
func (s *wdSession) newTab(ctx context.Context) (Tab, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var w struct {
		Handle string `json:"handle"`
	}
	kind := "tab"
	if s.shots {
		kind = "window"
	}
	if err := s.do(ctx, http.MethodPost, "/window/new", map[string]any{"type": kind}, &w); err != nil {
		return nil, err
	}
	return &wdTab{s: s, handle: w.Handle}, nil
}

// webkit is WebKitGTK's MiniBrowser under WebKitWebDriver, on an Xvfb
// display of its own.
type webkit struct {
	xvfb, driver *process
	s            *wdSession
}

func (w *webkit) Engine() Engine { return WebKit }

func (w *webkit) NewTab(ctx context.Context) (Tab, error) {
	return w.s.newTab(ctx)
}

func (w *webkit) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if w.s != nil {
		_ = w.s.do(ctx, http.MethodDelete, "", nil, nil)
	}
	w.driver.stop()
	w.xvfb.stop()
	return nil
}

// MiniBrowserPath is where Debian's libwebkit2gtk-4.1-0 puts MiniBrowser
// (it is not on PATH); $MINIBROWSER overrides it.
func MiniBrowserPath() (string, error) {
	if p := os.Getenv("MINIBROWSER"); p != "" {
		return p, nil
	}
	matches, _ := filepath.Glob("/usr/lib/*/webkit2gtk-4.1/MiniBrowser")
	if len(matches) == 0 {
		return "", errors.New("no MiniBrowser found: install Debian's webkit2gtk-driver (make deps) or set MINIBROWSER")
	}
	return matches[0], nil
}

func startWebKit(ctx context.Context, o Options) (Browser, error) {
	mb, err := MiniBrowserPath()
	if err != nil {
		return nil, err
	}
	xvfb, display, err := startXvfb(ctx, o.Log)
	if err != nil {
		return nil, err
	}
	w := &webkit{xvfb: xvfb}
	port, err := freePort()
	if err != nil {
		w.Close()
		return nil, err
	}
	env := []string{"DISPLAY=" + display, "LIBGL_ALWAYS_SOFTWARE=1",
		// MiniBrowser keeps its data (IndexedDB among it) under the XDG
		// folders: the profile.
		"XDG_DATA_HOME=" + filepath.Join(o.Profile, "data"), "XDG_CACHE_HOME=" + filepath.Join(o.Profile, "cache"),
		"XDG_CONFIG_HOME=" + filepath.Join(o.Profile, "config")}
	if !o.Screenshots {
		// Without compositing WebKitGTK paints nothing it is not asked to
		// show, and answers no Take Screenshot; with it, it composites
		// every frame of every visible window in software, which a 2-core
		// machine running long downloads notices (TestChaos misses its
		// deadline).
		env = append(env, "WEBKIT_DISABLE_COMPOSITING_MODE=1")
	}
	if w.driver, err = startProcess("WebKitWebDriver", []string{fmt.Sprintf("--port=%d", port)}, env, o.Log); err != nil {
		w.Close()
		return nil, err
	}
	if err := waitPort(ctx, port, w.driver.exited); err != nil {
		w.Close()
		return nil, fmt.Errorf("drive: WebKitWebDriver: %w", err)
	}
	caps := map[string]any{
		"webkitgtk:browserOptions": map[string]any{"binary": mb, "args": []string{"--automation"}},
	}
	if w.s, err = newWDSession(ctx, fmt.Sprintf("http://127.0.0.1:%d", port), caps); err != nil {
		w.Close()
		return nil, fmt.Errorf("drive: WebKit session: %w", err)
	}
	w.s.shots = o.Screenshots
	return w, nil
}
