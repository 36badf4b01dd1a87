//go:build js && wasm

// Command resumer is the WebAssembly module behind web/resumer.js. It
// exports a small bridge object to JavaScript; resumer.js wraps it in the
// public JS API. The bridge only converts values: every rule lives in the
// engine (package resumer) and in package protocol.
//
// The module finds the JS function to hand its bridge to under the name
// the RESUMER_HOOK environment variable gives, on its global object: a
// global of resumer-go.js's, which only this program sees (the page's
// global object is left alone).
package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
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
	"github.com/go-resumer/resumer/wasm/wire"
)

// bridge holds the managers and downloads handed out to JS by number.
type bridge struct {
	mu        sync.Mutex
	managers  map[int]*resumer.Manager
	downloads map[int]*resumer.Download
	ids       map[*resumer.Download]int // the number of each download in downloads
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
	b := &bridge{managers: map[int]*resumer.Manager{}, downloads: map[int]*resumer.Download{}, ids: map[*resumer.Download]int{}}
	api := js.Global().Get("Object").New()
	api.Set("open", js.FuncOf(b.open))
	api.Set("download", js.FuncOf(b.download))
	api.Set("pause", js.FuncOf(b.control((*resumer.Download).Pause)))
	api.Set("resume", js.FuncOf(b.control((*resumer.Download).Resume)))
	api.Set("cancel", js.FuncOf(b.control((*resumer.Download).Cancel)))
	// stop: an AbortSignal of download() (resumer.js keeps its reason).
	api.Set("stop", js.FuncOf(b.control(func(d *resumer.Download) { d.Stop(nil) })))
	// leave(id, aborted): a fetch() call stops waiting (Download.Leave).
	api.Set("leave", js.FuncOf(b.leave))
	api.Set("list", js.FuncOf(b.list))
	api.Set("remove", js.FuncOf(b.remove))
	api.Set("serve", js.FuncOf(b.serve))
	api.Set("verify", js.FuncOf(b.verify))
	api.Set("put", js.FuncOf(b.put))
	api.Set("usage", js.FuncOf(b.usage))
	api.Set("clear", js.FuncOf(b.clear))
	api.Set("pauseAll", js.FuncOf(b.pauseAll))
	api.Set("setMaxConcurrent", js.FuncOf(b.setMaxConcurrent))
	api.Set("check", js.FuncOf(b.check))
	// resumer.js hands its hook over as a global only this program sees
	// (resumer-go.js's globals): the page's global object is untouched.
	hook, _ := syscall.Getenv("RESUMER_HOOK")
	ready := js.Global().Get(hook)
	if hook == "" || ready.Type() != js.TypeFunction {
		println("resumer.wasm runs under resumer.js, which hands it its hook")
		return
	}
	if h := ready.Get("helpers"); h.Type() == js.TypeObject {
		browser.UseHelpers(h)
	}
	ready.Invoke(api)
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
	o := js.ValueOf(map[string]any{"code": code, "message": err.Error(), "status": status})
	if re != nil {
		if answer, ok := re.Answer.(js.Value); ok {
			o.Set("answer", answer) // the server's Response, unread (Options.FirstAnswer)
		}
		if !re.Decided.Empty() {
			o.Set("decidedBy", deepFreeze(js.ValueOf(jsutil.ExchangeValue(re.Decided))))
		}
	}
	// The JS exception at the root of it (fetch()'s TypeError, an
	// IndexedDB DOMException), as the error's cause.
	if je := (*jsutil.JSError)(nil); errors.As(err, &je) {
		if v := safejs.Unsafe(je.Value); v.Truthy() {
			o.Set("cause", v)
		}
	}
	return o
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

// download(handle, url, options, onEvent) → {id, joined}, or {error} for
// bad input. onEvent(type, detail) receives "progress", "done" and
// "error". joined: the Manager handed over a download already running
// under the key (Manager.Download), whose number is id and whose events go
// to the onEvent it was started with; this onEvent is not called.
func (b *bridge) download(_ js.Value, args []js.Value) any {
	m := b.manager(args[0].Int())
	url, o, onEvent := args[1].String(), args[2], args[3]
	if m == nil {
		return js.ValueOf(map[string]any{"error": errorObject(&resumer.Error{Code: resumer.CodeInvalid, Err: errors.New("unknown resumer handle")})})
	}
	opts := wire.Options(object{o})
	opts.OnProgress = progressTo(onEvent)
	if o.Type() == js.TypeObject {
		if fn := o.Get("refresh"); fn.Type() == js.TypeFunction {
			opts.Refresh = refreshFrom(fn)
		}
	}
	d, err := m.Download(url, opts)
	if err != nil {
		return js.ValueOf(map[string]any{"error": errorObject(err)})
	}
	b.mu.Lock()
	if id, ok := b.ids[d]; ok {
		b.mu.Unlock()
		return js.ValueOf(map[string]any{"id": id, "joined": true})
	}
	b.nextID++
	id := b.nextID
	b.downloads[id] = d
	b.ids[d] = id
	b.mu.Unlock()
	go func() {
		res, err := d.Wait(context.Background())
		b.mu.Lock()
		delete(b.downloads, id)
		delete(b.ids, d)
		b.mu.Unlock()
		if err != nil {
			onEvent.Invoke("error", errorObject(err))
			return
		}
		onEvent.Invoke("done", resultObject(res))
	}()
	return js.ValueOf(map[string]any{"id": id, "joined": false})
}

// leave(id, aborted): a caller of Options.Waiting (resumer.fetch) stops
// waiting for download id; aborted: it gave up (Download.Leave).
func (b *bridge) leave(_ js.Value, args []js.Value) any {
	if d := b.handle(args[0].Int()); d != nil {
		d.Leave(args[1].Truthy())
	}
	return nil
}

// refreshFrom is Options.Refresh through resumer.js's refresher(fn): an
// async function of {status, url} that never throws synchronously and
// resolves to {url, headers}. Called on the shell's goroutine of its own,
// where awaiting is allowed.
func refreshFrom(fn js.Value) func(context.Context, resumer.Expired) (resumer.Link, error) {
	return func(ctx context.Context, e resumer.Expired) (resumer.Link, error) {
		p := fn.Invoke(map[string]any{"status": e.Status, "url": e.URL})
		v, err := jsutil.Await(ctx, safejs.Safe(p))
		if err != nil {
			return resumer.Link{}, err
		}
		link := safejs.Unsafe(v)
		return resumer.Link{URL: str(link, "url"), Header: headers(link.Get("headers"))}, nil
	}
}

// str reads a string option; anything else reads as "" (the default).
func str(o js.Value, k string) string {
	if o.Type() != js.TypeObject {
		return ""
	}
	v := o.Get(k)
	if v.Type() != js.TypeString {
		return ""
	}
	return v.String()
}

// headers reads the headers option, a plain object of strings (resumer.js
// turns a Headers object or an array of pairs into one).
func headers(o js.Value) map[string]string {
	if o.Type() != js.TypeObject {
		return nil
	}
	keys := js.Global().Get("Object").Call("keys", o)
	out := map[string]string{}
	for i := range keys.Length() {
		k := keys.Index(i).String()
		if v := o.Get(k); v.Type() == js.TypeString {
			out[k] = v.String()
		}
	}
	return out
}

// object is a JS object as wire reads it: a property that is missing, null
// or of another type reads as absent.
type object struct{ v js.Value }

var _ wire.Object = object{}

func (o object) get(k string, t js.Type) (js.Value, bool) {
	if o.v.Type() != js.TypeObject {
		return js.Undefined(), false
	}
	v := o.v.Get(k)
	return v, v.Type() == t
}

func (o object) Number(k string) (float64, bool) {
	v, ok := o.get(k, js.TypeNumber)
	if !ok {
		return 0, false
	}
	return v.Float(), true
}

func (o object) String(k string) (string, bool) {
	v, ok := o.get(k, js.TypeString)
	if !ok {
		return "", false
	}
	return v.String(), true
}

func (o object) Bool(k string) bool {
	if o.v.Type() != js.TypeObject {
		return false
	}
	return o.v.Get(k).Truthy()
}

func (o object) Object(k string) (wire.Object, bool) {
	v, ok := o.get(k, js.TypeObject)
	return object{v}, ok
}

func (o object) Headers(k string) map[string]string {
	if o.v.Type() != js.TypeObject {
		return nil
	}
	return headers(o.v.Get(k))
}

func (b *bridge) control(fn func(*resumer.Download)) func(js.Value, []js.Value) any {
	return func(_ js.Value, args []js.Value) any {
		if d := b.handle(args[0].Int()); d != nil {
			fn(d)
		}
		return nil
	}
}

// progressTo returns the OnProgress of a download that reports to
// onEvent. The proof of the mode (decidedBy) changes once per generation
// of the download, not with each progress report: it is converted to a JS
// object when it changes, and the same object is handed over until then.
func progressTo(onEvent js.Value) func(resumer.Progress) {
	var (
		mu      sync.Mutex // OnProgress calls come one at a time; this is for the race detector's sake
		decided protocol.Exchange
		value   = js.Null()
	)
	return func(p resumer.Progress) {
		mu.Lock()
		if !sameExchange(p.Decided, decided) {
			// Shared by the events until it changes: frozen, so that no
			// listener changes what the next one sees.
			decided, value = p.Decided, deepFreeze(js.ValueOf(jsutil.ExchangeValue(p.Decided)))
		}
		v := value
		mu.Unlock()
		onEvent.Invoke("progress", progressObject(p, v))
	}
}

// deepFreeze freezes an object and every object and array in it.
func deepFreeze(v js.Value) js.Value {
	if v.Type() != js.TypeObject {
		return v
	}
	object := js.Global().Get("Object")
	keys := object.Call("keys", v)
	for i := range keys.Length() {
		deepFreeze(v.Get(keys.Index(i).String()))
	}
	return object.Call("freeze", v)
}

// sameExchange reports whether two exchanges hold the same lines.
func sameExchange(a, b protocol.Exchange) bool {
	return a.Status == b.Status && a.URL == b.URL && a.CrossOrigin == b.CrossOrigin &&
		slices.Equal(a.Request, b.Request) && slices.Equal(a.Response, b.Response) && slices.Equal(a.Missing, b.Missing)
}

func progressObject(p resumer.Progress, decidedBy any) js.Value {
	return js.ValueOf(wire.Progress(p, decidedBy))
}

func resultObject(r resumer.Result) js.Value {
	o := js.ValueOf(wire.Result(r))
	if b, ok := r.Blob.(jsutil.Blob); ok {
		o.Set("blob", b.Value())
	}
	return o
}

// check(url, credentials) → Promise<report>: whether downloads of url can
// resume from this page, and why not (browser.Check).
func (b *bridge) check(_ js.Value, args []js.Value) any {
	url, credentials, server := args[0].String(), "", ""
	if len(args) > 1 && args[1].Type() == js.TypeString {
		credentials = args[1].String()
	}
	if len(args) > 2 && args[2].Type() == js.TypeString && args[2].String() != "" {
		named, ok := protocol.ServerNamed(args[2].String())
		if !ok {
			err := &resumer.Error{Code: resumer.CodeInvalid, Err: fmt.Errorf("server %q: not one of nginx, Apache, Caddy, S3/CloudFront, Go, Express, lighttpd", args[2].String())}
			return promise(func(context.Context) (any, error) { return nil, err })
		}
		server = named
	}
	return promise(func(ctx context.Context) (any, error) {
		// Its own bound, past the minute of other calls: up to eight
		// requests, each given up after 15 s (browser.Check).
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 3*time.Minute)
		defer cancel()
		return wire.Report(browser.Check(ctx, url, credentials, server)), nil
	})
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
			out[i] = wire.Entry(in, jsutil.ExchangeValue(in.Decided))
		}
		return out, nil
	})
}

