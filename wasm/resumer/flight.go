package resumer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"sync"
	"time"

	"github.com/go-resumer/resumer/wasm/protocol"
	"github.com/go-resumer/resumer/wasm/store"
)

// A flight is one request: a goroutine (fly) that sends it, hands the
// answer to the run, reads the body as the run's bodyPlan says, hands each
// piece over, and says when it is done. The run owns the fields; the
// goroutine uses only its copies (req, whole, the channel plan) and the
// context.
type flight struct {
	req   protocol.Request
	gen   int64 // the generation it fetches for; a later one makes it stale
	whole bool  // planned before it was sent: take the body whole if the answer allows
	eager bool  // the probe: the start of its body is read before the run decides
	// pos is the next byte it hands over, end one past its last
	// (UnknownSize: to the end of the body). Before the answer they are
	// the span asked for.
	pos, end  int64
	sent      time.Time
	answered  time.Time       // zero until the answer came
	reading   bool            // the run told it to read the body
	readWhole bool            // with Body.Whole
	received  bool            // all of its body is in hand: it holds no connection
	expectEnd time.Time       // when its whole body should have arrived, at the speed measured
	handed    []protocol.Span // the pieces it handed over, for a broken body
	cancel    context.CancelCauseFunc
	plan      chan bodyPlan // the run's one instruction for the body
}

// send starts a flight for req.
func (r *run) send(ctx context.Context, req protocol.Request) {
	now := r.m.Now()
	if r.stats.Requests == 0 {
		r.stats.Setup = now.Sub(r.began)
	}
	r.stats.Requests++
	f := &flight{req: req, gen: r.rec.Gen, pos: req.Start, end: req.End, sent: now, plan: make(chan bodyPlan, 1)}
	if req.Whole {
		f.pos, f.end = 0, protocol.UnknownSize
	}
	// Decided before the request goes out, from what earlier bodies showed:
	// a body expected to arrive within FlushInterval (and well within
	// StallTimeout: a whole body shows no progress until its end) is taken
	// whole; a longer one, or one of unknown length, is streamed.
	if n := req.End - req.Start; !req.Whole && req.End != protocol.UnknownSize {
		budget := min(r.opts.FlushInterval, r.opts.StallTimeout/2).Seconds()
		f.whole = r.speed > 0 && float64(n) <= r.speed*budget
		if req == protocol.ProbeRequest() {
			f.whole, f.eager = false, true // read before the run decides (fly)
		}
	}
	fctx, cancel := context.WithCancelCause(ctx)
	f.cancel = cancel
	r.flights[f] = struct{}{}
	go r.fly(fctx, f, r.httpRequest(req))
}

func (r *run) httpRequest(req protocol.Request) Request {
	return Request{
		URL: r.d.URL(), Range: req.RangeHeader(), IfRange: req.IfRange,
		Header: r.opts.Header, Credentials: r.opts.Credentials,
	}
}

// The events flights and writers send to the run. handle runs on the
// run's goroutine.
type event interface{ handle(r *run) }

// evAnswer: a flight got an answer (and, for the probe, the start of its
// body); the run must send it a bodyPlan.
type evAnswer struct {
	f     *flight
	resp  *Response
	at    time.Time
	early earlyPiece
}

// evPiece: a flight hands over bytes [pos, pos+blob.Size()), holding a
// write slot for them.
type evPiece struct {
	f    *flight
	pos  int64
	blob store.Blob
}

// evEnd: a flight is over. err is nil when it read what its plan said (or
// had nothing to read); got counts the body bytes it handed over and took
// the time from its answer to its end.
type evEnd struct {
	f    *flight
	err  error
	got  int64
	took time.Duration
}

// evCommitted: a writer is done with [pos, end) of generation gen, the
// bytes of blob.
type evCommitted struct {
	pos, end, gen int64
	err           error
	took          time.Duration
	blob          store.Blob
}

