package resumer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"

	"github.com/go-resumer/resumer/wasm/protocol"
	"github.com/go-resumer/resumer/wasm/store"
)

// Limits that keep a misbehaving server from holding a download in a loop.
const (
	// maxRejects is how many contradicting responses in a row end the
	// download with CodeBadResponse.
	maxRejects = 3
	// maxRestarts is how many times in a row the file may change under a
	// download before it gives up: a file that changes on every request
	// cannot be downloaded whole.
	maxRestarts = 5
)

// errShortBody reports a body that ended before the bytes its response
// announced.
var errShortBody = errors.New("response body ended early")

// run is one attempt at a download, from loading its record until it ends,
// fails, or its context is canceled. It owns the record and the extents.
//
// While connections work in parallel (parallel.go) and pieces are written
// in the background (writes.go), mu guards every field below it.
type run struct {
	d  *Download
	st store.Store

	mu        sync.Mutex
	rec       store.Record
	ext       protocol.Extents // committed bytes
	attempt   int              // failures in a row without progress
	highWater int64            // most bytes stored in this generation: progress means beating it
	rejects   int              // contradicting responses in a row
	restarts  int              // changes of the file in a row
	inflight  int64            // bytes received but not yet handed to the store
	speed     speedMeter
	shaky     time.Time // until then bodies are streamed: the connection dropped lately
	stats     Stats
	began     time.Time
	saveMu    sync.Mutex          // orders the writes of the record
	claims    map[*claim]struct{} // spans connections are fetching

	w writer
}

func newRun(d *Download) *run {
	r := &run{d: d, st: d.m.store, claims: map[*claim]struct{}{}}
	r.w.init(r)
	return r
}

// run drives the download; see the package doc for the protocol.
func (r *run) run(ctx context.Context) (Result, error) {
	r.began = r.d.m.Now()
	if err := r.load(); err != nil {
		return Result{}, err
	}
	if r.rec.State == protocol.Done && r.complete() {
		return r.finish()
	}
	r.rec.State = protocol.Running
	// Marking the record running is a hint for listings (interrupted
	// downloads); the first request need not wait for it.
	r.saveAsync()
	r.progress(true)
	defer r.w.wait() // never leave a write behind the caller's back
	for {
		if err := ctx.Err(); err != nil {
			return Result{}, err
		}
		if r.ranged() {
			// Claims leave pending pieces alone, so a stream that gave way
			// to ranges need not wait for its last commits: the next
			// requests go out now.
			if err := r.w.failed(); err != nil {
				return Result{}, err
			}
		} else if err := r.w.wait(); err != nil {
			// The single stream plans from what is stored.
			return Result{}, err
		}
		if r.complete() {
			if err := r.w.wait(); err != nil {
				return Result{}, err
			}
			return r.finish()
		}
		// Bytes that cannot be proven to match later ones are dropped
		// before asking again: the download starts over from byte 0.
		r.mu.Lock()
		unproven := r.rec.Established && !r.rec.Resumable && r.ext.Len() > 0
		r.mu.Unlock()
		if unproven {
			if err := r.reset(false); err != nil {
				return Result{}, err
			}
		}
		if r.ranged() {
			// Known length, strong validators, ranges proven: fetch the
			// missing spans, on several connections if asked.
			if err := r.parallel(ctx); err != nil {
				return Result{}, err
			}
			continue
		}
		req := r.nextRequest()
		resp, err := r.fetch(ctx, req)
		if err != nil {
			if ctx.Err() != nil {
				return Result{}, ctx.Err()
			}
			if err := r.fetchFailed(ctx, req, err); err != nil {
				return Result{}, err
			}
			continue
		}
		if err := r.handle(ctx, req, resp); err != nil {
			return Result{}, err
		}
	}
}

// ranged reports whether the rest of the download is fetched by ranges,
// checked against the stored validators.
func (r *run) ranged() bool {
	return r.rec.Established && r.rec.Resumable && !r.rec.NoRanges && r.rec.Total != protocol.UnknownSize
}

// fetch sends one request and counts it.
func (r *run) fetch(ctx context.Context, req protocol.Request) (*Response, error) {
	r.mu.Lock()
	if r.stats.Requests == 0 {
		r.stats.Setup = r.d.m.Now().Sub(r.began)
	}
	r.stats.Requests++
	r.mu.Unlock()
	return r.d.m.platform.Fetch(ctx, r.fetchRequest(req))
}

