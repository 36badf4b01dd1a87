package devserver

import (
	"context"
	"errors"
	"io"
	"math"
	"net/http"
	"strconv"
	"time"
)

var (
	errClientGone    = errors.New("client went away")
	errServerClosing = errors.New("server closing")
	errStallTimeout  = errors.New("stall timed out")
)

// stallTimeout bounds stall=: a client without a timer of its own must
// not hold a handler (and a connection) forever.
const stallTimeout = 10 * time.Minute

// junkChunk is the write size of overrun= junk: overrun can be asked to
// be endless, so it is generated as it goes.
const junkChunk = 32 << 10

// respWriter wraps the ResponseWriter of one /files/ request: it records
// status, headers and body bytes in the log entry and, only when a body
// fault is active, shapes the body (rate=, cut=, change=, stall=, and the
// junk of overrun=).
//
// Without body faults ReadFrom hands the body to the underlying writer,
// which is what lets net/http use sendfile(2) for http.ServeContent.
type respWriter struct {
	rw       http.ResponseWriter
	e        *LogEntry
	f        *faults
	ctx      context.Context
	closing  <-chan struct{}
	head     bool                          // HEAD request: no body
	fileBody bool                          // the body is file bytes, so Start means something
	onHeader func(h http.Header, code int) // header faults, nil = none
	onChange func()                        // change=: called once at that offset
	stallFor time.Duration                 // stall=: how long before giving up

	wroteHeader bool
	want        int64     // Content-Length set by the handler, -1 = unknown
	extra       int64     // overrun=: junk bytes meant after want
	paceStart   time.Time // rate=: when the first shaped byte went out
	paceBase    int64     // rate=: Sent at paceStart
	changed     bool
	stalled     bool
	stopped     error // why a shaped write gave up
}

func newRespWriter(w http.ResponseWriter, r *http.Request, e *LogEntry, closing <-chan struct{}) *respWriter {
	f := noFaults()
	return &respWriter{
		rw:       w,
		e:        e,
		f:        &f,
		ctx:      r.Context(),
		closing:  closing,
		head:     r.Method == http.MethodHead,
		want:     -1,
		stallFor: stallTimeout,
	}
}

// Unwrap lets http.ResponseController reach the real writer.
func (w *respWriter) Unwrap() http.ResponseWriter { return w.rw }

// Header returns the response headers.
func (w *respWriter) Header() http.Header { return w.rw.Header() }

// Flush sends buffered bytes to the client now.
func (w *respWriter) Flush() {
	http.NewResponseController(w.rw).Flush()
}

// WriteHeader records what is about to be sent, lets header faults
// rewrite it, and sends it.
func (w *respWriter) WriteHeader(code int) {
	if w.wroteHeader {
		return
	}
	if code >= 100 && code < 200 {
		w.rw.WriteHeader(code) // informational: the real header comes later
		return
	}
	w.wroteHeader = true
	h := w.rw.Header()
	w.e.Start = w.bodyStart(code, h.Get("Content-Range"))
	// want is read before header faults: length= and overrun= remove
	// Content-Length, yet the log must still know a short body.
	hadLength := h.Get("Content-Length") != ""
	if n, err := strconv.ParseInt(h.Get("Content-Length"), 10, 64); err == nil {
		w.want = n
	}
	if w.onHeader != nil {
		w.onHeader(h, code)
	}
	w.e.Status = code
	// Cut like the request's fields: etag= sends any value the client
	// chose, and the log keeps it until it is trimmed.
	w.e.ContentRange = clip(h.Get("Content-Range"))
	w.e.ETag = clip(h.Get("ETag"))
	w.e.ReprDigest = clip(h.Get("Repr-Digest"))
	w.rw.WriteHeader(code)
	if hadLength && h.Get("Content-Length") == "" && !w.head && code != http.StatusNoContent && code != http.StatusNotModified {
		// net/http adds a Content-Length of its own to a body that is
		// complete before the first flush (a small 206): sending the
		// header now makes the body chunked, as the fault promises.
		w.Flush()
	}
}

// bodyStart is the file offset of the first body byte; it is read before
// cr= faults touch Content-Range, so the log tells the truth.
func (w *respWriter) bodyStart(code int, contentRange string) int64 {
	if !w.fileBody || w.head {
		return -1
	}
	switch code {
	case http.StatusOK:
		return 0
	case http.StatusPartialContent:
		if first, _, _, ok := parseContentRange(contentRange); ok {
			return first
		}
	}
	return -1 // no body, or multipart/byteranges
}

