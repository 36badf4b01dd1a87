package resumer

import (
	"fmt"
	"sync"

	"github.com/go-resumer/resumer/wasm/protocol"
	"github.com/go-resumer/resumer/wasm/resumer/platform"
	"github.com/go-resumer/resumer/wasm/store"
)

// A hash worker is the goroutine of the shell that hashes a generation's
// bytes in order (session_hash.go decides what): it hands each piece to the
// platform's BlobHasher (in the browser, hash-wasm in a Worker; where a
// platform can only read blobs, Go's hash over bytes copied into Go) and
// sends evHashed after each step with the hash's state.

// hashJobStep is the most bytes hashed under one deadline: a piece may be
// a whole file (Put) of gigabytes, which no one deadline fits.
const hashJobStep int64 = 16 << 20

// hashWorker holds a worker's jobs; they are taken in order.
type hashWorker struct {
	mu      sync.Mutex // guards jobs and stopped
	jobs    []store.Blob
	stopped bool
	kick    chan struct{} // a job was added or the worker stopped
	stop    chan struct{} // closed when it stops: ends a blocked send
}

// startHash starts worker fx.w.
func (sh *shell) startHash(fx fxHashStart) {
	hasher, ok := sh.m.hasher()
	w := &hashWorker{kick: make(chan struct{}, 1), stop: make(chan struct{})}
	sh.workers[fx.w] = w
	if !ok {
		// The session starts no worker where the platform cannot hash; a
		// worker that cannot must say so rather than never answer.
		go w.send(sh, evHashed{w: fx.w, err: fmt.Errorf("this platform cannot hash the bytes it stores")})
		return
	}
	go sh.hashLoop(fx, w, hasher)
}

func (w *hashWorker) add(b store.Blob) {
	w.mu.Lock()
	w.jobs = append(w.jobs, b)
	w.mu.Unlock()
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

func (w *hashWorker) quit() {
	w.mu.Lock()
	if !w.stopped {
		w.stopped = true
		close(w.stop)
	}
	w.mu.Unlock()
}

// take returns the next job, waiting for one; ok is false once stopped.
func (w *hashWorker) take() (store.Blob, bool) {
	for {
		w.mu.Lock()
		if w.stopped {
			w.mu.Unlock()
			return nil, false
		}
		if len(w.jobs) > 0 {
			j := w.jobs[0]
			w.jobs = w.jobs[1:]
			w.mu.Unlock()
			return j, true
		}
		w.mu.Unlock()
		select {
		case <-w.kick:
		case <-w.stop:
		}
	}
}

// send hands ev to the session unless the worker was stopped meanwhile.
func (w *hashWorker) send(sh *shell, ev evHashed) bool {
	select {
	case sh.events <- ev:
		return true
	case <-w.stop:
		return false
	}
}

// hashLoop first reports the sum of the start state (which shows it can
// be taken up), then hashes each job's bytes and reports after each step.
func (sh *shell) hashLoop(fx fxHashStart, w *hashWorker, hasher platform.BlobHasher) {
	at, state := fx.from, fx.state
	var sum []byte
	if at > 0 {
		ctx, cancel := storageCtx()
		_, s, err := hasher.HashBlob(ctx, fx.alg, state, nil)
		cancel()
		if err != nil {
			w.send(sh, evHashed{w: fx.w, err: fmt.Errorf("%w: %w", platform.ErrHashState, err)})
			return
		}
		sum = s
	} else {
		h, err := protocol.NewHash(fx.alg)
		if err != nil {
			w.send(sh, evHashed{w: fx.w, err: err})
			return
		}
		sum, state = h.Sum(nil), nil
	}
	if !w.send(sh, evHashed{w: fx.w, upTo: at, state: state, sum: sum}) {
		return
	}
	for {
		b, ok := w.take()
		if !ok {
			return
		}
		for off := int64(0); off < b.Size(); {
			n := min(hashJobStep, b.Size()-off)
			ctx, cancel := storageCtx()
			t0 := sh.m.Now()
			next, sum, err := hasher.HashBlob(ctx, fx.alg, state, b.Slice(off, off+n))
			took := sh.m.Now().Sub(t0)
			cancel()
			if err != nil {
				w.send(sh, evHashed{w: fx.w, err: err})
				return
			}
			off, at, state = off+n, at+n, next
			if !w.send(sh, evHashed{w: fx.w, upTo: at, state: next, sum: sum, took: took}) {
				return
			}
		}
	}
}
