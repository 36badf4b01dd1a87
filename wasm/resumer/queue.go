package resumer

import (
	"context"
	"sync"

	"github.com/go-resumer/resumer/wasm/protocol"
)

// queue limits how many downloads of a manager run at once. Downloads
// wait for a slot in the order they asked (first come, first served), in
// state queued; a paused or canceled download leaves the queue.
type queue struct {
	mu      sync.Mutex // guards the fields below
	max     int        // 0: no limit
	running int
	waiting []chan struct{} // closed when granted a slot, oldest first
}

// SetMaxConcurrent sets how many downloads run at once (0, the default:
// no limit). Lowering it lets running downloads finish; raising it starts
// queued ones.
func (m *Manager) SetMaxConcurrent(n int) {
	q := &m.queue
	q.mu.Lock()
	defer q.mu.Unlock()
	q.max = max(n, 0)
	q.grant()
}

// grant hands free slots to the oldest waiters. q.mu is held.
func (q *queue) grant() {
	for len(q.waiting) > 0 && (q.max == 0 || q.running < q.max) {
		close(q.waiting[0])
		q.waiting = q.waiting[1:]
		q.running++
	}
}

// acquire returns a slot's release function, at once if one is free, or
// after firing EvQueue on d and waiting its turn. It returns ctx's error
// if ctx ends first (the user paused or canceled): the download then
// holds no slot.
func (q *queue) acquire(ctx context.Context, d *Download) (func(), error) {
	q.mu.Lock()
	if len(q.waiting) == 0 && (q.max == 0 || q.running < q.max) {
		q.running++
		q.mu.Unlock()
		return q.releaser(), nil
	}
	ch := make(chan struct{})
	q.waiting = append(q.waiting, ch)
	q.mu.Unlock()
	if d.State() != protocol.Queued {
		if err := d.fire(protocol.EvQueue, nil); err != nil {
			q.leave(ch)
			return nil, err
		}
	}
	select {
	case <-ch:
		return q.releaser(), nil
	case <-ctx.Done():
		q.leave(ch)
		return nil, ctx.Err()
	}
}

// leave takes ch out of the queue; if it was granted a slot meanwhile, the
// slot goes to the next waiter.
func (q *queue) leave(ch chan struct{}) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for i, w := range q.waiting {
		if w == ch {
			q.waiting = append(q.waiting[:i], q.waiting[i+1:]...)
			return
		}
	}
	// Granted before it could leave.
	q.running--
	q.grant()
}

// releaser returns the function that gives a slot back, once.
func (q *queue) releaser() func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			q.mu.Lock()
			defer q.mu.Unlock()
			q.running--
			q.grant()
		})
	}
}
