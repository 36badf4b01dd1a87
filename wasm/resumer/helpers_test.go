//go:build !js

package resumer_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-resumer/resumer/serve/devserver"
	"github.com/go-resumer/resumer/wasm/internal/httpfetch"
	"github.com/go-resumer/resumer/wasm/protocol"
	"github.com/go-resumer/resumer/wasm/resumer"
	"github.com/go-resumer/resumer/wasm/resumer/platform"
	"github.com/go-resumer/resumer/wasm/store"
	"github.com/go-resumer/resumer/wasm/store/memstore"
)

const (
	size = 1 << 20
	file = "f.bin"
	// small is the chunk size most tests use, so that a 1 MiB file makes
	// many requests.
	small = 64 << 10
)

// fixture is a dev server with one sample file and a manager on a memstore.
type fixture struct {
	t    *testing.T
	srv  *devserver.Server
	base string // http://host:port
	url  string // base URL of /files/
	name string // the sample's name
	size int64  // and size
	st   *memstore.Store
}

// newFixture serves the sample file of size bytes.
func newFixture(t *testing.T) *fixture { return newFixtureOf(t, file, size) }

// newFixtureOf serves a sample of another name and size.
func newFixtureOf(t *testing.T, name string, size int64, more ...devserver.Sample) *fixture {
	t.Helper()
	samples := append([]devserver.Sample{{Name: name, Size: size}}, more...)
	srv, err := devserver.New(devserver.Config{DataDir: t.TempDir(), Samples: samples})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		srv.Close()
		hs.Close()
	})
	return &fixture{t: t, srv: srv, base: hs.URL, url: hs.URL + "/files/", name: name, size: size, st: memstore.New()}
}

func (f *fixture) manager() *resumer.Manager {
	m := resumer.NewManager(f.st, httpfetch.Platform{})
	m.Rand = func() float64 { return 0 }
	return m
}

// fast retries keep fault tests short.
var fast = resumer.Options{ChunkSize: small, Retry: protocol.RetryPolicy{Base: 10 * time.Millisecond, Max: 50 * time.Millisecond, Attempts: 4}}

// with returns fast with n connections.
func with(n int) resumer.Options {
	o := fast
	o.Connections = n
	return o
}

func (f *fixture) sha() [32]byte { return f.shaOf(f.name) }

func (f *fixture) shaOf(name string) [32]byte {
	f.t.Helper()
	p, err := f.srv.Path(name)
	if err != nil {
		f.t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		f.t.Fatal(err)
	}
	return sha256.Sum256(b)
}

func wait(t *testing.T, d *resumer.Download) (resumer.Result, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := d.Wait(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("download of %s did not end in 30 s: %+v", d.URL(), d.Progress())
	}
	return res, err
}

// download runs one download to its end. Every state it went through must
// follow the state machine, and no download may end with CodeInternal.
func (f *fixture) download(m *resumer.Manager, url string, opts resumer.Options) (resumer.Result, error) {
	f.t.Helper()
	w := newWatch()
	d, err := m.Download(url, w.opts(opts))
	if err != nil {
		f.t.Fatal(err)
	}
	res, err := wait(f.t, d)
	w.check(f.t)
	if resumer.CodeOf(err) == resumer.CodeInternal {
		f.t.Fatalf("internal error: %v", err)
	}
	return res, err
}

func mustMatch(t *testing.T, res resumer.Result, want [32]byte) {
	t.Helper()
	b := res.Blob.(memstore.Bytes)
	got := sha256.Sum256(b)
	if got != want || res.Size != int64(len(b)) {
		t.Fatalf("result: %d bytes (Size %d), sha256 %x; want sha256 %x", len(b), res.Size, got[:6], want[:6])
	}
}

func mustOK(t *testing.T, f *fixture, res resumer.Result, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("download failed: %v", err)
	}
	mustMatch(t, res, f.sha())
}