// fetchFailed handles a request that got no response, and waits before
// the next attempt.
func (r *run) fetchFailed(ctx context.Context, req protocol.Request, err error) error {
	if req.IfRange != "" && r.crossOrigin() {
		// If-Range is not a CORS-safelisted header: a server whose
		// preflight does not allow it makes the request fail like a
		// network error. Ask with a plain Range from now on and check
		// the validators of every 206 instead (Decide demands a strong
		// one equal to the stored one).
		r.mu.Lock()
		already := r.rec.NoIfRange
		r.rec.NoIfRange = true
		r.mu.Unlock()
		if !already {
			if err := r.save(); err != nil {
				return err
			}
			r.notice("the server's CORS preflight may refuse If-Range; resuming with a plain Range and checking each response's validators")
		}
	}
	return r.backoff(ctx, 0, newError(CodeNetwork, fmt.Errorf("fetch %s: %w", req.RangeHeader(), err)))
}

// handle acts on one response. It returns nil to go on with the next request.
func (r *run) handle(ctx context.Context, req protocol.Request, resp *Response) error {
	dec := protocol.Decide(req, r.stored(), resp.Response, r.d.m.Now())
	if dec.Action != protocol.Append && dec.Action != protocol.Adopt {
		resp.Body.Close()
	}
	if dec.Action != protocol.Reject {
		r.rejects = 0
	}
	switch dec.Action {
	case protocol.Append:
		if !r.rec.Established {
			if err := r.begin(dec, resp); err != nil {
				resp.Body.Close()
				return err
			}
		}
		return r.stream(ctx, resp.Body, dec.Start, dec.Start+dec.Length, dec.Length == protocol.UnknownSize)

	case protocol.Adopt:
		if r.rec.Established || r.ext.Len() > 0 {
			if err := r.reset(dec.Changed); err != nil {
				resp.Body.Close()
				return err
			}
		}
		if err := r.begin(dec, resp); err != nil {
			resp.Body.Close()
			return err
		}
		return r.stream(ctx, resp.Body, 0, dec.Length, dec.Length == protocol.UnknownSize)

	case protocol.Whole:
		if err := r.reset(false); err != nil {
			return err
		}
		r.rec.NoRanges = true
		r.rec.Reason = dec.Reason
		return r.save()

	case protocol.Restart:
		r.restarts++
		if r.restarts > maxRestarts {
			return newError(CodeBadResponse, fmt.Errorf("the file changed %d times in a row while downloading", r.restarts))
		}
		return r.reset(dec.Changed)

	case protocol.Finish:
		if !r.rec.Established {
			r.establish(dec, resp)
		}
		r.rec.Total = dec.Total
		return r.save()

	case protocol.Retry:
		var se *protocol.StatusError
		errors.As(dec.Err, &se)
		return r.backoff(ctx, dec.RetryAfter, &Error{Code: CodeHTTPStatus, Status: se.Status, Err: dec.Err})

	case protocol.Reject:
		r.rejects++
		err := newError(CodeBadResponse, fmt.Errorf("%s: %w", req.RangeHeader(), dec.Err))
		if r.rejects >= maxRejects {
			return err
		}
		return r.backoff(ctx, 0, err)

	default: // protocol.Fail
		var se *protocol.StatusError
		if errors.As(dec.Err, &se) {
			return &Error{Code: CodeHTTPStatus, Status: se.Status, Err: dec.Err}
		}
		return newError(CodeBadResponse, dec.Err)
	}
}