// remove(handle, name, url?) → Promise<key>: deletes the download name
// names (Manager.Resolve: a key, else url, the absolute URL of a relative
// name) and resolves to its key.
func (b *bridge) remove(_ js.Value, args []js.Value) any {
	m := b.manager(args[0].Int())
	names := []string{args[1].String()}
	if len(args) > 2 && args[2].Type() == js.TypeString {
		names = append(names, args[2].String()) // the absolute URL, when the name reads as a relative one
	}
	return promise(func(ctx context.Context) (any, error) {
		if m == nil {
			return nil, &resumer.Error{Code: resumer.CodeInvalid, Err: errors.New("unknown resumer handle")}
		}
		key, err := m.Resolve(ctx, names...)
		if err != nil {
			return nil, err
		}
		return key, m.Remove(ctx, key)
	})
}

// noManager is the error of a call with an unknown handle.
func noManager() error {
	return &resumer.Error{Code: resumer.CodeInvalid, Err: errors.New("unknown resumer handle")}
}

// serve(handle, name, method, range, ifRange, headers, credentials, url?)
// → Promise<{status, headers, blob, key}>: the finished download stored
// under name, else under url (the absolute URL of a name that reads as a
// relative one), as an HTTP answer to a caller with those credentials
// (Manager.Serve); it rejects with code "not-found" when neither has one
// for that caller.
func (b *bridge) serve(_ js.Value, args []js.Value) any {
	m := b.manager(args[0].Int())
	req := protocol.ServeRequest{Method: args[2].String(), Range: args[3].String(), IfRange: args[4].String()}
	names := []string{args[1].String()}
	var who resumer.Caller
	if len(args) > 6 {
		who = resumer.Caller{Header: headers(args[5]), Credentials: args[6].String()}
	}
	if len(args) > 7 && args[7].Type() == js.TypeString {
		names = append(names, args[7].String())
	}
	return promise(func(ctx context.Context) (any, error) {
		if m == nil {
			return nil, noManager()
		}
		// The first name that has a file for this caller: a key as
		// given, else the absolute URL.
		var s resumer.Served
		var err error
		for _, name := range names {
			if s, err = m.Serve(ctx, name, req, who); resumer.CodeOf(err) != resumer.CodeNotFound {
				break
			}
		}
		if err != nil {
			return nil, err
		}
		h := map[string]any{}
		for k, v := range s.Header {
			h[k] = v
		}
		o := js.ValueOf(map[string]any{"status": s.Status, "headers": h, "key": s.Key, "url": s.URL, "blob": nil})
		if jb, ok := s.Body.(jsutil.Blob); ok {
			o.Set("blob", jb.Value())
		}
		return o, nil
	})
}

