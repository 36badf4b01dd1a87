package resumer

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/go-resumer/resumer/wasm/protocol"
	"github.com/go-resumer/resumer/wasm/resumer/platform"
	"github.com/go-resumer/resumer/wasm/store"
)

// The shell carries out a session's effects and turns what happens into
// its events: it is the session's only contact with the platform, the
// store, the clock and the download's progress. One goroutine (run) owns
// the session and hands it one event at a time; flights (flight.go),
// writes and hash workers (hash.go) run on goroutines of their own and
// only send events. The only state shared with them is below "shared":
// atomics and the speed meter, which has its own lock.
type shell struct {
	d    *Download
	m    *Manager
	st   store.Store
	opts Options
	s    *session

	events  chan event
	flights map[int]*flightIO
	workers map[int]*hashWorker
	timer   *time.Timer
	// refreshCancel gives up the app's Options.Refresh call, if one runs.
	refreshCancel context.CancelFunc

	// shared with flights and writers, for progress reports
	inflight atomic.Int64 // bytes flights received and did not hand over yet
	stored   atomic.Int64 // bytes committed
	queued   atomic.Int64 // bytes on their way to storage
	meter    lockedMeter
}

// runSession runs one session of d until it finishes, fails, or ctx ends
// (a pause or a cancel: the session stops its flights, stores what
// arrived, and returns ctx's error).
func (d *Download) runSession(ctx context.Context) (Result, error) {
	m := d.m
	integrity, _ := protocol.ParseIntegrity(d.opts.Integrity) // checked by Options.withDefaults
	_, canHash := m.hasher()
	_, estimates := m.platform.(platform.Estimator)
	sh := &shell{
		d: d, m: m, st: m.store, opts: d.opts,
		events:  make(chan event, 64),
		flights: map[int]*flightIO{},
		workers: map[int]*hashWorker{},
	}
	owner, err := m.owner(ctx, d.cred)
	if err != nil {
		return Result{}, err
	}
	sh.s = newSession(sessionConfig{
		key: d.key, url: d.URL(), opts: d.opts, owner: owner, seed: rand.Uint64(), jitter: m.Rand, estimates: estimates,
		app: protocol.App{Integrity: integrity, CanHash: canHash, MaxBytes: d.opts.MaxBytes, AcceptHTML: d.opts.AcceptHTML, FirstAnswer: d.opts.FirstAnswer,
			CanRefresh: d.opts.Refresh != nil},
	})
	return sh.run(ctx)
}

// run hands the session its events, one at a time, and carries out the
// effects of each. Effects whose results the session waits for in order
// (fxLoad, fxSave, …) are carried out here, and their results handed over
// before any other event.
func (sh *shell) run(ctx context.Context) (Result, error) {
	defer func() {
		if sh.timer != nil {
			sh.timer.Stop()
		}
		for _, w := range sh.workers {
			w.quit()
		}
	}()
	queue := []event{evStart{}}
	stop := ctx.Done()
	var stepTime time.Duration // Stats.StepTime: the session's steps, timed here (it has no clock)
	var wake <-chan time.Time
	for {
		for len(queue) > 0 {
			ev := queue[0]
			queue = queue[1:]
			now := sh.m.Now()
			fxs := sh.s.step(now, ev)
			stepTime += sh.m.Now().Sub(now)
			for _, fx := range fxs {
				if done, ok := fx.(fxDone); ok {
					done.res.Stats.StepTime = stepTime
					return done.res, done.err
				}
				if t, ok := fx.(fxTimer); ok {
					wake = sh.setTimer(t.at)
					continue
				}
				if next := sh.do(ctx, fx); next != nil {
					queue = append(queue, next)
				}
			}
		}
		select {
		case ev := <-sh.events:
			switch e := ev.(type) {
			case evEnd:
				delete(sh.flights, e.id) // its goroutine is done
			case evRefreshed:
				if e.err == nil {
					sh.useLink(e.link)
					e.url = e.link.URL
					e.expires, _ = protocol.LinkExpiry(sh.d.URL())
					ev = e
				}
			case evPiece:
				// The piece's bytes move from the flight's count to the
				// session's (queued or held) in one step, so that received
				// never dips; the session's report after the piece sets
				// queued to its own count.
				n := e.blob.Size()
				sh.inflight.Add(-n)
				sh.queued.Add(n)
			}
			queue = append(queue, ev)
		case <-wake:
			wake = nil
			queue = append(queue, evTimer{})
		case <-stop:
			stop = nil // once: the session drains from here
			queue = append(queue, evStop{cause: ctx.Err()})
		}
	}
}