// fly is the flight's goroutine. Every flight sends exactly one evEnd,
// last; one that got an answer sends evAnswer first and waits for its
// plan, which the run always sends.
func (r *run) fly(ctx context.Context, f *flight, req Request) {
	stall := r.opts.StallTimeout
	cancel := f.cancel
	defer cancel(nil) // after the last event: releases the context
	watchdog := time.AfterFunc(stall, func() { cancel(ErrStalled) })
	defer watchdog.Stop()
	cause := func(err error) error {
		if err == nil {
			return nil
		}
		if c := context.Cause(ctx); c != nil && !errors.Is(err, c) {
			return fmt.Errorf("%w (%v)", c, err)
		}
		return err
	}
	var got, arrived int64 // bytes handed over, bytes that arrived
	onData := func(n int64) {
		watchdog.Reset(stall)
		arrived += n
		r.inflight.Add(n)
		r.meter.add(r.m.Now(), n)
		r.d.report(false, r.counts)
	}
	resp, err := r.m.platform.Fetch(ctx, req)
	if err != nil {
		r.events <- evEnd{f: f, err: cause(err)}
		return
	}
	defer resp.Body.Close()
	answered := r.m.Now()
	var early earlyPiece
	if f.eager {
		// The probe's body is read before the run decides on it: its
		// 64 KiB cost nothing to hold, and their time, unhindered by the
		// run, is a first rough measure of the link.
		for early.size < protocol.ProbeSize && early.err == nil {
			var b store.Blob
			b, early.err = resp.Body.Next(ctx, protocol.ProbeSize-early.size, 0, onData)
			if b != nil && b.Size() > 0 {
				early.blobs = append(early.blobs, b)
				early.size += b.Size()
			}
		}
		early.took = r.m.Now().Sub(answered)
	}
	watchdog.Stop() // the run may take its time to decide
	r.events <- evAnswer{f: f, resp: resp, at: answered, early: early}
	plan := <-f.plan
	if !plan.read {
		r.inflight.Add(-arrived)
		r.events <- evEnd{f: f}
		return
	}
	// The body's time counts from its headers, the wait for the plan
	// included: bytes that arrive while the run decides wait in the
	// platform and are read at once after it, and counted from here they
	// would make the link look faster than it is. A link measured too
	// fast gets its next bodies taken whole, which a cut then loses
	// entirely; measured too slow, they are only streamed.
	reading := answered
	watchdog.Reset(stall)
	hand := func(pos int64, b store.Blob) {
		// Waiting for the store is no stall of the server's.
		watchdog.Stop()
		r.slots <- struct{}{} // back-pressure: at most maxWrites pieces committing
		r.inflight.Add(-b.Size())
		r.events <- evPiece{f: f, pos: pos, blob: b}
		got += b.Size()
		watchdog.Reset(stall)
	}
	err = r.readBody(ctx, resp.Body, plan, early, onData, hand)
	r.inflight.Add(got - arrived) // what arrived and was not handed over is gone
	r.events <- evEnd{f: f, err: cause(err), got: got, took: r.m.Now().Sub(reading)}
}

// earlyPiece is the start of a body read before the run's plan: the
// probe's.
type earlyPiece struct {
	blobs []store.Blob // in order, size bytes in all
	size  int64
	err   error
	took  time.Duration // from the headers to the piece's end
}

// readBody reads a body as plan says, handing each piece over, never past
// plan.length. A body that runs on past it is a broken response (a server
// that lies in Content-Range, or one that compressed a range the browser
// then decompressed): errLongBody, and the run discards every piece of it.
func (r *run) readBody(ctx context.Context, body Body, plan bodyPlan, early earlyPiece, onData func(int64), hand func(int64, store.Blob)) error {
	pos, open := plan.start, plan.length == protocol.UnknownSize
	end := plan.start + plan.length
	if !open && early.size > plan.length {
		return fmt.Errorf("%d bytes for %d: %w", early.size, plan.length, errLongBody)
	}
	for _, b := range early.blobs {
		hand(pos, b)
		pos += b.Size()
	}
	switch {
	case early.err == nil:
	case errors.Is(early.err, io.EOF):
		if !open && pos < end {
			return fmt.Errorf("at byte %d of %d: %w", pos, end, errShortBody)
		}
		return nil
	default:
		return fmt.Errorf("read body at byte %d: %w", pos, early.err)
	}
	if plan.whole {
		b, err := body.Whole(ctx)
		if err != nil {
			return err
		}
		onData(b.Size())
		switch {
		case b.Size() < plan.length:
			return fmt.Errorf("at byte %d of %d: %w", pos+b.Size(), end, errShortBody)
		case b.Size() > plan.length:
			return fmt.Errorf("%d bytes for %d: %w", b.Size(), plan.length, errLongBody)
		}
		hand(pos, b)
		return nil
	}
	for open || pos < end {
		max := plan.piece
		if !open {
			max = min(max, end-pos)
		}
		b, err := body.Next(ctx, max, plan.flush, onData)
		if b != nil && b.Size() > 0 {
			if b.Size() > max {
				// A platform that handed over more than asked: keep
				// only what the plan covers.
				b = b.Slice(0, max)
			}
			hand(pos, b)
			pos += b.Size()
		}
		switch {
		case err == nil:
		case errors.Is(err, io.EOF):
			if !open && pos < end {
				return fmt.Errorf("at byte %d of %d: %w", pos, end, errShortBody)
			}
			return nil
		default:
			return fmt.Errorf("read body at byte %d: %w", pos, err)
		}
	}
	// Every byte the answer announced has arrived: the body must end here.
	// (A Content-Length body ends at once; a chunked one with its last
	// chunk. A connection that fails now has delivered all it owed.)
	if b, _ := body.Next(ctx, 1, 0, nil); b != nil && b.Size() > 0 {
		return fmt.Errorf("more than the %d bytes announced: %w", plan.length, errLongBody)
	}
	return nil
}

