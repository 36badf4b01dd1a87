package resumer

import (
	"errors"
	"fmt"

	"github.com/go-resumer/resumer/wasm/protocol"
	"github.com/go-resumer/resumer/wasm/store"
)

// gotPiece places the next piece of a flight's body: written now (or as
// soon as a write slot is free), or held until the body's end shows
// whether it counts.
func (s *session) gotPiece(ev evPiece) {
	// The shell counted the piece as queued when it arrived: the session's
	// own count replaces that, whatever becomes of the piece.
	defer s.report(s.progress(false))
	f := s.flights[ev.id]
	if f == nil || ev.blob == nil || ev.blob.Size() == 0 {
		if f != nil {
			s.more(f)
		}
		return
	}
	if f.gen != s.rec.Gen || s.noStore {
		// Bytes of a discarded generation, or that may not be stored:
		// their flight is being stopped.
		return
	}
	size := ev.blob.Size()
	if m := s.cfg.opts.MaxBytes; m > 0 && f.pos+size > m {
		s.fail(newError(CodeTooLarge, &protocol.TooLargeError{Size: f.pos + size, Max: m}))
		return
	}
	p := piece{gen: f.gen, pos: f.pos, blob: ev.blob}
	f.pos += size
	f.handed = append(f.handed, protocol.Span{Start: p.pos, End: p.end()})
	switch {
	case f.exact:
		// Counts once the body ended exactly where its answer said.
		f.held = append(f.held, p)
	case f.open:
		// The last piece of a body of unknown length is held until the
		// body's end shows whether it ends the file: it is then written
		// with the record that states the length.
		for _, h := range f.held {
			s.write(h)
		}
		f.held = []piece{p}
	default:
		s.write(p)
	}
	s.more(f)
}

// more lets f hand over its next piece, now if no piece waits for a write
// slot, else once one is free (flushQueue).
func (s *session) more(f *flight) {
	if f.canceled {
		return
	}
	if f.exact || len(s.queue) == 0 {
		f.waiting = false
		s.emit(fxMore{f.id})
		return
	}
	f.waiting = true
}

// write stores p, now or once the record is settled and a write slot is
// free.
func (s *session) write(p piece) {
	s.queue = append(s.queue, p)
	s.flushQueue()
}

// flushQueue starts the writes that wait, as slots free up, and lets the
// flights that waited for one go on.
func (s *session) flushQueue() {
	for len(s.queue) > 0 && s.writes < maxWrites && s.settling == 0 && !s.unsettled {
		p := s.queue[0]
		s.queue = s.queue[1:]
		if p.gen != s.rec.Gen || s.noStore {
			continue
		}
		s.pending[p.pos] = p.end()
		s.writes++
		w := fxWrite{p: p, last: p.last}
		if p.last {
			w.rec = s.rec
			w.rec.Received = s.ext.Len()
			w.rec.Updated = s.now.UnixMilli()
		}
		s.emit(w)
	}
	if len(s.queue) > 0 {
		return
	}
	for _, f := range s.flights {
		if f.waiting {
			s.more(f)
		}
	}
}

// committed counts a piece once its write committed: the chunk's key is
// its progress.
func (s *session) committed(ev evCommitted) {
	s.writes--
	s.stats.Commits++
	s.stats.CommitTime += ev.took
	defer s.flushQueue()
	p := ev.p
	if p.gen != s.rec.Gen {
		if ev.err == nil {
			// A late write of a discarded generation: remove it now
			// rather than at the next load.
			s.emit(fxDeleteChunk{p.gen, p.pos})
		}
		return
	}
	delete(s.pending, p.pos)
	if ev.err != nil && errors.Is(ev.err, store.ErrBlobLost) && s.rec.Mode.Ranged() && !ev.last {
		// The piece's bytes were lost before they were stored (WebKit,
		// while the page unloads): nothing was written, and the span is
		// asked again, after a back-off, as after a cut connection. A
		// page that goes away thus leaves its download interrupted, not
		// failed.
		s.backoff(0, newError(CodeNetwork, fmt.Errorf("store bytes %d-%d: %w", p.pos, p.end()-1, ev.err)))
		return
	}
	if ev.err != nil {
		s.fail(storageError(fmt.Sprintf("store bytes %d-%d", p.pos, p.end()-1), ev.err))
		return
	}
	s.ext.Add(p.pos, p.end())
	if ev.last {
		// What the record written with the piece says, which the hash
		// may have passed since.
		s.hashSaved = ev.hashed
	}
	s.offerHash(p)
	if n := s.ext.Len(); n > s.highWater {
		s.highWater = n
		s.attempt, s.restarts = 0, 0
	}
	s.checkGrowth()
	s.report(s.progress(false))
}

// checkGrowth asks, every quotaStep bytes of a download of unknown
// length, whether the storage can take the next quotaStep.
func (s *session) checkGrowth() {
	if s.rec.Total != protocol.UnknownSize || s.ext.Len() < s.nextQuota {
		return
	}
	s.nextQuota = s.ext.Len() + quotaStep
	if s.cfg.estimates {
		s.emit(fxSpace{spaceGrowth})
	}
}

// ended applies what the end of a request means (protocol.End).
func (s *session) ended(ev evEnd) {
	f := s.flights[ev.id]
	if f == nil {
		return
	}
	if ev.answer != nil {
		s.answer = ev.answer
	}
	st := s.storedView() // with what f holds: a single stream's bytes count
	delete(s.flights, ev.id)
	s.pace.measure(f, ev)
	if f.gen != s.rec.Gen {
		return // stale: what it held goes with it
	}
	e := protocol.Ending{Outcome: ev.outcome, Answered: !f.answered.IsZero(), Read: f.reading, Open: f.open, At: f.pos,
		Exact: f.exact, CrossOrigin: ev.crossOrigin, PlainTrial: s.plainTrial}
	d := protocol.End(st, f.req, e)
	switch {
	case d.Discard:
		// None of its pieces counts: an exact body holds them all until
		// its end.
	case d.Total != protocol.UnknownSize:
		// The end of a body of unknown length is the end of the file:
		// its last piece is written with the record that says so.
		s.rec.Total = d.Total
		if n := len(f.held); n > 0 {
			for _, h := range f.held[:n-1] {
				s.write(h)
			}
			last := f.held[n-1]
			last.last = true
			s.write(last)
		} else {
			s.save(opSave)
		}
	case !d.NewGen:
		// Bytes of an exact body that ended where it had to, or of an
		// open one stopped midway (a pause keeps them).
		for _, h := range f.held {
			s.write(h)
		}
	}
	f.held = nil
	if s.fatal != nil {
		return // ending: nothing more is asked
	}
	if d.Fail {
		// As fetch() would: nothing is stored, and the app asked for its
		// answer (Options.FirstAnswer).
		s.fail(newError(CodeNetwork, fmt.Errorf("%s: %w", describe(f.req), ev.err)))
		return
	}
	if d.Notice != "" {
		s.notice(d.Notice)
	}
	s.plainTrial = d.PlainTrial
	if d.Mode != s.rec.Mode {
		s.rec.Mode = d.Mode
		s.save(opSave)
	}
	switch {
	case d.Reject:
		s.reject(f, ev.err)
	case d.NewGen:
		s.newGeneration(false, nil)
	}
	if d.Backoff {
		s.backoff(0, newError(CodeNetwork, fmt.Errorf("%s: %w", describe(f.req), ev.err)))
	}
}
