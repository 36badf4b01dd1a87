package devserver

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"
)

var (
	errClientGone    = errors.New("client went away")
	errServerClosing = errors.New("server closing")
)

// respWriter wraps the ResponseWriter of one /files/ request: it records
// status, headers and body bytes in the log entry and, only when a body
// fault is active, shapes the body (rate=, cut=, change=).
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

	wroteHeader bool
	want        int64     // Content-Length sent, -1 = unknown
	paceStart   time.Time // rate=: when the first shaped byte went out
	paceBase    int64     // rate=: Sent at paceStart
	changed     bool
	stopped     error // why a shaped write gave up
}

func newRespWriter(w http.ResponseWriter, r *http.Request, e *LogEntry, closing <-chan struct{}) *respWriter {
	f := noFaults()
	return &respWriter{
		rw:      w,
		e:       e,
		f:       &f,
		ctx:     r.Context(),
		closing: closing,
		head:    r.Method == http.MethodHead,
		want:    -1,
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
	if n, err := strconv.ParseInt(h.Get("Content-Length"), 10, 64); err == nil {
		w.want = n
	}
	if w.onHeader != nil {
		w.onHeader(h, code)
	}
	w.e.Status = code
	w.e.ContentRange = h.Get("Content-Range")
	w.e.ETag = h.Get("ETag")
	w.rw.WriteHeader(code)
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
	n, err := rf.ReadFrom(src)
	w.e.Sent += n
	return n, err
}

// writerOnly hides ReadFrom so that io.Copy goes through Write.
type writerOnly struct{ io.Writer }

// shapedWrite writes p in slices that never cross the cut= or change=
// offsets, paced for rate=.
func (w *respWriter) shapedWrite(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		w.maybeChange()
		w.maybeCut()
		n := w.slice(len(p))
		if err := w.pace(); err != nil {
			w.stopped = err
			if errors.Is(err, errServerClosing) {
				// Abort rather than return: net/http then closes the
				// connection at once, instead of lingering 500 ms for
				// the client to read a response it will never finish.
				w.Flush()
				panic(http.ErrAbortHandler)
			}
			return written, err
		}
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
	short := !w.head && w.want > 0 && w.e.Sent < w.want
	switch {
	case w.e.Cut:
	case errors.Is(w.stopped, errServerClosing) && short:
		w.f.note("stopped after %d bytes: server closing", w.e.Sent)
	case short:
		w.e.ClientGone = true
	}
	w.e.Fault = w.f.String()
}
