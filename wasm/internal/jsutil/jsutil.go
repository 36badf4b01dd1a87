//go:build js && wasm

// Package jsutil holds the few helpers the js/wasm adapters share: awaiting
// a Promise from a goroutine, a store.Blob backed by a JS Blob, and errors
// that keep the name of the JS exception.
package jsutil

import (
	"context"
	"errors"

	"github.com/hack-pad/safejs"

	"github.com/go-resumer/resumer/wasm/store"
)

// JSError is a rejected Promise or a thrown JS exception, with its name
// ("TypeError", "AbortError", "QuotaExceededError", …) kept for errors.As.
type JSError struct {
	Name    string
	Message string
	// Value is the JS value itself (an Error object, most often), handed
	// back to JS as the cause of the error that reaches the app.
	Value safejs.Value
}

func (e *JSError) Error() string {
	if e.Message == "" {
		return e.Name
	}
	return e.Name + ": " + e.Message
}

// ErrorOf converts a JS value thrown or used as a rejection reason.
func ErrorOf(v safejs.Value) *JSError {
	e := &JSError{Name: "Error", Value: v}
	if v.IsUndefined() || v.IsNull() {
		return e
	}
	if name, err := v.Get("name"); err == nil && !name.IsUndefined() {
		if s, err := name.String(); err == nil && s != "" {
			e.Name = s
		}
	}
	if msg, err := v.Get("message"); err == nil && !msg.IsUndefined() {
		e.Message, _ = msg.String()
	} else if s, err := v.String(); err == nil {
		e.Message = s
	}
	return e
}

// Await waits for a Promise to settle. It must be called from a goroutine,
// never from a js.FuncOf callback, which would block the JS event loop the
// Promise needs. If ctx ends first it returns ctx.Err(); the Promise is
// left to settle on its own (abort it through an AbortSignal to stop it).
func Await(ctx context.Context, promise safejs.Value) (safejs.Value, error) {
	type result struct {
		v   safejs.Value
		err error
	}
	ch := make(chan result, 1)
	var onOK, onErr safejs.Func
	var err error
	onOK, err = safejs.FuncOf(func(_ safejs.Value, args []safejs.Value) any {
		ch <- result{v: arg0(args)}
		onOK.Release()
		onErr.Release()
		return nil
	})
	if err != nil {
		return safejs.Undefined(), err
	}
	onErr, err = safejs.FuncOf(func(_ safejs.Value, args []safejs.Value) any {
		ch <- result{err: ErrorOf(arg0(args))}
		onOK.Release()
		onErr.Release()
		return nil
	})
	if err != nil {
		onOK.Release()
		return safejs.Undefined(), err
	}
	if _, err := promise.Call("then", onOK.Value(), onErr.Value()); err != nil {
		onOK.Release()
		onErr.Release()
		return safejs.Undefined(), err
	}
	select {
	case r := <-ch:
		return r.v, r.err
	case <-ctx.Done():
		return safejs.Undefined(), ctx.Err()
	}
}

func arg0(args []safejs.Value) safejs.Value {
	if len(args) == 0 {
		return safejs.Undefined()
	}
	return args[0]
}

// Blob is a store.Blob backed by a JS Blob. The bytes stay in the browser.
type Blob struct {
	V safejs.Value
	N int64
}

var _ store.Blob = Blob{}

// WrapBlob wraps a JS Blob, reading its size.
func WrapBlob(v safejs.Value) (Blob, error) {
	size, err := v.Get("size")
	if err != nil {
		return Blob{}, err
	}
	n, err := size.Float()
	if err != nil {
		return Blob{}, errors.New("not a Blob")
	}
	return Blob{V: v, N: int64(n)}, nil
}

// Size implements store.Blob.
func (b Blob) Size() int64 { return b.N }

// Slice implements store.Blob; Blob.slice shares the bytes.
func (b Blob) Slice(start, end int64) store.Blob {
	v, err := b.V.Call("slice", float64(start), float64(end))
	if err != nil {
		// slice only throws on a detached realm; keep the type honest.
		panic("jsutil: Blob.slice: " + err.Error())
	}
	return Blob{V: v, N: end - start}
}

// NewBytes returns a JS Uint8Array holding a copy of data.
func NewBytes(data []byte) (safejs.Value, error) {
	u8, err := safejs.Global().Get("Uint8Array")
	if err != nil {
		return safejs.Value{}, err
	}
	arr, err := u8.New(len(data))
	if err != nil {
		return safejs.Value{}, err
	}
	if _, err := safejs.CopyBytesToJS(arr, data); err != nil {
		return safejs.Value{}, err
	}
	return arr, nil
}

// NewBlob makes a JS Blob holding a copy of data.
func NewBlob(data []byte, contentType string) (Blob, error) {
	u8, err := safejs.Global().Get("Uint8Array")
	if err != nil {
		return Blob{}, err
	}
	arr, err := u8.New(len(data))
	if err != nil {
		return Blob{}, err
	}
	if _, err := safejs.CopyBytesToJS(arr, data); err != nil {
		return Blob{}, err
	}
	return JoinValues([]any{arr}, contentType, int64(len(data)))
}

// JoinValues makes a JS Blob from parts (Blobs or typed arrays).
func JoinValues(parts []any, contentType string, size int64) (Blob, error) {
	arrayCtor, err := safejs.Global().Get("Array")
	if err != nil {
		return Blob{}, err
	}
	arr, err := arrayCtor.New(len(parts))
	if err != nil {
		return Blob{}, err
	}
	for i, p := range parts {
		if err := arr.SetIndex(i, p); err != nil {
			return Blob{}, err
		}
	}
	blobCtor, err := safejs.Global().Get("Blob")
	if err != nil {
		return Blob{}, err
	}
	opts, err := safejs.ValueOf(map[string]any{"type": contentType})
	if err != nil {
		return Blob{}, err
	}
	v, err := blobCtor.New(arr, opts)
	if err != nil {
		return Blob{}, err
	}
	return Blob{V: v, N: size}, nil
}

// ReadBlob copies a blob's bytes into Go. Downloads never copy their
// bytes into Go except where Go must read them: to hash them, and for a
// Go program that reads a finished download.
func ReadBlob(ctx context.Context, b Blob) ([]byte, error) {
	p, err := b.V.Call("arrayBuffer")
	if err != nil {
		return nil, err
	}
	buf, err := Await(ctx, p)
	if err != nil {
		return nil, err
	}
	u8, err := safejs.Global().Get("Uint8Array")
	if err != nil {
		return nil, err
	}
	arr, err := u8.New(buf)
	if err != nil {
		return nil, err
	}
	out := make([]byte, b.N)
	n, err := safejs.CopyBytesToGo(out, arr)
	return out[:n], err
}