// verify(handle, key, integrity) → Promise<undefined>: checks the finished
// download stored under key against integrity (Manager.Verify); it rejects
// with code "integrity" (the file is then removed) or "not-found".
func (b *bridge) verify(_ js.Value, args []js.Value) any {
	m := b.manager(args[0].Int())
	key, integrity := args[1].String(), args[2].String()
	return promise(func(ctx context.Context) (any, error) {
		if m == nil {
			return nil, noManager()
		}
		return nil, m.Verify(ctx, key, integrity)
	})
}

// put(handle, key, {url, blob, contentType, etag, lastModified}) →
// Promise<undefined>: stores a Blob as a finished download (Manager.Put).
func (b *bridge) put(_ js.Value, args []js.Value) any {
	m := b.manager(args[0].Int())
	key, o := args[1].String(), args[2]
	f := resumer.PutFile{URL: str(o, "url"), ContentType: str(o, "contentType"), ETag: str(o, "etag"), LastModified: str(o, "lastModified")}
	blob, werr := jsutil.WrapBlob(safejs.Safe(o.Get("blob")))
	return promise(func(ctx context.Context) (any, error) {
		if m == nil {
			return nil, noManager()
		}
		if werr != nil {
			return nil, &resumer.Error{Code: resumer.CodeInvalid, Err: fmt.Errorf("put: %w", werr)}
		}
		f.Blob = blob
		return nil, m.Put(ctx, key, f)
	})
}

