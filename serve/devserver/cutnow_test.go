//go:build !js && !wasip1

package devserver

import (
	"context"
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
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			n, err := e.s.CutNext(ctx, "b.bin")
			if err != nil || n != 1 {
				t.Fatalf("CutNext cut %d connections (%v), want 1", n, err)
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

// TestCutNext: with nothing sending the file, CutNext waits for the next
// response of it and cuts that one; with none, it gives up with ctx.
func TestCutNext(t *testing.T) {
	e := newEnv(t, Sample{Name: "b.bin", Size: 4 << 20})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	if _, err := e.s.CutNext(ctx, "b.bin"); err == nil {
		t.Fatal("CutNext with no request returned no error")
	}
	cancel()
	type cut struct {
		n   int
		err error
	}
	done := make(chan cut, 1)
	ctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	go func() {
		n, err := e.s.CutNext(ctx, "b.bin")
		done <- cut{n, err}
	}()
	// The cut may come before the headers (the request fails) or during
	// the body (it ends short); either way the whole file never arrives.
	resp, err := e.client.Get(e.ts.URL + "/files/b.bin?rate=65536")
	got := <-done
	if got.err != nil || got.n != 1 {
		t.Fatalf("CutNext = %d, %v; want 1 cut", got.n, got.err)
	}
	if err == nil {
		rest, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if int64(len(rest)) == 4<<20 {
			t.Fatal("the whole body arrived after the cut")
		}
	}
	if log := waitLog(t, e, 1); !log[0].Cut {
		t.Fatalf("log %+v, want Cut", log[0])
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
	if code, got := e.post(t, "/_control/cut?file=a.bin"); code != http.StatusOK || got["cut"] != float64(1) {
		t.Fatalf("control cut: %d %v", code, got)
	}
	if code, _ := e.post(t, "/_control/cut?file=../x"); code != http.StatusBadRequest {
		t.Fatalf("traversal in control cut: %d", code)
	}
}

// waitLog waits for n log entries, for 5 s at most.
func waitLog(t *testing.T, e *env, n int) []LogEntry {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	l, err := e.s.WaitLog(ctx, n)
	if err != nil {
		t.Fatalf("log has %d entries, want %d: %v", len(l), n, err)
	}
	return l
}
