package resumer

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"sync"

	"github.com/go-resumer/resumer/wasm/protocol"
	"github.com/go-resumer/resumer/wasm/store"
)

// Checking integrity
//
// A download with a digest to meet (Options.Integrity, or a Repr-Digest the
// server stated) hashes its bytes in order, as they are committed. The run
// decides what is hashed next: committed pieces from hashing.next on, in
// order; a piece committed ahead of that (several connections, a short
// answer) waits in hashing.ahead. A hashing goroutine hands each piece to
// the platform's BlobHasher (in the browser, SHA-256 in a Worker; where a
// platform can only read blobs, Go's hash over bytes copied into Go) and
// sends evHashed after each piece with the hash's state, which the run
// writes into the record every hashSaveStep bytes and at the end: a resume
// after a reload hashes only what was stored since.

// hashReadStep caps the bytes copied into Go at once (HashRead, Reader).
const hashReadStep int64 = 4 << 20

// hashSaveStep is how many hashed bytes may go unrecorded: what a resume
// after a reload reads again.
const hashSaveStep int64 = 16 << 20

// hashing is the run's side of the check. The run owns every field but the
// worker's, which has its own lock.
type hashing struct {
	gen   int64
	want  protocol.Digest
	next  int64                // bytes handed to the worker
	done  int64                // bytes the worker hashed (evHashed)
	sum   []byte               // the hash of the first done bytes
	ahead map[int64]store.Blob // committed pieces past next, by start
	w     *hashWorker
}

// hashWorker is the goroutine that hashes; jobs are taken in order.
type hashWorker struct {
	mu   sync.Mutex // guards jobs and quit
	jobs []hashJob
	quit bool
	kick chan struct{} // a job was added or quit set
	stop chan struct{} // closed with quit: ends a blocked send
}

type hashJob struct {
	pos  int64
	blob store.Blob
}

// evHashed: the worker w hashed up to upTo bytes of generation gen; state
// and sum are the hash's after them. err ends the download (the bytes could
// not be read).
type evHashed struct {
	w         *hashWorker
	gen, upTo int64
	state     []byte
	sum       []byte
	err       error
}

func (ev evHashed) handle(r *run) {
	h := r.hash
	// Only the current worker's word counts: one stopped by rehash (same
	// generation) may still deliver a result, of bytes taken back.
	if h == nil || ev.w != h.w || ev.gen != h.gen || ev.gen != r.rec.Gen {
		return
	}
	if ev.err != nil {
		if r.fatal == nil {
			r.fatal = newError(CodeStorage, fmt.Errorf("hash stored bytes at %d: %w", h.done, ev.err))
		}
		return
	}
	h.done, h.sum = ev.upTo, ev.sum
	r.rec.Hashed, r.rec.HashState = ev.upTo, ev.state
	if ev.upTo-r.savedHash >= hashSaveStep {
		if err := r.save(); err != nil && r.fatal == nil {
			r.fatal = err
		}
	}
}