// load reads the record and the chunks, keeping only what can be trusted:
// a record that does not add up is discarded with its chunks, and chunks
// that do not belong (another generation, a damaged value, bytes past the
// end) are dropped so that their bytes are fetched again.
func (r *run) load() error {
	ctx, cancel := storageCtx()
	defer cancel()
	now := r.d.m.Now().UnixMilli()
	// The record and the chunks are read at once: two round trips to the
	// database in the time of one, before a resumed download's first
	// request.
	type chunksRead struct {
		chunks []store.Chunk
		err    error
	}
	read := make(chan chunksRead, 1)
	go func() {
		cs, err := r.st.Chunks(ctx, r.d.url)
		read <- chunksRead{cs, err}
	}()
	fresh := true // a new record: the chunks read belong to none
	rec, err := r.st.Get(ctx, r.d.url)
	switch {
	case errors.Is(err, store.ErrNotFound):
		rec = r.newRecord(now, 0)
		if err := r.st.Reset(ctx, rec); err != nil {
			return storageError("create record", err)
		}
	case err != nil:
		return storageError("read record", err)
	default:
		if cerr := rec.Check(); cerr != nil {
			rec = r.newRecord(now, max(rec.Gen, 0)+1)
			if err := r.st.Reset(ctx, rec); err != nil {
				return storageError("replace unreadable record", err)
			}
			r.notice("discarded the stored download, which could not be trusted (" + cerr.Error() + "); starting over")
		} else {
			fresh = false
		}
	}
	r.rec = rec
	if fresh {
		return nil // no record vouches for the chunks read, and Reset removed them
	}
	cr := <-read
	if cr.err != nil {
		return storageError("read chunks", cr.err)
	}
	dropped := 0
	for _, c := range cr.chunks {
		if c.Gen == rec.Gen && rec.Established && c.Data != nil && c.Data.Size() > 0 && c.Start >= 0 &&
			(rec.Total == protocol.UnknownSize || c.End() <= rec.Total) {
			r.ext.Add(c.Start, c.End())
			continue
		}
		// A chunk of an older generation, or one that cannot belong to
		// this one: never join it.
		if err := r.st.DeleteChunk(ctx, c.URL, c.Gen, c.Start); err != nil {
			return storageError("drop stale chunk", err)
		}
		if c.Gen == rec.Gen {
			dropped++
		}
	}
	if dropped > 0 {
		r.notice("dropped " + strconv.Itoa(dropped) + " stored chunks that did not add up; fetching their bytes again")
	}
	r.highWater = r.ext.Len()
	return nil
}

// notice reports something the engine did on its own.
func (r *run) notice(text string) {
	r.d.report(true, func(p *Progress) { p.Notice = text })
}

func (r *run) newRecord(now, gen int64) store.Record {
	return store.Record{
		URL: r.d.url, Schema: store.SchemaVersion, Gen: gen, Total: protocol.UnknownSize,
		ChunkSize: r.d.opts.ChunkSize, State: protocol.Idle, Created: now, Updated: now,
	}
}

// complete reports whether every byte of a known total is stored. Commits
// of an earlier phase may still be adding to r.ext: it takes r.mu.
func (r *run) complete() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.rec.Established && r.rec.Total != protocol.UnknownSize && r.ext.Contains(0, r.rec.Total)
}

func (r *run) stored() protocol.Stored {
	r.mu.Lock()
	defer r.mu.Unlock()
	return protocol.Stored{Established: r.rec.Established, Validators: r.rec.Validators, Total: r.rec.Total, Bytes: r.ext.Len()}
}

// nextRequest plans the next request: the first missing span.
func (r *run) nextRequest() protocol.Request {
	if r.rec.NoRanges {
		return protocol.Request{Whole: true, End: protocol.UnknownSize}
	}
	if !r.rec.Established {
		return protocol.Request{Start: 0, End: protocol.UnknownSize}
	}
	hole := r.ext.Missing(r.rec.Total)[0]
	req := protocol.Request{Start: hole.Start, End: hole.End}
	if r.rec.Resumable && !r.rec.NoIfRange {
		req.IfRange, _ = r.rec.Validators.IfRange()
	}
	return req
}

func (r *run) fetchRequest(req protocol.Request) Request {
	return Request{URL: r.d.url, Range: req.RangeHeader(), IfRange: req.IfRange}
}

// begin establishes the download from a first (or adopted) response,
// records it, and checks that the file fits in the storage left.
func (r *run) begin(dec protocol.Decision, resp *Response) error {
	r.establish(dec, resp)
	if err := r.save(); err != nil {
		return err
	}
	return r.checkSpace()
}

// establish takes what a first (or adopted) response says about the file.
func (r *run) establish(dec protocol.Decision, resp *Response) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if dec.Reason.Code == protocol.ReasonNoRanges {
		r.rec.NoRanges = true
	}
	r.rec.Established = true
	r.rec.Validators = dec.Validators
	r.rec.Total = dec.Total
	r.rec.Resumable, r.rec.Reason = dec.Resumable, dec.Reason
	r.rec.ContentType = resp.ContentType
	if r.rec.NoRanges && r.rec.Resumable {
		// Ranges were found unusable earlier in this generation's history:
		// whatever the validators, a request without Range cannot resume.
		r.rec.Resumable = false
		if r.rec.Reason.None() {
			r.rec.Reason = protocol.Reason{Code: protocol.ReasonNoRanges, Text: "the server does not support byte ranges"}
		}
	}
}

func (r *run) crossOrigin() bool {
	c, ok := r.d.m.platform.(CrossOriginer)
	return ok && c.CrossOrigin(r.d.url)
}

