//go:build js && wasm

package browser

import (
	"context"
	"errors"

	"github.com/hack-pad/safejs"

	"github.com/go-resumer/resumer/wasm/internal/jsutil"
	"github.com/go-resumer/resumer/wasm/resumer/platform"
)

// The optional abilities of the browser platform. Each one is looked up
// when used, so that a browser without the API (no Web Locks before Safari
// 15.4, no StorageManager in some embedded views) still downloads.

var (
	_ platform.CrossOriginer = Platform{}
	_ platform.Estimator     = Platform{}
	_ platform.Locker        = Platform{}
)

// CrossOrigin implements platform.CrossOriginer against the page's origin.
func (Platform) CrossOrigin(url string) bool {
	g := safejs.Global()
	loc, err := g.Get("location")
	if err != nil || loc.IsUndefined() {
		return false
	}
	origin, err := loc.Get("origin")
	if err != nil {
		return false
	}
	urlCtor, err := g.Get("URL")
	if err != nil {
		return false
	}
	u, err := urlCtor.New(url)
	if err != nil {
		return false
	}
	uo, err := u.Get("origin")
	if err != nil {
		return false
	}
	a, _ := uo.String()
	b, _ := origin.String()
	return a != b
}

// navigatorMember returns navigator[name] if the browser has it.
func navigatorMember(name string) (safejs.Value, bool) {
	nav, err := safejs.Global().Get("navigator")
	if err != nil || nav.IsUndefined() {
		return safejs.Undefined(), false
	}
	v, err := nav.Get(name)
	if err != nil || v.IsUndefined() || v.IsNull() {
		return safejs.Undefined(), false
	}
	return v, true
}

// Free implements platform.Estimator with navigator.storage.estimate().
func (Platform) Free(ctx context.Context) (int64, bool, error) {
	storage, ok := navigatorMember("storage")
	if !ok {
		return 0, false, nil
	}
	if f, err := storage.Get("estimate"); err != nil || f.Type() != safejs.TypeFunction {
		return 0, false, nil
	}
	p, err := storage.Call("estimate")
	if err != nil {
		return 0, false, err
	}
	est, err := jsutil.Await(ctx, p)
	if err != nil {
		return 0, false, err
	}
	quota, err1 := number(est, "quota")
	usage, err2 := number(est, "usage")
	if err1 != nil || err2 != nil {
		return 0, false, nil
	}
	return max(quota-usage, 0), true, nil
}

func number(v safejs.Value, key string) (int64, error) {
	f, err := v.Get(key)
	if err != nil {
		return 0, err
	}
	if f.Type() != safejs.TypeNumber {
		return 0, errors.New(key + " is not a number")
	}
	n, err := f.Float()
	return int64(n), err
}

// Lock implements platform.Locker with the Web Locks API. The lock is held
// for as long as the Promise returned to navigator.locks.request is
// pending; release resolves it. Without the API every lock is granted: a
// single tab is then the only guarantee, as before the API existed.
func (Platform) Lock(ctx context.Context, name string, wait bool) (func(), bool, error) {
	locks, ok := navigatorMember("locks")
	if !ok {
		return func() {}, true, nil
	}
	type grant struct {
		release func()
		ok      bool
	}
	granted := make(chan grant, 1)
	promiseCtor, err := safejs.Global().Get("Promise")
	if err != nil {
		return nil, false, err
	}
	var cb safejs.Func
	cb, err = safejs.FuncOf(func(_ safejs.Value, args []safejs.Value) any {
		cb.Release()
		if len(args) == 0 || args[0].IsNull() {
			granted <- grant{ok: false} // ifAvailable and somebody holds it
			return nil
		}
		var executor safejs.Func
		executor, _ = safejs.FuncOf(func(_ safejs.Value, pargs []safejs.Value) any {
			executor.Release()
			resolve := pargs[0]
			granted <- grant{ok: true, release: func() { _, _ = resolve.Invoke() }}
			return nil
		})
		held, _ := promiseCtor.New(executor.Value())
		return held
	})
	if err != nil {
		return nil, false, err
	}
	opts := map[string]any{"mode": "exclusive"}
	var abort safejs.Value
	if !wait {
		opts["ifAvailable"] = true
	} else if acCtor, err := safejs.Global().Get("AbortController"); err == nil {
		if abort, err = acCtor.New(); err == nil {
			if sig, err := abort.Get("signal"); err == nil {
				opts["signal"] = safejs.Unsafe(sig)
			}
		}
	}
	jsOpts, err := safejs.ValueOf(opts)
	if err != nil {
		cb.Release()
		return nil, false, err
	}
	p, err := locks.Call("request", name, jsOpts, cb.Value())
	if err != nil {
		cb.Release()
		return nil, false, err
	}
	// The request's own promise settles when the lock is released, or
	// rejects when the request is aborted before it was granted.
	settled := make(chan struct{})
	go func() {
		_, _ = jsutil.Await(context.Background(), p)
		close(settled)
	}()
	select {
	case g := <-granted:
		return g.release, g.ok, nil
	case <-ctx.Done():
		if !abort.IsUndefined() {
			_, _ = abort.Call("abort")
		}
		// Aborting removes only a request still queued: one granted an
		// instant before, whose callback has not run yet, is held all
		// the same. Let go of such a grant whenever it comes; a request
		// the abort removed settles instead.
		go func() {
			select {
			case g := <-granted:
				if g.ok {
					g.release()
				}
			case <-settled:
			}
		}()
		return nil, false, ctx.Err()
	}
}
