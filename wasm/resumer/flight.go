package resumer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/go-resumer/resumer/wasm/protocol"
	"github.com/go-resumer/resumer/wasm/resumer/platform"
	"github.com/go-resumer/resumer/wasm/store"
)

// A flight's goroutine sends one request, hands the answer to the
// session, reads the body as the session's bodyPlan says, hands each
// piece over and waits for the next fxMore, and says when it is done.
// Every flight sends exactly one evEnd, last; one that got an answer sends
// evAnswer first and waits for its plan, which the session always sends.

// flightIO is the shell's handle on a flight's goroutine.
type flightIO struct {
	cancel context.CancelCauseFunc
	ins    chan instruction // the session's instructions: one plan, then "more"s
}

type instruction struct {
	plan bodyPlan
	more bool
}

// errStopped is the cause of a flight the session stops.
var errStopped = errors.New("stopped by the download")

// send starts the flight of fx.
func (sh *shell) send(ctx context.Context, fx fxSend) {
	fctx, cancel := context.WithCancelCause(ctx)
	f := &flightIO{cancel: cancel, ins: make(chan instruction, 1)}
	sh.flights[fx.id] = f
	url := fx.url
	if url == "" {
		url = sh.d.URL()
	}
	req := platform.Request{URL: url, Range: fx.req.RangeHeader(), IfRange: fx.req.IfRange, Header: sh.opts.Header, Credentials: sh.opts.Credentials}
	go sh.fly(fctx, fx.id, f, req, fx.eager)
}

// earlyRead is the start of the probe's body, read before the session
// decides on it: its 64 KiB cost nothing to hold, and their time,
// unhindered by the session, is a first rough measure of the link.
type earlyRead struct {
	blobs []store.Blob // in order
	size  int64
	err   error
	took  time.Duration
}

