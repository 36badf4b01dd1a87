//go:build !js

package resumer_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-resumer/resumer/serve/devserver"
	"github.com/go-resumer/resumer/wasm/internal/httpfetch"
	"github.com/go-resumer/resumer/wasm/protocol"
	"github.com/go-resumer/resumer/wasm/resumer"
	"github.com/go-resumer/resumer/wasm/store"
	"github.com/go-resumer/resumer/wasm/store/memstore"
)

const (
	size = 1 << 20
	file = "f.bin"
)

// fixture is a dev server with one sample file and a manager on a memstore.
type fixture struct {
	t    *testing.T
	srv  *devserver.Server
	url  string // base URL of /files/
	name string // the sample's name
	size int64  // and size
	st   *memstore.Store
}

// newFixture serves the sample file of size bytes.
func newFixture(t *testing.T) *fixture { return newFixtureOf(t, file, size) }

// newFixtureOf serves a sample of another name and size.
func newFixtureOf(t *testing.T, name string, size int64) *fixture {
	t.Helper()
	srv, err := devserver.New(devserver.Config{DataDir: t.TempDir(), Samples: []devserver.Sample{{Name: name, Size: size}}})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		srv.Close()
		hs.Close()
	})
	return &fixture{t: t, srv: srv, url: hs.URL + "/files/", name: name, size: size, st: memstore.New()}
}

func (f *fixture) manager() *resumer.Manager {
	m := resumer.NewManager(f.st, httpfetch.Platform{})
	m.Rand = func() float64 { return 0 }
	return m
}

// fast retries keep fault tests short.
var fast = resumer.Options{ChunkSize: 64 << 10, Retry: protocol.RetryPolicy{Base: 10 * time.Millisecond, Max: 50 * time.Millisecond, Attempts: 4}}

func (f *fixture) sha() [32]byte {
	f.t.Helper()
	p, err := f.srv.Path(f.name)
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
	return d.Wait(ctx)
}

func (f *fixture) download(m *resumer.Manager, url string, opts resumer.Options) (resumer.Result, error) {
	f.t.Helper()
	d, err := m.Download(url, opts)
	if err != nil {
		f.t.Fatal(err)
	}
	return wait(f.t, d)
}

func mustMatch(t *testing.T, res resumer.Result, want [32]byte) {
	t.Helper()
	b := res.Blob.(memstore.Bytes)
	got := sha256.Sum256(b)
	if got != want || res.Size != int64(len(b)) {
		t.Fatalf("result: %d bytes (Size %d), sha256 %x; want sha256 %x", len(b), res.Size, got[:6], want[:6])
	}
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
		if e.Method == "GET" && strings.HasSuffix(e.Path, "/"+f.name) {
			out = append(out, e)
		}
	}
	return out
}

func TestWholeDownload(t *testing.T) {
	f := newFixture(t)
	res, err := f.download(f.manager(), f.url+file, resumer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	mustMatch(t, res, f.sha())
	if !res.Resumable || res.Restarts != 0 || res.Validators.ETag == "" {
		t.Fatalf("result %+v", res)
	}
	if g := f.gets(1); len(g) != 1 || g[0].Range != "bytes=0-" || g[0].Status != 206 {
		t.Fatalf("requests: %+v", g)
	}
	// A finished download is kept: asking again returns it without a request.
	res, err = f.download(f.manager(), f.url+file, resumer.Options{})
	if err != nil || len(f.gets()) != 1 {
		t.Fatalf("second download: %v, %d requests", err, len(f.gets()))
	}
	mustMatch(t, res, f.sha())
}

// killable is a store that stops accepting writes at once, like a tab that
// is closed: what was committed stays, nothing more arrives.
type killable struct {
	store.Store
	mu     sync.Mutex
	killed bool
}

var errKilled = errors.New("tab closed")

func (k *killable) kill() { k.mu.Lock(); k.killed = true; k.mu.Unlock() }
func (k *killable) dead() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.killed
}
func (k *killable) PutChunk(ctx context.Context, c store.Chunk) error {
	if k.dead() {
		return errKilled
	}
	return k.Store.PutChunk(ctx, c)
}
func (k *killable) Put(ctx context.Context, r store.Record) error {
	if k.dead() {
		return errKilled
	}
	return k.Store.Put(ctx, r)
}

