//go:build !js

package resumer_test

import (
	"context"
	"errors"
	"fmt"
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

// faultCase is one misbehaviour of the server: the faults on the URL and
// armed for the next requests, the options, and a check that sees the
// fault happen in the server's log and the result right (its SHA-256) or
// the failure clear, with the stored bytes intact.
type faultCase struct {
	name  string
	query string
	arm   func(f *fixture)
	opts  func(o resumer.Options) resumer.Options
	check func(t *testing.T, f *fixture, c run)
}

// run is what one case produced.
type run struct {
	url   string
	res   resumer.Result
	err   error
	log   []logged
	conns int
	w     *watch
}

// cut returns the one request the server cut.
func (c run) cut(t *testing.T) logged {
	t.Helper()
	var cuts []logged
	for _, e := range c.log {
		if e.Cut {
			cuts = append(cuts, e)
		}
	}
	if len(cuts) != 1 {
		t.Fatalf("%d requests cut, want 1: %v", len(cuts), c.log)
	}
	return cuts[0]
}

// runFaults runs every case on one connection and on four.
func runFaults(t *testing.T, cases []faultCase) {
	for _, conns := range []int{1, 4} {
		for _, tt := range cases {
			t.Run(fmt.Sprintf("%s/%d", tt.name, conns), func(t *testing.T) {
				// g.bin is another file a redirect can lead to.
				f := newFixtureOf(t, file, size, devserver.Sample{Name: "g.bin", Size: size / 2})
				if tt.arm != nil {
					tt.arm(f)
				}
				u := f.url + file
				if tt.query != "" {
					u += "?" + tt.query
				}
				opts := with(conns)
				if tt.opts != nil {
					opts = tt.opts(opts)
				}
				w := newWatch()
				d, err := f.manager().Download(u, w.opts(opts))
				if err != nil {
					t.Fatal(err)
				}
				res, err := wait(t, d)
				w.check(t)
				if resumer.CodeOf(err) == resumer.CodeInternal {
					t.Fatalf("internal error: %v", err)
				}
				tt.check(t, f, run{url: u, res: res, err: err, log: f.logged(), conns: conns, w: w})
			})
		}
	}
}

// chunk sets the chunk size.
func chunk(n int64) func(resumer.Options) resumer.Options {
	return func(o resumer.Options) resumer.Options { o.ChunkSize = n; return o }
}

// streamed makes bodies of more than 100 KiB stream (on the throttled
// links of these tests) and stores what arrived every 100 ms.
func streamed(n int64) func(resumer.Options) resumer.Options {
	return func(o resumer.Options) resumer.Options {
		o.ChunkSize, o.FlushInterval = n, 100*time.Millisecond
		return o
	}
}

// TestFaults runs the engine against each misbehaviour of the dev server.
func TestFaults(t *testing.T) {
	runFaults(t, []faultCase{
		{"connection cut mid-body, streamed", "rate=1048576", func(f *fixture) {
			f.arm(1, "")
			f.arm(1, "cut=300000")
		}, streamed(512 << 10), func(t *testing.T, f *fixture, c run) {
			mustOK(t, f, c.res, c.err)
			cut := c.cut(t)
			if cut.Sent != 300000 || cut.Probe {
				t.Fatalf("cut %v; want a range cut at 300000", cut)
			}
			// What arrived before the cut was kept: the rest of the same
			// cell is asked for from where the stored bytes end.
			var again *logged
			for _, e := range c.log {
				if e.Start > cut.Start && e.Start <= cut.Start+300000 {
					again = &e
				}
			}
			if again == nil || again.IfRange == "" || again.Start < cut.Start+200000 {
				t.Fatalf("requests %v; want a resume between %d and %d with If-Range", c.log, cut.Start+200000, cut.Start+300000)
			}
		}},
		{"connection cut mid-body, fast", "", func(f *fixture) {
			f.arm(1, "")
			f.arm(1, "cut=300000")
		}, chunk(512 << 10), func(t *testing.T, f *fixture, c run) {
			mustOK(t, f, c.res, c.err)
			cut := c.cut(t)
			// A whole body is lost with the connection; a streamed one
			// keeps what arrived. Either way no byte past the cut is
			// asked for twice.
			for _, e := range c.log {
				if e.Start > cut.Start+300000 && e.Start < (cut.Start/(512<<10)+1)*(512<<10) {
					t.Fatalf("resumed with %v after a cut at %d", e, cut.Start+300000)
				}
			}
		}},
		{"503 with Retry-After, twice", "status=503&retry-after=0&fail=2", nil, nil, func(t *testing.T, f *fixture, c run) {
			mustOK(t, f, c.res, c.err)
			if c.log[0].Status != 503 || c.log[1].Status != 503 || c.log[2].Status != 206 || !c.log[2].Probe {
				t.Fatalf("statuses %v", statuses(c.log))
			}
		}},
		{"429 then fine", "status=429&fail=1", nil, nil, func(t *testing.T, f *fixture, c run) {
			mustOK(t, f, c.res, c.err)
			if c.log[0].Status != 429 || c.log[1].Status != 206 {
				t.Fatalf("statuses %v", statuses(c.log))
			}
		}},
		{"403 is not retried", "status=403", nil, nil, func(t *testing.T, f *fixture, c run) {
			var re *resumer.Error
			if !errors.As(c.err, &re) || re.Code != resumer.CodeHTTPStatus || re.Status != 403 || len(c.log) != 1 {
				t.Fatalf("err %v after %d requests; want http-status 403 after 1", c.err, len(c.log))
			}
		}},
		{"503 for ever gives up", "status=503", nil, nil, func(t *testing.T, f *fixture, c run) {
			var re *resumer.Error
			if !errors.As(c.err, &re) || re.Code != resumer.CodeHTTPStatus || re.Status != 503 || len(c.log) != 4 {
				t.Fatalf("err %v after %d requests; want http-status 503 after 4 (the policy's attempts)", c.err, len(c.log))
			}
		}},
		{"server ignores ranges, cut", "ranges=none", func(f *fixture) { f.arm(1, "cut=300000") }, nil, func(t *testing.T, f *fixture, c run) {
			mustOK(t, f, c.res, c.err)
			if c.res.Resumable || c.res.Reason.Code != protocol.ReasonNoRanges {
				t.Fatalf("resumable %v, reason %+v", c.res.Resumable, c.res.Reason)
			}
			// The probe's 200 was read as the one stream; after the cut,
			// it starts over with a request without Range.
			if len(c.log) != 2 || c.log[0].Status != 200 || !c.log[0].Cut || c.log[1].Range != "" || c.log[1].Sent != size {
				t.Fatalf("requests %v", c.log)
			}
		}},
		{"weak ETag only", "validators=weak", nil, nil, func(t *testing.T, f *fixture, c run) {
			mustOK(t, f, c.res, c.err)
			if c.res.Resumable || c.res.Reason.Code != protocol.ReasonWeakETag || !strings.HasPrefix(c.log[0].ETag, "W/") {
				t.Fatalf("resumable %v, reason %+v, etag %s", c.res.Resumable, c.res.Reason, c.log[0].ETag)
			}
			// The probe, then the whole file once: nothing else was lost.
			if len(c.log) != 2 || !c.log[0].Probe || c.log[1].Range != "" || c.log[1].Sent != size {
				t.Fatalf("requests %v", c.log)
			}
		}},
		{"Last-Modified equal to Date", "validators=lm&lm=now", nil, nil, func(t *testing.T, f *fixture, c run) {
			mustOK(t, f, c.res, c.err)
			if c.res.Resumable || c.res.Reason.Code != protocol.ReasonWeakLastModified {
				t.Fatalf("resumable %v, reason %+v", c.res.Resumable, c.res.Reason)
			}
		}},
		{"Last-Modified only, strong", "validators=lm", func(f *fixture) {
			// A date is strong only once it is a second older than Date.
			past := time.Now().Add(-time.Hour)
			if err := os.Chtimes(mustPath(f.t, f.srv, file), past, past); err != nil {
				f.t.Fatal(err)
			}
			f.arm(1, "")
			f.arm(1, "cut=300000")
		}, chunk(512 << 10), func(t *testing.T, f *fixture, c run) {
			mustOK(t, f, c.res, c.err)
			if !c.res.Resumable {
				t.Fatal("not resumable")
			}
			for _, e := range c.log[1:] {
				if e.IfRange == "" || strings.HasPrefix(e.IfRange, `"`) {
					t.Fatalf("request %v; want If-Range with the date", e)
				}
			}
		}},
		{"file changes mid-body and the server ignores If-Range", "", func(f *fixture) {
			f.arm(1, "")
			f.arm(1, "change=100000&cut=200000")
			f.arm(8, "ifrange=ignore")
		}, chunk(512 << 10), func(t *testing.T, f *fixture, c run) {
			mustOK(t, f, c.res, c.err) // the new file
			if c.res.Restarts != 1 {
				t.Fatalf("restarts %d", c.res.Restarts)
			}
			// A 206 of the new version came (the server ignored
			// If-Range): its ETag gave it away, and the download started
			// over with a probe.
			old, sawNew := c.log[0].ETag, false
			for i, e := range c.log[1:] {
				if e.Status == 206 && e.ETag != old && e.IfRange == old {
					sawNew = true
					if !strings.Contains(e.Fault, "ifrange=ignore") {
						t.Fatalf("request %d: %v", i+1, e)
					}
				}
			}
			if !sawNew {
				t.Fatalf("requests %v; want a 206 of the new version to an If-Range of the old", c.log)
			}
		}},
		{"Content-Range shifted by one", "", func(f *fixture) { f.arm(3, "cr=shift") }, nil, func(t *testing.T, f *fixture, c run) {
			if resumer.CodeOf(c.err) != resumer.CodeBadResponse || len(c.log) != 3 {
				t.Fatalf("err %v after %d requests; want bad-response after 3", c.err, len(c.log))
			}
			if f.st.Used() != 0 {
				t.Fatalf("%d bytes of inconsistent responses stored", f.st.Used())
			}
		}},
		{"Content-Range shifted once, then fine", "", func(f *fixture) { f.arm(1, "cr=shift") }, chunk(512 << 10), func(t *testing.T, f *fixture, c run) {
			mustOK(t, f, c.res, c.err)
			if len(c.log) != 4 || !strings.Contains(c.log[0].Fault, "cr=shift") || !c.log[1].Probe {
				t.Fatalf("requests %v; want the shifted probe, the probe again and two ranges", c.log)
			}
		}},
		{"Content-Range missing on resume keeps stored bytes", "", func(f *fixture) {
			f.arm(1, "")
			f.arm(50, "cr=missing") // every range: with several connections, whichever comes first
		}, chunk(512 << 10), func(t *testing.T, f *fixture, c run) {
			if resumer.CodeOf(c.err) != resumer.CodeBadResponse {
				t.Fatalf("err %v, want bad-response", c.err)
			}
			if f.st.Used() != small {
				t.Fatalf("%d bytes stored, want the probe's %d intact", f.st.Used(), small)
			}
		}},
	})
}

// memLocks is a Locker for tests: locks shared by the managers of one test,
// as the Web Locks API shares them between tabs.
type memLocks struct {
	mu   sync.Mutex
	held map[string]chan struct{}
}

func (l *memLocks) Lock(ctx context.Context, name string, wait bool) (func(), bool, error) {
	for {
		l.mu.Lock()
		ch, busy := l.held[name]
		if !busy {
			ch = make(chan struct{})
			l.held[name] = ch
			l.mu.Unlock()
			var once sync.Once
			return func() {
				once.Do(func() {
					l.mu.Lock()
					delete(l.held, name)
					l.mu.Unlock()
					close(ch)
				})
			}, true, nil
		}
		l.mu.Unlock()
		if !wait {
			return nil, false, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, false, ctx.Err()
		}
	}
}

// memNews is a platform.Teller for tests: what one tab tells, every
// listener on the channel hears, the teller's own too (as a tab's
// BroadcastChannels hear each other), in order, on a goroutine of its own.
type memNews struct {
	mu        sync.Mutex
	listeners map[string][]chan []byte
}

func (n *memNews) tell(name string, msg []byte) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, ch := range n.listeners[name] {
		select {
		case ch <- msg:
		default: // dropped, as a Teller may
		}
	}
}

