package devserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"
)

// Transport returns an http.RoundTripper that serves every request with
// s.Handler() in this process, without a socket: tests get the dev
// server's answers, faults included, with no port, no network and no
// goroutine of a server's own. It works inside a testing/synctest bubble,
// where time is fake (rate= and stall= then take no real time), as long as
// the Server too is made inside the bubble: Close and the body faults wait
// on its channels.
//
// Each request runs the handler in a goroutine started by RoundTrip, which
// writes into a pipe that stands for the connection: about 64 KiB of
// buffer, then writes wait for the client to read. As with net/http's
// server, the header leaves at the first Flush, when more than 2 KiB of
// body is written, or when the handler returns (then with a Content-Length
// of its own when the handler set none). RoundTrip returns once the header
// has left, or fails if the handler aborted first. Then:
//
//   - Body reads what the handler writes: a Content-Length body ends with
//     io.EOF once that many bytes are read; a body the handler ends short,
//     or aborts (panic(http.ErrAbortHandler): cut=, a stall that timed out,
//     Close), ends with io.ErrUnexpectedEOF after the bytes written before
//     it, as a client of a real connection sees it.
//   - Closing Body, or canceling the request's context, is a client that
//     left: the handler's context is canceled (stall= and rate= stop) and
//     its writes fail; reads after a cancel return the context's error.
//   - CutNow and CutNext cut these responses like connections.
//
// Unlike net/http's transport it neither asks for nor undoes compression,
// and follows no redirect (http.Client does). The control API (/_control/)
// answers 403: it checks the address a connection came to, and there is
// none; call the Server's methods instead.
func (s *Server) Transport() http.RoundTripper {
	return transport{h: s.Handler()}
}

// transport serves requests with h in process.
type transport struct{ h http.Handler }

// Sizes of the pipe: the body net/http's server buffers before it sends
// the header (bufferBeforeChunkingSize), and what the connection holds
// before a write waits for the client (a socket's buffer, roughly).
const (
	preHeaderBuffer = 2 << 10
	pipeBuffer      = 64 << 10
)

// errBodyClosed is what a read of a closed response body returns, as with
// net/http's transport.
var errBodyClosed = errors.New("http: read on closed response body")

// RoundTrip serves req and returns once the header of the answer has left.
func (t transport) RoundTrip(req *http.Request) (*http.Response, error) {
	sreq, err := serverRequest(req)
	if err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	// The handler's context ends when the client's does, when the client
	// closes the body, and when the handler is done; it is not derived
	// from the client's, so that the client's reads fail (closeRead)
	// before the handler can see it leave and end the body.
	cctx := req.Context()
	ctx, cancel := context.WithCancel(context.WithoutCancel(cctx))
	x := &exchange{
		req:      req,
		cancel:   cancel,
		header:   http.Header{},
		declared: -1,
		ready:    make(chan struct{}),
		pipe:     newBodyPipe(pipeBuffer),
	}
	// A client that gives up makes its own reads return why, and the
	// handler's writes fail, until it is done with the body.
	x.unwatch = context.AfterFunc(cctx, func() {
		x.pipe.closeRead(context.Cause(cctx))
		cancel()
	})
	sreq = sreq.WithContext(context.WithValue(ctx, connKey{}, io.Closer(x)))
	go x.serve(t.h, sreq)
	select {
	case <-x.ready:
	case <-cctx.Done():
		// The handler goes on until it notices, as on a real server. (The
		// watch does this too, unless stopping it here wins the race.)
		x.unwatch()
		x.pipe.closeRead(context.Cause(cctx))
		cancel()
		return nil, context.Cause(cctx)
	}
	if x.failure != nil {
		x.unwatch()
		return nil, x.failure
	}
	return x.resp, nil
}

