package resumer

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/go-resumer/resumer/wasm/protocol"
	"github.com/go-resumer/resumer/wasm/store"
)

// Checking integrity
//
// A download with a digest to meet (Options.Integrity, or a Repr-Digest the
// server stated) hashes its bytes in order, as they are committed. The
// session decides what is hashed next: committed pieces from next on, in
// order; a piece committed ahead of that (several connections, a short
// answer) waits in ahead. A hash worker of the shell hashes each piece
// where its bytes are (fxHash) and reports after it with the hash's state
// (evHashed), which the session writes into the record every hashSaveStep
// bytes and at the end: a resume after a reload hashes only what was
// stored since. A state that cannot be taken up, and a file that does not
// match a state taken up, are hashed again from byte 0: only a mismatch of
// bytes hashed in one go condemns them.

// hashProgress is the session's side of the check of one generation.
type hashProgress struct {
	w    int // the worker's id: only its reports count
	gen  int64
	want protocol.Digest
	// from is where the worker started: past 0, it took up a saved state.
	from int64
	// ready: the worker showed it could take up its start state.
	ready bool
	next  int64 // bytes handed to the worker
	done  int64 // bytes the worker hashed
	sum   []byte
	ahead map[int64]store.Blob // committed pieces past next, by start
	// rehashing: the chunks were asked for to hash them again (fxChunks).
	rehashing bool
}

// loadHash resumes the check of a loaded download's bytes: against the
// app's Integrity when it gives one (from the start if it is not the
// digest the bytes were hashed for), else against a digest the server
// stated; it hands the stored bytes not yet hashed to the hash.
func (s *session) loadHash(chunks []store.Chunk) {
	integrity := s.cfg.app.Integrity
	switch {
	case !integrity.Empty() && (s.rec.DigestFrom != store.DigestIntegrity || !s.rec.Digest.Equal(integrity)):
		s.rec.Digest, s.rec.DigestFrom, s.rec.Hashed, s.rec.HashState = integrity, store.DigestIntegrity, 0, nil
	case integrity.Empty() && s.rec.DigestFrom == store.DigestIntegrity:
		// The app no longer asks: its word of an earlier session does not
		// bind this one.
		s.rec.Digest, s.rec.DigestFrom, s.rec.Hashed, s.rec.HashState = protocol.Digest{}, "", 0, nil
	}
	if !s.rec.Established() {
		return
	}
	if s.rec.Hashed > s.ext.Len() || !s.ext.Contains(0, s.rec.Hashed) {
		// Bytes hashed that are not stored any more (evicted, dropped):
		// their replacements must be hashed.
		s.rec.Hashed, s.rec.HashState = 0, nil
	}
	s.startHash()
	s.offerChunks(chunks)
}

// startHash begins checking generation rec.Gen against rec.Digest, from
// rec.Hashed bytes with the saved state, or from 0. A download without a
// digest (or with a server's digest on a platform that cannot hash)
// starts none.
func (s *session) startHash() {
	s.stopHash()
	if !s.cfg.app.CanHash && s.rec.DigestFrom != store.DigestIntegrity {
		s.rec.Digest, s.rec.DigestFrom = protocol.Digest{}, ""
	}
	if s.rec.Digest.Empty() {
		s.rec.Hashed, s.rec.HashState = 0, nil
		return
	}
	if s.rec.Hashed > 0 && len(s.rec.HashState) == 0 {
		s.rec.Hashed = 0
	}
	s.nextWorker++
	s.hash = &hashProgress{w: s.nextWorker, gen: s.rec.Gen, want: s.rec.Digest, from: s.rec.Hashed,
		next: s.rec.Hashed, done: s.rec.Hashed, ahead: map[int64]store.Blob{}}
	s.hashSaved = s.rec.Hashed
	s.emit(fxHashStart{w: s.nextWorker, alg: s.rec.Digest.Alg, from: s.rec.Hashed, state: s.rec.HashState})
}

// stopHash ends the hashing of the current generation, if any.
func (s *session) stopHash() {
	s.hashLost = false
	if s.hash == nil {
		return
	}
	s.emit(fxHashStop{s.hash.w})
	s.hash = nil
}

// hashed takes a worker's report.
func (s *session) hashed(ev evHashed) {
	h := s.hash
	// Only the current worker's word counts: a stopped one may still
	// deliver a result, of bytes taken back.
	if h == nil || ev.w != h.w || h.gen != s.rec.Gen {
		return
	}
	if ev.err != nil {
		if !h.ready {
			// Its start state cannot be taken up (saved by another
			// hasher, damaged): hash the stored bytes again.
			s.notice("the saved state of the integrity check could not be taken up; checking the stored bytes again")
			s.rehash()
			return
		}
		err := newError(CodeStorage, fmt.Errorf("hash stored bytes at %d: %w", h.done, ev.err))
		if errors.Is(ev.err, store.ErrBlobLost) && !s.cfg.opts.Retry.GiveUp(s.hashAttempt+1) {
			// The bytes of a piece could not be read to hash them
			// (WebKit, while the page unloads): nothing says the stored
			// bytes are wrong. The hash stops where it got, and after a
			// back-off of the retry policy starts again from there on the
			// chunks read again from the store (retryHash), as a request
			// is sent again after a cut connection; requests go on
			// meanwhile. A page that goes away thus leaves its download
			// interrupted, not failed; bytes that stay unreadable fail it
			// once the retries are spent.
			s.emit(fxHashStop{h.w})
			h.w = 0 // no worker: a late report of the stopped one is not taken
			s.hashLost, s.hashAttempt = true, s.hashAttempt+1
			s.hashHold = s.now.Add(s.cfg.opts.Retry.Delay(s.hashAttempt, 0, s.cfg.jitter()))
			return
		}
		s.fail(err)
		return
	}
	h.ready = true
	if ev.upTo > h.done {
		s.hashAttempt = 0
	}
	h.done, h.sum = ev.upTo, ev.sum
	s.stats.HashTime += ev.took
	if ev.upTo == h.from && h.from > 0 {
		return // the sum of the saved state
	}
	s.rec.Hashed, s.rec.HashState = ev.upTo, ev.state
	if ev.upTo-s.hashSaved >= hashSaveStep && s.phase == phaseFetch {
		s.save(opSave)
	}
}