func (n *memNews) listen(name string, fn func([]byte)) chan []byte {
	ch := make(chan []byte, 64)
	n.mu.Lock()
	if n.listeners == nil {
		n.listeners = map[string][]chan []byte{}
	}
	n.listeners[name] = append(n.listeners[name], ch)
	n.mu.Unlock()
	go func() {
		for msg := range ch {
			fn(msg)
		}
	}()
	return ch
}

// tab is a platform with locks shared between tabs, an optional storage
// estimate, an optional cross-origin that refuses If-Range, and news
// between tabs.
type tab struct {
	httpfetch.Platform
	news       *memNews
	locks      *memLocks
	free       func() (int64, bool)
	refuseIfRg bool
	mu         sync.Mutex
	refused    int
	reqs       []platform.Request
	held       []func()
}

func (p *tab) Lock(ctx context.Context, name string, wait bool) (func(), bool, error) {
	if p.locks == nil {
		return func() {}, true, nil
	}
	release, ok, err := p.locks.Lock(ctx, name, wait)
	if ok {
		p.mu.Lock()
		p.held = append(p.held, release)
		p.mu.Unlock()
	}
	return release, ok, err
}

func (p *tab) Tell(name string, msg []byte) {
	if p.news != nil {
		p.news.tell(name, msg)
	}
}