// checkSpace fails at once, before any byte is stored, a download whose
// known length does not fit in the storage left, rather than filling the
// storage to fail at 90 %.
func (r *run) checkSpace() error {
	est, ok := r.d.m.platform.(Estimator)
	if !ok || r.rec.Total == protocol.UnknownSize {
		return nil
	}
	ctx, cancel := storageCtx()
	defer cancel()
	free, ok, err := est.Free(ctx)
	if err != nil || !ok {
		return nil // no estimate: find out by storing
	}
	if need := r.rec.Total - r.ext.Len(); need > free {
		return newError(CodeQuota, &QuotaError{Need: need, Free: free})
	}
	return nil
}

// reset discards every stored byte and starts a new generation. changed
// counts it as a restart caused by a change of the file.
func (r *run) reset(changed bool) error {
	r.w.wait() // a late write of the old generation would only be dropped
	ctx, cancel := storageCtx()
	defer cancel()
	r.mu.Lock()
	r.rec.Gen++
	if changed {
		r.rec.Restarts++
	}
	r.rec.Established = false
	r.rec.Validators = protocol.Validators{}
	r.rec.Total = protocol.UnknownSize
	r.rec.Resumable, r.rec.Reason = false, protocol.Reason{}
	r.rec.Received = 0
	r.rec.Updated = r.d.m.Now().UnixMilli()
	r.ext = protocol.Extents{}
	// highWater is kept: after a restart, progress means getting further
	// than before, or a link that always drops halfway would loop for ever.
	rec := r.rec
	r.mu.Unlock()
	if err := r.st.Reset(ctx, rec); err != nil {
		return storageError("discard stored bytes", err)
	}
	r.progress(true)
	return nil
}

func (r *run) save() error {
	r.saveMu.Lock()
	defer r.saveMu.Unlock()
	ctx, cancel := storageCtx()
	defer cancel()
	r.mu.Lock()
	r.rec.Received = r.ext.Len()
	r.rec.Updated = r.d.m.Now().UnixMilli()
	r.rec.ErrCode, r.rec.ErrMessage = "", ""
	rec := r.rec
	r.mu.Unlock()
	if err := r.st.Put(ctx, rec); err != nil {
		return storageError("write record", err)
	}
	return nil
}

// saveAsync writes the record in the background. A later save waits for
// it, so records land in the order they were written.
func (r *run) saveAsync() {
	r.saveMu.Lock()
	r.mu.Lock()
	r.rec.Received = r.ext.Len()
	r.rec.Updated = r.d.m.Now().UnixMilli()
	rec := r.rec
	r.mu.Unlock()
	go func() {
		defer r.saveMu.Unlock()
		ctx, cancel := storageCtx()
		defer cancel()
		_ = r.st.Put(ctx, rec) // a hint: the chunks are the truth
	}()
}

// stream stores the body of the one request of the single-stream path
// piece by piece from byte pos. With open set, the body's length is unknown
// and ends the file; otherwise it must reach end. Once the download is
// established as resumable and a range plan would do better (several
// connections, or a link fast enough for whole bodies), it stops at a piece
// boundary and lets the range plan take over.
func (r *run) stream(ctx context.Context, body Body, pos, end int64, open bool) error {
	defer body.Close()
	began := r.d.m.Now()
	for open || pos < end {
		if !open && r.ranged() && r.shouldSwitch(began, end-pos, r.d.opts.Connections > 1) {
			return nil
		}
		max := r.pieceSize()
		if !open {
			max = min(max, end-pos)
		}
		piece, err := r.read(ctx, body, max, r.d.opts.FlushInterval)
		if piece != nil && piece.Size() > 0 {
			if !open && pos+piece.Size() > end {
				return newError(CodeBadResponse, fmt.Errorf("body longer than the %d bytes announced", end))
			}
			if serr := r.handOff(nil, pos, piece); serr != nil {
				return serr
			}
			pos += piece.Size()
		}
		switch {
		case err == nil:
		case errors.Is(err, io.EOF):
			if open {
				// The end of a body of unknown length is the end of the file.
				if err := r.w.wait(); err != nil {
					return err
				}
				r.mu.Lock()
				r.rec.Total = pos
				r.mu.Unlock()
				return r.save()
			}
			if pos < end {
				return r.backoff(ctx, 0, newError(CodeNetwork, fmt.Errorf("at byte %d of %d: %w", pos, end, errShortBody)))
			}
		case ctx.Err() != nil:
			return ctx.Err()
		default:
			return r.backoff(ctx, 0, newError(CodeNetwork, fmt.Errorf("read body at byte %d: %w", pos, err)))
		}
	}
	return nil
}