// offerHash hands a committed piece to the hash, in order: it is hashed
// now if it continues what was handed over, else kept until the bytes
// before it are committed.
func (s *session) offerHash(p piece) {
	h := s.hash
	if h == nil || h.gen != p.gen || p.blob == nil {
		return
	}
	end := p.end()
	if end <= h.next {
		return
	}
	if p.pos > h.next {
		if old, ok := h.ahead[p.pos]; !ok || old.Size() < p.blob.Size() {
			h.ahead[p.pos] = p.blob
		}
		return
	}
	s.emit(fxHash{w: h.w, blob: p.blob, from: h.next - p.pos, to: p.blob.Size()})
	h.next = end
	for {
		found := false
		for at, b := range h.ahead {
			e := at + b.Size()
			switch {
			case e <= h.next:
				delete(h.ahead, at)
			case at <= h.next:
				delete(h.ahead, at)
				s.emit(fxHash{w: h.w, blob: b, from: h.next - at, to: b.Size()})
				h.next, found = e, true
			}
		}
		if !found {
			return
		}
	}
}

// retryHash starts the hash again, from where it got, once the back-off
// after a piece it could not read is over (hashed); it reports whether it
// is still waiting. rec.Hashed and rec.HashState are the last state the
// hash reported: the new one takes it up, and the chunks are read again
// from the store and offered from there (fxChunks).
func (s *session) retryHash() (waiting bool) {
	// hashLost implies a hash: it is set only on a report of the current
	// one (hashed), and stopHash, the one place a hash is dropped, clears it.
	if !s.hashLost {
		return false
	}
	if s.hashHold.After(s.now) {
		return true
	}
	s.hashLost = false
	saved := s.hashSaved // what the record says is unchanged
	s.startHash()
	s.hashSaved = saved
	if s.hash != nil {
		s.hash.rehashing = true
		s.emit(fxChunks{chunksRehash})
	}
	return false
}

// offerChunks hands the committed chunks of the current generation to the
// hash: after a load, and when every byte is hashed again.
func (s *session) offerChunks(chunks []store.Chunk) {
	if s.hash != nil {
		s.hash.rehashing = false
	}
	for _, c := range chunks {
		if c.Gen == s.rec.Gen && c.Data != nil && s.ext.Contains(c.Start, c.End()) {
			s.offerHash(piece{gen: c.Gen, pos: c.Start, blob: c.Data})
		}
	}
}

// rehash starts the hash of the current generation over from byte 0: when
// its saved state cannot be taken up, and before a file whose state was
// taken up is condemned.
func (s *session) rehash() {
	if s.hash == nil {
		return
	}
	s.rec.Hashed, s.rec.HashState = 0, nil
	s.startHash()
	s.hash.rehashing = true
	// A reload must not take the doubtful state up either.
	s.save(opSave)
	s.emit(fxChunks{chunksRehash})
}

// checkHash is the verdict on a complete file: ok when it matches its
// digest (or has none to meet), done false while bytes are still being
// hashed. A file that does not match, hashed in one go from byte 0, is
// discarded, and the session fails with CodeIntegrity.
func (s *session) checkHash() (ok, done bool) {
	h := s.hash
	switch {
	case h == nil:
		return true, true
	case h.rehashing || !h.ready || h.done < s.rec.Total:
		if !h.rehashing && h.ready && h.next < s.rec.Total {
			s.fail(newError(CodeInternal, fmt.Errorf("only %d of %d bytes were handed to the hash", h.next, s.rec.Total)))
			return false, true
		}
		return false, false
	case bytes.Equal(h.sum, h.want.Sum):
		return true, true
	case h.from > 0:
		// The hash took up a saved state: hash every byte again before
		// condemning them.
		s.notice("the file does not match its digest as far as the saved hash state goes; checking every byte again")
		s.rehash()
		return false, false
	}
	err := newError(CodeIntegrity, fmt.Errorf("the file's %s is %s; %s wants %s (its %d bytes are discarded)",
		h.want.Alg, b64(h.sum), s.rec.DigestFrom, b64(h.want.Sum), s.rec.Total))
	s.newGeneration(false, nil)
	s.fail(err)
	return false, true
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