// fly is the flight's goroutine.
func (sh *shell) fly(ctx context.Context, id int, f *flightIO, req platform.Request, eager bool) {
	stall := sh.opts.StallTimeout
	defer f.cancel(nil) // after the last event: releases the context
	watchdog := time.AfterFunc(stall, func() { f.cancel(ErrStalled) })
	defer watchdog.Stop()
	cross := sh.crossOrigin(req.URL)
	var body platform.Body
	var answer any // the response, when it goes to the app unread
	end := func(err error, got int64, took time.Duration) {
		if body != nil {
			// The connection is given back before the end is announced:
			// the session may send the next request at once.
			body.Close()
		}
		err = causeOf(ctx, err)
		sh.events <- evEnd{id: id, outcome: outcomeOf(err), err: err, got: got, took: took, crossOrigin: cross, answer: answer}
	}
	var live int64 // bytes that arrived and were neither handed over nor dropped
	onData := func(n int64) {
		watchdog.Reset(stall)
		live += n
		sh.inflight.Add(n)
		sh.meter.add(sh.m.Now(), n)
		sh.d.report(false, sh.counts)
	}
	defer func() { sh.inflight.Add(-live) }()
	resp, err := sh.m.platform.Fetch(ctx, req)
	if err != nil {
		end(err, 0, 0)
		return
	}
	body = resp.Body
	answered := sh.m.Now()
	var early earlyRead
	if st := resp.Response.Status; eager && (st == 200 || st == 206) {
		// Only a success is read early: any other answer may go to the
		// app unread (protocol.Hand).
		for early.size < protocol.ProbeSize && early.err == nil {
			var b store.Blob
			b, early.err = resp.Body.Next(ctx, protocol.ProbeSize-early.size, 0, onData)
			if b != nil && b.Size() > 0 {
				early.blobs = append(early.blobs, b)
				early.size += b.Size()
			}
		}
		early.took = sh.m.Now().Sub(answered)
	}
	watchdog.Stop() // the session may take its time to decide
	sh.events <- evAnswer{id: id, at: answered, resp: resp.Response, url: req.URL,
		early: earlyPiece{size: early.size, ok: early.err == nil || errors.Is(early.err, io.EOF), took: early.took}}
	var plan bodyPlan
	select {
	case in := <-f.ins:
		plan = in.plan
	case <-ctx.Done():
		// A plan that came with the end still counts: an answer handed
		// to the app (bodyPlan.hand) must not be aborted by a pause.
		select {
		case in := <-f.ins:
			plan = in.plan
		default:
			end(ctx.Err(), 0, 0)
			return
		}
	}
	if !plan.read {
		if r, ok := body.(platform.Releaser); ok && plan.hand {
			answer = r.Release()
		}
		end(nil, 0, 0)
		return
	}
	watchdog.Reset(stall)
	var got int64
	hand := func(b store.Blob) error {
		// Waiting for the session, and for the storage behind it, is no
		// stall of the server's.
		watchdog.Stop()
		defer watchdog.Reset(stall)
		live -= b.Size() // the shell moves it from inflight to queued
		got += b.Size()
		sh.events <- evPiece{id: id, blob: b}
		select {
		case <-f.ins:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	drop := func(n int64) {
		live -= n
		sh.inflight.Add(-n)
	}
	r := bodyReader{plan: plan, skip: plan.skip, hand: hand, drop: drop}
	err = r.read(ctx, resp.Body, early, onData)
	// The body's time counts from its headers (pace.measure).
	end(err, got, sh.m.Now().Sub(answered))
}

// causeOf adds to err why ctx ended, when it did: a stall, a stop by the
// session, a pause.
func causeOf(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if c := context.Cause(ctx); c != nil && !errors.Is(err, c) {
		return fmt.Errorf("%w (%v)", c, err)
	}
	return err
}

// outcomeOf classifies how a flight ended, for protocol.End.
func outcomeOf(err error) protocol.Outcome {
	switch {
	case err == nil:
		return protocol.EndOK
	case errors.Is(err, errStopped), errors.Is(err, context.Canceled):
		return protocol.EndStopped
	case errors.Is(err, ErrStalled):
		return protocol.EndStalled
	case errors.Is(err, errShortBody):
		return protocol.EndShort
	case errors.Is(err, errLongBody):
		return protocol.EndLong
	}
	return protocol.EndNetwork
}

// bodyReader reads a body as its plan says: skip bytes dropped, then the
// kept ones handed over, never past plan.length. What a body sends after
// them is cut, unless the plan is exact: then the body must end there, and
// one that runs on is a broken response (a server that lies in
// Content-Range, or one whose hidden Content-Encoding the browser
// decoded): errLongBody, and the session discards every piece of it.
type bodyReader struct {
	plan bodyPlan
	skip int64 // bytes still to skip
	kept int64 // bytes handed over
	hand func(store.Blob) error
	drop func(n int64)
}

func (r *bodyReader) open() bool { return r.plan.length == protocol.UnknownSize }

// full reports whether every byte the plan keeps was handed over.
func (r *bodyReader) full() bool { return !r.open() && r.kept >= r.plan.length }

// take handles the next bytes of the body.
func (r *bodyReader) take(b store.Blob) error {
	if b == nil || b.Size() == 0 {
		return nil
	}
	if r.skip > 0 {
		n := min(r.skip, b.Size())
		r.skip -= n
		r.drop(n)
		if n == b.Size() {
			return nil
		}
		b = b.Slice(n, b.Size())
	}
	if !r.open() && r.kept+b.Size() > r.plan.length {
		if r.plan.exact {
			return fmt.Errorf("more than the %d bytes announced: %w", r.plan.length, errLongBody)
		}
		// Cut: the validators prove the bytes the answer named, not what
		// a broken server sends after them.
		r.drop(r.kept + b.Size() - r.plan.length)
		b = b.Slice(0, r.plan.length-r.kept)
	}
	r.kept += b.Size()
	return r.hand(b)
}

// eof is the end of the body: short if bytes the plan keeps are missing.
func (r *bodyReader) eof() error {
	if !r.open() && r.kept < r.plan.length {
		return fmt.Errorf("at byte %d of %d: %w", r.kept, r.plan.length, errShortBody)
	}
	return nil
}

// read reads the body, the early pieces first.
func (r *bodyReader) read(ctx context.Context, body platform.Body, early earlyRead, onData func(int64)) error {
	for _, b := range early.blobs {
		if err := r.take(b); err != nil {
			return err
		}
		if r.full() {
			return r.finish(ctx, body)
		}
	}
	switch {
	case early.err == nil:
	case errors.Is(early.err, io.EOF):
		return r.eof()
	default:
		return fmt.Errorf("read body at byte %d: %w", r.kept, early.err)
	}
	if r.plan.whole {
		b, err := body.Whole(ctx)
		if err != nil {
			return err
		}
		onData(b.Size())
		if b.Size() < r.plan.length {
			r.drop(b.Size())
			return fmt.Errorf("at byte %d of %d: %w", b.Size(), r.plan.length, errShortBody)
		}
		return r.take(b)
	}
	for !r.full() {
		want := r.plan.piece
		if !r.open() {
			want = min(want, r.skip+r.plan.length-r.kept)
		}
		b, err := body.Next(ctx, want, r.plan.flush, onData)
		if b != nil && b.Size() > want {
			// A platform that handed over more than asked: keep only
			// what was asked.
			r.drop(b.Size() - want)
			b = b.Slice(0, want)
		}
		if terr := r.take(b); terr != nil {
			return terr
		}
		switch {
		case err == nil:
		case errors.Is(err, io.EOF):
			return r.eof()
		default:
			return fmt.Errorf("read body at byte %d: %w", r.kept, err)
		}
	}
	return r.finish(ctx, body)
}

// finish ends a body whose kept bytes are all in: an exact one must end
// here (a Content-Length body ends at once; a chunked one with its last
// chunk; a connection that fails now has delivered all it owed); any
// other is cut, and closing it aborts the rest.
func (r *bodyReader) finish(ctx context.Context, body platform.Body) error {
	if !r.plan.exact {
		return nil
	}
	if b, _ := body.Next(ctx, 1, 0, nil); b != nil && b.Size() > 0 {
		return fmt.Errorf("more than the %d bytes announced: %w", r.plan.length, errLongBody)
	}
	return nil
}

func (sh *shell) crossOrigin(url string) bool {
	c, ok := sh.m.platform.(platform.CrossOriginer)
	return ok && c.CrossOrigin(url)
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
