package resumer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/go-resumer/resumer/wasm/protocol"
)

// How requests are sized. A body is taken whole (Response.blob() in the
// browser: its bytes never enter the JS heap, and it is the fastest path)
// only on a link fast enough that losing one request's bytes costs little;
// otherwise bodies are streamed and stored every FlushInterval. Chunk sizes
// follow the measured speed: about chunkTime of transfer, so that a reload
// loses at most about that much, and requests and commits stay few on a
// fast link. The constants were chosen with `make bench` (see README).
const (
	// fastLink is the per-connection speed from which bodies are taken whole.
	fastLink = 16 << 20
	// chunkTime is the transfer time a whole-body request aims at.
	chunkTime = 150 * time.Millisecond
	// minAutoChunk and maxAutoChunk bound the adaptive chunk size.
	minAutoChunk int64 = 8 << 20
	maxAutoChunk int64 = 16 << 20
	// startChunk is the piece size while the speed is unknown.
	startChunk int64 = 4 << 20
	// minSteal is the least a streaming connection keeps when an idle
	// connection takes half of what it has left.
	minSteal int64 = 1 << 20
	// minBlob is the smallest whole-body request once the tail of the
	// file is split between connections.
	minBlob int64 = 4 << 20
	// minStream is the smallest span a streaming connection asks for.
	minStream int64 = 256 << 10
	// switchAfter is how long a stream runs before it may give way to
	// whole-body requests: long enough to measure the speed. The stream is
	// the slow path on a fast link (in Chromium, about 50 MiB/s while the
	// module warms up, against 250 for whole bodies); 150 ms here cost a
	// 256 MiB download about 120 ms more.
	switchAfter = 60 * time.Millisecond
	// shakyFor is how long bodies are streamed after a connection
	// dropped, whatever the speed: a dropped whole body is lost, a dropped
	// stream keeps what arrived. Another drop extends it.
	shakyFor = 10 * time.Second
	// maxStreamPiece caps a streamed piece: its bytes pass through the JS
	// heap as the Uint8Arrays of the stream until they are joined into a
	// Blob, so large pieces on a fast link would be large garbage.
	maxStreamPiece int64 = 2 << 20
)

// claim is a span one connection is fetching: pos is the next byte it will
// hand over, end one past its last byte (end shrinks when an idle connection
// takes the second half).
type claim struct {
	pos, end int64
	stream   bool
}

// leave asks the parallel phase to stop and the run loop to act on a
// response that changes the plan (the file changed, ranges do not work).
type leave struct{ dec protocol.Decision }

func (l *leave) Error() string { return "leave the range plan: " + l.dec.Action.String() }

// perConnSpeed is the measured speed per busy connection; r.mu held.
func (r *run) perConnSpeed(busy int) float64 {
	return r.speed.rate(r.d.m.Now()) / float64(max(busy, 1))
}

// wholeBodies reports whether bodies are taken whole: the link is fast
// and has not dropped lately; r.mu held.
func (r *run) wholeBodies(speed float64) bool {
	return speed >= fastLink && !r.d.m.Now().Before(r.shaky)
}

// chunkFor returns the request size for a connection speed; r.mu held.
func (r *run) chunkFor(speed float64) int64 {
	if r.d.opts.ChunkSize > 0 {
		return r.d.opts.ChunkSize
	}
	if speed <= 0 {
		return startChunk
	}
	return min(max(int64(speed*chunkTime.Seconds()), minAutoChunk), maxAutoChunk)
}

// pieceSize is the largest piece a stream stores at once.
func (r *run) pieceSize() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return streamPiece(r.chunkFor(r.perConnSpeed(len(r.claims))), r.d.opts.ChunkSize)
}

// streamPiece caps the pieces of a stream at maxStreamPiece, unless the
// caller fixed the chunk size.
func streamPiece(chunk, fixed int64) int64 {
	if fixed > 0 {
		return fixed
	}
	return min(chunk, maxStreamPiece)
}