// digestFor is the digest a download must meet, and who said so: the
// app's Integrity option, else what the response states.
func (r *run) digestFor(resp *Response) (protocol.Digest, string, error) {
	server, field, ok := resp.FileDigest()
	if !r.integrity.Empty() {
		if ok && server.Alg == r.integrity.Alg && !server.Equal(r.integrity) {
			// Said before a byte is stored: the server serves another
			// file than the app expects.
			return protocol.Digest{}, "", newError(CodeIntegrity, fmt.Errorf("the server's %s says the file's %s is %s; integrity wants %s",
				field, server.Alg, b64(server.Sum), b64(r.integrity.Sum)))
		}
		return r.integrity, store.DigestIntegrity, nil
	}
	if ok {
		if _, can := r.m.hasher(); can {
			return server, field, nil
		}
	}
	return protocol.Digest{}, "", nil
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// startHash begins checking generation r.rec.Gen against r.rec.Digest,
// from r.rec.Hashed bytes with the saved state, or from 0. A download
// without a digest (or with a server's digest on a platform that cannot
// hash) starts none. The worker goroutine runs until stopHash.
func (r *run) startHash() error {
	r.stopHash()
	hasher, ok := r.m.hasher()
	if !ok && r.rec.DigestFrom != store.DigestIntegrity {
		r.rec.Digest, r.rec.DigestFrom, r.rec.Hashed, r.rec.HashState = protocol.Digest{}, "", 0, nil
	}
	if r.rec.Digest.Empty() {
		return nil
	}
	if !ok {
		return newError(CodeInvalid, errors.New("integrity: this platform cannot hash the bytes it stores"))
	}
	empty, err := protocol.NewHash(r.rec.Digest.Alg)
	if err != nil {
		return newError(CodeInternal, fmt.Errorf("hash %s: %w", r.rec.Digest.Alg, err))
	}
	sum := empty.Sum(nil)
	if r.rec.Hashed > 0 {
		// The sum of what was hashed before (all of it, for a finished
		// file), which also shows that the saved state can be taken up.
		ctx, cancel := storageCtx()
		_, s, err := hasher.HashBlob(ctx, r.rec.Digest.Alg, r.rec.HashState, nil)
		cancel()
		if err != nil {
			// Not readable (saved by another hasher, damaged): hash the
			// stored bytes again.
			r.rec.Hashed, r.rec.HashState = 0, nil
		} else {
			sum = s
		}
	}
	w := &hashWorker{kick: make(chan struct{}, 1), stop: make(chan struct{})}
	r.hash = &hashing{gen: r.rec.Gen, want: r.rec.Digest, next: r.rec.Hashed, done: r.rec.Hashed, sum: sum, ahead: map[int64]store.Blob{}, w: w}
	r.savedHash = r.rec.Hashed
	go r.hashLoop(w, hasher, r.rec.Gen, r.rec.Hashed, r.rec.Digest.Alg, r.rec.HashState)
	return nil
}

// stopHash ends the hashing of the current generation, if any.
func (r *run) stopHash() {
	if r.hash == nil {
		return
	}
	w := r.hash.w
	w.mu.Lock()
	if !w.quit {
		w.quit = true
		close(w.stop)
	}
	w.mu.Unlock()
	select {
	case w.kick <- struct{}{}:
	default:
	}
	r.hash = nil
}

// offerHash hands a committed piece [pos, pos+b.Size()) to the hash, in
// order: it is hashed now if it continues what was handed over, else kept
// until the bytes before it are committed.
func (r *run) offerHash(pos int64, b store.Blob) {
	h := r.hash
	if h == nil || h.gen != r.rec.Gen || b == nil {
		return
	}
	end := pos + b.Size()
	if end <= h.next {
		return
	}
	if pos > h.next {
		if old, ok := h.ahead[pos]; !ok || old.Size() < b.Size() {
			h.ahead[pos] = b
		}
		return
	}
	h.w.add(hashJob{pos: h.next, blob: b.Slice(h.next-pos, b.Size())})
	h.next = end
	for {
		var found bool
		for p, ab := range h.ahead {
			e := p + ab.Size()
			switch {
			case e <= h.next:
				delete(h.ahead, p)
			case p <= h.next:
				delete(h.ahead, p)
				h.w.add(hashJob{pos: h.next, blob: ab.Slice(h.next-p, ab.Size())})
				h.next, found = e, true
			}
		}
		if !found {
			return
		}
	}
}

// unhash takes a committed piece that was discarded out of the hash: a
// piece waiting to be hashed is dropped (its replacement will be offered),
// and it reports whether bytes already handed over were among it, which
// the hash must then start over without (rehash).
func (r *run) unhash(s protocol.Span) bool {
	h := r.hash
	if h == nil {
		return false
	}
	for p, b := range h.ahead {
		if p < s.End && s.Start < p+b.Size() {
			delete(h.ahead, p)
		}
	}
	return s.Start < h.next
}

// offerChunks hands the committed chunks of the current generation to the
// hash: after a load, and after bytes already hashed were taken back.
func (r *run) offerChunks(chunks []store.Chunk) {
	for _, c := range chunks {
		if c.Gen == r.rec.Gen && c.Data != nil && r.ext.Contains(c.Start, c.End()) {
			r.offerHash(c.Start, c.Data)
		}
	}
}

// rehash starts the hash of the current generation over, when bytes it
// already hashed were taken back (a broken body): their replacements may
// differ.
func (r *run) rehash() error {
	if r.hash == nil {
		return nil
	}
	r.rec.Hashed, r.rec.HashState = 0, nil
	if err := r.startHash(); err != nil {
		return err
	}
	// The saved state covers bytes taken back: a reload must not take it
	// up.
	if err := r.save(); err != nil {
		return err
	}
	sctx, cancel := storageCtx()
	defer cancel()
	chunks, err := r.st.Chunks(sctx, r.d.key)
	if err != nil {
		return storageError("read chunks to hash again", err)
	}
	r.offerChunks(chunks)
	return nil
}

func (w *hashWorker) add(j hashJob) {
	w.mu.Lock()
	w.jobs = append(w.jobs, j)
	w.mu.Unlock()
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// take returns the next job, waiting for one; ok is false once quit.
func (w *hashWorker) take() (hashJob, bool) {
	for {
		w.mu.Lock()
		if w.quit {
			w.mu.Unlock()
			return hashJob{}, false
		}
		if len(w.jobs) > 0 {
			j := w.jobs[0]
			w.jobs = w.jobs[1:]
			w.mu.Unlock()
			return j, true
		}
		w.mu.Unlock()
		<-w.kick
	}
}

// hashLoop is the worker's goroutine: it hashes each job's bytes through
// the platform and reports after each job.
func (r *run) hashLoop(w *hashWorker, hasher BlobHasher, gen, at int64, alg string, state []byte) {
	send := func(ev evHashed) bool {
		select {
		case r.events <- ev:
			return true
		case <-w.stop:
			return false
		}
	}
	for {
		j, ok := w.take()
		if !ok {
			return
		}
		if j.pos != at {
			send(evHashed{w: w, gen: gen, err: fmt.Errorf("internal: piece at %d handed to a hash at %d", j.pos, at)})
			return
		}
		// In steps, each with its own deadline: a piece may be a whole
		// file (Put) of gigabytes, which no one deadline fits.
		for off := int64(0); off < j.blob.Size(); {
			n := min(hashJobStep, j.blob.Size()-off)
			ctx, cancel := storageCtx()
			next, sum, err := hasher.HashBlob(ctx, alg, state, j.blob.Slice(off, off+n))
			cancel()
			if err != nil {
				send(evHashed{w: w, gen: gen, err: err})
				return
			}
			off, at, state = off+n, at+n, next
			if !send(evHashed{w: w, gen: gen, upTo: at, state: next, sum: sum}) {
				return
			}
		}
	}
}

// hashJobStep is the most bytes hashed under one deadline.
const hashJobStep int64 = 16 << 20

// verify waits until every byte of the file is hashed and compares the
// hash with the digest. A file that does not match is discarded.
func (r *run) verify(ctx context.Context) error {
	h := r.hash
	if h == nil {
		return nil
	}
	if h.next < r.rec.Total {
		return newError(CodeInternal, fmt.Errorf("only %d of %d bytes were handed to the hash", h.next, r.rec.Total))
	}
	for h.done < r.rec.Total && r.fatal == nil {
		select {
		case ev := <-r.events:
			ev.handle(r)
		case <-ctx.Done():
			return context.Cause(ctx)
		}
		if r.hash != h {
			return newError(CodeInternal, errors.New("the hash changed while verifying"))
		}
	}
	if r.fatal != nil {
		return r.fatal
	}
	if bytes.Equal(h.sum, h.want.Sum) {
		return nil
	}
	err := newError(CodeIntegrity, fmt.Errorf("the file's %s is %s; %s wants %s (its %d bytes are discarded)",
		h.want.Alg, b64(h.sum), r.rec.DigestFrom, b64(h.want.Sum), r.rec.Total))
	if gerr := r.newGeneration(false, nil); gerr != nil {
		return errors.Join(err, gerr)
	}
	return err
}