// gets returns the GET requests the server logged for the file, once every
// request the server began is logged (entries are written when a response
// ends, a moment after the client saw its end or gave up on it) and, if n
// is given, at least n requests in all are.
func (f *fixture) gets(n ...int) []devserver.LogEntry {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	log, err := f.srv.WaitIdle(ctx, nil)
	if err == nil && len(n) > 0 {
		log, err = f.srv.WaitLog(ctx, n[0])
	}
	if err != nil {
		f.t.Fatalf("waiting for the server's log (at least %v entries): %v (have %d)", n, err, len(log))
	}
	var out []devserver.LogEntry
	for _, e := range log {
		if e.Method == "GET" && (strings.HasPrefix(e.Path, "/files/") || e.Path == "/_login") {
			out = append(out, e)
		}
	}
	return out
}

// logged is what the tests look at in a log entry.
type logged struct {
	Status               int
	Range, IfRange       string
	ETag, ContentRange   string
	Start, Sent          int64
	Cut, ClientGone      bool
	Stalled              bool
	Path, Query, Fault   string
	Complete, Probe, End bool
}

func (l logged) String() string {
	return fmt.Sprintf("%s?%s %d range=%q if-range=%q start=%d sent=%d cut=%v gone=%v stalled=%v [%s]",
		l.Path, l.Query, l.Status, l.Range, l.IfRange, l.Start, l.Sent, l.Cut, l.ClientGone, l.Stalled, l.Fault)
}

func (f *fixture) logged() []logged {
	var out []logged
	for _, e := range f.gets() {
		out = append(out, logged{Status: e.Status, Range: e.Range, IfRange: e.IfRange, ETag: e.ETag, ContentRange: e.ContentRange,
			Start: e.Start, Sent: e.Sent, Cut: e.Cut, ClientGone: e.ClientGone, Stalled: e.Stalled,
			Path: e.Path, Query: e.Query, Fault: e.Fault, Probe: e.Range == "bytes=0-65535"})
	}
	return out
}

func statuses(log []logged) []int {
	var s []int
	for _, e := range log {
		s = append(s, e.Status)
	}
	return s
}

// arm queues faults for the next requests of the file.
func (f *fixture) arm(times int, query string) {
	f.t.Helper()
	v, err := url.ParseQuery(query)
	if err != nil {
		f.t.Fatal(err)
	}
	if err := f.srv.Arm(f.name, times, v); err != nil {
		f.t.Fatal(err)
	}
}

// watch follows a download's progress: tests wait for what they need with
// until (an event and a deadline, never a sleep), and check that every
// change of state it saw was one the state machine allows.
type watch struct {
	mu      sync.Mutex
	changed chan struct{} // closed and replaced on every report
	last    resumer.Progress
	states  []protocol.State
	notices []string
	codes   []string // the notice codes, each once
	// maxAttempt is the most failures in a row reported; errs the errors
	// that caused a wait.
	maxAttempt int
	errs       []string
}

func newWatch() *watch { return &watch{changed: make(chan struct{})} }

// opts returns o reporting to the watch (and to o's own OnProgress).
func (w *watch) opts(o resumer.Options) resumer.Options {
	next := o.OnProgress
	o.OnProgress = func(p resumer.Progress) {
		w.mu.Lock()
		w.last = p
		if len(w.states) == 0 || w.states[len(w.states)-1] != p.State {
			w.states = append(w.states, p.State)
		}
		if p.Notice != "" && (len(w.notices) == 0 || w.notices[len(w.notices)-1] != p.Notice) {
			w.notices = append(w.notices, p.Notice)
		}
		if p.NoticeCode != "" && !contains(w.codes, p.NoticeCode) {
			w.codes = append(w.codes, p.NoticeCode)
		}
		w.maxAttempt = max(w.maxAttempt, p.Attempt)
		if p.Err != nil && (len(w.errs) == 0 || w.errs[len(w.errs)-1] != p.Err.Error()) {
			w.errs = append(w.errs, p.Err.Error())
		}
		close(w.changed)
		w.changed = make(chan struct{})
		w.mu.Unlock()
		if next != nil {
			next(p)
		}
	}
	return o
}

// until waits for a progress report that satisfies cond, for at most 20 s.
func (w *watch) until(t *testing.T, what string, cond func(p resumer.Progress) bool) resumer.Progress {
	t.Helper()
	deadline := time.NewTimer(20 * time.Second)
	defer deadline.Stop()
	for {
		w.mu.Lock()
		p, ch := w.last, w.changed
		w.mu.Unlock()
		if cond(p) {
			return p
		}
		select {
		case <-ch:
		case <-deadline.C:
			t.Fatalf("waiting for %s: last progress %+v", what, p)
		}
	}
}