// shouldSwitch reports whether a stream that began at began, with left
// bytes still to come, should stop at the next piece boundary: the link
// calls for whole-body requests, or other connections are waiting for
// work. A stream near its end finishes: the bytes the server already
// sent would be sent again.
func (r *run) shouldSwitch(began time.Time, left int64, othersWaiting bool) bool {
	if r.d.m.Now().Sub(began) < switchAfter {
		return false
	}
	if othersWaiting {
		return left > 2*minStream // worth sharing with the other connections
	}
	if left <= 2*maxAutoChunk {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.wholeBodies(r.perConnSpeed(len(r.claims)))
}

// parallel fetches the missing spans of a ranged download on up to
// Options.Connections connections, until every byte is stored (or in
// flight to the store), the context ends, or a response changes the plan.
func (r *run) parallel(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	r.w.setCancel(cancel)
	defer r.w.setCancel(nil)
	// A commit of the stream before this phase may have failed after the
	// run loop looked and before the cancel was in place.
	if err := r.w.failed(); err != nil {
		return err
	}
	n := r.d.opts.Connections
	done := make(chan error, n)
	for range n {
		go func() { done <- r.worker(ctx, n) }()
	}
	var first error
	for range n {
		if err := <-done; err != nil && first == nil {
			first = err
			cancel()
		}
	}
	if err := r.w.wait(); err != nil {
		return err // a write failed (quota): that is the cause
	}
	var l *leave
	if !errors.As(first, &l) {
		return first
	}
	switch l.dec.Action {
	case protocol.Whole:
		if err := r.reset(false); err != nil {
			return err
		}
		r.mu.Lock()
		r.rec.NoRanges, r.rec.Reason = true, l.dec.Reason
		r.mu.Unlock()
		return r.save()
	default: // Restart, Adopt: the file changed; start over from byte 0
		r.mu.Lock()
		r.restarts++
		restarts := r.restarts
		r.mu.Unlock()
		if restarts > maxRestarts {
			return newError(CodeBadResponse, fmt.Errorf("the file changed %d times in a row while downloading", restarts))
		}
		return r.reset(l.dec.Changed)
	}
}

// worker is one connection: it claims spans and fetches them until none is
// left.
func (r *run) worker(ctx context.Context, n int) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		c, blob, chunk, ok := r.claim(n)
		if !ok {
			return nil
		}
		err := r.fetchClaim(ctx, c, blob, chunk)
		r.release(c)
		if err != nil {
			return err
		}
	}
}

// claim picks the next span for a connection: the first byte nobody has,
// stores or fetches, sized for the current mode; or, when every byte is
// taken, the second half of the stream with the most left.
func (r *run) claim(n int) (c *claim, blob bool, chunk int64, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	speed := r.perConnSpeed(len(r.claims))
	blob = r.wholeBodies(speed)
	chunk = r.chunkFor(speed)
	for {
		taken := r.w.pendingSpans()
		for c := range r.claims {
			taken = append(taken, protocol.Span{Start: c.pos, End: c.end})
		}
		free := protocol.Subtract(r.ext.Missing(r.rec.Total), taken)
		if len(free) > 0 {
			var left int64
			for _, s := range free {
				left += s.Len()
			}
			share := (left + int64(n) - 1) / int64(n)
			size := max(share, minStream) // a stream takes its share of what is left
			if blob {
				// Whole bodies, balanced between the connections, but not
				// so small at the tail that requests cost more than they
				// carry.
				size = max(min(chunk, share), min(chunk, minBlob))
			}
			s := free[0]
			c = &claim{pos: s.Start, end: min(s.End, s.Start+size), stream: !blob}
			r.claims[c] = struct{}{}
			return c, blob, chunk, true
		}
		var best *claim
		for c := range r.claims {
			if c.stream && (best == nil || c.end-c.pos > best.end-best.pos) {
				best = c
			}
		}
		if best == nil || best.end-best.pos < 2*minSteal {
			return nil, false, 0, false
		}
		// Let the stream stop halfway; the loop claims the rest.
		best.end = best.pos + (best.end-best.pos)/2
	}
}

