//go:build js && wasm

// Package browser runs the resumer engine in a browser: a Platform on
// fetch() and Blobs, and an IndexedDB store. Go programs compiled to
// js/wasm use it through Open; web apps use the JS API in web/resumer.js,
// which is built on the same code.
package browser

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall/js"
	"time"

	"github.com/hack-pad/safejs"

	"github.com/go-resumer/resumer/wasm/internal/jsutil"
	"github.com/go-resumer/resumer/wasm/protocol"
	"github.com/go-resumer/resumer/wasm/resumer"
	"github.com/go-resumer/resumer/wasm/resumer/platform"
	"github.com/go-resumer/resumer/wasm/store"
	"github.com/go-resumer/resumer/wasm/store/idbstore"
)

// JSBlob returns the JS Blob that holds b's bytes, for a Blob the browser
// platform made: a finished download's Result.Blob, a Served body. ok is
// false for a Blob of another platform. The Blob is the page's to use as
// any other (an object URL, a Response body, a Worker's input); its bytes
// were never copied into Go.
func JSBlob(b store.Blob) (v js.Value, ok bool) {
	jb, ok := b.(jsutil.Blob)
	if !ok {
		return js.Undefined(), false
	}
	return safejs.Unsafe(jb.V), true
}

// Open opens the IndexedDB database dbName and returns a Manager that
// downloads with fetch() into it.
func Open(ctx context.Context, dbName string) (*resumer.Manager, error) {
	st, err := idbstore.Open(ctx, dbName)
	if err != nil {
		return nil, err
	}
	watchPageHide()
	m := resumer.NewManager(st, Platform{})
	m.Namespace = dbName
	return m, nil
}

// ErrPageGone: the page is being discarded (a pagehide event that is not
// persisted: a reload, a navigation, a closed tab), so no request goes out
// from it. Firefox runs a page that is reloaded on for a moment after the
// new one has loaded and taken the download over: its session, backing off
// after a request the navigation cut, would otherwise send it again beside
// the new page's, with what the old page knew. A fetch() it is refused
// this way counts as a network failure: the session backs off until the
// page is gone.
var ErrPageGone = errors.New("the page is going away: no request goes out from it")

var (
	pageGone    atomic.Bool
	watchedPage sync.Once
)

// watchPageHide sets pageGone at the page's last pagehide (one that is not
// persisted: a page kept in the back/forward cache may come back), where
// there is a page (not in a worker).
func watchPageHide() {
	watchedPage.Do(func() {
		g := js.Global()
		if doc := g.Get("document"); doc.IsUndefined() || doc.IsNull() || g.Get("addEventListener").Type() != js.TypeFunction {
			return
		}
		g.Call("addEventListener", "pagehide", js.FuncOf(func(_ js.Value, args []js.Value) any {
			if len(args) > 0 && !args[0].Get("persisted").Truthy() {
				pageGone.Store(true)
			}
			return nil
		}))
	})
}

// Platform is the platform.Platform of the browser: fetch() for requests,
// JS Blobs for bytes.
type Platform struct{}

var _ platform.Platform = Platform{}

// ReadBlob implements platform.BlobReader.
func (Platform) ReadBlob(ctx context.Context, b store.Blob) ([]byte, error) {
	jb, ok := b.(jsutil.Blob)
	if !ok {
		return nil, fmt.Errorf("read blob of type %T", b)
	}
	return jsutil.ReadBlob(ctx, jb)
}

// Fetch implements platform.Fetcher with fetch(). It asks the HTTP cache to
// stay out of the way (cache: "no-store"): a cache that stitches ranges of
// its own would defeat the checks of every response.
func (Platform) Fetch(ctx context.Context, req platform.Request) (*platform.Response, error) {
	if pageGone.Load() {
		return nil, ErrPageGone
	}
	headers := map[string]any{}
	for k, v := range req.Header {
		headers[k] = v
	}
	if req.Range != "" {
		headers["Range"] = req.Range
	}
	if req.IfRange != "" {
		headers["If-Range"] = req.IfRange
	}
	p, ac, err := send("GET", req.URL, headers, req.Credentials)
	if err != nil {
		return nil, err
	}
	b := &body{ac: ac, closed: make(chan struct{}), length: protocol.UnknownSize}
	go b.abortOn(ctx)
	rv, err := jsutil.Await(ctx, p)
	if err != nil {
		b.Close()
		return nil, err
	}
	b.resp = rv
	r, err := responseOf(rv, req.URL)
	if err != nil {
		b.Close()
		return nil, err
	}
	resp := &platform.Response{Response: r, Body: b}
	if resp.ContentEncoding == "" {
		// With a Content-Encoding, Content-Length counts encoded bytes.
		b.length = protocol.ParseContentLength(resp.ContentLength)
	}
	return resp, nil
}

