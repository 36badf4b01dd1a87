//go:build !js && !wasip1

package devserver

import (
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"
)

func TestCutNow(t *testing.T) {
	// b.bin is larger than the socket buffers, so that a client that reads
	// one byte and stalls keeps the sendfile fast path busy.
	const bSize = 32 << 20
	e := newEnv(t, Sample{Name: "b.bin", Size: bSize})
	for _, name := range []string{"fast path (sendfile)", "throttled"} {
		t.Run(name, func(t *testing.T) {
			e.s.ResetLog()
			u := e.ts.URL + "/files/b.bin"
			if name == "throttled" {
				u += "?rate=16384"
			}
			resp, err := e.client.Get(u)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			one := make([]byte, 1)
			if _, err := io.ReadFull(resp.Body, one); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(5 * time.Second)
			n := 0
			for n == 0 && time.Now().Before(deadline) {
				n = e.s.CutNow("b.bin")
			}
			if n != 1 {
				t.Fatalf("CutNow cut %d connections, want 1", n)
			}
			rest, err := io.ReadAll(resp.Body)
			if err == nil && int64(len(rest))+1 == bSize {
				t.Fatal("the whole body arrived after the cut")
			}
			log := waitLog(t, e, 1)
			if !log[0].Cut || log[0].ClientGone {
				t.Fatalf("log %+v, want Cut", log[0])
			}
			if e.s.CutNow("b.bin") != 0 {
				t.Fatal("a finished response was cut again")
			}
		})
	}
}

func TestControlCut(t *testing.T) {
	e := newEnv(t)
	resp, err := e.client.Get(e.ts.URL + "/files/a.bin?rate=8192")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	io.ReadFull(resp.Body, make([]byte, 1))
	cr, err := e.client.Post(e.ts.URL+"/_control/cut?file=a.bin", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cr.Body.Close()
	var got map[string]int
	if err := json.NewDecoder(cr.Body).Decode(&got); err != nil || cr.StatusCode != http.StatusOK || got["cut"] != 1 {
		t.Fatalf("control cut: %d %v %v", cr.StatusCode, got, err)
	}
	bad, _ := e.client.Post(e.ts.URL+"/_control/cut?file=../x", "", nil)
	if bad.StatusCode != http.StatusBadRequest {
		t.Fatalf("traversal in control cut: %d", bad.StatusCode)
	}
	bad.Body.Close()
}

// waitLog waits for n log entries.
func waitLog(t *testing.T, e *env, n int) []LogEntry {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if l := e.s.Log(); len(l) >= n {
			return l
		}
		if time.Now().After(deadline) {
			t.Fatalf("log has %d entries, want %d", len(e.s.Log()), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