func (ev evAnswer) handle(r *run) {
	f := ev.f
	f.answered = ev.at
	// A moving average of the time answers take, for endingBy.
	if took := ev.at.Sub(f.sent); r.ttfb == 0 {
		r.ttfb = took
	} else {
		r.ttfb = (3*r.ttfb + took) / 4
	}
	if f.gen != r.rec.Gen || r.fatal != nil || r.stopping {
		f.plan <- bodyPlan{} // stale, or the download is ending
		return
	}
	if f.eager && (ev.early.err == nil || errors.Is(ev.early.err, io.EOF)) {
		r.measureProbe(ev.early)
	}
	dec := protocol.Decide(f.req, r.storedView(), ev.resp.Response, r.m.Now())
	plan := r.apply(f, dec, ev.resp)
	f.reading, f.readWhole = plan.read, plan.whole
	if plan.whole && r.speed > 0 && !math.IsInf(r.speed, 1) {
		f.expectEnd = r.m.Now().Add(time.Duration(float64(plan.length) / r.speed * float64(time.Second)))
	}
	if ev.early.size > 0 && plan.read && plan.length == ev.early.size {
		f.received = true // its whole body is in hand: the connection is free
	}
	f.plan <- plan
}

func (ev evPiece) handle(r *run) {
	f, end := ev.f, ev.pos+ev.blob.Size()
	if f.gen != r.rec.Gen || r.noStore {
		<-r.slots // bytes of a discarded generation, or that may not be stored
		return
	}
	if r.opts.MaxBytes > 0 && end > r.opts.MaxBytes {
		<-r.slots // never stored, also while the flights stop
		if r.fatal == nil {
			r.fatal = newError(CodeTooLarge, fmt.Errorf("the body runs past maxBytes (%d bytes)", r.opts.MaxBytes))
		}
		return
	}
	f.pos = end
	f.handed = append(f.handed, protocol.Span{Start: ev.pos, End: end})
	r.pending[ev.pos] = end
	r.queued.Add(ev.blob.Size())
	r.writes++
	go r.write(r.rec.Gen, ev.pos, ev.blob)
}

// write stores one piece and reports it; the piece's write slot is given
// back once it is committed.
func (r *run) write(gen, pos int64, b store.Blob) {
	sctx, cancel := storageCtx()
	defer cancel()
	began := r.m.Now()
	err := r.st.PutChunk(sctx, store.Chunk{URL: r.d.key, Gen: gen, Start: pos, Data: b})
	<-r.slots
	r.events <- evCommitted{pos: pos, end: pos + b.Size(), gen: gen, err: err, took: r.m.Now().Sub(began), blob: b}
}

func (ev evCommitted) handle(r *run) {
	r.writes--
	r.stats.Commits++
	r.stats.CommitTime += ev.took
	if ev.gen != r.rec.Gen {
		if ev.err == nil {
			// A late write of a discarded generation: remove it now
			// rather than at the next load.
			r.deleteChunk(ev.gen, ev.pos)
		}
		return
	}
	delete(r.pending, ev.pos)
	r.queued.Add(-(ev.end - ev.pos))
	if r.poisoned[ev.pos] {
		// A piece of a body that turned out broken: never counted.
		delete(r.poisoned, ev.pos)
		if ev.err == nil {
			r.deleteChunk(ev.gen, ev.pos)
		}
		return
	}
	if ev.err != nil {
		if r.fatal == nil {
			r.fatal = storageError(fmt.Sprintf("store bytes %d-%d", ev.pos, ev.end-1), ev.err)
		}
		return
	}
	// The chunk's key is its progress: only now do its bytes count.
	r.ext.Add(ev.pos, ev.end)
	r.stored.Store(r.ext.Len())
	r.offerHash(ev.pos, ev.blob)
	if n := r.ext.Len(); n > r.highWater {
		r.highWater = n
		r.attempt, r.restarts = 0, 0
	}
	r.checkGrowth()
	r.progress(false)
}

