package resumer

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/go-resumer/resumer/wasm/protocol"
	"github.com/go-resumer/resumer/wasm/store"
)

// Download is one download in progress. Its methods are safe for concurrent
// use.
type Download struct {
	m    *Manager
	url  string
	opts Options

	mu       sync.Mutex
	state    protocol.State
	want     protocol.State // Running, Paused or Canceled: what the user asked for
	wake     chan struct{}  // signals a change of want
	stopRun  context.CancelFunc
	progress Progress
	lastEmit time.Time
	result   Result
	err      error
	done     chan struct{}
}

// Result is a finished download.
type Result struct {
	URL         string
	Blob        store.Blob
	Size        int64
	ContentType string
	Validators  protocol.Validators
	Resumable   bool
	Reason      protocol.Reason
	Restarts    int
}

func newDownload(m *Manager, url string, opts Options) *Download {
	return &Download{
		m: m, url: url, opts: opts,
		state: protocol.Idle, want: protocol.Running,
		wake: make(chan struct{}, 1), done: make(chan struct{}),
		progress: Progress{State: protocol.Idle, Total: protocol.UnknownSize},
	}
}

// URL returns the download's URL.
func (d *Download) URL() string { return d.url }

// State returns the current state.
func (d *Download) State() protocol.State {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.state
}

// Progress returns the latest progress snapshot.
func (d *Download) Progress() Progress {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.progress
}

// Pause stops the transfer, keeping every byte received: bytes in flight
// are stored before the download settles in the paused state.
func (d *Download) Pause() { d.request(protocol.Paused) }

// Resume continues a paused download.
func (d *Download) Resume() { d.request(protocol.Running) }

// Cancel stops the download and deletes its stored bytes; Wait then
// returns an error with CodeAborted.
func (d *Download) Cancel() { d.request(protocol.Canceled) }

func (d *Download) request(want protocol.State) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.want == protocol.Canceled || d.state.Terminal() || d.state == protocol.Failed {
		return
	}
	d.want = want
	if want != protocol.Running && d.stopRun != nil {
		d.stopRun()
	}
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Done is closed when the download has ended: finished, failed or canceled.
func (d *Download) Done() <-chan struct{} { return d.done }

// Wait blocks until the download ends or ctx is done. The error of a
// download that did not finish is an *Error.
func (d *Download) Wait(ctx context.Context) (Result, error) {
	select {
	case <-d.done:
		return d.result, d.err
	case <-ctx.Done():
		return Result{}, ctx.Err()
	}
}

// loop runs the download until it ends, following what the user asks.
func (d *Download) loop() {
	defer d.m.forget(d)
	for {
		d.mu.Lock()
		want := d.want
		if want == protocol.Paused {
			d.mu.Unlock()
			d.settlePaused(nil)
			<-d.wake
			continue
		}
		if want == protocol.Canceled {
			d.mu.Unlock()
			d.end(Result{}, d.cancelled())
			return
		}
		ctx, cancel := context.WithCancel(context.Background())
		d.stopRun = cancel
		d.mu.Unlock()

		d.setState(protocol.Running, nil)
		res, err := newRun(d).run(ctx)
		stopped := ctx.Err() != nil
		cancel()
		switch {
		case err == nil:
			d.end(res, nil)
			return
		case stopped:
			// Paused or canceled by the user: the loop looks at want.
		case CodeOf(err) == CodeQuota:
			// Storage is full: keep every stored byte and wait for the
			// user (or the app) to free space and resume.
			d.mu.Lock()
			if d.want == protocol.Running {
				d.want = protocol.Paused
			}
			d.mu.Unlock()
			d.settlePaused(err)
			<-d.wake
		default:
			d.end(Result{}, err)
			return
		}
	}
}

// cancelled deletes the download's stored bytes and returns the error that
// Wait reports.
func (d *Download) cancelled() error {
	ctx, cancel := storageCtx()
	defer cancel()
	if err := d.m.store.Delete(ctx, d.url); err != nil {
		return newError(CodeAborted, errors.Join(ErrCanceled, err))
	}
	return newError(CodeAborted, ErrCanceled)
}

// settlePaused records the paused state, with the error that caused it.
func (d *Download) settlePaused(cause error) {
	ctx, cancel := storageCtx()
	defer cancel()
	if rec, err := d.m.store.Get(ctx, d.url); err == nil {
		rec.State = protocol.Paused
		rec.ErrCode, rec.ErrMessage = CodeOf(cause), errMessage(cause)
		rec.Updated = d.m.Now().UnixMilli()
		_ = d.m.store.Put(ctx, rec) // best effort: the chunks are the truth
	}
	d.setState(protocol.Paused, cause)
}

func errMessage(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// end settles the download for good.
func (d *Download) end(res Result, err error) {
	state := protocol.Done
	switch {
	case CodeOf(err) == CodeAborted:
		state = protocol.Canceled
	case err != nil:
		state = protocol.Failed
		ctx, cancel := storageCtx()
		if rec, gerr := d.m.store.Get(ctx, d.url); gerr == nil {
			rec.State, rec.ErrCode, rec.ErrMessage = protocol.Failed, CodeOf(err), err.Error()
			rec.Updated = d.m.Now().UnixMilli()
			_ = d.m.store.Put(ctx, rec)
		}
		cancel()
	}
	d.mu.Lock()
	d.result, d.err = res, err
	d.mu.Unlock()
	d.setState(state, err)
	close(d.done)
}

// setState changes the state and reports it.
func (d *Download) setState(s protocol.State, cause error) {
	d.mu.Lock()
	d.state = s
	d.progress.State = s
	d.progress.ErrCode, d.progress.Err = CodeOf(cause), cause
	if s != protocol.Running {
		d.progress.Speed, d.progress.RetryAt = 0, time.Time{}
	}
	p := d.progress
	d.lastEmit = d.m.Now()
	d.mu.Unlock()
	if d.opts.OnProgress != nil {
		d.opts.OnProgress(p)
	}
}

// report updates the progress and calls OnProgress, at most every
// ProgressInterval unless force is set.
func (d *Download) report(force bool, update func(p *Progress)) {
	d.mu.Lock()
	update(&d.progress)
	now := d.m.Now()
	if !force && now.Sub(d.lastEmit) < ProgressInterval {
		d.mu.Unlock()
		return
	}
	d.lastEmit = now
	p := d.progress
	d.mu.Unlock()
	if d.opts.OnProgress != nil {
		d.opts.OnProgress(p)
	}
}