// serverRequest is req as a server receives it: a URL of path and query
// only, parsed from the request line, and the Host apart.
func serverRequest(req *http.Request) (*http.Request, error) {
	if req.URL == nil {
		return nil, errors.New("devserver: request without URL")
	}
	target := req.URL.RequestURI()
	u, err := url.ParseRequestURI(target)
	if err != nil {
		return nil, fmt.Errorf("devserver: request target %q: %w", target, err)
	}
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	h := req.Header.Clone()
	if h == nil {
		h = http.Header{}
	}
	body := req.Body
	if body == nil {
		body = http.NoBody
	}
	return &http.Request{
		Method:        method,
		URL:           u,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        h,
		Body:          body,
		ContentLength: req.ContentLength,
		Host:          host,
		RemoteAddr:    "192.0.2.1:1234", // TEST-NET-1, as httptest.NewRequest
		RequestURI:    target,
	}, nil
}

// exchange is one request served in process: the handler's ResponseWriter
// on one side, the client's Response on the other.
type exchange struct {
	req     *http.Request      // the client's
	cancel  context.CancelFunc // ends the handler's context
	unwatch func() bool        // stops watching the client's context
	pipe    *bodyPipe

	// The handler's side, used by its goroutine only.
	header      http.Header
	status      int // 0 until WriteHeader
	declared    int64
	noBody      bool   // HEAD, or a status without content: writes are eaten or refused
	pre         []byte // body written before the header left
	written     int64  // body bytes written
	handlerDone bool

	// Between the handler and the client: ready is closed once, when the
	// header leaves (resp) or the exchange fails first (failure).
	mu        sync.Mutex
	committed bool
	ready     chan struct{}
	resp      *http.Response
	failure   error
}

// serve runs the handler and ends the exchange when it returns or panics.
func (x *exchange) serve(h http.Handler, r *http.Request) {
	defer func() {
		v := recover()
		x.finish(v)
	}()
	h.ServeHTTP(x, r)
}

// finish ends the exchange after the handler: the rest of the body goes,
// then the end of it, or the error of a connection cut short.
func (x *exchange) finish(panicked any) {
	defer func() {
		if x.resp == nil || x.resp.Body == http.NoBody {
			x.unwatch() // nothing left for the client to read
		}
		x.cancel()
		if x.req.Body != nil {
			x.req.Body.Close()
		}
	}()
	x.handlerDone = true
	if panicked != nil {
		err := io.ErrUnexpectedEOF
		if panicked != http.ErrAbortHandler {
			err = fmt.Errorf("devserver: handler panic: %v: %w", panicked, io.ErrUnexpectedEOF)
		}
		x.fail(fmt.Errorf("devserver: the handler aborted the response: %w", err))
		x.pipe.closeWrite(err)
		return
	}
	if x.status == 0 {
		x.WriteHeader(http.StatusOK)
	}
	x.commit()
	if x.declared >= 0 && x.written < x.declared && !x.noBody {
		x.pipe.closeWrite(io.ErrUnexpectedEOF) // a real server closes the connection
		return
	}
	x.pipe.closeWrite(io.EOF)
}

// fail ends the exchange before its header: RoundTrip returns err.
func (x *exchange) fail(err error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if !x.committed {
		x.committed, x.failure = true, err
		close(x.ready)
	}
}

// Close cuts the exchange like a connection (CutNow): the client reads
// what was written and then io.ErrUnexpectedEOF, or RoundTrip fails if the
// header had not left; the handler's writes fail and its context ends.
func (x *exchange) Close() error {
	x.fail(fmt.Errorf("devserver: connection cut: %w", io.ErrUnexpectedEOF))
	x.pipe.closeWrite(io.ErrUnexpectedEOF)
	x.cancel()
	return nil
}

// Header returns the header the handler is building.
func (x *exchange) Header() http.Header { return x.header }

// WriteHeader records the status; the header leaves at commit.
func (x *exchange) WriteHeader(code int) {
	if x.status != 0 || code >= 100 && code < 200 {
		return // superfluous, or informational (not passed on)
	}
	x.status = code
	x.noBody = x.req.Method == http.MethodHead || !bodyAllowed(code)
	if n, err := strconv.ParseInt(x.header.Get("Content-Length"), 10, 64); err == nil && n >= 0 {
		x.declared = n
	}
}

