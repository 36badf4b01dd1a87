package resumer

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/go-resumer/resumer/wasm/protocol"
	"github.com/go-resumer/resumer/wasm/store"
)

// How a download is fetched
//
// A run is one session of a download: from reading what is stored until it
// finishes, fails, or is stopped (pause, cancel, a full storage). It is a
// sequence of steps, each a function that returns the next:
//
//	load ──▶ probe ──▶ ranged ──▶ finish
//	  │        │  ▲       │          ▲
//	  │        │  └───────┘ (the     │
//	  │        │   file changed)     │
//	  │        └──────▶ single ──────┘
//	  └──▶ (the step of the stored mode, or finish)
//
// The steps send requests and read their bodies through one event loop
// (transfer): each request is a flight (flight.go), a goroutine that sends
// it, hands the answer to the run, and reads the body as the run tells it.
// The run decides every answer with protocol.Decide and applies the
// decision in one place, apply. Pieces of bodies are stored in the
// background (writer goroutines); a piece counts only once committed.
//
// Who owns what. Every field of run is owned by the goroutine that runs it
// (the download's loop): the steps, the event loop and apply all run there,
// so none of them takes a lock. Flights and writers never touch those
// fields: they send events on r.events, and each flight reads its one
// instruction from its own channel. The only state shared with them is
// below "shared": atomics and the speed meter, which has its own lock.

// Limits that keep a misbehaving server from holding a download in a loop.
const (
	// maxRejects is how many contradicting responses in a row end the
	// download with CodeBadResponse.
	maxRejects = 3
	// maxRestarts is how many times in a row the file may change under a
	// download before it gives up: a file that changes on every request
	// cannot be downloaded whole.
	maxRestarts = 5
	// maxWrites is how many pieces may be committing at once. Commits on
	// the same object store queue behind each other; the store spreads
	// them over its lanes, and the next request goes out while they
	// commit. It is also the back-pressure that keeps a fast network from
	// piling up Blobs.
	maxWrites = 4
	// maxStreamPiece caps a streamed piece: its bytes pass through the JS
	// heap as the Uint8Arrays of the stream until they are joined into a
	// Blob, so large pieces on a fast link would be large garbage.
	maxStreamPiece int64 = 2 << 20
	// quotaStep is how often, in stored bytes, a download of unknown
	// length checks that the storage has room for more.
	quotaStep int64 = 32 << 20
	// maxHeader caps the Content-Type and final URL kept with a download.
	maxHeader = 8 << 10
)

// step is one stage of a run; it returns the next one, or nil when the
// download is finished.
type step func(ctx context.Context) (step, error)

// run is one session of a download; see "How a download is fetched".
type run struct {
	d    *Download
	m    *Manager
	st   store.Store
	opts Options

	rec        store.Record
	ext        protocol.Extents     // committed bytes of rec.Gen
	flights    map[*flight]struct{} // requests in progress, of any generation
	pending    map[int64]int64      // start → end of pieces of rec.Gen handed to a writer, not yet committed
	holdUntil  time.Time            // no request goes out before (backing off)
	attempt    int                  // failures in a row without progress
	rejects    int                  // contradicting responses in a row
	restarts   int                  // changes of the file in a row
	highWater  int64                // most bytes stored in this session: progress means beating it
	speed      float64              // bytes/s one connection gets, estimated (measure); 0 unknown
	fatal      error                // set by apply and the event handlers: ends the transfer
	stopping   bool                 // drain runs: answers are not read any more
	writes     int                  // writer goroutines not done, of any generation
	poisoned   map[int64]bool       // pending pieces of a broken body: deleted, not counted, when committed
	plainTrial bool                 // an If-Range request failed before its answer: try a plain Range (CORS)
	unsettled  bool                 // established, record not written nor space checked yet (settle)
	noStore    bool                 // the record could not be written, or the file does not fit: no piece is stored
	ttfb       time.Duration        // how long answers take to come, of late (for endingBy)
	measured   bool                 // a body (not the probe) measured the link in this session
	nextQuota  int64                // stored bytes at which a download of unknown length checks the quota again
	marked     bool                 // the record says running
	result     Result               // set by finish
	stats      Stats
	began      time.Time
	integrity  protocol.Digest // Options.Integrity, parsed
	hash       *hashing        // the check of the current generation's bytes (hash.go), or nil
	savedHash  int64           // rec.Hashed when the record was last written

	events chan event
	slots  chan struct{} // write slots: a flight takes one before handing a piece over, its writer gives it back

	// shared with flights, writers and progress reports
	inflight atomic.Int64 // bytes flights received and did not hand over yet
	stored   atomic.Int64 // ext.Len(), for progress reports from other goroutines
	queued   atomic.Int64 // bytes of pieces handed to writers, not yet committed
	meter    lockedMeter
}

