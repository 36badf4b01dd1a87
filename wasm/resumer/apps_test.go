//go:build !js

package resumer_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
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

// What apps build on: integrity, keys, headers, the queue, and finished
// downloads served as files.

func sri(sum [32]byte) string { return "sha256-" + base64.StdEncoding.EncodeToString(sum[:]) }

func TestIntegrity(t *testing.T) {
	t.Run("matches", func(t *testing.T) {
		f := newFixture(t)
		o := fast
		o.Integrity = sri(f.sha())
		res, err := f.download(f.manager(), f.url+f.name+"?digest=none", o)
		mustOK(t, f, res, err)
		if !res.Verified {
			t.Fatal("result not marked verified")
		}
	})
	t.Run("does not match: integrity error, bytes discarded", func(t *testing.T) {
		f := newFixture(t)
		o := fast
		wrong := f.sha()
		wrong[0] ^= 1
		o.Integrity = sri(wrong)
		url := f.url + f.name + "?digest=none"
		_, err := f.download(f.manager(), url, o)
		if resumer.CodeOf(err) != resumer.CodeIntegrity {
			t.Fatalf("error %v (code %q), want %q", err, resumer.CodeOf(err), resumer.CodeIntegrity)
		}
		// The whole file came, and none of it is kept.
		var sent int64
		for _, e := range f.gets() {
			sent += e.Sent
		}
		if sent < f.size {
			t.Fatalf("the server sent %d bytes of %d: the check ran before the end?", sent, f.size)
		}
		if cs, _ := f.st.Chunks(context.Background(), url); len(cs) != 0 {
			t.Fatalf("%d chunks kept after an integrity failure", len(cs))
		}
	})
	t.Run("the server's Repr-Digest is checked", func(t *testing.T) {
		f := newFixture(t)
		res, err := f.download(f.manager(), f.url+f.name, fast)
		mustOK(t, f, res, err)
		if !res.Verified {
			t.Fatal("a download whose server sent Repr-Digest is not marked verified")
		}
		log := f.gets()
		if log[0].ReprDigest == "" {
			t.Fatal("the server sent no Repr-Digest: the test proves nothing")
		}
	})
	t.Run("a wrong Repr-Digest fails the download", func(t *testing.T) {
		f := newFixture(t)
		url := f.url + f.name + "?digest=bad"
		_, err := f.download(f.manager(), url, fast)
		if resumer.CodeOf(err) != resumer.CodeIntegrity {
			t.Fatalf("error %v, want code %q", err, resumer.CodeIntegrity)
		}
		if !strings.Contains(f.gets()[0].Fault, "digest=bad") {
			t.Fatalf("fault not applied: %+v", f.gets()[0])
		}
	})
	t.Run("a server digest that contradicts integrity fails before storing", func(t *testing.T) {
		f := newFixture(t)
		o := fast
		o.Integrity = sri(f.sha())
		url := f.url + f.name + "?digest=bad"
		_, err := f.download(f.manager(), url, o)
		if resumer.CodeOf(err) != resumer.CodeIntegrity {
			t.Fatalf("error %v, want code %q", err, resumer.CodeIntegrity)
		}
		if n := len(f.gets()); n != 1 {
			t.Fatalf("%d requests; the first answer says it all", n)
		}
		if cs, _ := f.st.Chunks(context.Background(), url); len(cs) != 0 {
			t.Fatalf("%d chunks stored", len(cs))
		}
	})
	t.Run("bad integrity metadata is an invalid argument", func(t *testing.T) {
		f := newFixture(t)
		for _, bad := range []string{"sha256-!!", "md5-AAAA", "sha256-" + base64.StdEncoding.EncodeToString([]byte("short"))} {
			o := fast
			o.Integrity = bad
			if _, err := f.manager().Download(f.url+f.name, o); resumer.CodeOf(err) != resumer.CodeInvalid {
				t.Errorf("integrity %q: %v, want invalid-argument", bad, err)
			}
		}
	})
}

// counting is a platform that counts the bytes the engine reads into Go.
type counting struct {
	httpfetch.Platform
	mu   sync.Mutex
	read int64
}