// read reads one piece of a body, counting its bytes as in flight while
// they arrive.
func (r *run) read(ctx context.Context, body Body, max int64, flushAfter time.Duration) (store.Blob, error) {
	var got int64
	piece, err := body.Read(ctx, max, flushAfter, func(n int64) {
		got += n
		r.mu.Lock()
		r.inflight += n
		r.speed.add(r.d.m.Now(), n)
		r.mu.Unlock()
		r.progress(false)
	})
	r.mu.Lock()
	r.inflight -= got
	r.mu.Unlock()
	return piece, err
}

// backoff waits before the next attempt after a failure, or returns the
// failure when the policy gives up. A download that stores new bytes
// between failures starts counting again, so a flaky link never ends a
// download that is making progress.
func (r *run) backoff(ctx context.Context, asked time.Duration, cause *Error) error {
	r.mu.Lock()
	r.attempt++
	attempt := r.attempt
	if cause.Code == CodeNetwork {
		// A whole body loses every byte it carried when the connection
		// drops; a stream keeps all that arrived.
		r.shaky = r.d.m.Now().Add(shakyFor)
	}
	r.mu.Unlock()
	policy := r.d.opts.Retry
	if policy.GiveUp(attempt) {
		return cause
	}
	delay := policy.Delay(attempt, asked, r.d.m.Rand())
	retryAt := r.d.m.Now().Add(delay)
	r.d.report(true, func(p *Progress) {
		p.Attempt, p.RetryAt, p.ErrCode, p.Err = attempt, retryAt, cause.Code, cause
		p.Speed = 0
	})
	t := time.NewTimer(delay)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
		return ctx.Err()
	}
	r.d.report(true, func(p *Progress) { p.RetryAt = time.Time{} })
	return nil
}

// finish checks that every byte is there, joins the chunks and records the
// download as done.
func (r *run) finish() (Result, error) {
	began := r.d.m.Now()
	ctx, cancel := storageCtx()
	defer cancel()
	chunks, err := r.st.Chunks(ctx, r.d.url)
	if err != nil {
		return Result{}, storageError("read chunks", err)
	}
	parts, err := joinable(chunks, r.rec.Gen, r.rec.Total)
	if err != nil {
		return Result{}, newError(CodeStorage, err)
	}
	blob, err := r.d.m.platform.Join(parts, r.rec.ContentType)
	if err != nil {
		return Result{}, newError(CodeStorage, fmt.Errorf("join %d chunks: %w", len(parts), err))
	}
	if blob.Size() != r.rec.Total {
		return Result{}, newError(CodeStorage, fmt.Errorf("joined %d bytes, want %d", blob.Size(), r.rec.Total))
	}
	r.rec.State = protocol.Done
	if err := r.save(); err != nil {
		return Result{}, err
	}
	r.progress(true)
	return Result{
		URL: r.d.url, Blob: blob, Size: blob.Size(), ContentType: r.rec.ContentType,
		Validators: r.rec.Validators, Resumable: r.rec.Resumable, Reason: r.rec.Reason, Restarts: r.rec.Restarts,
		Stats: r.statsNow(began),
	}, nil
}

// joinable returns the blobs that make up bytes [0, total) of generation
// gen, trimming overlaps, or an error if a byte is missing.
func joinable(chunks []store.Chunk, gen, total int64) ([]store.Blob, error) {
	var parts []store.Blob
	var at int64
	for _, c := range chunks {
		if c.Gen != gen || c.End() <= at {
			continue
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

// progress reports the current byte counts.
func (r *run) progress(force bool) {
	r.mu.Lock()
	stored := r.ext.Len()
	received := stored + r.inflight + r.w.pendingLen()
	total, v, resumable, reason := r.rec.Total, r.rec.Validators, r.rec.Resumable, r.rec.Reason
	attempt := r.attempt
	speed := r.speed.rate(r.d.m.Now())
	r.mu.Unlock()
	r.d.report(force, func(p *Progress) {
		p.Stored, p.Received, p.Total = stored, received, total
		p.Validators, p.Resumable, p.Reason = v, resumable, reason
		p.Speed = speed
		if stored > 0 && attempt == 0 {
			p.Attempt, p.ErrCode, p.Err = 0, "", nil
		}
	})
}

func (r *run) statsNow(finishBegan time.Time) Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.stats
	s.Finish = r.d.m.Now().Sub(finishBegan)
	return s
}
