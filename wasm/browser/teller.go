//go:build js && wasm

package browser

import (
	"sync"
	"syscall/js"

	"github.com/go-resumer/resumer/wasm/resumer/platform"
)

var _ platform.Teller = Platform{}

// channels are the BroadcastChannels this module tells on, one per name.
// A BroadcastChannel hears every other one of its name, in this tab too:
// each Listen makes its own, so that a second Manager of the page (a
// second load() of one database) hears the first, and a Manager hears its
// own news, which it ignores (only a Download that waits takes news).
var channels struct {
	mu     sync.Mutex
	byName map[string]js.Value
}

// channel returns the BroadcastChannel called name, or false in a browser
// without the API (the other tabs are then not told).
func channel(name string) (js.Value, bool) {
	channels.mu.Lock()
	defer channels.mu.Unlock()
	if ch, ok := channels.byName[name]; ok {
		return ch, true
	}
	ctor := js.Global().Get("BroadcastChannel")
	if ctor.Type() != js.TypeFunction {
		return js.Undefined(), false
	}
	if channels.byName == nil {
		channels.byName = map[string]js.Value{}
	}
	ch := ctor.New(name)
	channels.byName[name] = ch
	return ch, true
}

// Tell implements platform.Teller with a BroadcastChannel; the message goes
// as a string.
func (Platform) Tell(name string, msg []byte) {
	if ch, ok := channel(name); ok {
		ch.Call("postMessage", string(msg))
	}
}

// Listen implements platform.Teller. The message event's handler only
// queues the message (it runs as a js.FuncOf callback, where nothing may
// wait); fn takes them in order on a goroutine of its own, and a message
// that finds 64 waiting is dropped: the next one says more.
func (Platform) Listen(name string, fn func(msg []byte)) func() {
	ctor := js.Global().Get("BroadcastChannel")
	if ctor.Type() != js.TypeFunction {
		return func() {}
	}
	ch := ctor.New(name)
	queue := make(chan []byte, 64)
	handler := js.FuncOf(func(_ js.Value, args []js.Value) any {
		if len(args) == 0 {
			return nil
		}
		if data := args[0].Get("data"); data.Type() == js.TypeString {
			select {
			case queue <- []byte(data.String()):
			default:
			}
		}
		return nil
	})
	ch.Call("addEventListener", "message", handler)
	go func() {
		for msg := range queue {
			fn(msg)
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			ch.Call("removeEventListener", "message", handler)
			ch.Call("close")
			handler.Release()
			close(queue)
		})
	}
}
