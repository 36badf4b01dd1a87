package devserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"slices"
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
// which is what lets net/http use sendfile(2) for the file's bytes.
type respWriter struct {
	rw       http.ResponseWriter
	e        *LogEntry
	ctx      context.Context
	closing  <-chan struct{}
	head     bool          // HEAD request: no body
	shape    shaping       // the body faults
	desc     []string      // the items of LogEntry.Fault
	start    int64         // file offset of the first body byte, -1: the body is not file bytes
	onChange func()        // change=: called once at that offset
	stallFor time.Duration // stall=: how long before giving up

	wroteHeader bool
	want        int64     // body bytes meant (Content-Length, or before length= and overrun= removed it), -1 = unknown
	extra       int64     // overrun=: junk bytes meant after want
	paceStart   time.Time // rate=: when the first shaped byte went out
	paceBase    int64     // rate=: Sent at paceStart
	changed     bool
	stalled     bool
	stopped     error // why a shaped write gave up
}

// shaping is what the body faults ask of a body: offsets count body bytes
// sent, junk included.
type shaping struct {
	rate   int64 // bytes/s, 0 = unlimited
	cut    int64 // -1 = never
	stall  int64 // -1 = never
	change int64 // -1 = never
	junk   int64 // overrun=: junk after the file bytes, 0 = none
}

// noShaping sends the body as fast as the connection goes.
var noShaping = shaping{cut: -1, stall: -1, change: -1}

// active reports whether the body must be shaped, which costs sendfile.
// Header faults (length=, type=, cap=, cr=...) do not count: they leave
// the body bytes alone. Junk does: its body is chunked, which net/http
// never sends with sendfile anyway.
func (s shaping) active() bool {
	return s.rate > 0 || s.cut >= 0 || s.change >= 0 || s.stall >= 0 || s.junk > 0
}

func newRespWriter(w http.ResponseWriter, r *http.Request, e *LogEntry, closing <-chan struct{}) *respWriter {
	return &respWriter{
		rw:       w,
		e:        e,
		ctx:      r.Context(),
		closing:  closing,
		head:     r.Method == http.MethodHead,
		shape:    noShaping,
		start:    -1,
		want:     -1,
		stallFor: stallTimeout,
	}
}

// useFaults makes the log describe f and the body shaped by its body
// faults, for an answer that is not Plan's (a 404).
func (w *respWriter) useFaults(f *faults) {
	w.desc = slices.Clone(f.desc)
	w.shape = shaping{rate: f.rate, cut: f.cut, stall: f.stall, change: f.change, junk: f.overrun}
}

// send writes a, an answer of Plan: its header, then its body (none to a
// HEAD) through w, so that the log records it and the body faults shape
// it. file is the open file when a is about the file (OfFile).
func (w *respWriter) send(a Answer, file *os.File) {
	w.desc = a.desc
	w.shape = shaping{rate: a.Rate, cut: a.Cut, stall: a.Stall, change: a.Change, junk: a.Junk}
	w.start = a.Start
	switch {
	case a.Text != nil:
		w.want = int64(len(a.Text))
	case a.Start >= 0:
		w.want = a.Length
	}
	h := w.Header()
	for k, v := range a.Header {
		h[k] = v
	}
	w.WriteHeader(a.Status)
	if w.head {
		return
	}
	switch {
	case a.Text != nil:
		w.Write(a.Text)
	case a.Start >= 0 && file != nil:
		if _, err := file.Seek(a.Start, io.SeekStart); err != nil {
			w.note("seek to %d: %v", a.Start, err)
			panic(http.ErrAbortHandler) // the header promised bytes that cannot come
		}
		// An *io.LimitedReader of the *os.File, through ReadFrom: what
		// net/http hands to sendfile(2) when no body fault is on.
		if n, err := io.Copy(w, &io.LimitedReader{R: file, N: a.Length}); err != nil || n < a.Length {
			return
		}
		if a.Junk > 0 {
			w.overrun(file, a.Junk)
		}
	}
}

// note adds a runtime event to the description.
func (w *respWriter) note(format string, args ...any) {
	w.desc = append(w.desc, fmt.Sprintf(format, args...))
}

// Unwrap lets http.ResponseController reach the real writer.
func (w *respWriter) Unwrap() http.ResponseWriter { return w.rw }

// Header returns the response headers.
func (w *respWriter) Header() http.Header { return w.rw.Header() }

// Flush sends buffered bytes to the client now.
func (w *respWriter) Flush() {
	http.NewResponseController(w.rw).Flush()
}