func (p *tab) Listen(name string, fn func([]byte)) func() {
	if p.news != nil {
		p.news.listen(name, fn)
	}
	return func() {}
}

// close lets go of every lock of the tab, as the browser does when a tab
// closes.
func (p *tab) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, r := range p.held {
		r()
	}
}

func (p *tab) Free(ctx context.Context) (int64, bool, error) {
	if p.free == nil {
		return 0, false, nil
	}
	n, ok := p.free()
	return n, ok, nil
}

func (p *tab) CrossOrigin(string) bool { return p.refuseIfRg }

func (p *tab) sent() []platform.Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]platform.Request(nil), p.reqs...)
}

func (p *tab) Fetch(ctx context.Context, req platform.Request) (*platform.Response, error) {
	p.mu.Lock()
	p.reqs = append(p.reqs, req)
	p.mu.Unlock()
	if p.refuseIfRg && req.IfRange != "" {
		p.mu.Lock()
		p.refused++
		p.mu.Unlock()
		return nil, errors.New("TypeError: Failed to fetch (CORS preflight)")
	}
	return p.Platform.Fetch(ctx, req)
}

func TestTwoTabs(t *testing.T) {
	f := newFixture(t)
	locks := &memLocks{held: map[string]chan struct{}{}}
	u := f.url + file + "?rate=2097152"
	k := newKillable(f.st, 0)
	news := &memNews{}
	pa := &tab{locks: locks, news: news}
	tabA := resumer.NewManager(k, pa)
	tabB := resumer.NewManager(f.st, &tab{locks: locks, news: news})
	wa, wb := newWatch(), newWatch()
	a, _ := tabA.Download(u, wa.opts(resumer.Options{ChunkSize: small}))
	wa.until(t, "tab A stores a byte", func(p resumer.Progress) bool { return p.Stored > 0 })
	b, _ := tabB.Download(u, wb.opts(resumer.Options{ChunkSize: small}))
	wb.until(t, "tab B waits", func(p resumer.Progress) bool { return p.State == protocol.LockedElsewhere })
	if err := tabB.Remove(context.Background(), u); resumer.CodeOf(err) != resumer.CodeLocked {
		t.Fatalf("remove from the other tab: %v, want locked-elsewhere", err)
	}
	// Tab A keeps writing while B waits: B sends no request of its own.
	wa.until(t, "tab A stores a third", func(p resumer.Progress) bool { return p.Stored >= size/3 })
	if b.State() != protocol.LockedElsewhere {
		t.Fatalf("tab B is %s while tab A writes", b.State())
	}
	// Tab A closes: its writes stop and its lock goes.
	k.kill()
	a.Pause()
	wa.until(t, "tab A pauses", func(p resumer.Progress) bool { return p.State == protocol.Paused })
	before := len(f.gets())
	pa.close()
	res, err := wait(t, b)
	mustOK(t, f, res, err)
	wa.check(t)
	wb.check(t)
	after := f.logged()[before:]
	if len(after) == 0 || after[0].Start == 0 || after[0].IfRange == "" {
		t.Fatalf("tab B did not resume tab A's bytes: %v", after)
	}
}