func newRun(d *Download) *run {
	r := &run{
		d: d, m: d.m, st: d.m.store, opts: d.opts,
		flights: map[*flight]struct{}{}, pending: map[int64]int64{}, poisoned: map[int64]bool{},
		events: make(chan event, 64), slots: make(chan struct{}, maxWrites),
	}
	r.integrity, _ = protocol.ParseIntegrity(d.opts.Integrity) // checked by Options.withDefaults
	return r
}

// run drives the steps until one returns no next step or an error.
func (r *run) run(ctx context.Context) (Result, error) {
	r.began = r.m.Now()
	defer r.stopHash()
	next := r.load
	for next != nil {
		var err error
		if next, err = next(ctx); err != nil {
			return Result{}, err
		}
	}
	return r.result, nil
}

// phase names the fetching step of a mode.
type phase int

const (
	phaseProbe phase = iota
	phaseRanged
	phaseSingle
)

func phaseOf(m protocol.Mode) phase {
	switch m {
	case protocol.ModeRanged, protocol.ModeRangedPlain:
		return phaseRanged
	case protocol.ModeSingle:
		return phaseSingle
	default:
		return phaseProbe
	}
}

// stepFor returns the step that fetches a download in mode m.
func (r *run) stepFor(m protocol.Mode) step {
	switch phaseOf(m) {
	case phaseRanged:
		return r.ranged
	case phaseSingle:
		return r.single
	default:
		return r.probe
	}
}

// load reads the record and the chunks, keeping only what can be trusted:
// a record that does not add up is discarded with its chunks, and chunks
// that do not belong (another generation, a damaged value, bytes past the
// end) are dropped so that their bytes are fetched again.
//
// Next: finish if every byte is stored, else the step of the stored mode
// (probe for a new download).
func (r *run) load(ctx context.Context) (step, error) {
	sctx, cancel := storageCtx()
	defer cancel()
	now := r.m.Now().UnixMilli()
	// The record and the chunks are read at once: two round trips to the
	// database in the time of one, before a resumed download's first
	// request.
	type chunksRead struct {
		chunks []store.Chunk
		err    error
	}
	read := make(chan chunksRead, 1)
	go func() {
		cs, err := r.st.Chunks(sctx, r.d.key)
		read <- chunksRead{cs, err}
	}()
	rec, err := r.st.Get(sctx, r.d.key)
	cr := <-read
	if cr.err != nil {
		return nil, storageError("read chunks", cr.err)
	}
	switch {
	case errors.Is(err, store.ErrNotFound):
		// A new download. Its record is written when the first answer
		// establishes it; chunks without a record (a crash between two
		// writes of an older version) are removed first.
		r.rec = r.newRecord(now)
		if len(cr.chunks) > 0 {
			if err := r.st.Reset(sctx, r.rec); err != nil {
				return nil, storageError("remove chunks without a record", err)
			}
		}
		return r.probe, nil
	case err != nil:
		return nil, storageError("read record", err)
	}
	if cerr := rec.Check(); cerr != nil {
		r.rec = r.newRecord(now)
		if err := r.st.Reset(sctx, r.rec); err != nil {
			return nil, storageError("replace unreadable record", err)
		}
		r.notice("discarded the stored download, which could not be trusted (" + cerr.Error() + "); starting over")
		return r.probe, nil
	}
	r.rec = rec
	r.rec.Source = bounded(r.d.URL()) // written with the record's next save
	dropped := 0
	for _, c := range cr.chunks {
		if c.Gen == rec.Gen && rec.Established() && c.Data != nil && c.Data.Size() > 0 && c.Start >= 0 &&
			(rec.Total == protocol.UnknownSize || c.End() <= rec.Total) {
			r.ext.Add(c.Start, c.End())
			continue
		}
		// A chunk of an older generation, or one that cannot belong to
		// this one: never join it.
		if err := r.st.DeleteChunk(sctx, c.URL, c.Gen, c.Start); err != nil {
			return nil, storageError("drop stale chunk", err)
		}
		if c.Gen == rec.Gen {
			dropped++
		}
	}
	if dropped > 0 {
		r.notice("dropped " + strconv.Itoa(dropped) + " stored chunks that did not add up; fetching their bytes again")
	}
	r.stored.Store(r.ext.Len())
	r.highWater = r.ext.Len()
	if rec.Received > r.ext.Len() && rec.Mode.Ranged() {
		// The record counted more than the chunks hold: the browser
		// removed stored bytes (an eviction under storage pressure).
		r.evicted(rec.Received - r.ext.Len())
	}
	if err := r.loadHash(cr.chunks); err != nil {
		return nil, err
	}
	if r.complete() {
		// Every byte of one generation: of one version (ranged), or of one
		// answer (single).
		return r.finish, nil
	}
	if rec.Mode == protocol.ModeSingle && r.ext.Len() > 0 {
		// Bytes of an interrupted download that is not resumable: nothing
		// can prove later bytes belong with them.
		if err := r.newGeneration(false, nil); err != nil {
			return nil, err
		}
	}
	return r.stepFor(rec.Mode), nil
}

