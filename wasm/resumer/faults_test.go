//go:build !js

package resumer_test

import (
	"context"
	"errors"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-resumer/resumer/wasm/internal/httpfetch"
	"github.com/go-resumer/resumer/wasm/protocol"
	"github.com/go-resumer/resumer/wasm/resumer"
	"github.com/go-resumer/resumer/wasm/store"
	"github.com/go-resumer/resumer/wasm/store/memstore"
)

// TestFaults runs the engine against each misbehaviour of the dev server.
// Every row checks that the fault happened (the server's log) and that the
// result is still right (the SHA-256 of the bytes) or fails with the
// expected code and the stored bytes intact.
func TestFaults(t *testing.T) {
	tests := []struct {
		name  string
		query string
		// arm faults for the next requests: file, times, values.
		arm   func(f *fixture)
		check func(t *testing.T, f *fixture, res resumer.Result, err error, log []logged)
	}{
		{"connection cut mid-body", "cut=300000", nil, func(t *testing.T, f *fixture, res resumer.Result, err error, log []logged) {
			mustOK(t, f, res, err)
			if !log[0].Cut || log[0].Sent != 300000 {
				t.Fatalf("first request not cut at 300000: %+v", log[0])
			}
			// The bytes received before the cut were kept, not refetched.
			if log[1].Start != 300000 || log[1].IfRange == "" {
				t.Fatalf("resumed with %+v, want from 300000 with If-Range", log[1])
			}
		}},
		{"503 with Retry-After, twice", "status=503&retry-after=0&fail=2", nil, func(t *testing.T, f *fixture, res resumer.Result, err error, log []logged) {
			mustOK(t, f, res, err)
			if len(log) != 3 || log[0].Status != 503 || log[1].Status != 503 || log[2].Status != 206 {
				t.Fatalf("statuses %v", statuses(log))
			}
		}},
		{"429 then fine", "status=429&fail=1", nil, func(t *testing.T, f *fixture, res resumer.Result, err error, log []logged) {
			mustOK(t, f, res, err)
			if log[0].Status != 429 || len(log) != 2 {
				t.Fatalf("statuses %v", statuses(log))
			}
		}},
		{"403 is not retried", "status=403", nil, func(t *testing.T, f *fixture, res resumer.Result, err error, log []logged) {
			var re *resumer.Error
			if !errors.As(err, &re) || re.Code != resumer.CodeHTTPStatus || re.Status != 403 || len(log) != 1 {
				t.Fatalf("err %v after %d requests; want http-status 403 after 1", err, len(log))
			}
		}},
		{"503 for ever gives up", "status=503", nil, func(t *testing.T, f *fixture, res resumer.Result, err error, log []logged) {
			var re *resumer.Error
			if !errors.As(err, &re) || re.Code != resumer.CodeHTTPStatus || re.Status != 503 || len(log) != 4 {
				t.Fatalf("err %v after %d requests; want http-status 503 after 4 (the policy's attempts)", err, len(log))
			}
		}},
		{"server ignores ranges", "ranges=none", func(f *fixture) { f.arm(1, "cut=300000") }, func(t *testing.T, f *fixture, res resumer.Result, err error, log []logged) {
			mustOK(t, f, res, err)
			if res.Resumable || res.Reason.Code != protocol.ReasonNoRanges {
				t.Fatalf("resumable %v, reason %+v", res.Resumable, res.Reason)
			}
			// After the cut, it starts over with a request without Range.
			if log[0].Status != 200 || !log[0].Cut || log[1].Range != "" || log[1].Start != 0 {
				t.Fatalf("requests %+v", log)
			}
		}},
		{"weak ETag only", "validators=weak", nil, func(t *testing.T, f *fixture, res resumer.Result, err error, log []logged) {
			mustOK(t, f, res, err)
			if res.Resumable || res.Reason.Code != protocol.ReasonWeakETag || !strings.HasPrefix(log[0].ETag, "W/") {
				t.Fatalf("resumable %v, reason %+v, etag %s", res.Resumable, res.Reason, log[0].ETag)
			}
		}},
		{"Last-Modified equal to Date", "validators=lm&lm=now", nil, func(t *testing.T, f *fixture, res resumer.Result, err error, log []logged) {
			mustOK(t, f, res, err)
			if res.Resumable || res.Reason.Code != protocol.ReasonWeakLastModified {
				t.Fatalf("resumable %v, reason %+v", res.Resumable, res.Reason)
			}
		}},
		{"Last-Modified only, strong", "validators=lm", func(f *fixture) {
			// A date is strong only once it is a second older than Date.
			past := time.Now().Add(-time.Hour)
			if err := os.Chtimes(mustPath(f.t, f.srv), past, past); err != nil {
				f.t.Fatal(err)
			}
			f.arm(1, "cut=300000")
		}, func(t *testing.T, f *fixture, res resumer.Result, err error, log []logged) {
			mustOK(t, f, res, err)
			if !res.Resumable || log[1].IfRange == "" || strings.HasPrefix(log[1].IfRange, `"`) || log[1].Start != 300000 {
				t.Fatalf("resumable %v; resumed with %+v, want If-Range with the date", res.Resumable, log[1])
			}
		}},
		{"file changes mid-body and the server ignores If-Range", "", func(f *fixture) {
			f.arm(1, "change=200000&cut=300000")
			f.arm(1, "ifrange=ignore")
		}, func(t *testing.T, f *fixture, res resumer.Result, err error, log []logged) {
			mustOK(t, f, res, err) // the new file
			if res.Restarts != 1 {
				t.Fatalf("restarts %d", res.Restarts)
			}
			// The server answered the resume with a 206 of the new version:
			// its ETag gave it away and nothing of it was appended.
			if log[1].Status != 206 || log[1].ETag == log[0].ETag || log[2].Start != 0 {
				t.Fatalf("requests %+v", log)
			}
		}},
		{"Content-Range shifted by one", "", func(f *fixture) { f.arm(3, "cr=shift") }, func(t *testing.T, f *fixture, res resumer.Result, err error, log []logged) {
			if resumer.CodeOf(err) != resumer.CodeBadResponse || len(log) != 3 {
				t.Fatalf("err %v after %d requests; want bad-response after 3", err, len(log))
			}
			if f.st.Used() != 0 {
				t.Fatalf("%d bytes of inconsistent responses stored", f.st.Used())
			}
		}},
		{"Content-Range shifted once, then fine", "", func(f *fixture) { f.arm(1, "cr=shift") }, func(t *testing.T, f *fixture, res resumer.Result, err error, log []logged) {
			mustOK(t, f, res, err)
			if len(log) != 2 {
				t.Fatalf("%d requests", len(log))
			}
		}},
		{"Content-Range missing on resume keeps stored bytes", "", func(f *fixture) {
			f.arm(1, "cut=300000")
			f.arm(3, "cr=missing")
		}, func(t *testing.T, f *fixture, res resumer.Result, err error, log []logged) {
			if resumer.CodeOf(err) != resumer.CodeBadResponse {
				t.Fatalf("err %v, want bad-response", err)
			}
			if f.st.Used() != 300000 {
				t.Fatalf("%d bytes stored, want the 300000 before the cut intact", f.st.Used())
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			if tt.arm != nil {
				tt.arm(f)
			}
			u := f.url + file
			if tt.query != "" {
				u += "?" + tt.query
			}
			res, err := f.download(f.manager(), u, fast)
			tt.check(t, f, res, err, f.logged(u))
		})
	}
}

type logged struct {
	Status          int
	Range, IfRange  string
	ETag            string
	Start, Sent     int64
	Cut, ClientGone bool
}

func (f *fixture) logged(u string) []logged {
	var out []logged
	for _, e := range f.gets() {
		out = append(out, logged{e.Status, e.Range, e.IfRange, e.ETag, e.Start, e.Sent, e.Cut, e.ClientGone})
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

func mustOK(t *testing.T, f *fixture, res resumer.Result, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("download failed: %v", err)
	}
	mustMatch(t, res, f.sha())
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

// tab is a platform with locks shared between tabs, an optional storage
// estimate and an optional cross-origin that refuses If-Range.
type tab struct {
	httpfetch.Platform
	locks      *memLocks
	free       func() (int64, bool)
	refuseIfRg bool
	mu         sync.Mutex
	refused    int
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

func (p *tab) Fetch(ctx context.Context, req resumer.Request) (*resumer.Response, error) {
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
	k := &killable{Store: f.st}
	pa := &tab{locks: locks}
	tabA := resumer.NewManager(k, pa)
	tabB := resumer.NewManager(f.st, &tab{locks: locks})
	a, _ := tabA.Download(u, resumer.Options{ChunkSize: 64 << 10})
	for a.Progress().Stored == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	b, _ := tabB.Download(u, resumer.Options{ChunkSize: 64 << 10})
	for b.State() != protocol.LockedElsewhere {
		time.Sleep(5 * time.Millisecond)
	}
	if err := tabB.Remove(context.Background(), u); resumer.CodeOf(err) != resumer.CodeLocked {
		t.Fatalf("remove from the other tab: %v, want locked-elsewhere", err)
	}
	time.Sleep(100 * time.Millisecond)
	if b.State() != protocol.LockedElsewhere {
		t.Fatalf("tab B is %s while tab A writes", b.State())
	}
	// Tab A closes: its writes stop and its lock goes.
	k.kill()
	a.Pause()
	pa.close()
	res, err := wait(t, b)
	if err != nil {
		t.Fatal(err)
	}
	mustMatch(t, res, f.sha())
	g := f.gets(2)
	if len(g) != 2 {
		t.Fatalf("%d requests; want tab A's and tab B's resume only", len(g))
	}
	resumeOfB := g[0]
	if resumeOfB.Start == 0 {
		resumeOfB = g[1]
	}
	if resumeOfB.Start == 0 || resumeOfB.IfRange == "" {
		t.Fatalf("tab B did not resume tab A's bytes: %+v", g)
	}
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
	m := resumer.NewManager(f.st, &tab{free: func() (int64, bool) { mu.Lock(); defer mu.Unlock(); return free, true }})
	d, _ := m.Download(f.url+file, resumer.Options{ChunkSize: 64 << 10})
	for d.State() != protocol.Paused {
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	if d.State() != protocol.Paused {
		t.Fatal("resumed on the same estimate that let the storage fill up")
	}
	f.st.Limit = 0
	mu.Lock()
	free = 1 << 40
	mu.Unlock()
	res, err := wait(t, d) // no Resume(): space was freed
	if err != nil {
		t.Fatal(err)
	}
	mustMatch(t, res, f.sha())
}

func TestCrossOriginIfRangeRefused(t *testing.T) {
	f := newFixture(t)
	u := f.url + file + "?rate=4194304"
	f.interrupt(u, size/4)
	p := &tab{refuseIfRg: true}
	m := resumer.NewManager(f.st, p)
	m.Rand = func() float64 { return 0 }
	res, err := f.download(m, u, fast)
	if err != nil {
		t.Fatal(err)
	}
	mustMatch(t, res, f.sha())
	g := f.gets(2)
	if p.refused != 1 || g[1].IfRange != "" || g[1].Start == 0 || g[1].Status != 206 {
		t.Fatalf("refused %d; resumed with %+v; want one refusal, then a plain Range", p.refused, g[1])
	}
	rec, _ := f.st.Get(context.Background(), u)
	if !rec.NoIfRange {
		t.Fatal("the refusal is not remembered")
	}
}

func TestUntrustedRecordDiscarded(t *testing.T) {
	f := newFixture(t)
	u := f.url + file
	ctx := context.Background()
	f.st.Put(ctx, store.Record{URL: u, Schema: 99, State: protocol.Done, Established: true, Total: size})
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
