package resumer

import (
	"context"
	"fmt"
	"sync"

	"github.com/go-resumer/resumer/wasm/protocol"
	"github.com/go-resumer/resumer/wasm/store"
)

// maxWrites is how many pieces may be committing at once. Commits on the
// same object store queue behind each other; the store spreads them over
// its lanes, and the next request goes out while they commit. It is also
// the back-pressure that keeps a fast network from piling up Blobs.
const maxWrites = 4

// writer stores pieces in the background, so that fetching goes on while
// transactions commit. A piece it holds is "pending": neither missing (no
// one fetches it again) nor stored (it does not count until committed).
type writer struct {
	r   *run
	sem chan struct{}
	wg  sync.WaitGroup

	// guarded by r.mu
	pending map[int64]int64 // start → end of pieces handed over, not yet committed
	err     error
	cancel  context.CancelFunc // stops the connections when a write fails
}

func (w *writer) init(r *run) {
	w.r = r
	w.sem = make(chan struct{}, maxWrites)
	w.pending = map[int64]int64{}
}

// pendingLen returns the bytes handed over and not yet committed; r.mu held.
func (w *writer) pendingLen() int64 {
	var n int64
	for s, e := range w.pending {
		n += e - s
	}
	return n
}

// pendingSpans returns the pending spans; r.mu held.
func (w *writer) pendingSpans() []protocol.Span {
	out := make([]protocol.Span, 0, len(w.pending))
	for s, e := range w.pending {
		out = append(out, protocol.Span{Start: s, End: e})
	}
	return out
}

// failed returns the error of a write that failed.
func (w *writer) failed() error {
	w.r.mu.Lock()
	defer w.r.mu.Unlock()
	return w.err
}

// setCancel installs the func that stops the connections of a parallel
// phase when a write fails (nil: none).
func (w *writer) setCancel(c context.CancelFunc) {
	w.r.mu.Lock()
	w.cancel = c
	w.r.mu.Unlock()
}

// wait waits for every write and returns the first error.
func (w *writer) wait() error {
	w.wg.Wait()
	return w.failed()
}

// handOff gives a piece at pos to the writer. If c is not nil, the piece
// comes from that claim, which moves past it: between the claim and the
// pending set, its bytes are never unaccounted for, so no other connection
// fetches them again. It blocks while maxWrites are in flight.
func (r *run) handOff(c *claim, pos int64, piece store.Blob) error {
	w := &r.w
	if err := w.failed(); err != nil {
		return err
	}
	w.sem <- struct{}{}
	end := pos + piece.Size()
	r.mu.Lock()
	w.pending[pos] = end
	if c != nil {
		c.pos = end
	}
	gen := r.rec.Gen
	r.mu.Unlock()
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		defer func() { <-w.sem }()
		ctx, cancel := storageCtx()
		defer cancel()
		began := r.d.m.Now()
		err := r.st.PutChunk(ctx, store.Chunk{URL: r.d.url, Gen: gen, Start: pos, Data: piece})
		r.mu.Lock()
		delete(w.pending, pos)
		r.stats.Commits++
		r.stats.CommitTime += r.d.m.Now().Sub(began)
		if err == nil && gen == r.rec.Gen {
			// The chunk's key is its progress: only now do its bytes count.
			r.ext.Add(pos, end)
			if n := r.ext.Len(); n > r.highWater {
				r.highWater = n
				r.attempt = 0
				r.restarts = 0
			}
		}
		stop := w.cancel
		if err != nil && w.err == nil {
			w.err = storageError(fmt.Sprintf("store bytes %d-%d", pos, end-1), err)
		} else {
			stop = nil
		}
		r.mu.Unlock()
		if stop != nil {
			stop()
		}
		r.progress(false)
	}()
	return nil
}
