//go:build !js && !wasip1

package drive

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// Marionette is Firefox's own automation protocol, the one geckodriver
// translates WebDriver into: JSON messages over TCP, each framed as its
// length, a colon and the JSON text. A command is [0, id, name, params]; its
// answer [1, id, error, result]. Its commands are named after WebDriver's
// ("WebDriver:Navigate" …), with the same meaning.

type marionette struct {
	conn net.Conn
	rd   *bufio.Reader
	mu   sync.Mutex // one command at a time, and the current window
	next int
	cur  string // handle of the current window
}

// marionetteError is an error Firefox answered.
type marionetteError struct {
	Code    string `json:"error"`
	Message string `json:"message"`
}

func (e *marionetteError) Error() string { return "marionette: " + e.Code + ": " + e.Message }

func (m *marionette) readMsg() (json.RawMessage, error) {
	head, err := m.rd.ReadString(':')
	if err != nil {
		return nil, err
	}
	n, err := strconv.Atoi(head[:len(head)-1])
	if err != nil || n < 0 || n > 64<<20 {
		return nil, fmt.Errorf("marionette: bad frame length %q", head)
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(m.rd, buf); err != nil {
		return nil, err
	}
	return buf, nil
}

// call sends one command and decodes its result into out; m.mu held.
func (m *marionette) call(ctx context.Context, name string, params, out any) error {
	if params == nil {
		params = map[string]any{}
	}
	m.next++
	id := m.next
	b, err := json.Marshal([]any{0, id, name, params})
	if err != nil {
		return err
	}
	if d, ok := ctx.Deadline(); ok {
		m.conn.SetDeadline(d)
	} else {
		m.conn.SetDeadline(time.Time{})
	}
	if _, err := fmt.Fprintf(m.conn, "%d:%s", len(b), b); err != nil {
		return fmt.Errorf("marionette %s: %w", name, err)
	}
	for {
		raw, err := m.readMsg()
		if err != nil {
			return fmt.Errorf("marionette %s: %w", name, err)
		}
		var msg []json.RawMessage
		if err := json.Unmarshal(raw, &msg); err != nil || len(msg) != 4 {
			return fmt.Errorf("marionette %s: bad answer %.200s", name, raw)
		}
		var got int
		if err := json.Unmarshal(msg[1], &got); err != nil || got != id {
			continue // the answer to an earlier command given up on
		}
		if string(msg[2]) != "null" {
			var e marionetteError
			_ = json.Unmarshal(msg[2], &e)
			return &e
		}
		if out != nil {
			return json.Unmarshal(msg[3], out)
		}
		return nil
	}
}

// firefox is Firefox ESR, headless, with Marionette on a port of its own.
type firefox struct {
	proc *process
	m    *marionette
}

func (f *firefox) Engine() Engine { return Firefox }

// NewTab opens a tab. The window Firefox started with is never handed
// out: closing the last window would end the session.
func (f *firefox) NewTab(ctx context.Context) (Tab, error) {
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	var w struct {
		Handle string `json:"handle"`
	}
	if err := f.m.call(ctx, "WebDriver:NewWindow", map[string]any{"type": "tab", "focus": false}, &w); err != nil {
		return nil, err
	}
	return &mnTab{m: f.m, handle: w.Handle}, nil
}

func (f *firefox) Close() error {
	if f.m != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		f.m.mu.Lock()
		_ = f.m.call(ctx, "Marionette:Quit", map[string]any{"flags": []string{"eForceQuit"}}, nil)
		f.m.mu.Unlock()
		cancel()
		f.m.conn.Close()
	}
	select {
	case <-f.proc.exited:
	case <-time.After(5 * time.Second):
	}
	f.proc.stop()
	return nil
}

type mnTab struct {
	m      *marionette
	handle string
}

// command switches to the tab's window and calls; it takes m.mu.
func (t *mnTab) command(ctx context.Context, name string, params, out any) error {
	t.m.mu.Lock()
	defer t.m.mu.Unlock()
	if t.m.cur != t.handle {
		if err := t.m.call(ctx, "WebDriver:SwitchToWindow", map[string]any{"handle": t.handle, "focus": false}, nil); err != nil {
			return err
		}
		t.m.cur = t.handle
	}
	return t.m.call(ctx, name, params, out)
}

