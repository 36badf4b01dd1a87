//go:build !js && !wasip1

package devserver

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestRate: rate= really slows the response down, bytes arrive
// progressively rather than in one burst at the end, and the log has
// every byte.
func TestRate(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const rate = 2 * aSize // 64 KiB at 128 KiB/s: about 0.5 s
	t0 := time.Now()
	resp, err := e.client.Get(e.ts.URL + "/files/a.bin?rate=131072")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	first := make([]byte, 1024)
	if _, err := io.ReadFull(resp.Body, first); err != nil {
		t.Fatal(err)
	}
	tFirst := time.Since(t0)
	rest, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(t0)
	expected := time.Duration(float64(aSize) / rate * float64(time.Second))
	if elapsed < expected/2 {
		t.Errorf("took %v, want at least %v (half of %v)", elapsed, expected/2, expected)
	}
	if tFirst > elapsed/2 {
		t.Errorf("first KiB after %v of %v: not progressive", tFirst, elapsed)
	}
	if body := append(first, rest...); !bytes.Equal(body, e.file(t, "a.bin")) {
		t.Errorf("throttled body differs from the file")
	}
	got := e.entries(t, 1)[0]
	if got.Sent != aSize || got.Status != 200 || got.ClientGone || got.Cut || got.Fault != "rate=131072" {
		t.Errorf("log %+v", got)
	}
}

// TestRateWithRange: throttling and ranges combine.
func TestRateWithRange(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	resp, body := e.get(t, "/files/a.bin?rate=100000&cut=30000", map[string]string{"Range": "bytes=60000-"})
	if resp.StatusCode != 206 {
		t.Errorf("status %d, want 206", resp.StatusCode)
	}
	if !bytes.Equal(body, e.file(t, "a.bin")[60000:]) {
		t.Errorf("body %d bytes, want the 5536 bytes from 60000 (cut= beyond the range)", len(body))
	}
	if got := e.entries(t, 1)[0]; got.Start != 60000 || got.Sent != aSize-60000 || got.Cut {
		t.Errorf("log %+v", got)
	}
}

// TestCloseStopsThrottled: Close ends a response that would take hours,
// so that http.Server.Shutdown is not held up.
func TestCloseStopsThrottled(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	resp, err := e.client.Get(e.ts.URL + "/files/a.bin?rate=100")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if _, err := io.ReadFull(resp.Body, make([]byte, 1)); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	e.s.Close()
	n, _ := io.Copy(io.Discard, resp.Body)
	if d := time.Since(t0); d > 2*time.Second {
		t.Errorf("response went on for %v after Close", d)
	}
	got := e.entries(t, 1)[0]
	if got.Sent >= aSize || got.Sent > n+100 || got.ClientGone || !strings.Contains(got.Fault, "server closing") {
		t.Errorf("log %+v (client read %d more bytes)", got, n)
	}
}

// slowGet starts a throttled GET of a.bin and reads its first 100 bytes.
// leave makes the client go away mid-body.
func slowGet(t *testing.T, e *env) (leave func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.ts.URL+"/files/a.bin?rate=20000", nil)
	resp, err := e.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(resp.Body, make([]byte, 100)); err != nil {
		t.Fatal(err)
	}
	return func() {
		cancel()
		resp.Body.Close()
	}
}

// TestClientGone: a client that leaves mid-body is recorded as such,
// not as a cut.
func TestClientGone(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	slowGet(t, e)()
	got := e.entries(t, 1)[0]
	if !got.ClientGone || got.Cut || got.Sent >= aSize || got.Sent < 100 {
		t.Errorf("log %+v: want ClientGone, not Cut, 100 <= Sent < %d", got, aSize)
	}
}

// TestWaitIdle: WaitIdle does not return while a response is still being
// written, and returns its entry once the handler is done. The log is in
// the order requests arrived, not the order they ended.
func TestWaitIdle(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	leave := slowGet(t, e)
	e.get(t, "/files/a.bin?quick", nil) // arrives second, ends first
	short, stop := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer stop()
	if log, err := e.s.WaitIdle(short, nil); err == nil || len(log) != 1 {
		t.Fatalf("WaitIdle returned %d entries, %v while a response was in flight", len(log), err)
	}
	leave()
	long, stop2 := context.WithTimeout(context.Background(), 10*time.Second)
	defer stop2()
	log, err := e.s.WaitIdle(long, func(p, q string) bool { return p == "/files/a.bin" })
	if err != nil || len(log) != 2 || !log[0].ClientGone || log[1].Query != "quick" {
		t.Fatalf("WaitIdle after the client left: %v, %+v; want the slow request first", err, log)
	}
}
