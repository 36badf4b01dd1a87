//go:build js && wasm

// Command resumer is the WebAssembly module behind web/resumer.js. It
// exports a small bridge object to JavaScript; resumer.js wraps it in the
// public JS API. The bridge only converts values: every rule lives in the
// engine (package resumer) and in package protocol.
//
// The module finds the JS function to hand its bridge to through the
// RESUMER_HOOK environment variable, which resumer.js sets on the Go
// instance, so that nothing else needs a fixed global name.
package main

import (
	"context"
	"errors"
	"sync"
	"syscall"
	"syscall/js"
	"time"

	"github.com/hack-pad/safejs"

	"github.com/go-resumer/resumer/wasm/browser"
	"github.com/go-resumer/resumer/wasm/internal/jsutil"
	"github.com/go-resumer/resumer/wasm/protocol"
	"github.com/go-resumer/resumer/wasm/resumer"
	"github.com/go-resumer/resumer/wasm/store/idbstore"
)

// bridge holds the managers and downloads handed out to JS by number.
type bridge struct {
	mu        sync.Mutex
	managers  map[int]*resumer.Manager
	downloads map[int]*resumer.Download
	nextID    int
}

func (b *bridge) manager(id int) *resumer.Manager {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.managers[id]
}

func (b *bridge) handle(id int) *resumer.Download {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.downloads[id]
}

func main() {
	b := &bridge{managers: map[int]*resumer.Manager{}, downloads: map[int]*resumer.Download{}}
	api := js.Global().Get("Object").New()
	api.Set("open", js.FuncOf(b.open))
	api.Set("download", js.FuncOf(b.download))
	api.Set("pause", js.FuncOf(b.control((*resumer.Download).Pause)))
	api.Set("resume", js.FuncOf(b.control((*resumer.Download).Resume)))
	api.Set("cancel", js.FuncOf(b.control((*resumer.Download).Cancel)))
	api.Set("list", js.FuncOf(b.list))
	api.Set("remove", js.FuncOf(b.remove))
	hook, _ := syscall.Getenv("RESUMER_HOOK")
	if ready := js.Global().Get(hook); hook != "" && ready.Type() == js.TypeFunction {
		if h := ready.Get("helpers"); h.Type() == js.TypeObject {
			browser.UseHelpers(safejs.Safe(h))
		}
		ready.Invoke(api)
	} else {
		js.Global().Set("__resumerBridge", api)
	}
	select {}
}

// promise runs fn in a goroutine (awaiting inside a js.FuncOf callback would
// deadlock) and returns a Promise of its result.
func promise(fn func(ctx context.Context) (any, error)) js.Value {
	var executor js.Func
	executor = js.FuncOf(func(_ js.Value, args []js.Value) any {
		resolve, reject := args[0], args[1]
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			v, err := fn(ctx)
			if err != nil {
				reject.Invoke(errorObject(err))
				return
			}
			resolve.Invoke(v)
		}()
		return nil
	})
	defer executor.Release()
	return js.Global().Get("Promise").New(executor)
}

// errorObject is the plain {code, message, status} that resumer.js turns
// into a ResumerError.
func errorObject(err error) js.Value {
	code := resumer.CodeOf(err)
	status := 0
	var re *resumer.Error
	if errors.As(err, &re) {
		status = re.Status
	}
	if code == "" {
		code = resumer.CodeStorage
		if errors.Is(err, idbstore.ErrUnsupported) {
			code = "unsupported"
		}
	}
	return js.ValueOf(map[string]any{"code": code, "message": err.Error(), "status": status})
}

// open(dbName) → Promise<handle>
func (b *bridge) open(_ js.Value, args []js.Value) any {
	name := args[0].String()
	return promise(func(ctx context.Context) (any, error) {
		m, err := browser.Open(ctx, name)
		if err != nil {
			return nil, err
		}
		b.mu.Lock()
		defer b.mu.Unlock()
		b.nextID++
		b.managers[b.nextID] = m
		return b.nextID, nil
	})
}

// download(handle, url, options, onEvent) → id, or {error} for bad input.
// onEvent(type, detail) receives "progress", "done" and "error".
func (b *bridge) download(_ js.Value, args []js.Value) any {
	m := b.manager(args[0].Int())
	url, o, onEvent := args[1].String(), args[2], args[3]
	if m == nil {
		return js.ValueOf(map[string]any{"error": errorObject(&resumer.Error{Code: resumer.CodeInvalid, Err: errors.New("unknown resumer handle")})})
	}
	opts := resumer.Options{
		ChunkSize:     integer(o, "chunkSize"),
		Connections:   int(integer(o, "connections")),
		FlushInterval: millis(o, "flushIntervalMs"),
		StallTimeout:  millis(o, "stallTimeoutMs"),
		MaxBytes:      integer(o, "maxBytes"),
		OnProgress: func(p resumer.Progress) {
			onEvent.Invoke("progress", progressObject(p))
		},
	}
	if r := o.Get("retry"); r.Type() == js.TypeObject {
		opts.Retry = protocol.RetryPolicy{
			Base:     millis(r, "baseMs"),
			Max:      millis(r, "maxMs"),
			Attempts: int(integer(r, "attempts")),
			Jitter:   num(r, "jitter"),
		}
	}
	d, err := m.Download(url, opts)
	if err != nil {
		return js.ValueOf(map[string]any{"error": errorObject(err)})
	}
	b.mu.Lock()
	b.nextID++
	id := b.nextID
	b.downloads[id] = d
	b.mu.Unlock()
	go func() {
		res, err := d.Wait(context.Background())
		b.mu.Lock()
		delete(b.downloads, id)
		b.mu.Unlock()
		if err != nil {
			onEvent.Invoke("error", errorObject(err))
			return
		}
		onEvent.Invoke("done", resultObject(res))
	}()
	return id
}