// interrupt downloads url until at least min bytes are stored, then kills
// the store under it, and returns what was stored.
func (f *fixture) interrupt(url string, min int64) int64 {
	f.t.Helper()
	k := &killable{Store: f.st}
	m := resumer.NewManager(k, httpfetch.Platform{})
	d, err := m.Download(url, resumer.Options{ChunkSize: 64 << 10})
	if err != nil {
		f.t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for d.Progress().Stored < min {
		if time.Now().After(deadline) {
			f.t.Fatalf("stored only %d bytes", d.Progress().Stored)
		}
		time.Sleep(5 * time.Millisecond)
	}
	k.kill()
	d.Pause()
	for s := d.State(); s == protocol.Running; s = d.State() {
		time.Sleep(5 * time.Millisecond)
	}
	f.gets(1) // the interrupted request, logged once the server saw the client go
	infos, err := resumer.NewManager(f.st, httpfetch.Platform{}).List(context.Background())
	if err != nil || len(infos) != 1 {
		f.t.Fatalf("list: %v, %v", infos, err)
	}
	return infos[0].Received
}

func TestResumeAfterInterruption(t *testing.T) {
	f := newFixture(t)
	url := f.url + file + "?rate=2097152"
	stored := f.interrupt(url, size*4/10)
	if stored <= 0 || stored >= size {
		t.Fatalf("stored %d", stored)
	}
	before := len(f.gets())
	res, err := f.download(f.manager(), url, resumer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	mustMatch(t, res, f.sha())
	after := f.gets(before + 1)[before:]
	if len(after) != 1 || after[0].Start != stored || after[0].IfRange == "" || after[0].Status != 206 {
		t.Fatalf("resumed with %+v; want one 206 from %d with If-Range", after, stored)
	}
	if after[0].Sent != size-stored {
		t.Fatalf("resume sent %d bytes, want %d", after[0].Sent, size-stored)
	}
}

func TestFileChangedWhileInterrupted(t *testing.T) {
	f := newFixture(t)
	url := f.url + file + "?rate=2097152"
	old := f.sha()
	f.interrupt(url, size/4)
	if err := f.srv.ChangeFile(file); err != nil {
		t.Fatal(err)
	}
	if f.sha() == old {
		t.Fatal("ChangeFile did not change the file")
	}
	before := len(f.gets())
	res, err := f.download(f.manager(), url, resumer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	mustMatch(t, res, f.sha())
	if res.Restarts != 1 {
		t.Fatalf("restarts = %d, want 1", res.Restarts)
	}
	if after := f.gets(before + 1)[before:]; after[0].IfRange == "" || after[0].Status != 200 {
		t.Fatalf("the If-Range request got %+v, want a 200", after[0])
	}
}

func TestNoValidators(t *testing.T) {
	f := newFixture(t)
	url := f.url + file + "?validators=none&rate=2097152"
	f.interrupt(url, size/4)
	before := len(f.gets())
	res, err := f.download(f.manager(), url, resumer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	mustMatch(t, res, f.sha())
	if res.Resumable || res.Reason.Code != protocol.ReasonNoValidators ||
		!strings.Contains(res.Reason.Text, "ETag") || !strings.Contains(res.Reason.Text, "Last-Modified") {
		t.Fatalf("resumable %v, reason %+v", res.Resumable, res.Reason)
	}
	if res.Restarts != 0 {
		t.Fatalf("restarts = %d: a restart without a change of file is not counted", res.Restarts)
	}
	if after := f.gets(before + 1)[before:]; len(after) != 1 || after[0].Start != 0 || after[0].IfRange != "" {
		t.Fatalf("after the interruption: %+v; want one request from byte 0 without If-Range", after)
	}
}

func TestHTTPStatus(t *testing.T) {
	f := newFixture(t)
	_, err := f.download(f.manager(), f.url+"missing.bin", resumer.Options{})
	var re *resumer.Error
	if !errors.As(err, &re) || re.Code != resumer.CodeHTTPStatus || re.Status != 404 {
		t.Fatalf("err = %v, want http-status 404", err)
	}
}

func TestPauseResume(t *testing.T) {
	f := newFixture(t)
	m := f.manager()
	var mu sync.Mutex
	var states []protocol.State
	opts := resumer.Options{ChunkSize: 64 << 10, OnProgress: func(p resumer.Progress) {
		mu.Lock()
		if len(states) == 0 || states[len(states)-1] != p.State {
			states = append(states, p.State)
		}
		mu.Unlock()
	}}
	d, err := m.Download(f.url+file+"?rate=4194304", opts)
	if err != nil {
		t.Fatal(err)
	}
	for d.Progress().Stored < size/4 {
		time.Sleep(5 * time.Millisecond)
	}
	d.Pause()
	for d.State() != protocol.Paused {
		time.Sleep(5 * time.Millisecond)
	}
	infos, _ := m.List(context.Background())
	if len(infos) != 1 || infos[0].State != protocol.Paused || infos[0].Received <= 0 {
		t.Fatalf("list while paused: %+v", infos)
	}
	paused := infos[0].Received
	d.Resume()
	res, err := wait(t, d)
	if err != nil {
		t.Fatal(err)
	}
	mustMatch(t, res, f.sha())
	g := f.gets(2)
	if len(g) != 2 || g[1].Start != paused {
		t.Fatalf("requests %+v; want the second from %d", g, paused)
	}
	mu.Lock()
	defer mu.Unlock()
	want := []protocol.State{protocol.Running, protocol.Paused, protocol.Running, protocol.Done}
	if len(states) < 4 || !equalStates(states[len(states)-4:], want) {
		t.Fatalf("states %v, want to end with %v", states, want)
	}
}

func equalStates(a, b []protocol.State) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestCancelDeletes(t *testing.T) {
	f := newFixture(t)
	m := f.manager()
	d, _ := m.Download(f.url+file+"?rate=2097152", resumer.Options{ChunkSize: 64 << 10})
	for d.Progress().Stored == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	d.Cancel()
	_, err := wait(t, d)
	if resumer.CodeOf(err) != resumer.CodeAborted || !errors.Is(err, resumer.ErrCanceled) {
		t.Fatalf("err = %v, want aborted", err)
	}
	if f.st.Used() != 0 {
		t.Fatalf("%d bytes left after cancel", f.st.Used())
	}
	if _, err := f.st.Get(context.Background(), f.url+file+"?rate=2097152"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("record left after cancel: %v", err)
	}
}

func TestRemove(t *testing.T) {
	f := newFixture(t)
	m := f.manager()
	if _, err := f.download(m, f.url+file, resumer.Options{}); err != nil {
		t.Fatal(err)
	}
	if err := m.Remove(context.Background(), f.url+file); err != nil {
		t.Fatal(err)
	}
	if infos, _ := m.List(context.Background()); len(infos) != 0 || f.st.Used() != 0 {
		t.Fatalf("after remove: %+v, %d bytes", infos, f.st.Used())
	}
}

func TestInvalidArguments(t *testing.T) {
	m := resumer.NewManager(memstore.New(), httpfetch.Platform{})
	for _, tt := range []struct {
		url  string
		opts resumer.Options
	}{
		{"ftp://x/y", resumer.Options{}},
		{"/relative", resumer.Options{}},
		{"http://x/y", resumer.Options{ChunkSize: 10}},
		{"http://x/y", resumer.Options{FlushInterval: -1}},
	} {
		if _, err := m.Download(tt.url, tt.opts); resumer.CodeOf(err) != resumer.CodeInvalid {
			t.Errorf("Download(%q, %+v) = %v, want invalid-argument", tt.url, tt.opts, err)
		}
	}
}

func TestQuotaPausesAndResumes(t *testing.T) {
	f := newFixture(t)
	f.st.Limit = size / 2
	m := f.manager()
	d, _ := m.Download(f.url+file, resumer.Options{ChunkSize: 64 << 10})
	deadline := time.Now().Add(10 * time.Second)
	for d.State() != protocol.Paused {
		if time.Now().After(deadline) {
			t.Fatalf("state %s, want paused by quota", d.State())
		}
		time.Sleep(5 * time.Millisecond)
	}
	p := d.Progress()
	if p.ErrCode != resumer.CodeQuota || p.Stored == 0 || p.Stored > size/2 {
		t.Fatalf("paused with %+v", p)
	}
	infos, _ := m.List(context.Background())
	if infos[0].ErrCode != resumer.CodeQuota || infos[0].Received != p.Stored {
		t.Fatalf("list: %+v", infos[0])
	}
	f.st.Limit = 0
	d.Resume()
	res, err := wait(t, d)
	if err != nil {
		t.Fatal(err)
	}
	mustMatch(t, res, f.sha())
}

func TestJoinTrimsOverlaps(t *testing.T) {
	// Overlapping chunks (a piece stored twice after a lost acknowledgement)
	// are joined without repeating bytes.
	f := newFixture(t)
	url := f.url + file
	want, _ := os.ReadFile(mustPath(t, f.srv))
	res, err := f.download(f.manager(), url, resumer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rec, _ := f.st.Get(context.Background(), url)
	ctx := context.Background()
	if err := f.st.PutChunk(ctx, store.Chunk{URL: url, Gen: rec.Gen, Start: 100, Data: memstore.Bytes(want[100:300000])}); err != nil {
		t.Fatal(err)
	}
	res, err = f.download(f.manager(), url, resumer.Options{})
	if err != nil || !bytes.Equal(res.Blob.(memstore.Bytes), want) {
		t.Fatalf("join with an overlap: %v", err)
	}
}

func mustPath(t *testing.T, s *devserver.Server) string {
	p, err := s.Path(file)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