// bodyAllowed reports whether a status may have content (RFC 9110 §6.4.1).
func bodyAllowed(code int) bool {
	return code >= 200 && code != http.StatusNoContent && code != http.StatusNotModified
}

// Write sends body bytes, as net/http's server would: refused for a status
// without content, eaten for a HEAD, refused past the Content-Length.
func (x *exchange) Write(p []byte) (int, error) {
	if x.status == 0 {
		x.WriteHeader(http.StatusOK)
	}
	if x.noBody {
		if x.req.Method == http.MethodHead && bodyAllowed(x.status) {
			x.written += int64(len(p))
			return len(p), nil
		}
		return 0, http.ErrBodyNotAllowed
	}
	if x.declared >= 0 && x.written+int64(len(p)) > x.declared {
		return 0, http.ErrContentLength
	}
	x.written += int64(len(p))
	if !x.isCommitted() && len(x.pre)+len(p) <= preHeaderBuffer {
		x.pre = append(x.pre, p...)
		return len(p), nil
	}
	if err := x.commit(); err != nil {
		return 0, err
	}
	return x.pipe.write(p)
}

// Flush sends the header, if it has not left, and the body written so far.
func (x *exchange) Flush() { x.FlushError() }

// FlushError is Flush, with the error of a connection that is gone.
func (x *exchange) FlushError() error {
	if x.status == 0 {
		x.WriteHeader(http.StatusOK)
	}
	return x.commit()
}

func (x *exchange) isCommitted() bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.committed
}

// commit sends the header, then the body written before it. The header is
// completed as net/http's server completes it: a Date, a Content-Type
// sniffed from the body when the handler set none, a Content-Length of
// what a handler that is done wrote, and none of Content-Length,
// Transfer-Encoding (and Content-Type, for a 304) on a status without
// content.
func (x *exchange) commit() error {
	x.mu.Lock()
	if x.committed {
		failure := x.failure
		x.mu.Unlock()
		return failure
	}
	h := x.header.Clone()
	if _, ok := h["Date"]; !ok {
		h.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	}
	switch {
	case x.status == http.StatusNotModified:
		// RFC 9110 §15.4.5, as net/http's server drops them.
		h.Del("Content-Type")
		fallthrough
	case !bodyAllowed(x.status):
		h.Del("Content-Length")
		h.Del("Transfer-Encoding")
	default:
		if _, ok := h["Content-Type"]; !ok && h.Get("Content-Encoding") == "" && len(x.pre) > 0 && !x.noBody {
			h.Set("Content-Type", http.DetectContentType(x.pre))
		}
	}
	if x.handlerDone && x.declared < 0 && bodyAllowed(x.status) && (x.req.Method != http.MethodHead || x.written > 0) {
		x.declared = x.written
		h.Set("Content-Length", strconv.FormatInt(x.written, 10))
	}
	resp := &http.Response{
		Status:     strconv.Itoa(x.status) + " " + statusText(x.status),
		StatusCode: x.status,
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     h,
		Request:    x.req,
	}
	switch {
	case x.req.Method == http.MethodHead:
		resp.ContentLength = -1
		if n, err := strconv.ParseInt(h.Get("Content-Length"), 10, 64); err == nil {
			resp.ContentLength = n
		}
		resp.Body = http.NoBody
	case !bodyAllowed(x.status) || x.declared == 0:
		resp.Body = http.NoBody
	case x.declared > 0:
		resp.ContentLength = x.declared
		resp.Body = &pipeBody{x: x, left: x.declared}
	default:
		resp.ContentLength = -1
		resp.TransferEncoding = []string{"chunked"}
		resp.Body = &pipeBody{x: x, left: -1}
	}
	x.committed, x.resp = true, resp
	close(x.ready)
	x.mu.Unlock()
	pre := x.pre
	x.pre = nil
	if len(pre) > 0 && !x.noBody {
		if _, err := x.pipe.write(pre); err != nil {
			return err
		}
	}
	return nil
}