// release forgets a claim: what it did not hand over is free again.
func (r *run) release(c *claim) {
	r.mu.Lock()
	delete(r.claims, c)
	r.mu.Unlock()
}

// claimEnd reads the (possibly shrunk) end of a claim.
func (r *run) claimEnd(c *claim) int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return c.end
}

// fetchClaim asks for a claim's span and stores what comes. It returns nil
// to go on (also after a failure it waited for), or an error that ends the
// phase.
func (r *run) fetchClaim(ctx context.Context, c *claim, blob bool, chunk int64) error {
	r.mu.Lock()
	req := protocol.Request{Start: c.pos, End: c.end}
	if !r.rec.NoIfRange {
		req.IfRange, _ = r.rec.Validators.IfRange()
	}
	r.mu.Unlock()
	resp, err := r.fetch(ctx, req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return r.fetchFailed(ctx, req, err)
	}
	dec := protocol.Decide(req, r.stored(), resp.Response, r.d.m.Now())
	if dec.Action != protocol.Append {
		resp.Body.Close()
	}
	switch dec.Action {
	case protocol.Append:
		r.mu.Lock()
		r.rejects = 0
		r.mu.Unlock()
		return r.readClaim(ctx, resp.Body, c, blob, chunk)
	case protocol.Retry:
		var se *protocol.StatusError
		errors.As(dec.Err, &se)
		return r.backoff(ctx, dec.RetryAfter, &Error{Code: CodeHTTPStatus, Status: se.Status, Err: dec.Err})
	case protocol.Reject, protocol.Finish:
		r.mu.Lock()
		r.rejects++
		rejects := r.rejects
		r.mu.Unlock()
		err := newError(CodeBadResponse, fmt.Errorf("%s: %w", req.RangeHeader(), dec.Err))
		if dec.Action == protocol.Finish {
			err = newError(CodeBadResponse, fmt.Errorf("%s: 416 for a range inside the file", req.RangeHeader()))
		}
		if rejects >= maxRejects {
			return err
		}
		return r.backoff(ctx, 0, err)
	case protocol.Fail:
		var se *protocol.StatusError
		if errors.As(dec.Err, &se) {
			return &Error{Code: CodeHTTPStatus, Status: se.Status, Err: dec.Err}
		}
		return newError(CodeBadResponse, dec.Err)
	default:
		return &leave{dec}
	}
}

// readClaim stores a 206 body piece by piece until the claim's end. A
// stream that finds the link fast enough for whole bodies, or that an idle
// connection took the rest from, stops at a piece boundary.
func (r *run) readClaim(ctx context.Context, body Body, c *claim, blob bool, chunk int64) error {
	defer body.Close()
	began := r.d.m.Now()
	pos := c.pos
	for {
		end := r.claimEnd(c)
		if pos >= end {
			return nil
		}
		if !blob && r.shouldSwitch(began, end-pos, false) {
			return nil
		}
		flush := r.d.opts.FlushInterval
		max := min(streamPiece(chunk, r.d.opts.ChunkSize), end-pos)
		if blob {
			flush, max = 0, end-pos
		}
		piece, err := r.read(ctx, body, max, flush)
		if piece != nil && piece.Size() > 0 {
			if piece.Size() > max {
				return newError(CodeBadResponse, fmt.Errorf("body longer than the %d bytes asked for", max))
			}
			if serr := r.handOff(c, pos, piece); serr != nil {
				return serr
			}
			pos += piece.Size()
		}
		switch {
		case err == nil:
		case errors.Is(err, io.EOF):
			if pos < r.claimEnd(c) {
				return r.backoff(ctx, 0, newError(CodeNetwork, fmt.Errorf("at byte %d: %w", pos, errShortBody)))
			}
			return nil
		case ctx.Err() != nil:
			return ctx.Err()
		default:
			return r.backoff(ctx, 0, newError(CodeNetwork, fmt.Errorf("read body at byte %d: %w", pos, err)))
		}
	}
}