// send starts fetch(url) with method, headers and credentials (default
// "same-origin"), and returns its promise and AbortController.
func send(method, url string, headers map[string]any, credentials string) (promise, ac safejs.Value, err error) {
	g := safejs.Global()
	acCtor, err := g.Get("AbortController")
	if err != nil {
		return safejs.Value{}, safejs.Value{}, err
	}
	if ac, err = acCtor.New(); err != nil {
		return safejs.Value{}, safejs.Value{}, err
	}
	signal, err := ac.Get("signal")
	if err != nil {
		return safejs.Value{}, safejs.Value{}, err
	}
	if credentials == "" {
		credentials = "same-origin"
	}
	init, err := safejs.ValueOf(map[string]any{
		"method": method, "headers": headers, "cache": "no-store", "mode": "cors",
		"credentials": credentials, "redirect": "follow",
	})
	if err != nil {
		return safejs.Value{}, safejs.Value{}, err
	}
	if err := init.Set("signal", signal); err != nil {
		return safejs.Value{}, safejs.Value{}, err
	}
	if promise, err = g.Call("fetch", url, init); err != nil {
		return safejs.Value{}, safejs.Value{}, fmt.Errorf("fetch: %w", err)
	}
	return promise, ac, nil
}

// responseOf reads what the engine checks of a fetch() Response: the
// status, the headers the page may read, and the URL after redirects
// (url if the Response does not tell).
func responseOf(rv safejs.Value, url string) (protocol.Response, error) {
	h, err := rv.Get("headers")
	if err != nil {
		return protocol.Response{}, err
	}
	header := func(name string) string {
		v, err := h.Call("get", name)
		if err != nil || v.IsNull() || v.IsUndefined() {
			return ""
		}
		s, _ := v.String()
		return s
	}
	status := 0
	if sv, err := rv.Get("status"); err == nil {
		status, _ = sv.Int()
	}
	typ := ""
	if tv, err := rv.Get("type"); err == nil {
		typ, _ = tv.String()
	}
	finalURL := url
	if uv, err := rv.Get("url"); err == nil {
		if s, err := uv.String(); err == nil && s != "" {
			finalURL = s
		}
	}
	return protocol.Response{
		Status: status, ContentRange: header("Content-Range"), ContentLength: header("Content-Length"),
		ContentEncoding: header("Content-Encoding"), ContentType: header("Content-Type"), RetryAfter: header("Retry-After"),
		AcceptRanges: header("Accept-Ranges"),
		Validators:   protocol.Validators{ETag: header("ETag"), LastModified: header("Last-Modified"), Date: header("Date")},
		URL:          finalURL,
		CrossOrigin:  typ == "cors",
		ReprDigest:   header("Repr-Digest"), ContentDigest: header("Content-Digest"),
	}, nil
}

// body reads a Response body in pieces without copying bytes into Go.
type body struct {
	ac       safejs.Value // the request's AbortController
	resp     safejs.Value
	reader   safejs.Value // set once streaming started
	leftover safejs.Value // a Uint8Array tail not yet returned
	pending  safejs.Value // a reader.read() Promise not yet settled, for the next piece
	pr       safejs.Value // resumer.js's pieceReader of the body, when there is one
	length   int64        // bytes the body holds, UnknownSize if not known
	read     int64        // bytes returned so far
	done     bool         // the stream said it ended

	closeOnce sync.Once
	closed    chan struct{}
}