func (t *mnTab) Navigate(ctx context.Context, url string) error {
	return t.command(ctx, "WebDriver:Navigate", map[string]any{"url": url}, nil)
}

func (t *mnTab) Reload(ctx context.Context) error {
	return t.command(ctx, "WebDriver:Refresh", nil, nil)
}

func (t *mnTab) Eval(ctx context.Context, expr string) (json.RawMessage, error) {
	var r struct {
		Value json.RawMessage `json:"value"`
	}
	if err := t.command(ctx, "WebDriver:ExecuteAsyncScript", map[string]any{"script": asyncScript(expr), "args": []any{}}, &r); err != nil {
		return nil, err
	}
	return asyncResult(r.Value)
}

// show makes the tab the one its window shows. Tabs are opened in the
// background, where Firefox neither lays a page out at the window's new
// size nor paints it as a person sees it.
func (t *mnTab) show(ctx context.Context) error {
	t.m.mu.Lock()
	defer t.m.mu.Unlock()
	if err := t.m.call(ctx, "WebDriver:SwitchToWindow", map[string]any{"handle": t.handle, "focus": true}, nil); err != nil {
		return err
	}
	t.m.cur = t.handle
	return nil
}

// Screenshot is Marionette's WebDriver:TakeScreenshot of the viewport
// (full: false; its default is the whole document), of the tab shown.
func (t *mnTab) Screenshot(ctx context.Context) ([]byte, error) {
	if err := t.show(ctx); err != nil {
		return nil, err
	}
	var r struct {
		Value string `json:"value"`
	}
	if err := t.command(ctx, "WebDriver:TakeScreenshot", map[string]any{"full": false, "hash": false}, &r); err != nil {
		return nil, err
	}
	return decodePNG(r.Value)
}

// SetViewport shows the tab and sets its window's outer size
// (WebDriver:SetWindowRect) so that its viewport has the size asked.
func (t *mnTab) SetViewport(ctx context.Context, width, height int) error {
	if err := t.show(ctx); err != nil {
		return err
	}
	return fitViewport(ctx, t, func(ctx context.Context, w, h int) error {
		return t.command(ctx, "WebDriver:SetWindowRect", map[string]any{"width": w, "height": h}, nil)
	}, width, height)
}

func (t *mnTab) Close(ctx context.Context) error {
	t.m.mu.Lock()
	defer t.m.mu.Unlock()
	if t.m.cur != t.handle {
		if err := t.m.call(ctx, "WebDriver:SwitchToWindow", map[string]any{"handle": t.handle, "focus": false}, nil); err != nil {
			return err
		}
	}
	var left []string
	if err := t.m.call(ctx, "WebDriver:CloseWindow", nil, &left); err != nil {
		return err
	}
	t.m.cur = ""
	if len(left) > 0 {
		if err := t.m.call(ctx, "WebDriver:SwitchToWindow", map[string]any{"handle": left[0], "focus": false}, nil); err == nil {
			t.m.cur = left[0]
		}
	}
	return nil
}