// usage(handle) → Promise<{stored, downloads}>.
func (b *bridge) usage(_ js.Value, args []js.Value) any {
	m := b.manager(args[0].Int())
	return promise(func(ctx context.Context) (any, error) {
		if m == nil {
			return nil, noManager()
		}
		u, err := m.Usage(ctx)
		if err != nil {
			return nil, err
		}
		return wire.Usage(u), nil
	})
}

// clear(handle) → Promise<undefined>: removes every download.
func (b *bridge) clear(_ js.Value, args []js.Value) any {
	m := b.manager(args[0].Int())
	return promise(func(ctx context.Context) (any, error) {
		if m == nil {
			return nil, noManager()
		}
		return nil, m.Clear(ctx)
	})
}

// pauseAll(handle) pauses every download of the handle.
func (b *bridge) pauseAll(_ js.Value, args []js.Value) any {
	if m := b.manager(args[0].Int()); m != nil {
		m.PauseAll()
	}
	return nil
}

// setMaxConcurrent(handle, n) → the number taken: how many downloads run
// at once (0: any), as wire.MaxConcurrent reads n.
func (b *bridge) setMaxConcurrent(_ js.Value, args []js.Value) any {
	isNumber := args[1].Type() == js.TypeNumber
	n := 0.0
	if isNumber {
		n = args[1].Float()
	}
	max := wire.MaxConcurrent(n, isNumber)
	if m := b.manager(args[0].Int()); m != nil {
		m.SetMaxConcurrent(max)
	}
	return max
}