// Write sends body bytes, shaped when a body fault is active.
func (w *respWriter) Write(p []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if !w.f.hasBodyFault() {
		w.extendDeadline()
		n, err := w.rw.Write(p)
		w.e.Sent += int64(n)
		return n, err
	}
	return w.shapedWrite(p)
}

// ReadFrom keeps the sendfile fast path when no body fault is active.
func (w *respWriter) ReadFrom(src io.Reader) (int64, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	rf, ok := w.rw.(io.ReaderFrom)
	if !ok || w.f.hasBodyFault() {
		return io.CopyBuffer(writerOnly{w}, src, make([]byte, 32<<10))
	}
	// In steps of sendStep, each with a fresh write deadline, so that a
	// client that stops reading frees the handler after writeIdle. A
	// file under one io.LimitedReader (what http.ServeContent hands over)
	// is still one for each step, which keeps sendfile.
	lr, ok := src.(*io.LimitedReader)
	if !ok {
		lr = &io.LimitedReader{R: src, N: math.MaxInt64}
	}
	var total int64
	for lr.N > 0 {
		w.extendDeadline()
		n, err := rf.ReadFrom(&io.LimitedReader{R: lr.R, N: min(lr.N, sendStep)})
		lr.N -= n
		total += n
		w.e.Sent += n
		if err != nil || n == 0 {
			return total, err
		}
	}
	return total, nil
}

// Write deadlines: a response may take minutes (rate= on a large file),
// but no write may wait longer than writeIdle for a client that does not
// read. There is no read timeout beyond the header's: net/http would
// cancel the request's context when it ran out, mid-response.
const (
	writeIdle = 2 * time.Minute
	sendStep  = 8 << 20
)

// extendDeadline gives the next write writeIdle from now.
func (w *respWriter) extendDeadline() {
	_ = http.NewResponseController(w.rw).SetWriteDeadline(time.Now().Add(writeIdle))
}

// writerOnly hides ReadFrom so that io.Copy goes through Write.
type writerOnly struct{ io.Writer }

// shapedWrite writes p in slices that never cross the cut=, change= or
// stall= offsets, paced for rate=.
func (w *respWriter) shapedWrite(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		w.maybeChange()
		w.maybeCut()
		if err := w.maybeStall(); err != nil {
			return written, w.giveUp(err)
		}
		n := w.slice(len(p))
		if err := w.pace(); err != nil {
			return written, w.giveUp(err)
		}
		w.extendDeadline()
		m, err := w.rw.Write(p[:n])
		written += m
		w.e.Sent += int64(m)
		p = p[m:]
		if err != nil {
			return written, err
		}
		if w.f.rate > 0 {
			w.Flush() // let the client see bytes arrive, not bursts of 4 KiB
		}
	}
	return written, nil
}

// giveUp records why a shaped write stopped and returns err, or aborts
// the connection when the server is closing or a stall timed out: net/http
// then closes it at once, instead of lingering 500 ms for the client to
// read a response it will never finish, and a chunked body gets no final
// chunk that would make a short body look complete.
func (w *respWriter) giveUp(err error) error {
	w.stopped = err
	if errors.Is(err, errServerClosing) || errors.Is(err, errStallTimeout) {
		w.Flush()
		panic(http.ErrAbortHandler)
	}
	return err
}

// slice returns how many of n bytes may be written in one go.
func (w *respWriter) slice(n int) int {
	limit := int64(n)
	if w.f.rate > 0 {
		// About 50 slices a second: smooth, yet not a syscall per byte.
		limit = min(limit, max(1, min(w.f.rate/50, 32<<10)))
	}
	if w.f.cut >= 0 {
		limit = min(limit, w.f.cut-w.e.Sent)
	}
	if w.f.change >= 0 && !w.changed {
		limit = min(limit, w.f.change-w.e.Sent)
	}
	if w.f.stall >= 0 && !w.stalled {
		limit = min(limit, w.f.stall-w.e.Sent)
	}
	return int(limit)
}

// pace waits until the next slice is due at the configured rate; it gives
// up when the client leaves or the server closes.
func (w *respWriter) pace() error {
	if w.f.rate <= 0 {
		return nil
	}
	if w.paceStart.IsZero() {
		w.paceStart, w.paceBase = time.Now(), w.e.Sent
	}
	due := w.paceStart.Add(time.Duration(float64(w.e.Sent-w.paceBase) / float64(w.f.rate) * float64(time.Second)))
	t := time.NewTimer(max(0, time.Until(due)))
	defer t.Stop()
	select {
	case <-w.closing:
		return errServerClosing
	case <-w.ctx.Done():
		return errClientGone
	case <-t.C:
		return nil
	}
}