// FirefoxPath returns the Firefox to run: $FIREFOX, or Debian's
// firefox-esr.
func FirefoxPath() (string, error) {
	if p := os.Getenv("FIREFOX"); p != "" {
		return p, nil
	}
	for _, name := range []string{"firefox-esr", "firefox"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("no Firefox found: install Debian's firefox-esr (make deps) or set FIREFOX")
}

// firefoxPrefs keep a test browser quiet on a machine without outside
// network, and let pages open windows.
var firefoxPrefs = map[string]any{
	"browser.shell.checkDefaultBrowser":          false,
	"browser.startup.homepage_override.mstone":   "ignore",
	"browser.startup.page":                       0,
	"browser.newtabpage.enabled":                 false,
	"browser.aboutwelcome.enabled":               false,
	"datareporting.policy.dataSubmissionEnabled": false,
	"datareporting.healthreport.uploadEnabled":   false,
	"toolkit.telemetry.reportingpolicy.firstRun": false,
	"app.update.disabledForTesting":              true,
	"app.normandy.enabled":                       false,
	"extensions.update.enabled":                  false,
	"extensions.blocklist.enabled":               false,
	"browser.safebrowsing.malware.enabled":       false,
	"browser.safebrowsing.phishing.enabled":      false,
	"browser.safebrowsing.downloads.enabled":     false,
	"network.captive-portal-service.enabled":     false,
	"network.connectivity-service.enabled":       false,
	"network.dns.disablePrefetch":                true,
	"network.prefetch-next":                      false,
	"browser.region.network.url":                 "",
	"services.settings.server":                   "http://127.0.0.1:1/",
	"dom.disable_open_during_load":               false,
	"dom.ipc.processCount":                       2,
	"browser.tabs.warnOnClose":                   false,
	"browser.sessionstore.resume_from_crash":     false,
	"toolkit.startup.max_resumed_crashes":        -1,
	"remote.prefs.recommended":                   true,
	"dom.quotaManager.testing":                   false,
	"browser.download.panel.shown":               true,
	"media.autoplay.default":                     0,
	"browser.contentblocking.introCount":         99,
	"privacy.trackingprotection.enabled":         false,
}

func startFirefox(ctx context.Context, o Options) (Browser, error) {
	path, err := FirefoxPath()
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(o.Profile, 0o755); err != nil {
		return nil, err
	}
	prefs := map[string]any{"marionette.port": port}
	for k, v := range firefoxPrefs {
		prefs[k] = v
	}
	for k, v := range o.FirefoxPrefs {
		prefs[k] = v
	}
	var userJS []byte
	for k, v := range prefs {
		b, _ := json.Marshal(v)
		userJS = fmt.Appendf(userJS, "user_pref(%q, %s);\n", k, b)
	}
	if err := os.WriteFile(filepath.Join(o.Profile, "user.js"), userJS, 0o644); err != nil {
		return nil, err
	}
	proc, err := startProcess(path, []string{"--headless", "--marionette", "--no-remote", "--profile", o.Profile, "about:blank"},
		// A headless screen as large as WebKit's Xvfb one: windows are
		// capped at the screen's size (1366x768 by default), which would
		// leave a 700 px tall viewport out of reach.
		[]string{"MOZ_CRASHREPORTER_DISABLE=1", "MOZ_DISABLE_AUTO_SAFE_MODE=1", "MOZ_HEADLESS_WIDTH=1280", "MOZ_HEADLESS_HEIGHT=1024"}, o.Log)
	if err != nil {
		return nil, err
	}
	f := &firefox{proc: proc}
	if err := waitPort(ctx, port, proc.exited); err != nil {
		proc.stop()
		return nil, fmt.Errorf("drive: Firefox's Marionette: %w", err)
	}
	conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		proc.stop()
		return nil, err
	}
	f.m = &marionette{conn: conn, rd: bufio.NewReader(conn)}
	if _, err := f.m.readMsg(); err != nil { // the greeting
		f.Close()
		return nil, fmt.Errorf("drive: Marionette greeting: %w", err)
	}
	if err := f.session(ctx); err != nil {
		f.Close()
		return nil, fmt.Errorf("drive: Firefox session: %w", err)
	}
	return f, nil
}

// session opens the WebDriver session and finds the first window.
func (f *firefox) session(ctx context.Context) error {
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	caps := map[string]any{"capabilities": map[string]any{"alwaysMatch": map[string]any{"acceptInsecureCerts": true}}}
	if err := f.m.call(ctx, "WebDriver:NewSession", caps, nil); err != nil {
		return err
	}
	if err := f.m.call(ctx, "WebDriver:SetTimeouts", map[string]any{"script": 10 * 60 * 1000, "pageLoad": 60 * 1000}, nil); err != nil {
		return err
	}
	var h struct {
		Value string `json:"value"`
	}
	if err := f.m.call(ctx, "WebDriver:GetWindowHandle", nil, &h); err != nil {
		return err
	}
	f.m.cur = h.Value
	return nil
}
