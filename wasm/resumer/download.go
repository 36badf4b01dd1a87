package resumer

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/go-resumer/resumer/wasm/protocol"
	"github.com/go-resumer/resumer/wasm/resumer/platform"
	"github.com/go-resumer/resumer/wasm/store"
)

// Download is one download in progress. Its methods are safe for concurrent
// use.
//
// Who owns what: mu guards every field below it; they are written by the
// download's own goroutine (loop, and the run it starts) and read by
// callers. A run (engine.go) is owned by the loop goroutine and has no lock
// of its own; see its comment.
type Download struct {
	m    *Manager
	key  string // the store's key and the lock's name: Options.Key, or the first URL
	opts Options
	// cred is what identifies the caller (protocol.Credentials) of the
	// options it was started with: fixed for the Download's life, as a
	// fresh link's headers (Options.Refresh) are the same caller's.
	cred string
	// after, if not nil, is closed when the stopped Download of the same
	// key has let go: this one starts then.
	after <-chan struct{}

	mu         sync.Mutex
	src        string // the URL requests go to; a later Manager.Download of the same key may replace it
	state      protocol.State
	want       protocol.State     // Running, Paused or Canceled: what the user asked for
	quotaPause bool               // want is Paused because the storage filled up, not by the user
	locked     bool               // the loop holds the download's cross-tab lock
	wake       chan struct{}      // signals a change of want
	stopRun    context.CancelFunc // ends the loop's current wait or run
	progress   Progress
	lastEmit   time.Time
	emitMu     sync.Mutex // orders OnProgress calls: one at a time, in order
	result     Result
	err        error
	done       chan struct{}
	// stopCause is set by Stop: once paused, this Download ends, its
	// bytes stored for the next one.
	stopCause error
	// waiting counts the callers of Options.Waiting that have not left;
	// run is true once a caller without it started or joined the
	// Download: then no Leave pauses it.
	waiting int
	run     bool
	// told is the last progress the tab that writes the download told,
	// while this one waits for it (locked-elsewhere); nil otherwise.
	told *news
}

// Result is a finished download.
type Result struct {
	// URL is the URL the download was fetched from last, Key its identity
	// in the store.
	URL, Key    string
	Blob        store.Blob
	Size        int64
	ContentType string
	Validators  protocol.Validators
	Resumable   bool
	Reason      protocol.Reason
	Restarts    int
	// Verified is true when the bytes matched a digest: the app's
	// Integrity, or the server's Repr-Digest.
	Verified bool
	// Stats says what it took, in the last session that ran it.
	Stats Stats
}

// Stats counts the work of a download in one session.
type Stats struct {
	// Requests is the number of HTTP requests sent.
	Requests int
	// Commits is the number of pieces stored, CommitTime the time spent
	// waiting for their transactions to commit (they overlap when written
	// in parallel).
	Commits    int
	CommitTime time.Duration
	// Whole and Streamed count the bodies taken whole and read as a
	// stream.
	Whole, Streamed int
	// Setup is the time from the start to the first request (reading what
	// is stored); Finish from the last byte stored to the result (checking
	// and joining the chunks).
	Setup, Finish time.Duration
	// HashTime is the time the integrity check spent hashing (in the
	// browser, the hash Worker's calls, reading the stored bytes and
	// hashing them); it overlaps the transfer. Zero without a digest.
	HashTime time.Duration
	// StepTime is the time the download's state machine spent deciding
	// (its steps, pure Go on the page's thread): what is left of Go's
	// share once the I/O it starts is counted elsewhere.
	StepTime time.Duration
}

func newDownload(m *Manager, key, url string, opts Options) *Download {
	cred := protocol.Credentials(opts.Header, opts.Credentials)
	return &Download{
		m: m, key: key, src: url, opts: opts, cred: cred,
		state: protocol.Idle, want: protocol.Running, run: !opts.Waiting, waiting: waiters(opts),
		wake: make(chan struct{}, 1), done: make(chan struct{}),
		progress: Progress{State: protocol.Idle, Total: protocol.UnknownSize, Private: cred != ""},
	}
}