// loadHash resumes the check of a loaded download's bytes: against the
// app's Integrity when it gives one (from the start if it is not the
// digest the bytes were hashed for), else against a digest the server
// stated; it hands the stored bytes not yet hashed to the hash.
func (r *run) loadHash(chunks []store.Chunk) error {
	switch {
	case !r.integrity.Empty() && (r.rec.DigestFrom != store.DigestIntegrity || !r.rec.Digest.Equal(r.integrity)):
		r.rec.Digest, r.rec.DigestFrom, r.rec.Hashed, r.rec.HashState = r.integrity, store.DigestIntegrity, 0, nil
	case r.integrity.Empty() && r.rec.DigestFrom == store.DigestIntegrity:
		// The app no longer asks: its word of an earlier session does not
		// bind this one.
		r.rec.Digest, r.rec.DigestFrom, r.rec.Hashed, r.rec.HashState = protocol.Digest{}, "", 0, nil
	}
	if !r.rec.Established() {
		return nil
	}
	if r.rec.Hashed > r.ext.Len() || !r.ext.Contains(0, r.rec.Hashed) {
		// Bytes hashed that are not stored any more (evicted, dropped):
		// their replacements must be hashed.
		r.rec.Hashed, r.rec.HashState = 0, nil
	}
	if err := r.startHash(); err != nil {
		return err
	}
	r.offerChunks(chunks)
	return nil
}

// evicted reports stored bytes that vanished.
func (r *run) evicted(n int64) {
	r.d.report(true, func(p *Progress) {
		p.Notice = fmt.Sprintf("the browser removed %d stored bytes (evicted); fetching them again", n)
		p.NoticeCode = NoticeEvicted
	})
}

// probe sends the first request of a generation, protocol.ProbeRequest:
// its answer establishes the download (validators, length, final URL,
// media type) and says how the rest is fetched.
//
// Next: ranged when a 206 proves ranges and versions (the probe's bytes
// are kept); single when the server cannot prove versions or ignores
// ranges (a 200 is read whole as the single stream; a small 206 of a
// server without validators is the only answer thrown away); finish when
// the probe held the whole file.
func (r *run) probe(ctx context.Context) (step, error) {
	return r.transfer(ctx, protocol.ModeNew, 1, func() (protocol.Request, bool) {
		return protocol.ProbeRequest(), len(r.current()) == 0
	})
}

// ranged fetches the missing bytes of a resumable download in bounded
// ranges, the cells of a fixed grid of Options.ChunkSize
// (protocol.NextSpan), on up to Options.Connections connections. Every
// 206 is checked against the stored validators and length; a short answer
// leaves the rest of its cell to the next request.
//
// Next: finish when every byte is stored; probe when the file changed
// (a new generation); single when ranges turn out unusable.
func (r *run) ranged(ctx context.Context) (step, error) {
	return r.transfer(ctx, r.rec.Mode, r.opts.Connections, func() (protocol.Request, bool) {
		if !r.measured && r.onWire(1) > 0 {
			// One request at a time until one body measured the link:
			// the others are read as it says.
			return protocol.Request{}, false
		}
		s, ok := protocol.NextSpan(&r.ext, r.busy(), r.rec.Total, r.opts.ChunkSize)
		if !ok {
			return protocol.Request{}, false
		}
		req := protocol.Request{Start: s.Start, End: s.End}
		if r.rec.Mode == protocol.ModeRanged && !r.plainTrial {
			req.IfRange, _ = r.rec.Validators.IfRange()
		}
		return req, true
	})
}

// single takes the whole file in one request without Range, from byte 0,
// for a download that cannot be resumed. After an interruption its bytes
// are discarded and it starts over, after a back-off.
//
// Next: finish when the body has been stored whole.
func (r *run) single(ctx context.Context) (step, error) {
	return r.transfer(ctx, protocol.ModeSingle, 1, func() (protocol.Request, bool) {
		idle := len(r.current()) == 0 && len(r.pending) == 0 && r.ext.Len() == 0
		return protocol.Request{Whole: true, End: protocol.UnknownSize}, idle
	})
}

// finish checks that every byte is there, joins the chunks and records the
// download as done.
//
// Next: none.
func (r *run) finish(ctx context.Context) (step, error) {
	if err := r.drain(nil); err != nil { // flights of an older generation
		return nil, err
	}
	if err := r.verify(ctx); err != nil {
		return nil, err
	}
	began := r.m.Now()
	sctx, cancel := storageCtx()
	defer cancel()
	chunks, err := r.st.Chunks(sctx, r.d.key)
	if err != nil {
		return nil, storageError("read chunks", err)
	}
	parts, err := joinable(chunks, r.rec.Gen, r.rec.Total)
	if err != nil {
		return nil, newError(CodeStorage, err)
	}
	blob, err := r.m.platform.Join(parts, r.rec.ContentType)
	if err != nil {
		return nil, newError(CodeStorage, fmt.Errorf("join %d chunks: %w", len(parts), err))
	}
	if blob.Size() != r.rec.Total {
		return nil, newError(CodeStorage, fmt.Errorf("joined %d bytes, want %d", blob.Size(), r.rec.Total))
	}
	r.rec.State = protocol.Done
	if err := r.save(); err != nil {
		return nil, err
	}
	r.progress(true)
	r.stats.Finish = r.m.Now().Sub(began)
	r.result = Result{
		URL: r.d.URL(), Key: r.d.key, Blob: blob, Size: blob.Size(), ContentType: r.rec.ContentType,
		Validators: r.rec.Validators, Resumable: r.rec.Resumable(), Reason: r.rec.Reason, Restarts: r.rec.Restarts,
		Verified: r.hash != nil, Stats: r.stats,
	}
	return nil, nil
}

