//go:build js && wasm

package main

import (
	"context"
	"errors"
	"math"
	"syscall/js"
	"testing"
	"time"

	"github.com/go-resumer/resumer/wasm/resumer"
	"github.com/go-resumer/resumer/wasm/resumer/platform"
	"github.com/go-resumer/resumer/wasm/store"
	"github.com/go-resumer/resumer/wasm/store/memstore"
)

// hanging is a platform whose requests get no answer until they are
// given up: a download stays under way for as long as a test needs.
type hanging struct{}

func (hanging) Fetch(ctx context.Context, _ platform.Request) (*platform.Response, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

func (hanging) Join([]store.Blob, string) (store.Blob, error) {
	return nil, errors.New("hanging: nothing to join")
}

// newBridge is the bridge of a page whose handle 1 is a Manager over
// memory and a hanging network.
func newBridge() *bridge {
	b := &bridge{managers: map[int]*resumer.Manager{}, downloads: map[int]*resumer.Download{}, ids: map[*resumer.Download]int{}}
	b.managers[1] = resumer.NewManager(memstore.New(), hanging{})
	return b
}

// call calls a bridge function as resumer.js does.
func call(fn func(js.Value, []js.Value) any, args ...any) js.Value {
	vals := make([]js.Value, len(args))
	for i, a := range args {
		vals[i] = js.ValueOf(a)
	}
	return js.ValueOf(fn(js.Undefined(), vals))
}

// events is an onEvent that hands the states of progress events, and
// "done" or "error" at the end, to a channel. It is a JS function that
// calls Go from a task of its own: Go called back inside the engine's
// Invoke could end the test, and the program, in the middle of that call.
func events(t *testing.T) (js.Value, <-chan string) {
	ch := make(chan string, 64)
	notify := js.FuncOf(func(_ js.Value, args []js.Value) any {
		select {
		case ch <- args[0].String():
		default:
		}
		return nil
	})
	t.Cleanup(notify.Release)
	fn := js.Global().Get("Function").New("notify", `return (type, detail) => {
		const state = type === "progress" ? detail.state : type;
		setTimeout(() => notify(state), 0);
	};`).Invoke(notify)
	return fn, ch
}

// TestDownloadJoins: a second download() of a running key gets the first
// one's number, marked joined; the engine, not resumer.js, decides it, and
// refuses a caller with other credentials. Once both waiting callers
// (resumer.fetch) have left, aborted, the download pauses.
func TestDownloadJoins(t *testing.T) {
	b := newBridge()
	const url = "https://x.test/f.bin"
	onEvent, states := events(t)
	first := call(b.download, 1, url, map[string]any{"waiting": true}, onEvent)
	if first.Get("error").Truthy() || first.Get("joined").Bool() {
		t.Fatalf("first download(): %v", js.Global().Get("JSON").Call("stringify", first))
	}
	id := first.Get("id").Int()
	second := call(b.download, 1, url, map[string]any{"waiting": true}, js.Global().Get("Function").New())
	if !second.Get("joined").Bool() || second.Get("id").Int() != id {
		t.Fatalf("second download(): %v; want joined, id %d", js.Global().Get("JSON").Call("stringify", second), id)
	}
	other := call(b.download, 1, url, map[string]any{"headers": map[string]any{"Authorization": "Bearer other"}}, onEvent)
	if code := other.Get("error").Get("code"); code.Type() != js.TypeString || code.String() != resumer.CodeLocked {
		t.Fatalf("download() with other credentials: %v; want error %s", js.Global().Get("JSON").Call("stringify", other), resumer.CodeLocked)
	}

	// (That one caller's leaving pauses nothing is TestWaitingCallers',
	// on a fake clock: here, a pause would only show later.)
	call(b.leave, id, true)
	call(b.leave, id, true)
	until(t, states, "paused")
	// Ended before the test: nothing may call into a program that exited.
	call(b.control((*resumer.Download).Cancel), id)
	until(t, states, "error")
}

// until waits for state on states, 30 s at most.
func until(t *testing.T, states <-chan string, state string) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		select {
		case s := <-states:
			if s == state {
				return
			}
		case <-deadline:
			t.Fatalf("no %q in 30 s", state)
		}
	}
}

// TestSetMaxConcurrent: the bridge answers what the engine took of a
// page's maxConcurrent.
func TestSetMaxConcurrent(t *testing.T) {
	b := newBridge()
	for _, c := range []struct {
		in   any
		want int
	}{{2.5, 2}, {0, 0}, {-3, 0}, {"4", 0}, {1e12, 1 << 20}, {math.Inf(1), 0}} {
		if got := call(b.setMaxConcurrent, 1, c.in).Int(); got != c.want {
			t.Errorf("setMaxConcurrent(%v) = %d, want %d", c.in, got, c.want)
		}
	}
}

// TestErrorObject: an engine error reaches resumer.js as {code, message,
// status}, the code stable.
func TestErrorObject(t *testing.T) {
	o := errorObject(&resumer.Error{Code: resumer.CodeHTTPStatus, Status: 404, Err: errors.New("the server answered 404")})
	if o.Get("code").String() != resumer.CodeHTTPStatus || o.Get("status").Int() != 404 || o.Get("message").String() == "" {
		t.Fatalf("errorObject: %v", js.Global().Get("JSON").Call("stringify", o))
	}
	if o := errorObject(errors.New("no code")); o.Get("code").String() != resumer.CodeStorage {
		t.Fatalf("an error without a code: %v; want %s", o.Get("code"), resumer.CodeStorage)
	}
}