// setTimer arms the one timer for at (zero: none) and returns its channel.
func (sh *shell) setTimer(at time.Time) <-chan time.Time {
	if at.IsZero() {
		if sh.timer != nil {
			sh.timer.Stop()
		}
		return nil
	}
	wait := max(at.Sub(sh.m.Now()), 0)
	if sh.timer == nil {
		sh.timer = time.NewTimer(wait)
	} else {
		sh.timer.Stop()
		sh.timer.Reset(wait)
	}
	return sh.timer.C
}

// do carries out one effect, and returns the event of its result when the
// session waits for it in order.
func (sh *shell) do(ctx context.Context, fx effect) event {
	switch fx := fx.(type) {
	case fxLoad:
		return sh.load()
	case fxSave:
		sctx, cancel := storageCtx()
		defer cancel()
		if fx.reset {
			return evStored{op: fx.op, err: sh.st.Reset(sctx, fx.rec)}
		}
		return evStored{op: fx.op, err: sh.st.Put(sctx, fx.rec)}
	case fxReset:
		sctx, cancel := storageCtx()
		defer cancel()
		return evStored{op: opReset, err: sh.st.Reset(sctx, fx.rec)}
	case fxDeleteChunk:
		sctx, cancel := storageCtx()
		defer cancel()
		_ = sh.st.DeleteChunk(sctx, sh.d.key, fx.gen, fx.start) // at worst, the next load drops it
	case fxWrite:
		go sh.write(fx)
	case fxSpace:
		est, ok := sh.m.platform.(platform.Estimator)
		if !ok {
			return evSpace{why: fx.why}
		}
		sctx, cancel := storageCtx()
		defer cancel()
		free, ok, err := est.Free(sctx)
		return evSpace{why: fx.why, free: free, ok: ok, err: err}
	case fxChunks:
		sctx, cancel := storageCtx()
		defer cancel()
		cs, err := sh.st.Chunks(sctx, sh.d.key)
		return evChunks{why: fx.why, chunks: cs, err: err}
	case fxJoin:
		blob, err := join(sh.m.platform, fx.parts, fx.contentType)
		return evJoined{blob: blob, err: err}
	case fxSend:
		sh.send(ctx, fx)
	case fxPlan:
		sh.instruct(fx.id, instruction{plan: fx.plan})
	case fxMore:
		sh.instruct(fx.id, instruction{more: true})
	case fxCancel:
		if f := sh.flights[fx.id]; f != nil {
			f.cancel(errStopped)
		}
	case fxHashStart:
		sh.startHash(fx)
	case fxHash:
		if w := sh.workers[fx.w]; w != nil {
			b := fx.blob
			if fx.from != 0 || fx.to != b.Size() {
				b = b.Slice(fx.from, fx.to)
			}
			w.add(b)
		}
	case fxHashStop:
		if w := sh.workers[fx.w]; w != nil {
			w.quit()
			delete(sh.workers, fx.w)
		}
	case fxReport:
		sh.report(fx)
	case fxRefresh:
		sh.refresh(ctx, fx)
	case fxRefreshCancel:
		if sh.refreshCancel != nil {
			sh.refreshCancel()
		}
	}
	return nil
}

// instruct hands a flight its next instruction. The session gives one at
// a time (a plan, then one "more" per piece handed over), so the slot is
// free; a flight that ended meanwhile needs none.
func (sh *shell) instruct(id int, in instruction) {
	if f := sh.flights[id]; f != nil {
		select {
		case f.ins <- in:
		default:
		}
	}
}

// join makes one blob of parts, with the media type.
func join(p platform.Platform, parts []joinPart, contentType string) (store.Blob, error) {
	blobs := make([]store.Blob, len(parts))
	for i, jp := range parts {
		blobs[i] = jp.blob
		if jp.from != 0 || jp.to != jp.blob.Size() {
			blobs[i] = jp.blob.Slice(jp.from, jp.to)
		}
	}
	return p.Join(blobs, contentType)
}