// transfer is the event loop of the fetching steps. It sends the requests
// plan returns (at most conns at once, none while backing off), hands each
// answer to apply and each piece to a writer, and returns when the step is
// over: the next step once every byte is stored (finish) or the mode is
// no longer one this step fetches, or an error after the flights and
// writes have settled.
func (r *run) transfer(ctx context.Context, mode protocol.Mode, conns int, plan func() (protocol.Request, bool)) (step, error) {
	var hold *time.Timer
	defer func() {
		if hold != nil {
			hold.Stop()
		}
	}()
	for {
		switch {
		case r.fatal != nil:
			return nil, r.drain(r.fatal)
		case ctx.Err() != nil:
			return nil, r.drain(ctx.Err())
		case r.complete():
			return r.finish, nil
		case phaseOf(r.rec.Mode) != phaseOf(mode):
			return r.stepFor(r.rec.Mode), nil
		}
		var wake <-chan time.Time
		now := r.m.Now()
		wakeAt := r.holdUntil
		if !wakeAt.After(now) && conns == 1 {
			wakeAt = r.nextAhead(now)
		}
		if wait := wakeAt.Sub(now); wait > 0 {
			if hold == nil {
				hold = time.NewTimer(wait)
			} else {
				hold.Reset(wait)
			}
			wake = hold.C
		}
		if !r.holdUntil.After(now) {
			for r.onWire(conns) < conns {
				req, ok := plan()
				if !ok {
					break
				}
				r.send(ctx, req)
			}
			if !r.marked && r.rec.Established() {
				// A hint for listings (an interrupted download shows as
				// such); the requests are already out.
				r.marked = true
				r.rec.State = protocol.Running
				if err := r.save(); err != nil {
					return nil, r.drain(err)
				}
			}
		}
		if err := r.settle(); err != nil {
			r.fatal, r.noStore = err, true
			continue
		}
		if len(r.flights) == 0 && r.writes == 0 && wake == nil {
			// Nothing in flight and nothing to send: a step whose plan
			// has no request must have ended above.
			return nil, r.drain(newError(CodeInternal, fmt.Errorf("%s: nothing to do and not finished (stored %d of %d)", r.rec.Mode, r.ext.Len(), r.rec.Total)))
		}
		select {
		case ev := <-r.events:
			ev.handle(r)
		case <-ctx.Done():
		case <-wake:
		}
	}
}

// drain stops every flight, lets what they received be stored, waits for
// every write, and returns cause (or the first error of the writes, when
// cause is nil).
func (r *run) drain(cause error) error {
	if err := r.settle(); err != nil {
		r.noStore = true // no piece without its record, nor past the space left
		if cause == nil {
			cause = err
		}
	}
	r.stopping = true
	defer func() { r.stopping = false }()
	for f := range r.flights {
		f.cancel(errStopped)
	}
	for len(r.flights) > 0 || r.writes > 0 {
		(<-r.events).handle(r)
	}
	if cause == nil {
		return r.fatal
	}
	return cause
}

// errStopped is the cause of a flight the run stops.
var errStopped = errors.New("stopped by the download")

// measure updates r.speed, the estimate of what one connection gets, from
// a flight that ended. send reads it to decide, before each request goes
// out, whether its body is taken whole or streamed.
//   - A whole body gives its size over its time: the network's pace
//     (Response.blob() keeps up with any link).
//   - A streamed body gives a lower bound: reading a stream in pieces
//     costs the page more than the network on a fast link, so its rate is
//     doubled. A link that got faster is then taken whole again, and a
//     slow one, far below the threshold, stays streamed.
//   - A body that failed says nothing good: stream until one measures the
//     link again.
//
// The probe is measured as soon as it is answered (measureProbe).
func (r *run) measure(f *flight, ev evEnd) {
	switch {
	case ev.err != nil && f.reading:
		r.speed = 0
	case f.eager || ev.err != nil || ev.got == 0 || ev.took <= 0:
	case f.readWhole:
		r.speed, r.measured = float64(ev.got)/ev.took.Seconds(), true
	default:
		r.speed, r.measured = 2*float64(ev.got)/ev.took.Seconds(), true
	}
}