// abortOn aborts the request when ctx ends before the body is closed.
func (b *body) abortOn(ctx context.Context) {
	select {
	case <-ctx.Done():
		b.abort()
	case <-b.closed:
	}
}

func (b *body) abort() { _, _ = b.ac.Call("abort") }

// Close implements platform.Body.
func (b *body) Close() {
	b.closeOnce.Do(func() {
		close(b.closed)
		if !b.done && (b.length == protocol.UnknownSize || b.read < b.length) {
			b.abort()
		}
		if !b.pr.IsUndefined() && !b.done {
			_, _ = b.pr.Call("cancel")
		}
	})
}

// Release implements platform.Releaser: the fetch() Response (a
// js.Value) goes to the app unread, and ending the request's context no
// longer aborts it.
func (b *body) Release() any {
	b.closeOnce.Do(func() { close(b.closed) })
	return safejs.Unsafe(b.resp)
}

// Whole implements platform.Body with Response.blob(), which keeps the
// body's bytes out of the JS heap altogether.
func (b *body) Whole(ctx context.Context) (store.Blob, error) {
	if !b.reader.IsUndefined() || !b.pr.IsUndefined() {
		return nil, errors.New("Whole after Next")
	}
	p, err := b.resp.Call("blob")
	if err != nil {
		return nil, err
	}
	v, err := jsutil.Await(ctx, p)
	if err != nil {
		return nil, err
	}
	blob, err := jsutil.WrapBlob(v)
	if err != nil {
		return nil, err
	}
	b.read = blob.N
	return blob, nil
}

// helpers are the functions resumer.js hands over (see UseHelpers); the
// zero value means none.
var helpers struct {
	mu          sync.Mutex
	pieceReader safejs.Value
	hashBlob    safejs.Value
}

// UseHelpers gives the platform the JavaScript helpers of resumer.js:
// pieceReader reads a body in pieces, each made a Blob on the JS side, so
// that the stream's chunks never become Go values (which stay referenced
// until Go's garbage collector runs) and one call crosses per piece. A Go
// program without resumer.js reads the stream from Go instead.
//
// hashBlob(alg, state, blob) hashes a blob with SHA-256, SHA-384 or
// SHA-512 where its bytes are (a Worker running resumer-digest.js, on
// hash-wasm); without it, HashBlob copies the bytes into Go.
func UseHelpers(v js.Value) {
	h := safejs.Safe(v)
	helpers.mu.Lock()
	defer helpers.mu.Unlock()
	if pr, err := h.Get("pieceReader"); err == nil && pr.Type() == safejs.TypeFunction {
		helpers.pieceReader = pr
	}
	if hb, err := h.Get("hashBlob"); err == nil && hb.Type() == safejs.TypeFunction {
		helpers.hashBlob = hb
	}
}

func hashBlobHelper() (safejs.Value, bool) {
	helpers.mu.Lock()
	defer helpers.mu.Unlock()
	return helpers.hashBlob, !helpers.hashBlob.IsUndefined()
}

// HashBlob implements platform.BlobHasher: in resumer.js's hasher (a
// Worker, where one can start), or through Go (platform.HashRead) on a
// page without resumer.js. The state of one cannot be taken up by the
// other (the hasher refuses it with a TypeError, here ErrHashState, and
// the bytes are hashed again): on a page, every hash goes the same way.
func (p Platform) HashBlob(ctx context.Context, alg string, state []byte, b store.Blob) ([]byte, []byte, error) {
	fn, ok := hashBlobHelper()
	if !ok {
		next, sum, err := platform.HashRead(ctx, p, alg, state, b)
		return next, sum, blobLost(err)
	}
	if _, err := protocol.NewHash(alg); err != nil {
		return nil, nil, err // one resumer-digest.js would refuse too
	}
	args := []any{alg, nil, nil}
	if len(state) > 0 {
		u8, err := jsutil.NewBytes(state)
		if err != nil {
			return nil, nil, err
		}
		args[1] = u8
	}
	if b != nil {
		jb, ok := b.(jsutil.Blob)
		if !ok {
			return nil, nil, fmt.Errorf("hash blob of type %T", b)
		}
		args[2] = jb.Value()
	}
	pr, err := fn.Invoke(args...)
	if err != nil {
		return nil, nil, err
	}
	r, err := jsutil.Await(ctx, pr)
	if err != nil {
		var je *jsutil.JSError
		switch {
		case errors.As(err, &je) && je.Name == "TypeError":
			return nil, nil, fmt.Errorf("%w: %w", platform.ErrHashState, err)
		}
		return nil, nil, blobLost(err)
	}
	next, err := jsBytes(r, "state")
	if err != nil {
		return nil, nil, err
	}
	sum, err := jsBytes(r, "sum")
	if err != nil {
		return nil, nil, err
	}
	return next, sum, nil
}