// load reads the record and the chunks at once: two round trips to the
// database in the time of one, before a resumed download's first request.
func (sh *shell) load() evLoaded {
	sctx, cancel := storageCtx()
	defer cancel()
	type chunksRead struct {
		chunks []store.Chunk
		err    error
	}
	read := make(chan chunksRead, 1)
	go func() {
		cs, err := sh.st.Chunks(sctx, sh.d.key)
		read <- chunksRead{cs, err}
	}()
	rec, err := sh.st.Get(sctx, sh.d.key)
	cr := <-read
	switch {
	case cr.err != nil:
		return evLoaded{err: fmt.Errorf("read chunks: %w", cr.err)}
	case errors.Is(err, store.ErrNotFound):
		return evLoaded{chunks: cr.chunks}
	case err != nil:
		return evLoaded{err: fmt.Errorf("read record: %w", err)}
	}
	return evLoaded{rec: rec, found: true, chunks: cr.chunks}
}

// write stores one piece and reports it.
func (sh *shell) write(fx fxWrite) {
	sctx, cancel := storageCtx()
	defer cancel()
	began := sh.m.Now()
	c := store.Chunk{URL: sh.d.key, Gen: fx.p.gen, Start: fx.p.pos, Data: fx.p.blob}
	var err error
	if fx.last {
		err = sh.st.PutLast(sctx, c, fx.rec)
	} else {
		err = sh.st.PutChunk(sctx, c)
	}
	sh.events <- evCommitted{p: fx.p, last: fx.last, hashed: fx.rec.Hashed, err: err, took: sh.m.Now().Sub(began)}
}

// refresh asks the app for a fresh link (Options.Refresh) on a goroutine
// of its own: it may take its time, a request to its own server, up to
// refreshTimeout. Its answer comes back as evRefreshed; if the session
// gives it up (a pause, fxRefreshCancel) or the time is up, at once, even
// from a callback that does not heed its context.
func (sh *shell) refresh(ctx context.Context, fx fxRefresh) {
	rctx, cancel := context.WithTimeout(ctx, refreshTimeout)
	sh.refreshCancel = cancel
	url := fx.url
	if url == "" {
		url = sh.d.URL()
	}
	type answer struct {
		link Link
		err  error
	}
	got := make(chan answer, 1) // the callback never blocks on it
	go func() {
		link, err := sh.opts.Refresh(rctx, Expired{Status: fx.status, URL: url})
		got <- answer{link, err}
	}()
	go func() {
		defer cancel()
		var a answer
		select {
		case a = <-got:
			if a.err == nil {
				a.err = rctx.Err() // given up meanwhile
			}
			if a.err == nil {
				a.err = a.link.check()
			}
		case <-rctx.Done():
			a.err = fmt.Errorf("Options.Refresh: %w", context.Cause(rctx))
		}
		sh.events <- evRefreshed{link: a.link, err: a.err}
	}()
}

// refreshTimeout bounds an Options.Refresh call: an app that never
// answers must not hold a download that waits for it forever.
const refreshTimeout = 2 * time.Minute

// useLink points the download's next requests, in this session and the
// next, at a fresh link.
func (sh *shell) useLink(l Link) {
	if l.URL != "" {
		sh.d.setURL(l.URL)
	}
	if l.Header != nil {
		sh.opts.Header = l.Header
		sh.d.opts.Header = l.Header // read by the next session, on this goroutine
	}
}

// report updates the download's progress.
func (sh *shell) report(r fxReport) {
	sh.stored.Store(r.stored)
	sh.queued.Store(r.queued)
	sh.d.report(r.force, func(p *Progress) {
		sh.counts(p)
		if f := r.file; f != nil {
			p.Total, p.Validators, p.Resumable, p.Reason, p.Decided = f.total, f.validators, f.resumable, f.reason, f.decided
		}
		if r.clearErr && p.Stored > 0 {
			p.Attempt, p.ErrCode, p.Err = 0, "", nil
		}
		if r.notice != "" {
			p.Notice, p.NoticeCode = r.notice, r.noticeCode
		}
		if rt := r.retry; rt != nil {
			p.Attempt, p.RetryAt, p.ErrCode, p.Err = rt.attempt, rt.at, rt.err.Code, rt.err
			p.Speed = 0
		}
	})
}

// counts fills in the byte counts and the speed. It reads only what is
// shared, so that flights can report as bytes arrive.
func (sh *shell) counts(p *Progress) {
	stored := sh.stored.Load()
	p.Stored, p.Received = stored, stored+sh.queued.Load()+sh.inflight.Load()
	p.Speed = sh.meter.rate(sh.m.Now())
}