// URL returns the URL the download's requests go to.
func (d *Download) URL() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.src
}

// Key returns the download's identity in the store: Options.Key, or the
// URL it was started with.
func (d *Download) Key() string { return d.key }

// setURL points the download's next requests at url: the same file, under
// a URL that changed (a signed link that was renewed). The validators
// still decide whether what it answers continues the stored bytes.
func (d *Download) setURL(url string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.src = url
}

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
	return d.shown()
}

// Pause stops the transfer, keeping every byte received: bytes in flight
// are stored before the download settles in the paused state.
func (d *Download) Pause() { d.request(protocol.Paused) }

// Resume continues a paused download.
func (d *Download) Resume() { d.request(protocol.Running) }

// Cancel stops the download and deletes its stored bytes; Wait then
// returns an error with CodeAborted. A download that another tab is
// writing (state locked-elsewhere) only stops waiting: its bytes are that
// tab's.
func (d *Download) Cancel() { d.request(protocol.Canceled) }

// Stop ends this Download as a pause does, and for good: every byte
// received is stored, the cross-tab lock is let go, and Wait returns an
// error with CodePaused that wraps cause (ErrStopped if nil). The stored
// download stays paused, for a later Manager.Download to take up. It is
// how an AbortSignal ends a download() in the browser: the caller stops
// waiting, nothing is lost.
func (d *Download) Stop(cause error) {
	if cause == nil {
		cause = ErrStopped
	}
	d.mu.Lock()
	if d.stopCause == nil && d.want != protocol.Canceled && !d.state.Terminal() && d.state != protocol.Failed {
		d.stopCause = cause
	}
	d.mu.Unlock()
	d.request(protocol.Paused)
}

// waiters is 1 for a caller of Options.Waiting, else 0.
func waiters(opts Options) int {
	if opts.Waiting {
		return 1
	}
	return 0
}

// join counts a caller of Manager.Download that found d running, and
// resumes d, in one step: a Leave in between must not pause what this
// caller now waits for.
func (d *Download) join(opts Options) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.waiting += waiters(opts)
	d.run = d.run || !opts.Waiting
	d.requestLocked(protocol.Running)
}

// Leave says that one caller of Options.Waiting stops waiting for d: it
// got its answer, or gave up (aborted true). A caller calls it once. When
// the last waiting caller gives up and no caller without Options.Waiting
// holds d, d pauses: its bytes are kept for the next caller, and nobody
// is left to want the transfer (an aborted fetch() in the browser).
func (d *Download) Leave(aborted bool) {
	d.mu.Lock()
	if d.waiting > 0 {
		d.waiting--
	}
	if aborted && d.waiting == 0 && !d.run {
		d.requestLocked(protocol.Paused)
	}
	d.mu.Unlock()
}

// ErrStopped is the cause of a Download's end when Stop was given none.
var ErrStopped = errors.New("the download was stopped; its bytes are kept")

// stopped reports whether Stop was called: the Download is ending and
// takes no more requests (a Manager.Download of its key starts another).
func (d *Download) stopped() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.stopCause != nil
}

func (d *Download) request(want protocol.State) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.requestLocked(want)
}

// requestLocked is request with d.mu held.
func (d *Download) requestLocked(want protocol.State) {
	if d.want == protocol.Canceled || d.state.Terminal() || d.state == protocol.Failed {
		return
	}
	if d.stopCause != nil && want == protocol.Running {
		return // stopping: nothing takes it back
	}
	d.want = want
	d.quotaPause = false // the user's word wins over an automatic resume
	if want != protocol.Running && d.stopRun != nil {
		d.stopRun()
	}
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// holdsLock reports whether this download holds its cross-tab lock: it
// may write the stored bytes.
func (d *Download) holdsLock() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.locked
}

func (d *Download) setLocked(locked bool) {
	d.mu.Lock()
	d.locked = locked
	d.mu.Unlock()
}