// WriteHeader records what is about to be sent, and sends it.
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
	if !w.head {
		w.e.Start = w.start
	}
	if n, err := strconv.ParseInt(h.Get("Content-Length"), 10, 64); err == nil && w.want < 0 {
		w.want = n
	}
	w.e.Status = code
	// Cut like the request's fields: etag= sends any value the client
	// chose, and the log keeps it until it is trimmed.
	w.e.ContentRange = clip(h.Get("Content-Range"))
	w.e.ETag = clip(h.Get("ETag"))
	w.e.ReprDigest = clip(h.Get("Repr-Digest"))
	w.rw.WriteHeader(code)
	if w.want >= 0 && h.Get("Content-Length") == "" && !w.head && code != http.StatusNoContent && code != http.StatusNotModified {
		// A body of known length without Content-Length (length=none,
		// overrun=): net/http would add a Content-Length of its own to a
		// body complete before the first flush (a small 206); sending the
		// header now makes the body chunked, as the fault promises.
		w.Flush()
	}
}

// Write sends body bytes, shaped when a body fault is active.
func (w *respWriter) Write(p []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if !w.shape.active() {
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
	if !ok || w.shape.active() {
		return io.CopyBuffer(writerOnly{w}, src, make([]byte, 32<<10))
	}
	// In steps of sendStep, each with a fresh write deadline, so that a
	// client that stops reading frees the handler after writeIdle. A
	// file under one io.LimitedReader (what send hands over) is still one
	// for each step, which keeps sendfile.
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
		if w.shape.rate > 0 {
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
	if w.shape.rate > 0 {
		// About 50 slices a second: smooth, yet not a syscall per byte.
		limit = min(limit, max(1, min(w.shape.rate/50, 32<<10)))
	}
	if w.shape.cut >= 0 {
		limit = min(limit, w.shape.cut-w.e.Sent)
	}
	if w.shape.change >= 0 && !w.changed {
		limit = min(limit, w.shape.change-w.e.Sent)
	}
	if w.shape.stall >= 0 && !w.stalled {
		limit = min(limit, w.shape.stall-w.e.Sent)
	}
	return int(limit)
}

// pace waits until the next slice is due at the configured rate; it gives
// up when the client leaves or the server closes.
func (w *respWriter) pace() error {
	if w.shape.rate <= 0 {
		return nil
	}
	if w.paceStart.IsZero() {
		w.paceStart, w.paceBase = time.Now(), w.e.Sent
	}
	due := w.paceStart.Add(time.Duration(float64(w.e.Sent-w.paceBase) / float64(w.shape.rate) * float64(time.Second)))
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
	if w.shape.cut < 0 || w.e.Sent < w.shape.cut {
		return
	}
	w.Flush()
	w.e.Cut = true
	w.note("cut after %d bytes", w.e.Sent)
	panic(http.ErrAbortHandler)
}

// maybeStall blocks once stall= bytes are out, with the connection open,
// until the client leaves (errClientGone), the server closes
// (errServerClosing) or stallFor passes (errStallTimeout). Like cut=, it
// is reached only when more bytes are to be written. Flushing first makes
// exactly those bytes, and the headers, reach the client.
func (w *respWriter) maybeStall() error {
	if w.shape.stall < 0 || w.stalled || w.e.Sent < w.shape.stall {
		return nil
	}
	w.stalled = true
	w.Flush()
	w.e.Stalled = true
	w.note("stalled after %d bytes", w.e.Sent)
	t := time.NewTimer(w.stallFor)
	defer t.Stop()
	select {
	case <-w.closing:
		return errServerClosing
	case <-w.ctx.Done():
		return errClientGone
	case <-t.C:
		w.note("stall timed out after %v: connection aborted", w.stallFor)
		return errStallTimeout
	}
}

// overrun writes n bytes of junk (see Junk) after a complete 200 or 206
// file body (overrun=), through Write so that rate=, cut= and stall=
// apply to it. A body the client left early gets no junk.
func (w *respWriter) overrun(file io.ReaderAt, n int64) {
	status := w.e.Status
	if w.start < 0 || w.head || w.want < 0 || w.e.Sent != w.want ||
		(status != http.StatusOK && status != http.StatusPartialContent) {
		return
	}
	w.extra = n
	w.note("overrun: %d junk bytes after the %d of the body", n, w.want)
	off := w.start + w.want // file offset of the next junk byte
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
		Junk(file, off, buf[:k])
		if _, err := w.Write(buf[:k]); err != nil {
			return
		}
		n -= k
		off += k
	}
}

// maybeChange changes the file once change= bytes are out.
func (w *respWriter) maybeChange() {
	if w.shape.change < 0 || w.changed || w.e.Sent < w.shape.change || w.onChange == nil {
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
	if w.shape.active() && !w.e.Cut {
		w.maybeChange() // change=N with N equal to the body length
	}
	short := !w.head && w.want >= 0 && w.e.Sent < w.want+w.extra
	switch {
	case w.e.Cut:
	case errors.Is(w.stopped, errStallTimeout): // noted when it happened
	case errors.Is(w.stopped, errServerClosing) && short:
		w.note("stopped after %d bytes: server closing", w.e.Sent)
	case short:
		w.e.ClientGone = true
	}
	w.e.Fault = describe(w.desc)
}