// check fails the test if a change of state it saw is not a transition of
// the state machine.
func (w *watch) check(t *testing.T) {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := validPath(w.states); err != nil {
		t.Fatal(err)
	}
}

func (w *watch) noticesSeen() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.notices...)
}

func (w *watch) noticeCodes() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.codes...)
}

// failures returns the most failures in a row seen and the errors that
// caused waits.
func (w *watch) failures() (int, []string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.maxAttempt, append([]string(nil), w.errs...)
}

// validPath reports a step between two states that no event makes.
func validPath(states []protocol.State) error {
	events := []protocol.Event{protocol.EvStart, protocol.EvPause, protocol.EvResume, protocol.EvFinish, protocol.EvFail, protocol.EvCancel, protocol.EvWait}
	for i := 1; i < len(states); i++ {
		ok := false
		for _, ev := range events {
			if to, err := states[i-1].Next(ev); err == nil && to == states[i] {
				ok = true
			}
		}
		if !ok {
			return fmt.Errorf("states %v: %s → %s is not a transition", states, states[i-1], states[i])
		}
	}
	return nil
}

// killable is a store that stops accepting writes at once, like a tab that
// is closed: what was committed stays, nothing more arrives. With after
// set, it closes itself once a write took its chunk bytes to after or
// more: where a download stops then depends on what it stored, not on
// when a test looked.
type killable struct {
	store.Store
	after int64

	mu     sync.Mutex
	killed bool
	wrote  int64
	dead   chan struct{} // closed when killed
}

var errKilled = errors.New("tab closed")

func newKillable(st store.Store, after int64) *killable {
	return &killable{Store: st, after: after, dead: make(chan struct{})}
}

func (k *killable) kill() {
	k.mu.Lock()
	defer k.mu.Unlock()
	if !k.killed {
		k.killed = true
		close(k.dead)
	}
}

func (k *killable) isDead() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.killed
}

// wrote counts a chunk write and closes the tab at after bytes.
func (k *killable) count(n int64) {
	k.mu.Lock()
	k.wrote += n
	over := k.after > 0 && k.wrote >= k.after
	k.mu.Unlock()
	if over {
		k.kill()
	}
}

func (k *killable) PutChunk(ctx context.Context, c store.Chunk) error {
	if k.isDead() {
		return errKilled
	}
	if err := k.Store.PutChunk(ctx, c); err != nil {
		return err
	}
	k.count(c.Data.Size())
	return nil
}
func (k *killable) PutLast(ctx context.Context, c store.Chunk, r store.Record) error {
	if k.isDead() {
		return errKilled
	}
	if err := k.Store.PutLast(ctx, c, r); err != nil {
		return err
	}
	k.count(c.Data.Size())
	return nil
}
func (k *killable) Put(ctx context.Context, r store.Record) error {
	if k.isDead() {
		return errKilled
	}
	return k.Store.Put(ctx, r)
}
func (k *killable) Reset(ctx context.Context, r store.Record) error {
	if k.isDead() {
		return errKilled
	}
	return k.Store.Reset(ctx, r)
}
func (k *killable) Delete(ctx context.Context, key string) error {
	if k.isDead() {
		return errKilled
	}
	return k.Store.Delete(ctx, key)
}
func (k *killable) DeleteChunk(ctx context.Context, key string, gen, start int64) error {
	if k.isDead() {
		return errKilled
	}
	return k.Store.DeleteChunk(ctx, key, gen, start)
}

// pausing is a store that pauses its download from inside the write that
// takes the chunk bytes stored to at least at: where the download stops
// depends on what it stored, not on when a test looked.
type pausing struct {
	store.Store
	at int64

	mu      sync.Mutex
	wrote   int64
	d       *resumer.Download
	reached bool
}

// start downloads url through m (a manager on p) and returns the download.
func (p *pausing) start(t *testing.T, m *resumer.Manager, url string, o resumer.Options) *resumer.Download {
	t.Helper()
	d, err := m.Download(url, o)
	if err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	p.d = d
	reached := p.reached
	p.mu.Unlock()
	if reached {
		d.Pause()
	}
	return d
}