// deleteChunk removes a chunk that must not count; it runs on the run's
// goroutine, so that no chunk is left behind when the run returns.
func (r *run) deleteChunk(gen, pos int64) {
	sctx, cancel := storageCtx()
	defer cancel()
	_ = r.st.DeleteChunk(sctx, r.d.key, gen, pos) // at worst, the next load drops it
}

func (ev evEnd) handle(r *run) {
	f := ev.f
	delete(r.flights, f)
	r.measure(f, ev)
	if f.gen != r.rec.Gen || r.fatal != nil {
		return
	}
	if ev.err == nil {
		if f.reading && f.end == protocol.UnknownSize {
			// The end of a body of unknown length is the end of the file.
			r.rec.Total = f.pos
			if err := r.save(); err != nil {
				r.fatal = err
			}
		}
		if f.reading && r.plainTrial && f.req.IfRange == "" && r.rec.Mode == protocol.ModeRanged {
			// A plain Range went through where If-Range did not: the
			// server's CORS preflight refuses If-Range. Ask with a plain
			// Range from now on and check the validators of every 206
			// instead (Decide demands a strong one equal to the stored one).
			r.plainTrial = false
			r.rec.Mode = protocol.ModeRangedPlain
			if err := r.save(); err != nil {
				r.fatal = err
				return
			}
			r.notice("the server's CORS preflight refuses If-Range; resuming with a plain Range and checking each response's validators")
		}
		return
	}
	if errors.Is(ev.err, errStopped) || errors.Is(ev.err, context.Canceled) {
		return // the run or the user stopped it: pause, cancel, a discarded generation
	}
	if errors.Is(ev.err, errLongBody) {
		// A broken response: none of its bytes may count.
		r.discard(f)
		r.reject(f, ev.err)
		return
	}
	switch {
	case f.answered.IsZero() && f.req.IfRange != "" && r.rec.Mode == protocol.ModeRanged && r.crossOrigin() && !errors.Is(ev.err, ErrStalled):
		// If-Range is not a CORS-safelisted header: a server whose
		// preflight does not allow it makes the request fail like a
		// network error. Try the next request with a plain Range: if it
		// goes through, the download switches for good (above).
		r.plainTrial = true
	case f.answered.IsZero() && f.req.IfRange == "" && r.plainTrial:
		r.plainTrial = false // the plain Range failed too: the network, not CORS
	}
	if r.rec.Mode == protocol.ModeSingle && (r.ext.Len() > 0 || len(r.pending) > 0) {
		// Not resumable: what arrived cannot be continued. Start over.
		if err := r.newGeneration(false, nil); err != nil {
			r.fatal = err
			return
		}
	}
	r.backoff(0, newError(CodeNetwork, fmt.Errorf("%s: %w", describe(f.req), ev.err)))
}

// discard takes back every piece a flight handed over: committed ones
// are removed from the extents and the store, pending ones are deleted
// when their commit comes.
func (r *run) discard(f *flight) {
	hashed := false
	for _, s := range f.handed {
		if _, ok := r.pending[s.Start]; ok {
			r.poisoned[s.Start] = true
			continue
		}
		if r.ext.Contains(s.Start, s.End) {
			r.ext.Remove(s.Start, s.End)
			r.deleteChunk(r.rec.Gen, s.Start)
			hashed = r.unhash(s) || hashed
		}
	}
	r.stored.Store(r.ext.Len())
	f.handed = nil
	if hashed {
		if err := r.rehash(); err != nil && r.fatal == nil {
			r.fatal = err
		}
	}
}

// describe names a request in error messages.
func describe(req protocol.Request) string {
	if req.Whole {
		return "GET without Range"
	}
	return "Range " + req.RangeHeader()
}

func (r *run) crossOrigin() bool {
	c, ok := r.m.platform.(CrossOriginer)
	return ok && c.CrossOrigin(r.d.URL())
}

// lockedMeter is a speedMeter for several goroutines.
type lockedMeter struct {
	mu sync.Mutex
	m  speedMeter
}

func (l *lockedMeter) add(now time.Time, n int64) {
	l.mu.Lock()
	l.m.add(now, n)
	l.mu.Unlock()
}

func (l *lockedMeter) rate(now time.Time) float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.m.rate(now)
}