// measureProbe takes the probe's first piece, read by its flight as soon
// as the headers came. 64 KiB are too few to measure a fast link (the
// time is mostly the page's), but they tell a slow one: they take 16 ms
// at 4 MiB/s. The request after the probe, up to 1 MiB (FirstCell), is
// read as this says; it measures the link for the ones after it.
func (r *run) measureProbe(p earlyPiece) {
	if p.size > 0 {
		r.speed = float64(p.size) / max(p.took, time.Millisecond).Seconds()
	}
}

// onWire counts the flights of the current generation that hold one of
// conns connections: all but those whose whole body is in hand, and, on
// one connection, one whose body is ending (endingBy).
func (r *run) onWire(conns int) int {
	n := 0
	now := r.m.Now()
	for _, f := range r.current() {
		if !f.received && !(conns == 1 && r.endingBy(f, now)) {
			n++
		}
	}
	return n
}

// endingBy reports whether the body of f, taken whole, will have arrived
// by the time a request sent at now is answered: on one connection, the
// connection is then as good as free, and the next request goes out now
// rather than a round trip after its end. The requests are the same; only
// the gap between them goes (on loopback, 10-20 ms per request). (With
// several connections the others keep the link busy meanwhile, and two
// bodies at once on each would only slow every one of them.)
//
// A body later than that (by another round trip) holds its connection
// again: the link got slower than measured, and requests must not pile up
// behind it.
func (r *run) endingBy(f *flight, now time.Time) bool {
	return f.readWhole && !f.expectEnd.IsZero() &&
		!now.Before(f.expectEnd.Add(-r.ttfb)) && now.Before(f.expectEnd.Add(r.ttfb))
}

// nextAhead returns when the next whole body will be ending (endingBy),
// zero if none will.
func (r *run) nextAhead(now time.Time) time.Time {
	var at time.Time
	for _, f := range r.current() {
		if f.readWhole && !f.expectEnd.IsZero() && !f.received {
			t := f.expectEnd.Add(-r.ttfb)
			if t.After(now) && (at.IsZero() || t.Before(at)) {
				at = t
			}
		}
	}
	return at
}

// current returns the flights of the current generation.
func (r *run) current() []*flight {
	var out []*flight
	for f := range r.flights {
		if f.gen == r.rec.Gen {
			out = append(out, f)
		}
	}
	return out
}

// busy returns the spans of the current generation that are being fetched
// or stored: planning must not ask for them again.
func (r *run) busy() []protocol.Span {
	var out []protocol.Span
	for _, f := range r.current() {
		if f.pos < f.end || f.end == protocol.UnknownSize {
			out = append(out, protocol.Span{Start: f.pos, End: f.end})
		}
	}
	for s, e := range r.pending {
		out = append(out, protocol.Span{Start: s, End: e})
	}
	return out
}

// complete reports whether every byte of a known total is stored, and no
// flight of this generation is still reading: its body could still turn
// out broken, and take its pieces back.
func (r *run) complete() bool {
	return r.rec.Established() && r.rec.Total != protocol.UnknownSize && r.ext.Contains(0, r.rec.Total) &&
		len(r.current()) == 0
}

// storedView is what Decide needs to know of the download. Its bytes
// count those being committed and those the flights are reading too: they
// are this version's as much as the committed ones, and an answer that
// would replace them must be held to the same rules.
func (r *run) storedView() protocol.Stored {
	n := r.ext.Len()
	for s, e := range r.pending {
		n += e - s
	}
	for _, f := range r.current() {
		if f.reading && f.end != protocol.UnknownSize {
			n += f.end - f.pos
		}
	}
	return protocol.Stored{
		Established: r.rec.Established(), Validators: r.rec.Validators, Total: r.rec.Total, Bytes: n,
		URL: r.rec.FinalURL, ContentType: r.rec.ContentType,
	}
}

// bodyPlan is what a flight does with the body of its answer.
type bodyPlan struct {
	read bool
	// start and length: the bytes the body carries (length UnknownSize:
	// up to its end, which is the file's end).
	start, length int64
	// whole: take the body with Body.Whole, else stream it in pieces of at
	// most piece bytes, stored at least every flush.
	whole bool
	piece int64
	flush time.Duration
}