// TestTabTellsProgress: a tab that waits for another to write a download
// shows that tab's progress, as the writer tells it (platform.Teller), and
// says that tab's state; once it takes over, its own.
func TestTabTellsProgress(t *testing.T) {
	f := newFixture(t)
	locks := &memLocks{held: map[string]chan struct{}{}}
	news := &memNews{}
	tabA := resumer.NewManager(f.st, &tab{locks: locks, news: news})
	tabB := resumer.NewManager(f.st, &tab{locks: locks, news: news})
	wa, wb := newWatch(), newWatch()
	// One download (one key): tab A's link is slow (16 s for the file),
	// so that it still writes while tab B listens; tab B's is not.
	opts := resumer.Options{ChunkSize: small, Key: "the file"}
	a, _ := tabA.Download(f.url+file+"?rate=65536", wa.opts(opts))
	wa.until(t, "tab A stores a byte", func(p resumer.Progress) bool { return p.Stored > 0 })
	b, _ := tabB.Download(f.url+file, wb.opts(opts))
	// Tab B has read nothing stored: what it shows is tab A's word.
	shown := wb.until(t, "tab B shows tab A's progress", func(p resumer.Progress) bool {
		return p.State == protocol.LockedElsewhere && p.Elsewhere == protocol.Running && p.Stored > 0 && p.Total == size
	})
	if shown.Validators.ETag == "" || !shown.Resumable {
		t.Fatalf("tab B shows %+v; want tab A's validators, resumable", shown)
	}
	a.Pause()
	res, err := wait(t, b)
	mustOK(t, f, res, err)
	if p := b.Progress(); p.Elsewhere != "" {
		t.Fatalf("tab B wrote the file and still says it is %q elsewhere", p.Elsewhere)
	}
	wa.check(t)
	wb.check(t)
}