// statusText is the reason phrase net/http's client shows.
func statusText(code int) string {
	if t := http.StatusText(code); t != "" {
		return t
	}
	return "status code " + strconv.Itoa(code)
}

// pipeBody is the client's side of the body.
type pipeBody struct {
	x    *exchange
	left int64 // bytes still to come of a Content-Length body, -1: unknown
}

func (b *pipeBody) Read(p []byte) (int, error) {
	if b.left == 0 {
		return 0, io.EOF
	}
	if b.left > 0 && int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.x.pipe.read(p)
	if b.left > 0 {
		b.left -= int64(n)
		if b.left == 0 && err == nil {
			err = io.EOF
		}
	}
	return n, err
}

// Close is a client that leaves: the handler sees its context end, unless
// it is done already.
func (b *pipeBody) Close() error {
	b.x.unwatch()
	b.x.pipe.closeRead(errBodyClosed)
	b.x.cancel()
	return nil
}

// bodyPipe carries body bytes from the handler to the client through a
// buffer of limit bytes. Waits are on channels, which a synctest bubble
// sees as durably blocking.
type bodyPipe struct {
	mu    sync.Mutex
	buf   []byte // unread bytes are buf[off:]
	off   int
	limit int
	werr  error // the end of the body for the reader, after buf: io.EOF or why it broke
	rerr  error // the reader left: what its reads return; writes fail

	readable chan struct{} // a token when bytes or werr arrived
	writable chan struct{} // a token when room or rerr appeared
}

func newBodyPipe(limit int) *bodyPipe {
	return &bodyPipe{limit: limit, readable: make(chan struct{}, 1), writable: make(chan struct{}, 1)}
}

// poke leaves a token in c, unless one is there.
func poke(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

func (p *bodyPipe) read(b []byte) (int, error) {
	for {
		p.mu.Lock()
		switch {
		case p.rerr != nil:
			err := p.rerr
			p.mu.Unlock()
			return 0, err
		case p.off < len(p.buf):
			n := copy(b, p.buf[p.off:])
			p.off += n
			if p.off == len(p.buf) {
				p.buf, p.off = p.buf[:0], 0
			}
			p.mu.Unlock()
			poke(p.writable)
			return n, nil
		case p.werr != nil:
			err := p.werr
			p.mu.Unlock()
			return 0, err
		}
		p.mu.Unlock()
		<-p.readable
	}
}

func (p *bodyPipe) write(b []byte) (int, error) {
	n := 0
	for len(b) > 0 {
		p.mu.Lock()
		if p.rerr != nil || p.werr != nil {
			p.mu.Unlock()
			return n, io.ErrClosedPipe
		}
		if room := p.limit - (len(p.buf) - p.off); room > 0 {
			if p.off > 0 && len(p.buf)+min(room, len(b)) > cap(p.buf) {
				p.buf, p.off = append(p.buf[:0], p.buf[p.off:]...), 0
			}
			k := min(room, len(b))
			p.buf = append(p.buf, b[:k]...)
			b, n = b[k:], n+k
			p.mu.Unlock()
			poke(p.readable)
			continue
		}
		p.mu.Unlock()
		<-p.writable
	}
	return n, nil
}

// closeWrite ends the body: readers get the bytes written, then err;
// writes fail from now on.
func (p *bodyPipe) closeWrite(err error) {
	p.mu.Lock()
	if p.werr == nil {
		p.werr = err
	}
	p.mu.Unlock()
	poke(p.readable)
	poke(p.writable)
}

// closeRead is the reader leaving: reads return err, writes fail.
func (p *bodyPipe) closeRead(err error) {
	p.mu.Lock()
	if p.rerr == nil {
		p.rerr = err
	}
	p.mu.Unlock()
	poke(p.readable)
	poke(p.writable)
}