// apply acts on the decision for one answer. It is the one place where a
// decision changes the download: the mode, the generation, the back-off,
// or the end. It returns what the answer's flight does with the body.
func (r *run) apply(f *flight, dec protocol.Decision, resp *Response) bodyPlan {
	mode := r.rec.Mode
	next := mode.After(dec)
	if dec.Action != protocol.Reject {
		r.rejects = 0
	}
	switch dec.Action {
	case protocol.Append:
		if mode == protocol.ModeNew {
			if !r.establish(f, dec, resp, next) {
				return bodyPlan{}
			}
			if next == protocol.ModeSingle && !(dec.Start == 0 && dec.Length == dec.Total) {
				// A server that cannot prove versions: the probe's bytes
				// cannot be joined to any later ones. The single step
				// asks for the whole file.
				r.notice("not resumable: " + dec.Reason.Text)
				return bodyPlan{}
			}
		}
		return r.read(f, resp, dec.Start, dec.Length)

	case protocol.Adopt:
		// The body is the file from byte 0, of a version that may be new.
		if r.rec.Established() || r.ext.Len() > 0 || len(r.pending) > 0 {
			if dec.Changed && !r.restart() {
				return bodyPlan{}
			}
			if err := r.newGeneration(dec.Changed, f); err != nil {
				r.fatal = err
				return bodyPlan{}
			}
		}
		if !r.establish(f, dec, resp, next) {
			return bodyPlan{}
		}
		if next == protocol.ModeSingle && dec.Length != protocol.UnknownSize && dec.Length != dec.Total {
			// A 206 from byte 0 that cannot be continued: only one whole
			// answer makes a download that is not resumable.
			return bodyPlan{}
		}
		return r.read(f, resp, 0, dec.Length)

	case protocol.Whole:
		if mode == protocol.ModeSingle {
			// Already asking without Range: an answer that says ranges do
			// not work is a contradiction, not news.
			r.reject(f, dec.Err)
			return bodyPlan{}
		}
		if r.ext.Len() > 0 || len(r.pending) > 0 || r.rec.Established() {
			if err := r.newGeneration(false, nil); err != nil {
				r.fatal = err
				return bodyPlan{}
			}
		}
		r.rec.Mode, r.rec.Reason = protocol.ModeSingle, dec.Reason
		r.rec.Decided = protocol.NewExchange(f.req, resp.Response)
		r.notice("not resumable: " + dec.Reason.Text)
		if err := r.save(); err != nil {
			r.fatal = err
		}
		return bodyPlan{}

	case protocol.Restart:
		if !r.restart() {
			return bodyPlan{}
		}
		if err := r.newGeneration(dec.Changed, nil); err != nil {
			r.fatal = err
		}
		return bodyPlan{}

	case protocol.Finish:
		if mode == protocol.ModeNew {
			// The probe of an empty file: "bytes=0-" cannot be satisfied
			// (RFC 9110 §14.1.2), and there is nothing to fetch.
			empty := protocol.ModeSingle
			if dec.Resumable {
				empty = protocol.ModeRanged
			}
			r.establish(f, dec, resp, empty)
			return bodyPlan{}
		}
		if r.rec.Total == protocol.UnknownSize || f.req.Start < r.rec.Total {
			// Nothing was asked for past the end: "finished" contradicts
			// the request.
			r.reject(f, fmt.Errorf("416 for a range inside the file"))
		}
		return bodyPlan{}

	case protocol.Retry:
		var se *protocol.StatusError
		errors.As(dec.Err, &se)
		r.backoff(dec.RetryAfter, &Error{Code: CodeHTTPStatus, Status: se.Status, Err: dec.Err})
		return bodyPlan{}

	case protocol.Reject:
		r.reject(f, dec.Err)
		return bodyPlan{}

	default: // protocol.Fail
		var se *protocol.StatusError
		var ce *protocol.ContentTypeError
		switch {
		case errors.As(dec.Err, &se):
			r.fatal = &Error{Code: CodeHTTPStatus, Status: se.Status, Err: dec.Err}
		case errors.As(dec.Err, &ce):
			r.fatal = newError(CodeUnexpectedContent, fmt.Errorf("resume at %d: %w", r.ext.Len(), dec.Err))
		default:
			r.fatal = newError(CodeBadResponse, dec.Err)
		}
		return bodyPlan{}
	}
}

// restart counts a change of the file that throws stored bytes away, and
// reports whether another is allowed: a server whose every answer names a
// new version (with 200s, or 206s from byte 0) must not make the download
// start over forever, one request after the other.
func (r *run) restart() bool {
	r.restarts++
	if r.restarts > maxRestarts {
		r.fatal = newError(CodeBadResponse, fmt.Errorf("the file changed %d times in a row while downloading", r.restarts))
		return false
	}
	return true
}

// read returns the plan for a body that carries length bytes from start,
// and moves f's span to them.
func (r *run) read(f *flight, resp *Response, start, length int64) bodyPlan {
	f.pos, f.end = start, protocol.UnknownSize
	if length != protocol.UnknownSize {
		f.end = start + length
	}
	p := bodyPlan{read: true, start: start, length: length, piece: min(maxStreamPiece, r.opts.ChunkSize), flush: r.opts.FlushInterval}
	// Whole only as planned before the request went out, for no more than
	// was asked (a 200 to the probe is the whole file), and only with a
	// Content-Length that says the same: then the platform's own framing
	// stops a body that would run on.
	cl := protocol.ParseContentLength(resp.ContentLength)
	p.whole = f.whole && !f.eager && length != protocol.UnknownSize && length <= f.req.End-f.req.Start &&
		cl == length && resp.ContentEncoding == ""
	if p.whole {
		r.stats.Whole++
	} else {
		r.stats.Streamed++
	}
	return p
}