func TestQuotaPrecheck(t *testing.T) {
	f := newFixture(t)
	m := resumer.NewManager(f.st, &tab{free: func() (int64, bool) { return size / 2, true }})
	_, err := f.download(m, f.url+file, resumer.Options{})
	var qe *resumer.QuotaError
	if resumer.CodeOf(err) != resumer.CodeQuota || !errors.As(err, &qe) || qe.Need != size || qe.Free != size/2 {
		t.Fatalf("err = %v, want quota-exceeded needing %d with %d free", err, size, size/2)
	}
	if f.st.Used() != 0 {
		t.Fatal("bytes stored before failing")
	}
}

func TestQuotaResumesWhenSpaceIsFreed(t *testing.T) {
	defer resumer.SetQuotaRecheck(20 * time.Millisecond)()
	f := newFixture(t)
	f.st.Limit = size / 2
	var mu sync.Mutex
	free := int64(size) // the estimate allows it; the store refuses midway
	asked := make(chan struct{}, 100)
	tb := &tab{free: func() (int64, bool) {
		mu.Lock()
		defer mu.Unlock()
		select {
		case asked <- struct{}{}:
		default:
		}
		return free, true
	}}
	m := resumer.NewManager(f.st, tb)
	w := newWatch()
	d, _ := m.Download(f.url+file, w.opts(resumer.Options{ChunkSize: small}))
	w.until(t, "a pause for quota", func(p resumer.Progress) bool { return p.State == protocol.Paused })
	// The estimate is asked again every 20 ms; each answer is the same
	// that let the storage fill up, and none may resume the download.
	for range len(asked) {
		<-asked
	}
	for i := range 5 {
		select {
		case <-asked:
		case <-time.After(10 * time.Second):
			t.Fatalf("the estimate was asked %d times while paused, want 5", i)
		}
	}
	if d.State() != protocol.Paused {
		t.Fatal("resumed on the same estimate that let the storage fill up")
	}
	f.st.Limit = 0
	mu.Lock()
	free = 1 << 40
	mu.Unlock()
	res, err := wait(t, d) // no Resume(): space was freed
	mustOK(t, f, res, err)
	w.check(t)
}