// maybeCut aborts the connection once cut= bytes are out. Flushing first
// makes exactly those bytes reach the client; http.ErrAbortHandler makes
// net/http close the connection without logging a stack trace.
func (w *respWriter) maybeCut() {
	if w.f.cut < 0 || w.e.Sent < w.f.cut {
		return
	}
	w.Flush()
	w.e.Cut = true
	w.f.note("cut after %d bytes", w.e.Sent)
	panic(http.ErrAbortHandler)
}

// maybeStall blocks once stall= bytes are out, with the connection open,
// until the client leaves (errClientGone), the server closes
// (errServerClosing) or stallFor passes (errStallTimeout). Like cut=, it
// is reached only when more bytes are to be written. Flushing first makes
// exactly those bytes, and the headers, reach the client.
func (w *respWriter) maybeStall() error {
	if w.f.stall < 0 || w.stalled || w.e.Sent < w.f.stall {
		return nil
	}
	w.stalled = true
	w.Flush()
	w.e.Stalled = true
	w.f.note("stalled after %d bytes", w.e.Sent)
	t := time.NewTimer(w.stallFor)
	defer t.Stop()
	select {
	case <-w.closing:
		return errServerClosing
	case <-w.ctx.Done():
		return errClientGone
	case <-t.C:
		w.f.note("stall timed out after %v: connection aborted", w.stallFor)
		return errStallTimeout
	}
}

// overrun writes n bytes of junk after a complete 200 or 206 file body
// (overrun=), through Write so that rate=, cut= and stall= apply to it.
// Junk is never a file byte: the complement of the file byte at the
// offset it would stand for, 0xEE past the end of the file, so a client
// that stores even one junk byte as file data is caught by a comparison.
// A body the client left early gets no junk.
func (w *respWriter) overrun(file io.ReaderAt, n int64) {
	status := w.e.Status
	if !w.fileBody || w.head || w.want < 0 || w.e.Sent != w.want ||
		(status != http.StatusOK && status != http.StatusPartialContent) {
		return
	}
	w.extra = n
	w.f.note("overrun: %d junk bytes after the %d of the body", n, w.want)
	off := int64(-1) // file offset of the next junk byte; -1: none (multipart)
	if w.e.Start >= 0 {
		off = w.e.Start + w.want
	}
	buf := make([]byte, min(n, junkChunk))
	for n > 0 {
		// Without rate= nothing else would notice, and an endless
		// overrun must not hold Close or a departed client's handler.
		select {
		case <-w.closing:
			w.giveUp(errServerClosing)
		case <-w.ctx.Done():
			w.stopped = errClientGone
			return
		default:
		}
		k := min(n, int64(len(buf)))
		fillJunk(buf[:k], file, off)
		if _, err := w.Write(buf[:k]); err != nil {
			return
		}
		n -= k
		if off >= 0 {
			off += k
		}
	}
}

// fillJunk fills buf with the complement of the file bytes from off (off
// < 0: none), and 0xEE where the file has no byte.
func fillJunk(buf []byte, file io.ReaderAt, off int64) {
	n := 0
	if off >= 0 {
		n, _ = file.ReadAt(buf, off) // short at the end of the file
	}
	for i := range buf {
		if i < n {
			buf[i] = ^buf[i]
		} else {
			buf[i] = 0xEE
		}
	}
}

// maybeChange changes the file once change= bytes are out.
func (w *respWriter) maybeChange() {
	if w.f.change < 0 || w.changed || w.e.Sent < w.f.change || w.onChange == nil {
		return
	}
	w.changed = true
	w.onChange()
}

// finish completes the log entry after the handler is done (or panicked
// for a cut).
func (w *respWriter) finish() {
	if !w.wroteHeader {
		w.e.Status = http.StatusOK // net/http sends 200 for a handler that wrote nothing
	}
	if w.f.hasBodyFault() && !w.e.Cut {
		w.maybeChange() // change=N with N equal to the body length
	}
	short := !w.head && w.want >= 0 && w.e.Sent < w.want+w.extra
	switch {
	case w.e.Cut:
	case errors.Is(w.stopped, errStallTimeout): // noted when it happened
	case errors.Is(w.stopped, errServerClosing) && short:
		w.f.note("stopped after %d bytes: server closing", w.e.Sent)
	case short:
		w.e.ClientGone = true
	}
	w.e.Fault = w.f.String()
}