// establish takes what a first (or adopted) answer to f says about the
// file, records it with the exchange as proof, and checks that it fits:
// under MaxBytes, and in the storage left. It returns false (with r.fatal
// set) when it does not.
func (r *run) establish(f *flight, dec protocol.Decision, resp *Response, mode protocol.Mode) bool {
	prior := r.rec.Mode
	r.rec.Mode = mode
	r.rec.Validators = dec.Validators
	r.rec.Total = dec.Total
	r.rec.FinalURL = bounded(resp.URL)
	r.rec.ContentType = bounded(resp.ContentType)
	// Why it is not resumable, and the exchange that proves it: what made
	// the download single, when an earlier answer did (the answer to a
	// request without Range shows nothing about ranges), or else this
	// answer.
	earlier := !mode.Ranged() && prior == protocol.ModeSingle && !r.rec.Reason.None()
	reason := protocol.Reason{}
	if !mode.Ranged() {
		reason = dec.Reason
		if earlier {
			reason = r.rec.Reason
		}
		if reason.None() {
			reason = protocol.Reason{Code: protocol.ReasonNoRanges, Text: "the server does not support byte ranges"}
		}
	}
	if !earlier || r.rec.Decided.Empty() {
		r.rec.Decided = protocol.NewExchange(f.req, resp.Response)
	}
	r.rec.Reason = reason
	r.rec.Source = bounded(r.d.URL())
	digest, from, err := r.digestFor(resp)
	if err != nil {
		r.fatal = err
		return false
	}
	r.rec.Digest, r.rec.DigestFrom, r.rec.Hashed, r.rec.HashState = digest, from, 0, nil
	if err := r.startHash(); err != nil {
		r.fatal = err
		return false
	}
	if r.opts.MaxBytes > 0 && dec.Total > r.opts.MaxBytes {
		r.fatal = newError(CodeTooLarge, fmt.Errorf("the file is %d bytes, more than maxBytes (%d)", dec.Total, r.opts.MaxBytes))
		return false
	}
	// The record is written, and the space checked, by the event loop
	// once the next requests are out (settle): neither may delay them,
	// and no piece is written before either is done (the loop handles
	// one thing at a time).
	r.rec.State, r.marked, r.unsettled = protocol.Running, true, true
	r.nextQuota = r.ext.Len() + quotaStep
	r.progress(true)
	return true
}

// settle writes the record of a download just established and checks that
// it fits in the storage left. A download that cannot fit fails before any
// of its bytes is stored.
func (r *run) settle() error {
	if !r.unsettled {
		return nil
	}
	r.unsettled = false
	if err := r.save(); err != nil {
		return err
	}
	return r.checkSpace()
}

// bounded cuts a header value a server controls to what is worth storing.
func bounded(s string) string {
	if len(s) > maxHeader {
		return ""
	}
	return s
}

// reject counts a response that contradicts its request: a few in a row
// end the download, each one is followed by a back-off.
func (r *run) reject(f *flight, why error) {
	r.rejects++
	err := newError(CodeBadResponse, fmt.Errorf("%s: %w", f.req.RangeHeader(), why))
	if r.rejects >= maxRejects {
		r.fatal = err
		return
	}
	r.backoff(0, err)
}

// backoff counts a failure and holds every new request for the delay of
// the retry policy, or ends the download when the policy gives up. A
// download that stores new bytes between failures starts counting again,
// so a flaky link never ends a download that is making progress.
func (r *run) backoff(asked time.Duration, cause *Error) {
	r.attempt++
	if r.opts.Retry.GiveUp(r.attempt) {
		r.fatal = cause
		return
	}
	delay := r.opts.Retry.Delay(r.attempt, asked, r.m.Rand())
	r.holdUntil = r.m.Now().Add(delay)
	attempt, retryAt := r.attempt, r.holdUntil
	r.d.report(true, func(p *Progress) {
		p.Attempt, p.RetryAt, p.ErrCode, p.Err = attempt, retryAt, cause.Code, cause
		p.Speed = 0
	})
}

// newGeneration discards every stored byte and starts a new generation,
// in the mode the download's record goes back to (single stays single:
// what made ranges unusable is the server's). changed counts it as a
// restart caused by a change of the file. Flights of the old generation
// are stopped, but keep (its body is the new generation's first answer);
// writes of the old generation that land later are deleted as they commit.
func (r *run) newGeneration(changed bool, keep *flight) error {
	for _, f := range r.current() {
		if f != keep {
			f.cancel(errStopped)
		}
	}
	if keep != nil {
		defer func() { keep.gen = r.rec.Gen }()
	}
	sctx, cancel := storageCtx()
	defer cancel()
	r.rec.Gen = r.m.newGen()
	if changed {
		r.rec.Restarts++
	}
	r.rec.Validators, r.rec.Total = protocol.Validators{}, protocol.UnknownSize
	if r.rec.Mode != protocol.ModeSingle {
		r.rec.Mode, r.rec.Reason, r.rec.FinalURL = protocol.ModeNew, protocol.Reason{}, ""
	}
	// The media type is kept: the next answer from byte 0 is held to it
	// (an HTML login page is no new start of a zip file). The app's
	// digest is kept too; a server's belongs to the version it stated.
	r.stopHash()
	if r.rec.DigestFrom != store.DigestIntegrity {
		r.rec.Digest, r.rec.DigestFrom = protocol.Digest{}, ""
	}
	r.rec.Hashed, r.rec.HashState = 0, nil
	clear(r.poisoned)
	r.rec.Received = 0
	r.rec.Updated = r.m.Now().UnixMilli()
	r.ext = protocol.Extents{}
	clear(r.pending)
	r.stored.Store(0)
	r.queued.Store(0)
	if err := r.st.Reset(sctx, r.rec); err != nil {
		return storageError("discard stored bytes", err)
	}
	r.progress(true)
	return nil
}