// cancelAndWait cancels the download and waits until it has ended.
func (d *Download) cancelAndWait(ctx context.Context) error {
	d.Cancel()
	select {
	case <-d.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (d *Download) wanted() protocol.State {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.want
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

// quotaRecheck is how often a download paused by a full storage looks
// whether space was freed.
var quotaRecheck = 5 * time.Second

// loop runs the download until it ends, following what the user asks: it
// takes the cross-tab lock, waits for a slot (queue.go), runs a session
// (session.go), gives the slot back and acts on how the session ended; a
// paused download lets go of the lock, so that another tab may take it up.
// Every wait it does ends when the user asks for something else: stopRun
// cancels it, and it is set, under mu, before each wait, together with the
// look at want.
func (d *Download) loop() {
	defer d.m.forget(d)
	if d.after != nil {
		<-d.after
	}
	var release func()
	unlock := func() {
		if release != nil {
			// No longer the writer before another tab may be: what
			// this one emits from here on is not told as the writer's.
			d.setLocked(false)
			release()
			release = nil
		}
	}
	defer unlock()
	// finish ends the download: its state and record are written under
	// the lock, which goes before Done is closed, so that whoever waits
	// for the end (Remove) may take it at once.
	finish := func(res Result, err error) { d.end(res, err, unlock) }
	for {
		ctx, cancel := context.WithCancel(context.Background())
		d.mu.Lock()
		want := d.want
		d.stopRun = cancel
		d.mu.Unlock()
		switch want {
		case protocol.Paused:
			cancel()
			if err := d.settlePaused(nil); err != nil {
				finish(Result{}, err)
				return
			}
			if d.stopped() {
				d.detach(unlock)
				return
			}
			// Nobody writes a paused download: another tab may take it up
			// meanwhile (this one waits in locked-elsewhere on resume).
			unlock()
			<-d.wake
			continue
		case protocol.Canceled:
			cancel()
			finish(Result{}, d.cancelled(release != nil))
			return
		}
		if release == nil {
			rel, err := d.lock(ctx)
			if err != nil {
				cancel()
				if errors.Is(err, context.Canceled) {
					continue // paused, canceled, or paused and resumed while waiting: look at want again
				}
				finish(Result{}, err)
				return
			}
			release = rel
			d.setLocked(true)
		}
		slot, err := d.m.queue.acquire(ctx, d)
		if err != nil {
			cancel()
			if errors.Is(err, context.Canceled) {
				continue // paused or canceled while queued
			}
			finish(Result{}, err)
			return
		}
		if s := d.State(); s != protocol.Running {
			// (Running already: a pause that was taken back before it
			// settled.)
			if err := d.fire(startEvent(s), nil); err != nil {
				slot()
				cancel()
				finish(Result{}, err)
				return
			}
		}
		res, err := d.runSession(ctx)
		slot()
		stopped := ctx.Err() != nil
		cancel()
		var qe *QuotaError
		switch {
		case err == nil:
			finish(res, nil)
			return
		case stopped:
			// Paused or canceled by the user: the loop looks at want.
		case CodeOf(err) == CodeQuota && !errors.As(err, &qe):
			// Storage filled up mid-download: keep every stored byte,
			// pause, and resume when space is freed or when asked.
			d.mu.Lock()
			quota := d.want == protocol.Running
			if quota {
				d.want, d.quotaPause = protocol.Paused, true
			}
			d.mu.Unlock()
			if err := d.settlePaused(err); err != nil {
				finish(Result{}, err)
				return
			}
			unlock()
			if quota {
				d.waitForSpace()
			}
		default:
			finish(Result{}, err)
			return
		}
	}
}

// startEvent is the event that starts a run from state s.
func startEvent(s protocol.State) protocol.Event {
	if s == protocol.Paused || s == protocol.Failed {
		return protocol.EvResume
	}
	return protocol.EvStart
}

// fire moves the state machine by ev and reports the new state. An event
// the state machine refuses is a bug in this package: it is returned as an
// error with CodeInternal, which ends the download, rather than ignored.
func (d *Download) fire(ev protocol.Event, cause error) error {
	d.mu.Lock()
	to, err := d.state.Next(ev)
	d.mu.Unlock()
	if err != nil {
		return newError(CodeInternal, fmt.Errorf("download of %s: %w", d.key, err))
	}
	d.setState(to, cause)
	return nil
}

// lock takes the download's lock for this tab. If another tab holds it, the
// download waits in state locked-elsewhere until it is free, or until ctx
// ends (the user paused or canceled).
func (d *Download) lock(ctx context.Context) (func(), error) {
	l := d.m.locker()
	if l == nil {
		return func() {}, nil
	}
	name := d.m.lockName(d.key)
	release, ok, err := l.Lock(ctx, name, false)
	switch {
	case ctx.Err() != nil:
		return nil, ctx.Err()
	case err != nil:
		return nil, newError(CodeStorage, fmt.Errorf("lock %s: %w", d.key, err))
	case ok:
		return release, nil
	}
	if d.State() != protocol.LockedElsewhere {
		if err := d.fire(protocol.EvWait, nil); err != nil {
			return nil, err
		}
	}
	release, ok, err = l.Lock(ctx, name, true)
	switch {
	case ctx.Err() != nil:
		return nil, ctx.Err()
	case err != nil:
		return nil, newError(CodeStorage, fmt.Errorf("wait for the lock of %s: %w", d.key, err))
	case !ok:
		return nil, newError(CodeStorage, fmt.Errorf("lock of %s not granted", d.key))
	}
	return release, nil
}

// waitForSpace waits, after a pause for a full storage, until the user
// resumes or cancels, or until the storage has room again: the estimate of
// free space grew by more than a chunk since the pause. (An estimate is an
// upper bound, and may not move when the browser's real limit does; a
// download never resumes on the same estimate that let it fill up.)
func (d *Download) waitForSpace() {
	est, _ := d.m.platform.(platform.Estimator)
	free := func() (int64, bool) {
		if est == nil {
			return 0, false
		}
		ctx, cancel := storageCtx()
		defer cancel()
		n, ok, err := est.Free(ctx)
		return n, ok && err == nil
	}
	atPause, ok := free()
	t := time.NewTicker(quotaRecheck)
	defer t.Stop()
	for {
		select {
		case <-d.wake:
			return
		case <-t.C:
		}
		if !ok {
			continue
		}
		if now, ok := free(); ok && now > atPause+d.opts.ChunkSize {
			// Resume, unless the user asked for something else while the
			// estimate was on its way.
			d.mu.Lock()
			if d.quotaPause && d.want == protocol.Paused {
				d.want, d.quotaPause = protocol.Running, false
			}
			d.mu.Unlock()
			return
		}
	}
}

// cancelled deletes the download's stored bytes, if this tab may (it holds
// the lock, or can take it now: nobody writes them), and returns the error
// that Wait reports. Bytes another tab is writing are that tab's.
func (d *Download) cancelled(locked bool) error {
	ctx, cancel := storageCtx()
	defer cancel()
	if l := d.m.locker(); l != nil && !locked {
		release, ok, err := l.Lock(ctx, d.m.lockName(d.key), false)
		if err != nil || !ok {
			return newError(CodeAborted, ErrCanceled)
		}
		defer release()
	}
	// Another owner's record (a private file this caller never got to
	// replace) is not this caller's to delete.
	if rec, err := d.m.store.Get(ctx, d.key); err == nil && !d.owns(ctx, rec) {
		return newError(CodeAborted, ErrCanceled)
	}
	if err := d.m.store.Delete(ctx, d.key); err != nil {
		return newError(CodeAborted, errors.Join(ErrCanceled, err))
	}
	return newError(CodeAborted, ErrCanceled)
}

// settlePaused records the paused state, with the error that caused it.
func (d *Download) settlePaused(cause error) error {
	if d.State() == protocol.Paused {
		return nil
	}
	ctx, cancel := storageCtx()
	defer cancel()
	// Only under the lock (never over another tab's writes), never over a
	// finished file (a pause before the run took it up), and only this
	// caller's record.
	if rec, err := d.m.store.Get(ctx, d.key); err == nil && d.holdsLock() && rec.State != protocol.Done && d.owns(ctx, rec) {
		rec.State = protocol.Paused
		rec.ErrCode, rec.ErrMessage = CodeOf(cause), errMessage(cause)
		rec.Updated = d.m.Now().UnixMilli()
		_ = d.m.store.Put(ctx, rec) // best effort: the chunks are the truth
	}
	return d.fire(protocol.EvPause, cause)
}

// owns reports whether rec is this download's to mark paused or failed:
// stored with its credentials. Another owner's record (a private file this
// caller never got to replace: refused at its first answer) keeps its state.
func (d *Download) owns(ctx context.Context, rec store.Record) bool {
	owner, err := d.m.owner(ctx, d.cred)
	return err == nil && sameOwner(rec.Owner, owner)
}

func errMessage(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// end settles the download for good; unlock lets go of its lock just
// before the end is announced.
func (d *Download) end(res Result, err error, unlock func()) {
	ev := protocol.EvFinish
	switch {
	case CodeOf(err) == CodeAborted:
		ev = protocol.EvCancel
	case err != nil:
		ev = protocol.EvFail
		ctx, cancel := storageCtx()
		if rec, gerr := d.m.store.Get(ctx, d.key); gerr == nil && d.State() != protocol.LockedElsewhere && d.owns(ctx, rec) {
			rec.State, rec.ErrCode, rec.ErrMessage = protocol.Failed, CodeOf(err), err.Error()
			rec.Updated = d.m.Now().UnixMilli()
			_ = d.m.store.Put(ctx, rec)
		}
		cancel()
	}
	if ferr := d.fire(ev, err); ferr != nil {
		// The state machine refused the ending: report that, and end in
		// the failed state all the same, since the download is over.
		err = errors.Join(err, ferr)
		res = Result{}
		d.setState(protocol.Failed, ferr)
	}
	d.mu.Lock()
	d.result, d.err = res, err
	d.mu.Unlock()
	unlock()
	close(d.done)
}

// detach ends a stopped Download in the paused state, where its record
// stays: no event of the state machine, only the end of this handle.
func (d *Download) detach(unlock func()) {
	d.mu.Lock()
	d.err = newError(CodePaused, fmt.Errorf("%s: %w", d.key, d.stopCause))
	d.mu.Unlock()
	unlock()
	close(d.done)
}

// setState changes the state and reports it.
func (d *Download) setState(s protocol.State, cause error) {
	d.mu.Lock()
	d.state = s
	d.progress.State = s
	if s != protocol.LockedElsewhere {
		d.told = nil
	}
	d.progress.ErrCode, d.progress.Err = CodeOf(cause), cause
	if s != protocol.Running {
		d.progress.Speed, d.progress.RetryAt = 0, time.Time{}
	}
	d.mu.Unlock()
	d.emit(true)
}

// report updates the progress and calls OnProgress, at most every
// ProgressInterval unless force is set.
func (d *Download) report(force bool, update func(p *Progress)) {
	d.mu.Lock()
	update(&d.progress)
	d.mu.Unlock()
	d.emit(force)
}

// emit calls OnProgress with the latest progress, one call at a time and
// each with a snapshot at least as new as the one before, at most every
// ProgressInterval unless force is set.
func (d *Download) emit(force bool) {
	d.emitMu.Lock()
	defer d.emitMu.Unlock()
	d.mu.Lock()
	now := d.m.Now()
	if !force && now.Sub(d.lastEmit) < ProgressInterval {
		d.mu.Unlock()
		return
	}
	d.lastEmit = now
	p, locked := d.shown(), d.locked
	d.mu.Unlock()
	d.tell(p, locked)
	if d.opts.OnProgress != nil {
		d.opts.OnProgress(p)
	}
}