func TestCrossOriginIfRangeRefused(t *testing.T) {
	f := newFixture(t)
	u := f.url + file + "?rate=4194304"
	f.interrupt(u, size/4, resumer.Options{ChunkSize: small})
	p := &tab{refuseIfRg: true}
	m := resumer.NewManager(f.st, p)
	m.Rand = func() float64 { return 0 }
	res, err := f.download(m, u, fast)
	mustOK(t, f, res, err)
	// The first resume request, with If-Range, fails like a refused
	// preflight; the same span is then asked for with a plain Range.
	sent := p.sent()
	if p.refused != 1 || len(sent) < 2 || sent[0].IfRange == "" || sent[1].IfRange != "" || sent[1].Range != sent[0].Range {
		t.Fatalf("refused %d; sent %+v; want one refusal, then the same span with a plain Range", p.refused, sent)
	}
	if e := f.served(sent[1]); e.Status != 206 || e.ClientGone {
		t.Fatalf("the plain Range was answered %v", e)
	}
	rec, _ := f.st.Get(context.Background(), u)
	if rec.Mode != protocol.ModeRangedPlain {
		t.Fatal("the refusal is not remembered")
	}
}

func TestUntrustedRecordDiscarded(t *testing.T) {
	f := newFixture(t)
	u := f.url + file
	ctx := context.Background()
	f.st.Put(ctx, store.Record{URL: u, Schema: 99, State: protocol.Done, Mode: protocol.ModeRanged, Total: size})
	f.st.PutChunk(ctx, store.Chunk{URL: u, Start: 0, Data: memstore.Bytes(make([]byte, size))})
	var mu sync.Mutex
	var notices []string
	opts := resumer.Options{OnProgress: func(p resumer.Progress) {
		mu.Lock()
		defer mu.Unlock()
		if p.Notice != "" && (len(notices) == 0 || notices[len(notices)-1] != p.Notice) {
			notices = append(notices, p.Notice)
		}
	}}
	res, err := f.download(f.manager(), u, opts)
	if err != nil {
		t.Fatal(err)
	}
	mustMatch(t, res, f.sha())
	mu.Lock()
	defer mu.Unlock()
	if len(notices) == 0 || !strings.Contains(notices[0], "schema version 99") {
		t.Fatalf("notices %q", notices)
	}
}

func TestDamagedChunksRefetched(t *testing.T) {
	f := newFixture(t)
	u := f.url + file
	if _, err := f.download(f.manager(), u, resumer.Options{ChunkSize: 64 << 10, FlushInterval: time.Hour}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rec, _ := f.st.Get(ctx, u)
	rec.State = protocol.Paused
	f.st.Put(ctx, rec)
	// One chunk lost, one damaged (no bytes): both must be fetched again.
	f.st.DeleteChunk(ctx, u, rec.Gen, 3*64<<10)
	f.st.PutChunk(ctx, store.Chunk{URL: u, Gen: rec.Gen, Start: 5 * 64 << 10, Data: memstore.Bytes{}})
	before := len(f.gets(1))
	res, err := f.download(f.manager(), u, resumer.Options{ChunkSize: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	mustMatch(t, res, f.sha())
	g := f.gets(before + 2)[before:]
	if len(g) != 2 || g[0].Range != "bytes=196608-262143" || g[1].Range != "bytes=327680-393215" {
		t.Fatalf("repair requests %+v", g)
	}
}