// checkSpace fails at once, before any byte is stored, a download whose
// known length does not fit in the storage left, rather than filling the
// storage to fail at 90 %.
func (r *run) checkSpace() error {
	est, ok := r.m.platform.(Estimator)
	if !ok || r.rec.Total == protocol.UnknownSize {
		return nil
	}
	sctx, cancel := storageCtx()
	defer cancel()
	free, ok, err := est.Free(sctx)
	if err != nil || !ok {
		return nil // no estimate: find out by storing
	}
	if need := r.rec.Total - r.ext.Len(); need > free {
		return newError(CodeQuota, &QuotaError{Need: need, Free: free})
	}
	return nil
}

// checkGrowth checks, every quotaStep bytes of a download of unknown
// length, that the storage can take the next quotaStep: a body that never
// ends must pause the download before the browser refuses a write.
func (r *run) checkGrowth() {
	if r.rec.Total != protocol.UnknownSize || r.ext.Len() < r.nextQuota {
		return
	}
	r.nextQuota = r.ext.Len() + quotaStep
	est, ok := r.m.platform.(Estimator)
	if !ok {
		return
	}
	sctx, cancel := storageCtx()
	defer cancel()
	if free, ok, err := est.Free(sctx); err == nil && ok && free < quotaStep {
		r.fatal = newError(CodeQuota, fmt.Errorf("at %d bytes of a file of unknown length, only %d bytes of storage are left: %w",
			r.ext.Len(), free, store.ErrQuota))
	}
}

// save writes the record.
func (r *run) save() error {
	sctx, cancel := storageCtx()
	defer cancel()
	r.rec.Received = r.ext.Len()
	r.rec.Updated = r.m.Now().UnixMilli()
	r.rec.ErrCode, r.rec.ErrMessage = "", ""
	if r.rec.Created == 0 {
		r.rec.Created = r.rec.Updated
	}
	if err := r.st.Put(sctx, r.rec); err != nil {
		return storageError("write record", err)
	}
	r.savedHash = r.rec.Hashed
	return nil
}

func (r *run) newRecord(now int64) store.Record {
	return store.Record{
		URL: r.d.key, Schema: store.SchemaVersion, Gen: r.m.newGen(), Mode: protocol.ModeNew, Total: protocol.UnknownSize,
		ChunkSize: r.opts.ChunkSize, State: protocol.Idle, Created: now, Updated: now,
	}
}

// notice reports something the engine did on its own.
func (r *run) notice(text string) {
	r.d.report(true, func(p *Progress) { p.Notice, p.NoticeCode = text, "" })
}

// progress reports the current byte counts and what is known of the file.
func (r *run) progress(force bool) {
	total, v, resumable, reason, decided := r.rec.Total, r.rec.Validators, r.rec.Resumable(), r.rec.Reason, r.rec.Decided
	attempt := r.attempt
	r.d.report(force, func(p *Progress) {
		r.counts(p)
		p.Total, p.Validators, p.Resumable, p.Reason, p.Decided = total, v, resumable, reason, decided
		if p.Stored > 0 && attempt == 0 {
			p.Attempt, p.ErrCode, p.Err = 0, "", nil
		}
	})
}

// counts fills in the byte counts and the speed. It reads only what is
// shared, so that flights can report as bytes arrive.
func (r *run) counts(p *Progress) {
	stored := r.stored.Load()
	p.Stored, p.Received = stored, stored+r.queued.Load()+r.inflight.Load()
	p.Speed = r.meter.rate(r.m.Now())
}

// joinable returns the blobs that make up bytes [0, total) of generation
// gen, trimming overlaps, or an error if a byte is missing.
func joinable(chunks []store.Chunk, gen, total int64) ([]store.Blob, error) {
	var parts []store.Blob
	var at int64
	for _, c := range chunks {
		if c.Gen != gen || c.Data == nil || c.End() <= at {
			continue // another generation's, or damaged since it was loaded
		}
		if c.Start > at {
			break
		}
		end := min(c.End(), total)
		if c.Start < at || end < c.End() {
			parts = append(parts, c.Data.Slice(at-c.Start, end-c.Start))
		} else {
			parts = append(parts, c.Data)
		}
		at = end
		if at == total {
			break
		}
	}
	if at != total {
		return nil, fmt.Errorf("stored bytes end at %d of %d", at, total)
	}
	return parts, nil
}