// blobLost marks err as store.ErrBlobLost where it says that a Blob's
// bytes could not be read (File API's NotReadableError: WebKit's, for a
// fetch() body's Blob while the page unloads): the engine reads the
// stored chunks again after a back-off instead of failing the download.
func blobLost(err error) error {
	var je *jsutil.JSError
	if errors.As(err, &je) && je.Name == "NotReadableError" {
		return fmt.Errorf("%w: %w", store.ErrBlobLost, err)
	}
	return err
}

// jsBytes copies the Uint8Array o[k] into Go: a few dozen bytes of hash
// state or sum.
func jsBytes(o safejs.Value, k string) ([]byte, error) {
	v, err := o.Get(k)
	if err != nil {
		return nil, err
	}
	n := byteLength(v)
	out := make([]byte, n)
	if _, err := safejs.CopyBytesToGo(out, v); err != nil {
		return nil, fmt.Errorf("read %s: %w", k, err)
	}
	return out, nil
}

func pieceReaderHelper() (safejs.Value, bool) {
	helpers.mu.Lock()
	defer helpers.mu.Unlock()
	return helpers.pieceReader, !helpers.pieceReader.IsUndefined()
}

// streamedSinceGC counts the bytes streamed through Go (without the
// helper) since the last collection: past gcEvery, Go's garbage collector
// runs, which lets go of the JS chunks those bytes came in.
var (
	streamedSinceGC atomic.Int64
	gcEvery         int64 = 16 << 20
)

// Next implements platform.Body: it reads the stream and makes each piece a
// Blob of the Uint8Arrays that arrived, so that a dropped connection loses
// only what arrived since the last piece.
func (b *body) Next(ctx context.Context, max int64, flush time.Duration, onData func(int64)) (store.Blob, error) {
	if b.pr.IsUndefined() && b.reader.IsUndefined() {
		if helper, ok := pieceReaderHelper(); ok {
			stream, err := b.resp.Get("body")
			if err != nil || stream.IsNull() || stream.IsUndefined() {
				return nil, io.EOF // no body (an empty response)
			}
			if b.pr, err = helper.Invoke(stream); err != nil {
				return nil, err
			}
		}
	}
	if !b.pr.IsUndefined() {
		return b.nextPiece(ctx, max, flush, onData)
	}
	defer func() {
		if streamedSinceGC.Load() > gcEvery {
			streamedSinceGC.Store(0)
			runtime.GC()
		}
	}()
	if b.reader.IsUndefined() {
		stream, err := b.resp.Get("body")
		if err != nil || stream.IsNull() || stream.IsUndefined() {
			return nil, io.EOF // no body (an empty response)
		}
		if b.reader, err = stream.Call("getReader"); err != nil {
			return nil, err
		}
	}
	var parts []any
	var n int64
	var first time.Time
	take := func(chunk safejs.Value, l int64) {
		if n+l > max {
			keep := max - n
			head, _ := chunk.Call("subarray", 0, float64(keep))
			b.leftover, _ = chunk.Call("subarray", float64(keep))
			chunk, l = head, keep
		}
		parts = append(parts, safejs.Unsafe(chunk))
		n += l
		if first.IsZero() {
			first = time.Now()
		}
	}
	piece := func(err error) (store.Blob, error) {
		b.read += n
		if n == 0 {
			return nil, err
		}
		blob, jerr := jsutil.JoinValues(parts, "", n)
		if jerr != nil {
			return nil, errors.Join(err, jerr)
		}
		return blob, err
	}
	if !b.leftover.IsUndefined() {
		chunk := b.leftover
		b.leftover = safejs.Undefined()
		take(chunk, byteLength(chunk))
	}
	for n < max {
		if flush > 0 && n > 0 && time.Since(first) >= flush {
			break
		}
		if b.pending.IsUndefined() {
			p, err := b.reader.Call("read")
			if err != nil {
				return piece(err)
			}
			b.pending = p
		}
		// Bytes that arrived wait at most flush to be handed over, even
		// when the next ones are slow to come: the read is raced against
		// the flush deadline, and one that loses stays pending for the
		// next piece.
		wait, cancel := ctx, context.CancelFunc(func() {})
		if flush > 0 && n > 0 {
			wait, cancel = context.WithDeadline(ctx, first.Add(flush))
		}
		r, err := jsutil.Await(wait, b.pending)
		cancel()
		if err != nil && ctx.Err() == nil && wait.Err() != nil {
			break // flush time
		}
		b.pending = safejs.Undefined()
		if err != nil {
			return piece(err)
		}
		if done, _ := r.Get("done"); truthy(done) {
			b.done = true
			return piece(io.EOF)
		}
		chunk, err := r.Get("value")
		if err != nil {
			return piece(err)
		}
		l := byteLength(chunk)
		streamedSinceGC.Add(l)
		if onData != nil {
			onData(l)
		}
		take(chunk, l)
	}
	return piece(nil)
}