func num(o js.Value, k string) float64 {
	if o.Type() != js.TypeObject {
		return 0
	}
	v := o.Get(k)
	if v.Type() != js.TypeNumber {
		return 0
	}
	return v.Float()
}

// maxExact is the largest integer a JS number holds exactly (2^53 - 1).
const maxExact = 1<<53 - 1

// integer reads a whole number, saturated to ±2^53: a float64 beyond the
// range of int64 (1e30, Infinity) has no defined conversion in Go, and
// must not become a negative or zero setting. NaN reads as 0 (the
// default); the engine's checks reject what is out of range.
func integer(o js.Value, k string) int64 {
	f := num(o, k)
	switch {
	case f != f: // NaN
		return 0
	case f > maxExact:
		return maxExact
	case f < -maxExact:
		return -maxExact
	}
	return int64(f)
}

// millis reads a duration in milliseconds, saturated so that any number
// converts to a Duration of the same sign.
func millis(o js.Value, k string) time.Duration {
	f := num(o, k)
	const most = float64(1<<62) / float64(time.Millisecond)
	switch {
	case f != f:
		return 0
	case f > most:
		f = most
	case f < -most:
		f = -most
	}
	return time.Duration(f * float64(time.Millisecond))
}

func (b *bridge) control(fn func(*resumer.Download)) func(js.Value, []js.Value) any {
	return func(_ js.Value, args []js.Value) any {
		if d := b.handle(args[0].Int()); d != nil {
			fn(d)
		}
		return nil
	}
}

func progressObject(p resumer.Progress) js.Value {
	o := map[string]any{
		"state": string(p.State), "received": p.Received, "stored": p.Stored, "total": sizeOrNull(p.Total),
		"speed": p.Speed, "attempt": p.Attempt, "retryAt": nil, "errorCode": p.ErrCode, "errorMessage": "",
		"etag": p.Validators.ETag, "lastModified": p.Validators.LastModified,
		"resumable": p.Resumable, "reason": p.Reason.Text, "reasonCode": p.Reason.Code, "notice": p.Notice,
	}
	if !p.RetryAt.IsZero() {
		o["retryAt"] = p.RetryAt.UnixMilli()
	}
	if p.Err != nil {
		o["errorMessage"] = p.Err.Error()
	}
	return js.ValueOf(o)
}

func sizeOrNull(n int64) any {
	if n == protocol.UnknownSize {
		return nil
	}
	return n
}

func resultObject(r resumer.Result) js.Value {
	o := js.ValueOf(map[string]any{
		"url": r.URL, "size": r.Size, "contentType": r.ContentType,
		"etag": r.Validators.ETag, "lastModified": r.Validators.LastModified,
		"resumable": r.Resumable, "reason": r.Reason.Text, "reasonCode": r.Reason.Code, "restarts": r.Restarts,
		"stats": map[string]any{
			"requests": r.Stats.Requests, "commits": r.Stats.Commits,
			"whole": r.Stats.Whole, "streamed": r.Stats.Streamed,
			"commitMs": float64(r.Stats.CommitTime) / float64(time.Millisecond),
			"setupMs":  float64(r.Stats.Setup) / float64(time.Millisecond),
			"finishMs": float64(r.Stats.Finish) / float64(time.Millisecond),
		},
	})
	if b, ok := r.Blob.(jsutil.Blob); ok {
		o.Set("blob", b.Value())
	}
	return o
}

// list(handle) → Promise<entries>
func (b *bridge) list(_ js.Value, args []js.Value) any {
	m := b.manager(args[0].Int())
	return promise(func(ctx context.Context) (any, error) {
		if m == nil {
			return nil, &resumer.Error{Code: resumer.CodeInvalid, Err: errors.New("unknown resumer handle")}
		}
		infos, err := m.List(ctx)
		if err != nil {
			return nil, err
		}
		out := make([]any, len(infos))
		for i, in := range infos {
			out[i] = map[string]any{
				"url": in.URL, "size": sizeOrNull(in.Total), "received": in.Received, "state": string(in.State),
				"etag": in.Validators.ETag, "lastModified": in.Validators.LastModified, "contentType": in.ContentType,
				"resumable": in.Resumable, "reason": in.Reason.Text, "reasonCode": in.Reason.Code, "restarts": in.Restarts,
				"errorCode": in.ErrCode, "errorMessage": in.ErrMessage,
				"created": in.Created.UnixMilli(), "updated": in.Updated.UnixMilli(),
			}
		}
		return out, nil
	})
}

// remove(handle, url) → Promise<undefined>
func (b *bridge) remove(_ js.Value, args []js.Value) any {
	m := b.manager(args[0].Int())
	url := args[1].String()
	return promise(func(ctx context.Context) (any, error) {
		if m == nil {
			return nil, &resumer.Error{Code: resumer.CodeInvalid, Err: errors.New("unknown resumer handle")}
		}
		return nil, m.Remove(ctx, url)
	})
}