func (p *pausing) PutChunk(ctx context.Context, c store.Chunk) error {
	if err := p.Store.PutChunk(ctx, c); err != nil {
		return err
	}
	p.mu.Lock()
	p.wrote += c.Data.Size()
	first := !p.reached && p.wrote >= p.at
	if first {
		p.reached = true
	}
	d := p.d
	p.mu.Unlock()
	if first && d != nil {
		d.Pause()
	}
	return nil
}

// interrupt downloads url with opts (through p, if given) until at least
// min bytes are committed in this session, then closes the "tab" (the
// store refuses every write from then on), waits for the download to end,
// and returns how many bytes the store holds for it. Where the
// interruption falls depends on what was stored, not on timing. (Requests
// the closed tab had sent may still reach the server a moment later: a
// fault for the next session's first request is best added to that very
// request, see onceFault.)
func (f *fixture) interrupt(url string, min int64, opts resumer.Options, p ...platform.Platform) int64 {
	f.t.Helper()
	k := newKillable(f.st, min)
	var platform platform.Platform = httpfetch.Platform{}
	if len(p) > 0 {
		platform = p[0]
	}
	m := resumer.NewManager(k, platform)
	m.Rand = func() float64 { return 0 }
	w := newWatch()
	d, err := m.Download(url, w.opts(opts))
	if err != nil {
		f.t.Fatal(err)
	}
	res, err := wait(f.t, d)
	w.check(f.t)
	if err == nil {
		f.t.Fatalf("the download finished (%d bytes) before %d bytes were stored", res.Size, min)
	}
	if !k.isDead() {
		f.t.Fatalf("the download ended before the tab closed: %v", err)
	}
	f.gets() // the interrupted requests, logged once the server saw the client go
	infos, err := resumer.NewManager(f.st, httpfetch.Platform{}).List(context.Background())
	if err != nil || len(infos) != 1 {
		f.t.Fatalf("list: %v, %v", infos, err)
	}
	return infos[0].Received
}

func mustPath(t *testing.T, s *devserver.Server, name string) string {
	t.Helper()
	p, err := s.Path(name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// recorder is a platform that remembers the requests it sent, so that a
// test can tell its own requests from those of an interrupted session that
// reach the server late.
type recorder struct {
	httpfetch.Platform
	mu   sync.Mutex
	reqs []platform.Request
}

func (r *recorder) Fetch(ctx context.Context, req platform.Request) (*platform.Response, error) {
	r.mu.Lock()
	r.reqs = append(r.reqs, req)
	r.mu.Unlock()
	return r.Platform.Fetch(ctx, req)
}

func (r *recorder) sent() []platform.Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]platform.Request(nil), r.reqs...)
}

// recorded returns a manager on the fixture's store that records its
// requests.
func (f *fixture) recorded() (*resumer.Manager, *recorder) {
	rec := &recorder{}
	m := resumer.NewManager(f.st, rec)
	m.Rand = func() float64 { return 0 }
	return m, rec
}

// served returns the server's log entry of a request the test's own
// session sent: the last one with its Range and If-Range (an interrupted
// session may have sent the same before).
func (f *fixture) served(req platform.Request) logged {
	f.t.Helper()
	var found *logged
	for _, e := range f.logged() {
		if e.Range == req.Range && e.IfRange == req.IfRange {
			found = &e
		}
	}
	if found == nil {
		f.t.Fatalf("no request with Range %q and If-Range %q in the log: %v", req.Range, req.IfRange, f.logged())
	}
	return *found
}

// storedRight fails the test if a stored chunk of url's current generation
// holds a byte that is not the file's.
func (f *fixture) storedRight(url string) {
	f.t.Helper()
	want, err := os.ReadFile(mustPath(f.t, f.srv, f.name))
	if err != nil {
		f.t.Fatal(err)
	}
	rec, err := f.st.Get(context.Background(), url)
	if err != nil {
		return // nothing stored
	}
	cs, _ := f.st.Chunks(context.Background(), url)
	for _, c := range cs {
		b := c.Data.(memstore.Bytes)
		if c.Gen == rec.Gen && (c.End() > int64(len(want)) || !bytes.Equal(b, want[c.Start:c.End()])) {
			f.t.Fatalf("stored chunk %d+%d is not the file's bytes", c.Start, len(b))
		}
	}
}