// nextPiece is Next through resumer.js's pieceReader.
func (b *body) nextPiece(ctx context.Context, max int64, flush time.Duration, onData func(int64)) (store.Blob, error) {
	if b.done {
		return nil, io.EOF
	}
	cb, err := safejs.FuncOf(func(_ safejs.Value, args []safejs.Value) any {
		// onData counts and reports; it never awaits, which a JS
		// callback must not.
		if len(args) > 0 && onData != nil {
			if n, err := args[0].Float(); err == nil {
				onData(int64(n))
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	defer cb.Release()
	p, err := b.pr.Call("next", float64(max), float64(flush/time.Millisecond), cb.Value())
	if err != nil {
		return nil, err
	}
	r, err := jsutil.Await(ctx, p)
	if err != nil && ctx.Err() != nil {
		// Stopped: the request is being aborted, and the promise then
		// settles with what arrived before. Collect it, so that a pause
		// keeps those bytes; a dead page would not answer, so only wait
		// a little.
		wctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		r, err = jsutil.Await(wctx, p)
		cancel()
		if err != nil {
			return nil, ctx.Err()
		}
	} else if err != nil {
		return nil, err
	}
	var blob store.Blob
	size, _ := number(r, "size")
	if bv, err := r.Get("blob"); err == nil && size > 0 {
		wb, err := jsutil.WrapBlob(bv)
		if err != nil {
			return nil, err
		}
		blob = wb
	}
	b.read += size
	if dv, err := r.Get("done"); err == nil && truthy(dv) {
		b.done = true
		return blob, io.EOF
	}
	if ev, err := r.Get("error"); err == nil && !ev.IsNull() && !ev.IsUndefined() {
		return blob, jsutil.ErrorOf(ev)
	}
	if ctx.Err() != nil {
		return blob, ctx.Err()
	}
	return blob, nil
}

func byteLength(v safejs.Value) int64 {
	l, err := v.Get("byteLength")
	if err != nil {
		return 0
	}
	f, _ := l.Float()
	return int64(f)
}

func truthy(v safejs.Value) bool {
	t, _ := v.Truthy()
	return t
}

// Join implements platform.Platform: new Blob(parts) references the parts'
// bytes, it does not copy them.
func (Platform) Join(parts []store.Blob, contentType string) (store.Blob, error) {
	vals := make([]any, len(parts))
	var n int64
	for i, p := range parts {
		b, ok := p.(jsutil.Blob)
		if !ok {
			return nil, fmt.Errorf("join: part %d is a %T, not a JS Blob", i, p)
		}
		vals[i] = safejs.Unsafe(b.V)
		n += b.N
	}
	return jsutil.JoinValues(vals, contentType, n)
}