func (c *counting) ReadBlob(ctx context.Context, b store.Blob) ([]byte, error) {
	c.mu.Lock()
	c.read += b.Size()
	c.mu.Unlock()
	return c.Platform.ReadBlob(ctx, b)
}

func (c *counting) bytesRead() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.read
}

func TestIntegrityResumesItsHash(t *testing.T) {
	const big = 64 << 20
	f := newFixtureOf(t, "big.bin", big)
	url := f.url + f.name + "?rate=33554432"
	o := resumer.Options{ChunkSize: 1 << 20, Integrity: sri(f.sha())}
	stored := f.interrupt(url, 40<<20, o)
	rec, err := f.st.Get(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Hashed == 0 || len(rec.HashState) == 0 {
		t.Fatalf("after %d bytes stored, the record holds no hash state (hashed %d)", stored, rec.Hashed)
	}
	c := &counting{}
	m := resumer.NewManager(f.st, c)
	res, err := f.download(m, url, o)
	mustOK(t, f, res, err)
	if !res.Verified {
		t.Fatal("not verified")
	}
	// The resumed session read only what was not hashed before.
	if want := big - rec.Hashed; c.bytesRead() != want {
		t.Fatalf("the resumed session read %d bytes into Go; %d were hashed before, so want %d", c.bytesRead(), rec.Hashed, want)
	}
}

// pauseAtHash is a platform that pauses its download as the integrity
// check starts on its n-th piece, when the pieces before it are hashed and
// reported. Once chain holds a state, it counts the bytes hashed on from
// it (read into Go), call after call: the next session's, not those the
// stopped one's hash may still take on before it quits.
type pauseAtHash struct {
	httpfetch.Platform
	n int
	// hold, if set, is waited for before the second piece is hashed.
	hold <-chan struct{}

	mu     sync.Mutex
	calls  int
	due    bool
	d      *resumer.Download
	paused bool            // the pause was asked for
	chain  map[string]bool // states to hash on from (true), or hashed on from
	after  int64           // bytes hashed on from them
}

func (p *pauseAtHash) HashBlob(ctx context.Context, alg string, state []byte, b store.Blob) ([]byte, []byte, error) {
	p.mu.Lock()
	if b != nil && !p.paused {
		if p.calls++; p.calls == 2 && p.hold != nil {
			p.mu.Unlock()
			<-p.hold
			p.mu.Lock()
		}
		if p.calls == p.n {
			p.paused, p.due = true, p.d == nil
			if d := p.d; d != nil {
				p.mu.Unlock()
				d.Pause()
				p.mu.Lock()
			}
		}
	}
	p.mu.Unlock()
	next, sum, err := platform.HashRead(ctx, p, alg, state, b)
	p.mu.Lock()
	// Each state counts once: the stopped session's hash, still on its
	// last piece, may reach a state the next one reaches too.
	if b != nil && err == nil && p.chain[string(state)] {
		p.after += b.Size()
		p.chain[string(state)] = false
		if _, seen := p.chain[string(next)]; !seen {
			p.chain[string(next)] = true
		}
	}
	p.mu.Unlock()
	return next, sum, err
}

func (p *pauseAtHash) start(d *resumer.Download) {
	p.mu.Lock()
	p.d = d
	due := p.due
	p.mu.Unlock()
	if due {
		d.Pause()
	}
}

// fullStore closes full once size bytes of chunks are stored.
type fullStore struct {
	store.Store
	size int64
	full chan struct{}

	mu     sync.Mutex
	stored int64
}

func (s *fullStore) PutChunk(ctx context.Context, c store.Chunk) error {
	if err := s.Store.PutChunk(ctx, c); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	was := s.stored
	s.stored += c.Data.Size()
	if was < s.size && s.stored >= s.size {
		close(s.full)
	}
	return nil
}

// TestPauseKeepsHashProgress: a pause writes down how far the integrity
// check got, though far fewer bytes than the record's usual step were
// hashed, and the resumed session hashes only the bytes after them:
// paused while the file arrives, or once all of it is stored and the
// check is behind (the hash held until then).
func TestPauseKeepsHashProgress(t *testing.T) {
	for _, verifying := range []bool{false, true} {
		t.Run(fmt.Sprintf("verifying=%v", verifying), func(t *testing.T) { testPauseKeepsHashProgress(t, verifying) })
	}
}

func testPauseKeepsHashProgress(t *testing.T, verifying bool) {
	const sz = 8 << 20
	f := newFixtureOf(t, "eight.bin", sz)
	url := f.url + f.name + "?rate=4194304"
	o := resumer.Options{ChunkSize: 256 << 10, Integrity: sri(f.sha())}
	p := &pauseAtHash{n: 3}
	var st store.Store = f.st
	if verifying {
		fs := &fullStore{Store: f.st, size: sz, full: make(chan struct{})}
		st, p.hold = fs, fs.full
	}
	m := resumer.NewManager(st, p)
	w := newWatch()
	d, err := m.Download(url, w.opts(o))
	if err != nil {
		t.Fatal(err)
	}
	p.start(d)
	w.until(t, "the pause", func(pr resumer.Progress) bool { return pr.State == protocol.Paused })
	rec, err := f.st.Get(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Hashed <= 0 || len(rec.HashState) == 0 || rec.Hashed >= sz {
		t.Fatalf("paused after two pieces were hashed: the record says %d bytes hashed, a state of %d bytes", rec.Hashed, len(rec.HashState))
	}
	p.mu.Lock()
	p.chain = map[string]bool{string(rec.HashState): true}
	p.mu.Unlock()
	d.Resume()
	res, err := wait(t, d)
	mustOK(t, f, res, err)
	if !res.Verified {
		t.Fatal("not verified")
	}
	p.mu.Lock()
	after := p.after
	p.mu.Unlock()
	if want := int64(sz) - rec.Hashed; after != want {
		t.Fatalf("after the pause, %d bytes were hashed on from the saved state; %d were before it, so want %d", after, rec.Hashed, want)
	}
}

func TestIntegrityOnSeveralConnections(t *testing.T) {
	f := newFixture(t)
	o := with(4)
	o.Integrity = sri(f.sha())
	res, err := f.download(f.manager(), f.url+f.name+"?digest=none", o)
	mustOK(t, f, res, err)
	if !res.Verified {
		t.Fatal("not verified")
	}
}

func TestKeyAcrossURLs(t *testing.T) {
	f := newFixture(t)
	o := fast
	o.Key = "model-v1"
	stored := f.interrupt(f.url+f.name+"?rate=524288&sig=first", size/3, o)
	m, rec := f.recorded()
	res, err := f.download(m, f.url+f.name+"?rate=524288&sig=second", o)
	mustOK(t, f, res, err)
	if res.Key != "model-v1" || !strings.HasSuffix(res.URL, "sig=second") {
		t.Fatalf("result key %q url %q", res.Key, res.URL)
	}
	// The resumed session went to the new link only, and asked for no
	// more than what was missing.
	var asked int64
	for _, r := range rec.sent() {
		if !strings.HasSuffix(r.URL, "sig=second") {
			t.Fatalf("a request went to an old link: %s", r.URL)
		}
		var a, b int64
		if _, err := fmt.Sscanf(r.Range, "bytes=%d-%d", &a, &b); err != nil {
			t.Fatalf("request %+v: %v", r, err)
		}
		asked += b - a + 1
	}
	if asked > size-stored {
		t.Fatalf("the resumed session asked for %d bytes; %d of %d were stored", asked, stored, size)
	}
	infos, err := m.List(context.Background())
	if err != nil || len(infos) != 1 || infos[0].Key != "model-v1" || !strings.HasSuffix(infos[0].URL, "sig=second") {
		t.Fatalf("list: %+v, %v", infos, err)
	}
}

func TestHeadersSentNotStored(t *testing.T) {
	f := newFixture(t)
	const token = "Bearer s3cr3t-t0ken"
	o := fast
	o.Header = map[string]string{"Authorization": token, "X-App": "yes"}
	c := &headerSpy{}
	m := resumer.NewManager(f.st, c)
	res, err := f.download(m, f.url+f.name, o)
	mustOK(t, f, res, err)
	if n := c.count(token); n == 0 || n != len(f.gets()) {
		t.Fatalf("%d of %d requests carried the Authorization header", n, len(f.gets()))
	}
	// Nothing stored holds the header's value.
	recs, _ := f.st.List(context.Background())
	for _, r := range recs {
		if s := fmt.Sprintf("%#v", r); strings.Contains(s, "s3cr3t") {
			t.Fatalf("the record holds the header: %s", s)
		}
	}
	for _, bad := range []map[string]string{{"Range": "bytes=0-"}, {"if-range": `"x"`}, {"X-Evil": "a\r\nb"}, {"Bad Name": "x"}} {
		o := fast
		o.Header = bad
		if _, err := m.Download(f.url+f.name+"?other", o); resumer.CodeOf(err) != resumer.CodeInvalid {
			t.Errorf("headers %q: %v, want invalid-argument", bad, err)
		}
	}
}

// headerSpy records the Authorization header of every request.
type headerSpy struct {
	httpfetch.Platform
	mu   sync.Mutex
	auth []string
}

func (h *headerSpy) Fetch(ctx context.Context, req platform.Request) (*platform.Response, error) {
	h.mu.Lock()
	h.auth = append(h.auth, req.Header["Authorization"])
	h.mu.Unlock()
	return h.Platform.Fetch(ctx, req)
}

func (h *headerSpy) count(v string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, a := range h.auth {
		if a == v {
			n++
		}
	}
	return n
}

func TestQueue(t *testing.T) {
	f := newFixtureOf(t, "a.bin", size, devserver.Sample{Name: "b.bin", Size: size}, devserver.Sample{Name: "c.bin", Size: size})
	m := f.manager()
	m.SetMaxConcurrent(1)
	// The first download is slow (throttled), so that the others queue
	// behind it for as long as it runs.
	wa, wb, wc := newWatch(), newWatch(), newWatch()
	a, err := m.Download(f.url+"a.bin?rate=500000", wa.opts(fast))
	if err != nil {
		t.Fatal(err)
	}
	wa.until(t, "a running", func(p resumer.Progress) bool { return p.State == protocol.Running })
	b, _ := m.Download(f.url+"b.bin", wb.opts(fast))
	c, _ := m.Download(f.url+"c.bin", wc.opts(fast))
	wb.until(t, "b queued", func(p resumer.Progress) bool { return p.State == protocol.Queued })
	wc.until(t, "c queued", func(p resumer.Progress) bool { return p.State == protocol.Queued })
	if b.Progress().Stored != 0 || c.Progress().Stored != 0 {
		t.Fatal("a queued download stored bytes")
	}
	// A paused queued download leaves the queue; c gets the slot after a.
	b.Pause()
	wb.until(t, "b paused", func(p resumer.Progress) bool { return p.State == protocol.Paused })
	if _, err := wait(t, a); err != nil {
		t.Fatal(err)
	}
	if _, err := wait(t, c); err != nil {
		t.Fatal(err)
	}
	if b.State() != protocol.Paused {
		t.Fatalf("b is %s, want paused", b.State())
	}
	b.Resume()
	if _, err := wait(t, b); err != nil {
		t.Fatal(err)
	}
	wa.check(t)
	wb.check(t)
	wc.check(t)
	// One at a time: no request of c before the last of a ended.
	var aEnd, cStart time.Time
	for _, e := range f.srv.Log() {
		switch {
		case strings.HasSuffix(e.Path, "a.bin") && e.End.After(aEnd):
			aEnd = e.End
		case strings.HasSuffix(e.Path, "c.bin") && (cStart.IsZero() || e.Time.Before(cStart)):
			cStart = e.Time
		}
	}
	if cStart.Before(aEnd) {
		t.Fatalf("c's first request (%v) came before a's last ended (%v)", cStart, aEnd)
	}
}

func TestPauseAll(t *testing.T) {
	f := newFixtureOf(t, "a.bin", size, devserver.Sample{Name: "b.bin", Size: size})
	m := f.manager()
	wa, wb := newWatch(), newWatch()
	m.Download(f.url+"a.bin?rate=300000", wa.opts(fast))
	m.Download(f.url+"b.bin?rate=300000", wb.opts(fast))
	wa.until(t, "a running", func(p resumer.Progress) bool { return p.State == protocol.Running })
	wb.until(t, "b running", func(p resumer.Progress) bool { return p.State == protocol.Running })
	m.PauseAll()
	wa.until(t, "a paused", func(p resumer.Progress) bool { return p.State == protocol.Paused })
	wb.until(t, "b paused", func(p resumer.Progress) bool { return p.State == protocol.Paused })
}

func TestServe(t *testing.T) {
	f := newFixture(t)
	m := f.manager()
	url := f.url + f.name
	res, err := f.download(m, url, fast)
	mustOK(t, f, res, err)
	want, _ := os.ReadFile(mustPath(t, f.srv, f.name))
	ctx := context.Background()
	etag := res.Validators.ETag
	for _, tt := range []struct {
		req        protocol.ServeRequest
		status     int
		start, end int64 // the body's bytes; end -1: no body
		cr         string
	}{
		{protocol.ServeRequest{}, 200, 0, size, ""},
		{protocol.ServeRequest{Range: "bytes=10-19"}, 206, 10, 20, fmt.Sprintf("bytes 10-19/%d", size)},
		{protocol.ServeRequest{Range: "bytes=-5"}, 206, size - 5, size, fmt.Sprintf("bytes %d-%d/%d", size-5, size-1, size)},
		{protocol.ServeRequest{Range: fmt.Sprintf("bytes=%d-", size)}, 416, 0, -1, fmt.Sprintf("bytes */%d", size)},
		{protocol.ServeRequest{Range: "bytes=0-0", IfRange: etag}, 206, 0, 1, fmt.Sprintf("bytes 0-0/%d", size)},
		{protocol.ServeRequest{Range: "bytes=0-0", IfRange: `"other"`}, 200, 0, size, ""},
		{protocol.ServeRequest{Method: "HEAD"}, 200, 0, -1, ""},
	} {
		s, err := m.Serve(ctx, url, tt.req, resumer.Caller{})
		if err != nil {
			t.Fatalf("%+v: %v", tt.req, err)
		}
		if s.Status != tt.status || s.Header["Content-Range"] != tt.cr {
			t.Errorf("%+v: status %d, Content-Range %q; want %d, %q", tt.req, s.Status, s.Header["Content-Range"], tt.status, tt.cr)
			continue
		}
		if tt.end < 0 {
			if s.Body != nil {
				t.Errorf("%+v: a body of %d bytes, want none", tt.req, s.Body.Size())
			}
			continue
		}
		if got := []byte(s.Body.(memstore.Bytes)); !bytes.Equal(got, want[tt.start:tt.end]) {
			t.Errorf("%+v: body of %d bytes is not bytes %d-%d of the file", tt.req, len(got), tt.start, tt.end)
		}
		if s.Header["Content-Length"] != fmt.Sprint(tt.end-tt.start) || s.Header["ETag"] != etag {
			t.Errorf("%+v: headers %v", tt.req, s.Header)
		}
	}
	if s, _ := m.Serve(ctx, url, protocol.ServeRequest{}, resumer.Caller{}); !strings.HasPrefix(s.Header["Repr-Digest"], "sha-256=:") {
		t.Errorf("a verified file is served without Repr-Digest: %v", s.Header)
	}
	if _, err := m.Serve(ctx, f.url+"none.bin", protocol.ServeRequest{}, resumer.Caller{}); resumer.CodeOf(err) != resumer.CodeNotFound {
		t.Errorf("Serve of nothing stored: %v, want not-found", err)
	}
	if s, _ := m.Serve(ctx, url, protocol.ServeRequest{}, resumer.Caller{}); s.URL != url {
		t.Errorf("served URL %q, want %q", s.URL, url)
	}
	// Behind a redirect, the URL is the one the bytes came from, as
	// fetch() reports it in Response.url.
	moved := url + "?redirect=same"
	res, err = f.download(m, moved, fast)
	mustOK(t, f, res, err)
	s, err := m.Serve(ctx, moved, protocol.ServeRequest{}, resumer.Caller{})
	if err != nil || s.URL != url+"?redirected=1" || s.Key != moved {
		t.Errorf("served %q (key %q), %v; want the redirect's target %q", s.URL, s.Key, err, url+"?redirected=1")
	}
}

func TestServeUnfinished(t *testing.T) {
	f := newFixture(t)
	url := f.url + f.name + "?rate=524288"
	f.interrupt(url, size/4, fast)
	if _, err := f.manager().Serve(context.Background(), url, protocol.ServeRequest{}, resumer.Caller{}); resumer.CodeOf(err) != resumer.CodeNotFound {
		t.Fatalf("Serve of an unfinished download: %v, want not-found", err)
	}
}

func TestReader(t *testing.T) {
	f := newFixtureOf(t, "r.bin", 9<<20+123) // not a multiple of the read step
	m := f.manager()
	url := f.url + f.name
	res, err := f.download(m, url, resumer.Options{})
	mustOK(t, f, res, err)
	r, err := m.Reader(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	h := sha256.New()
	n, err := io.Copy(h, r)
	if err != nil || n != f.size || [32]byte(h.Sum(nil)) != f.sha() {
		t.Fatalf("read %d bytes, %v; sha256 match: %v", n, err, [32]byte(h.Sum(nil)) == f.sha())
	}
}

func TestPutAndClear(t *testing.T) {
	st := memstore.New()
	m := resumer.NewManager(st, httpfetch.Platform{})
	ctx := context.Background()
	body := memstore.Bytes("hello, stored world")
	err := m.Put(ctx, "", resumer.PutFile{URL: "https://app.test/x.txt", Blob: body, ContentType: "text/plain", ETag: `"v1"`})
	if err != nil {
		t.Fatal(err)
	}
	s, err := m.Serve(ctx, "https://app.test/x.txt", protocol.ServeRequest{Range: "bytes=7-12"}, resumer.Caller{})
	if err != nil || s.Status != 206 || string(s.Body.(memstore.Bytes)) != "stored" || s.Header["Content-Type"] != "text/plain" {
		t.Fatalf("Serve after Put: %+v, %v", s, err)
	}
	u, err := m.Usage(ctx)
	if err != nil || u.Downloads != 1 || u.Stored != int64(len(body)) {
		t.Fatalf("usage %+v, %v", u, err)
	}
	infos, _ := m.List(ctx)
	if len(infos) != 1 || infos[0].State != protocol.Done || !infos[0].Resumable {
		t.Fatalf("list after Put: %+v", infos)
	}
	if err := m.Put(ctx, "", resumer.PutFile{URL: "user:pw@x", Blob: body}); resumer.CodeOf(err) != resumer.CodeInvalid {
		t.Fatalf("Put of a bad URL: %v", err)
	}
	if err := m.Clear(ctx); err != nil {
		t.Fatal(err)
	}
	if u, _ := m.Usage(ctx); u.Downloads != 0 || u.Stored != 0 {
		t.Fatalf("usage after Clear: %+v", u)
	}
}

func TestEvicted(t *testing.T) {
	f := newFixture(t)
	m := f.manager()
	url := f.url + f.name
	res, err := f.download(m, url, fast)
	mustOK(t, f, res, err)
	// The browser drops a stored chunk (its blob file), the record stays.
	ctx := context.Background()
	cs, _ := f.st.Chunks(ctx, url)
	victim := cs[len(cs)/2]
	if err := f.st.DeleteChunk(ctx, url, victim.Gen, victim.Start); err != nil {
		t.Fatal(err)
	}
	infos, _ := m.List(ctx)
	if len(infos) != 1 || !infos[0].Evicted {
		t.Fatalf("list does not report the eviction: %+v", infos)
	}
	if _, err := m.Serve(ctx, url, protocol.ServeRequest{}, resumer.Caller{}); resumer.CodeOf(err) != resumer.CodeNotFound {
		t.Fatalf("Serve of an evicted file: %v", err)
	}
	before := len(f.gets())
	var mu sync.Mutex
	var codes []string
	o := fast
	o.OnProgress = func(p resumer.Progress) {
		mu.Lock()
		codes = append(codes, p.NoticeCode)
		mu.Unlock()
	}
	res, err = f.download(m, url, o)
	mustOK(t, f, res, err)
	mu.Lock()
	defer mu.Unlock()
	if !contains(codes, resumer.NoticeEvicted) {
		t.Fatalf("no progress with notice code %q: %v", resumer.NoticeEvicted, codes)
	}
	// Only the missing bytes were fetched again.
	for _, e := range f.gets()[before:] {
		if e.Start != victim.Start || e.Sent != victim.Data.Size() {
			t.Fatalf("refetched %d bytes at %d; only %d at %d were evicted", e.Sent, e.Start, victim.Data.Size(), victim.Start)
		}
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// TestVerify: a finished download checked against a digest it was not
// stored with is hashed once, and then known to match (List says verified,
// and a second check hashes nothing); a digest it does not match removes
// it, as a download's would be.
func TestVerify(t *testing.T) {
	f := newFixtureOf(t, "a.bin", size, devserver.Sample{Name: "b.bin", Size: size})
	p := &counting{}
	m := resumer.NewManager(f.st, p)
	for _, name := range []string{"a.bin", "b.bin"} {
		if _, err := f.download(m, f.url+name+"?digest=none", fast); err != nil {
			t.Fatal(err)
		}
	}
	a, b := f.url+"a.bin?digest=none", f.url+"b.bin?digest=none"
	ctx := context.Background()
	if err := m.Verify(ctx, a, sri(f.shaOf("a.bin"))); err != nil {
		t.Fatalf("verify the right digest: %v", err)
	}
	read := p.bytesRead()
	if read != size {
		t.Fatalf("read %d bytes to verify %d", read, size)
	}
	if err := m.Verify(ctx, a, sri(f.shaOf("a.bin"))); err != nil || p.bytesRead() != read {
		t.Fatalf("verify again: %v, read %d more bytes; want none", err, p.bytesRead()-read)
	}
	infos, _ := m.List(ctx)
	for _, in := range infos {
		if in.Key == a && !in.Verified {
			t.Fatalf("list after the check: %+v", in)
		}
	}
	err := m.Verify(ctx, b, sri(f.shaOf("a.bin")))
	if resumer.CodeOf(err) != resumer.CodeIntegrity {
		t.Fatalf("verify a wrong digest: %v, want integrity", err)
	}
	if _, err := m.Serve(ctx, b, protocol.ServeRequest{}, resumer.Caller{}); resumer.CodeOf(err) != resumer.CodeNotFound {
		t.Fatalf("the file that did not match is still served: %v", err)
	}
	if err := m.Verify(ctx, a, "sha256-x"); resumer.CodeOf(err) != resumer.CodeInvalid {
		t.Fatalf("verify with bad metadata: %v, want invalid-argument", err)
	}
}

// TestResolve: a name is a key when a download is stored or running under
// it, even if it also reads as a relative URL; else the last name (the
// absolute URL) is.
func TestResolve(t *testing.T) {
	f := newFixture(t)
	m := f.manager()
	ctx := context.Background()
	url := f.url + f.name
	res, err := f.download(m, url, resumer.Options{Key: "models/tiny.bin"})
	mustOK(t, f, res, err)
	for _, c := range []struct {
		names []string
		want  string
	}{
		{[]string{"models/tiny.bin", "https://app.test/models/tiny.bin"}, "models/tiny.bin"},
		{[]string{"other.bin", "https://app.test/other.bin"}, "https://app.test/other.bin"},
		{[]string{url}, url},
	} {
		if got, err := m.Resolve(ctx, c.names...); err != nil || got != c.want {
			t.Errorf("Resolve(%q) = %q, %v; want %q", c.names, got, err, c.want)
		}
	}
	if _, err := m.Resolve(ctx); resumer.CodeOf(err) != resumer.CodeInvalid {
		t.Errorf("Resolve() with no name: %v, want %s", err, resumer.CodeInvalid)
	}
}

// loseHashRead is a platform whose hash cannot read the bytes of some
// pieces (store.ErrBlobLost, as WebKit's NotReadableError while a page
// unloads): the lost-th call with bytes, and every one after it while
// always is set; or, if tail is set, the first call whose bytes are tail.
type loseHashRead struct {
	httpfetch.Platform
	lost   int
	always bool
	tail   []byte

	mu    sync.Mutex
	calls int // calls with bytes
	fails int
	after int // calls with bytes after the first failure
}

func (p *loseHashRead) HashBlob(ctx context.Context, alg string, state []byte, b store.Blob) ([]byte, []byte, error) {
	if b != nil {
		var isTail bool
		if p.tail != nil {
			buf, err := p.ReadBlob(ctx, b)
			if err != nil {
				return nil, nil, err
			}
			isTail = bytes.Equal(buf, p.tail)
		}
		p.mu.Lock()
		p.calls++
		if p.fails > 0 {
			p.after++
		}
		lose := p.calls == p.lost || (p.always && p.calls > p.lost) || (isTail && p.fails == 0)
		if lose {
			p.fails++
		}
		p.mu.Unlock()
		if lose {
			return nil, nil, fmt.Errorf("read the piece: %w", store.ErrBlobLost)
		}
	}
	return platform.HashRead(ctx, p, alg, state, b)
}

// TestHashReadLost: a piece whose bytes the hash cannot read (WebKit, while
// the page unloads) does not fail the download: the hash goes on from
// where it got, on the chunks read again, after a back-off, whether the
// file is still arriving or all stored. Bytes that stay unreadable fail it
// with CodeStorage once the retries are spent, without a storm.
func TestHashReadLost(t *testing.T) {
	const sz = 8 << 20
	retry := protocol.RetryPolicy{Base: 10 * time.Millisecond, Max: 40 * time.Millisecond, Attempts: 4}
	for _, tc := range []string{"while fetching", "while verifying", "always"} {
		t.Run(tc, func(t *testing.T) {
			f := newFixtureOf(t, "eight.bin", sz)
			const chunk = 256 << 10
			p := &loseHashRead{lost: 3, always: tc == "always"}
			if tc == "while verifying" {
				// The last piece: it is hashed once every byte is
				// stored, when nothing is fetched any more.
				p.lost, p.tail = 0, fileTail(t, f, chunk)
			}
			o := resumer.Options{ChunkSize: chunk, Integrity: sri(f.sha()), Retry: retry}
			w := newWatch()
			m := resumer.NewManager(f.st, p)
			url := f.url + f.name + "?t=" + strings.ReplaceAll(tc, " ", "-")
			d, err := m.Download(url, w.opts(o))
			if err != nil {
				t.Fatal(err)
			}
			res, err := wait(t, d)
			p.mu.Lock()
			calls, fails, after := p.calls, p.fails, p.after
			p.mu.Unlock()
			if fails == 0 {
				t.Fatalf("no hash read was lost (%d calls): the test proves nothing", calls)
			}
			if tc == "always" {
				var e *resumer.Error
				if !errors.As(err, &e) || e.Code != resumer.CodeStorage || !errors.Is(err, store.ErrBlobLost) {
					t.Fatalf("download with bytes that stay unreadable: %v, %+v; want a storage error of a lost read", err, res)
				}
				// One try per back-off, the count reset only by the
				// hash's progress: the policy's attempts end it.
				if fails != retry.Attempts {
					t.Fatalf("%d lost reads; want %d, the retry policy's attempts", fails, retry.Attempts)
				}
				if n, err := f.st.Chunks(context.Background(), url); err != nil || len(n) == 0 {
					t.Fatalf("%d chunks kept (%v): a read that failed must not lose the stored bytes", len(n), err)
				}
				return
			}
			mustOK(t, f, res, err)
			if !res.Verified {
				t.Fatal("not verified")
			}
			if fails != 1 || after == 0 {
				t.Fatalf("%d lost reads, %d hash calls after the first: want one, and the hash going on", fails, after)
			}
			// It went on from the state it had: a wrong one would have
			// failed the file, and every byte been hashed again.
			for _, n := range w.noticesSeen() {
				if strings.Contains(n, "checking every byte again") || strings.Contains(n, "checking the stored bytes again") {
					t.Fatalf("notice %q: the hash did not go on from where it got", n)
				}
			}
		})
	}
}

// fileTail returns the last n bytes of f's file, as its server sends them.
func fileTail(t *testing.T, f *fixture, n int64) []byte {
	t.Helper()
	req, err := http.NewRequest("GET", f.url+f.name, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Range", fmt.Sprintf("bytes=-%d", n))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusPartialContent || int64(len(b)) != n {
		t.Fatalf("the file's last %d bytes: %s, %d bytes, %v", n, resp.Status, len(b), err)
	}
	return b
}
