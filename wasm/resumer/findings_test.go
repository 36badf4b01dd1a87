//go:build !js

package resumer_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"os"
	"sort"
	"strconv"
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

// One test per finding of the review: each sees the fault happen in the
// dev server's log and checks the outcome the fix must give. They use the
// public API only (Manager, Download, Options, store.Store), so that they
// hold whatever the engine's internals become.

// TestFinding1LatestRedirect: finding 1, "wrong file, reported as
// success". /files/latest.bin redirects to v1.bin; the download stops
// half-way; later latest.bin redirects to v2.bin, a file of the same size
// whose answers carry the same validators (nginx's size-mtime ETag; here
// forced with etag=, or equal mtimes with validators=lm). The stored bytes
// are v1's: an answer from another final URL does not continue them. The
// download asks v1's URL itself and finishes v1 whole; when v1 is gone, it
// starts over and gives v2 whole. Never v1's first half joined to v2's
// second half.
func TestFinding1LatestRedirect(t *testing.T) {
	for _, tt := range []struct {
		name   string
		query  string
		sameLM bool // give v1 and v2 the same, strong, Last-Modified
		v1Gone bool // v1.bin is removed before the resume
		want   string
	}{
		{"same ETag, v1 still served", "validators=etag&etag=%22same%22&digest=none", false, false, "v1.bin"},
		{"same Last-Modified, v1 still served", "validators=lm&digest=none", true, false, "v1.bin"},
		{"same ETag, v1 gone", "validators=etag&etag=%22same%22&digest=none", false, true, "v2.bin"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixtureOf(t, "latest.bin", size,
				devserver.Sample{Name: "v1.bin", Size: size}, devserver.Sample{Name: "v2.bin", Size: size})
			files := map[string][]byte{}
			for _, name := range []string{"v1.bin", "v2.bin"} {
				b, err := os.ReadFile(mustPath(t, f.srv, name))
				if err != nil {
					t.Fatal(err)
				}
				files[name] = b
			}
			if bytes.Equal(files["v1.bin"], files["v2.bin"]) {
				t.Fatal("v1 and v2 have the same bytes")
			}
			if tt.sameLM {
				// An hour old, so that the date is strong (RFC 9110
				// §8.8.2.2), and the same for both files.
				past := time.Now().Add(-time.Hour).Truncate(time.Second)
				for _, name := range []string{"v1.bin", "v2.bin"} {
					if err := os.Chtimes(mustPath(t, f.srv, name), past, past); err != nil {
						t.Fatal(err)
					}
				}
			}
			// The fault: v1 and v2 answer with the same validators and
			// length, and only the final URL tells them apart.
			h1, h2 := headOf(t, f.url+"v1.bin?"+tt.query), headOf(t, f.url+"v2.bin?"+tt.query)
			if h1 != h2 || h1.etag == "" && h1.lastModified == "" {
				t.Fatalf("v1 answers %+v, v2 %+v: want the same validators", h1, h2)
			}
			u := f.url + "latest.bin?" + tt.query

			// Session 1: latest is v1; the tab closes half-way.
			f.arm(1000, "redirect=file:v1.bin")
			kept := f.interrupt(u, size/2, with(1))
			first := f.logged()
			v1Answers := 0
			for _, e := range first {
				if e.Path == "/files/v1.bin" && e.Status == 206 {
					v1Answers++
				}
			}
			if v1Answers == 0 || first[0].Path != "/files/latest.bin" || first[0].Status != 302 {
				t.Fatalf("session 1 did not go through the redirect to v1: %s", brief(first))
			}
			if kept < size/2 || kept >= size {
				t.Fatalf("session 1 kept %d bytes, want at least half of %d and not all", kept, size)
			}

			// Session 2: latest is v2 now, with the same validators.
			f.srv.Disarm()
			f.arm(1000, "redirect=file:v2.bin")
			if tt.v1Gone {
				if err := os.Remove(mustPath(t, f.srv, "v1.bin")); err != nil {
					t.Fatal(err)
				}
			}
			m, rec := f.recorded()
			res, err := f.download(m, u, with(1))
			after := f.logged()[len(first):]
			if err != nil {
				t.Fatalf("resume: %v\nsession 2 requests: %s", err, brief(after))
			}
			got := res.Blob.(memstore.Bytes)
			if name := whichFile(got, files); name != tt.want {
				t.Fatalf("the result is %s, want %s whole (%d bytes of v1 were stored; restarts %d)\nsession 2 requests: %s",
					name, tt.want, kept, res.Restarts, brief(after))
			}
			mustMatch(t, res, sha256.Sum256(files[tt.want]))
			if tt.v1Gone {
				return
			}
			// latest.bin leads only to v2 now: v1's bytes came from a
			// request sent straight to the stored final URL.
			direct := false
			for _, req := range rec.sent() {
				if strings.Contains(req.URL, "/files/v1.bin") {
					direct = true
				}
			}
			answered := false
			for _, e := range after {
				if e.Path == "/files/v1.bin" && e.Status == 206 {
					answered = true
				}
			}
			if !direct || !answered {
				t.Fatalf("session 2 sent a request to v1's URL: %v; v1 answered it with a 206: %v%s", direct, answered, brief(after))
			}
		})
	}
}

// brief is a log in one short line per request, for messages.
func brief(log []logged) string {
	var b strings.Builder
	for i, e := range log {
		if i == 12 {
			fmt.Fprintf(&b, "\n\t… %d more", len(log)-i)
			break
		}
		fmt.Fprintf(&b, "\n\t%s %d range=%q if-range=%q sent=%d", e.Path, e.Status, e.Range, e.IfRange, e.Sent)
		if e.Fault != "" {
			fmt.Fprintf(&b, " [%.80s]", e.Fault)
		}
	}
	return b.String()
}

// validators are the headers that identify a version.
type validators struct{ etag, lastModified, length string }

// headOf returns what a HEAD request for url answers.
func headOf(t *testing.T, url string) validators {
	t.Helper()
	resp, err := http.Head(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("HEAD %s: %s", url, resp.Status)
	}
	return validators{resp.Header.Get("ETag"), resp.Header.Get("Last-Modified"), resp.Header.Get("Content-Length")}
}

// whichFile names the file got is, or describes the mix it is.
func whichFile(got []byte, files map[string][]byte) string {
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	var mix []string
	for _, name := range names {
		b := files[name]
		if bytes.Equal(got, b) {
			return name
		}
		prefix, suffix := 0, 0
		for prefix < len(got) && prefix < len(b) && got[prefix] == b[prefix] {
			prefix++
		}
		for suffix < len(got) && suffix < len(b) && got[len(got)-1-suffix] == b[len(b)-1-suffix] {
			suffix++
		}
		mix = append(mix, fmt.Sprintf("its first %d and last %d bytes are %s's", prefix, suffix, name))
	}
	return fmt.Sprintf("no file (%d bytes): %s", len(got), strings.Join(mix, "; "))
}

// TestFinding2LoginPageAsFile: finding 2, "a login page becomes the
// file". A fresh download whose URL redirects to an HTML sign-in page
// (redirect=login: 302 to /_login, 200 text/html) fails with
// unexpected-content, and nothing is stored: no finished download is
// listed, and Serve finds nothing under the URL or the page's.
func TestFinding2LoginPageAsFile(t *testing.T) {
	f := newFixture(t)
	u := f.url + file + "?redirect=login"
	m := f.manager()
	res, err := f.download(m, u, fast)
	log := f.logged()
	if len(log) < 2 || log[0].Status != 302 || log[1].Path != "/_login" || log[1].Status != 200 {
		t.Fatalf("the download did not land on the login page: %s", brief(log))
	}
	if resumer.CodeOf(err) != resumer.CodeUnexpectedContent {
		t.Errorf("download of a URL that lands on a login page: err %v, result %d bytes of %q; want unexpected-content",
			err, res.Size, res.ContentType)
	}
	if n := f.st.Used(); n != 0 {
		t.Errorf("%d bytes of the login page stored", n)
	}
	ctx := context.Background()
	infos, lerr := m.List(ctx)
	if lerr != nil {
		t.Fatal(lerr)
	}
	for _, in := range infos {
		if in.State == protocol.Done {
			t.Errorf("listed as done: %s, %d bytes of %q", in.Key, in.Received, in.ContentType)
		}
	}
	for _, key := range []string{u, f.base + "/_login"} {
		if s, err := m.Serve(ctx, key, protocol.ServeRequest{}, resumer.Caller{}); resumer.CodeOf(err) != resumer.CodeNotFound {
			t.Errorf("Serve(%s): status %d, %s bytes of %s, err %v; want not-found",
				key, s.Status, s.Header["Content-Length"], s.Header["Content-Type"], err)
		}
	}
}

// TestFinding3RemoveOtherTabsDownload: finding 3, "another tab's download
// deleted". Two tabs share a store and its locks. Tab B is downloading the
// file (it holds the lock); tab A has a Download of the same key, paused
// (it waited for B, then the user paused it). Tab A's Remove, or Clear,
// must not delete the bytes B writes: it answers locked-elsewhere (or
// waits for B to let go), and B finishes with the right file.
func TestFinding3RemoveOtherTabsDownload(t *testing.T) {
	for _, op := range []struct {
		name string
		do   func(ctx context.Context, m *resumer.Manager, u string) error
	}{
		{"Remove", func(ctx context.Context, m *resumer.Manager, u string) error { return m.Remove(ctx, u) }},
		{"Clear", func(ctx context.Context, m *resumer.Manager, _ string) error { return m.Clear(ctx) }},
	} {
		t.Run(op.name, func(t *testing.T) {
			f := newFixture(t)
			locks := &memLocks{held: map[string]chan struct{}{}}
			u := f.url + file + "?rate=524288" // 2 s for the file
			pa, pb := &tab{locks: locks}, &tab{locks: locks}
			tabA, tabB := resumer.NewManager(f.st, pa), resumer.NewManager(f.st, pb)
			wb := newWatch()
			b, err := tabB.Download(u, wb.opts(resumer.Options{ChunkSize: small}))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(b.Cancel)
			wb.until(t, "tab B stores bytes", func(p resumer.Progress) bool { return p.Stored > 0 })
			wa := newWatch()
			a, err := tabA.Download(u, wa.opts(resumer.Options{ChunkSize: small}))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(a.Cancel)
			wa.until(t, "tab A waits for tab B", func(p resumer.Progress) bool { return p.State == protocol.LockedElsewhere })
			a.Pause()
			wa.until(t, "tab A paused", func(p resumer.Progress) bool { return p.State == protocol.Paused })

			type outcome struct {
				err       error
				bFinished bool // tab B had ended when it returned
				recGone   bool // and the record was gone
			}
			done := make(chan outcome, 1)
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), 25*time.Second)
				defer cancel()
				err := op.do(ctx, tabA, u)
				o := outcome{err: err}
				select {
				case <-b.Done():
					o.bFinished = true
				default:
				}
				_, gerr := f.st.Get(context.Background(), u)
				o.recGone = errors.Is(gerr, store.ErrNotFound)
				done <- o
			}()
			res, berr := wait(t, b)
			var o outcome
			select {
			case o = <-done:
			case <-time.After(30 * time.Second):
				t.Fatalf("tab A's %s did not return", op.name)
			}
			wb.check(t)
			if berr != nil {
				t.Fatalf("tab B failed after tab A's %s returned %v (tab B still writing: %v, record deleted: %v): %v",
					op.name, o.err, !o.bFinished, o.recGone, berr)
			}
			mustMatch(t, res, f.sha())
			switch {
			case resumer.CodeOf(o.err) == resumer.CodeLocked:
			case o.err == nil && o.bFinished:
				// It waited for tab B to let go.
			default:
				t.Fatalf("tab A's %s returned %v while tab B was writing (record deleted: %v); want locked-elsewhere",
					op.name, o.err, o.recGone)
			}
			if sent := pa.sent(); len(sent) != 0 {
				t.Fatalf("tab A sent %d requests: %+v", len(sent), sent)
			}
			for _, e := range f.logged() {
				if e.Status != 206 {
					t.Fatalf("tab B's requests: %s", brief(f.logged()))
				}
			}
		})
	}
}

// TestFinding4OneWhole200: finding 4, "one 200 throws everything away". A
// resume answered once by a 200 of the same version (the server ignored
// Range for that one request: ranges=none on that request only, see
// onceFault) keeps every stored byte and stays ranged: after a further
// interruption the next session still asks a Range, with If-Range, from
// where it stopped. What the server sends in all stays near the file size.
func TestFinding4OneWhole200(t *testing.T) {
	f := newFixture(t)
	// Throttled, so that what the server sends is what the client read
	// (a fast loopback would fill socket buffers with bytes nobody reads).
	u := f.url + file + "?rate=2097152"
	opts := with(1)
	kept1 := f.interrupt(u, size/8, opts)
	n1 := len(f.gets())

	// Session 2: its first request gets a 200 of the whole file, of the
	// same version; the tab closes half the file later.
	once := &onceFault{query: "ranges=none"}
	kept2 := f.interrupt(u, size/2, opts, once)
	log2 := f.logged()[n1:]
	the200 := once.served(t, f)
	if the200.Status != 200 || the200.Range == "" || the200.IfRange == "" || !strings.Contains(the200.Fault, "ranges=none") {
		t.Fatalf("session 2 did not start with a 200 to a resume: %s", brief(log2))
	}
	if the200.ETag != f.logged()[0].ETag {
		t.Fatalf("the 200 is of another version: ETag %s, first %s", the200.ETag, f.logged()[0].ETag)
	}
	ctx := context.Background()
	infos, err := f.manager().List(ctx)
	if err != nil || len(infos) != 1 {
		t.Fatalf("list: %v, %v", infos, err)
	}
	if !infos[0].Resumable || infos[0].Restarts != 0 {
		t.Errorf("after one 200 of the same version: resumable %v (%s), restarts %d; want still resumable, 0 restarts",
			infos[0].Resumable, infos[0].Reason.Text, infos[0].Restarts)
	}
	if kept2 <= kept1 {
		t.Errorf("session 1 kept %d bytes, session 2 ended with %d", kept1, kept2)
	}

	// Session 3 resumes from where session 2 stopped.
	m, rec := f.recorded()
	res, err := f.download(m, u, opts)
	mustOK(t, f, res, err)
	if res.Restarts != 0 || !res.Resumable {
		t.Errorf("restarts %d, resumable %v", res.Restarts, res.Resumable)
	}
	sent := rec.sent()
	if len(sent) == 0 {
		t.Fatal("session 3 sent nothing")
	}
	if start, _, ok := rangeOf(sent[0].Range); !ok || start == 0 || start > kept2 || sent[0].IfRange == "" {
		t.Errorf("session 3 began with Range %q, If-Range %q; want a resume with If-Range from the %d bytes stored",
			sent[0].Range, sent[0].IfRange, kept2)
	}
	// Kept bytes are sent once: the file, plus what the 200 carried
	// that was not used (at most the eighth stored before it, for an
	// engine that reads the 200 past the stored bytes; less for one that
	// drops it and asks a Range), plus a little in flight at each
	// interruption (about 0.15 in all): some 1.3 times the file, under the
	// 1.5 checked. Today's engine throws away the bytes of sessions 1 and
	// 2 and sends the whole file again: 0.125 + 0.5 + 1 = 1.625 times, and
	// about 1.75 with what is in flight (the issue measured 2).
	var total int64
	for _, e := range f.gets() {
		total += e.Sent
	}
	if total > size*3/2 {
		t.Errorf("the server sent %d bytes for a file of %d (%.2f times); sessions 2 and 3: %s",
			total, size, float64(total)/size, brief(f.logged()[n1:]))
	}
}

// onceFault is a platform (net/http) through which the first request
// reaches the dev server with the faults of query added to its URL, as if
// the server misbehaved for that one request; its answer is reported under
// the URL asked for. Unlike a fault armed on the server, no request of an
// interrupted session that reaches the server late can take it. It
// remembers the requests it sends.
type onceFault struct {
	httpfetch.Platform
	query string
	mu    sync.Mutex
	reqs  []platform.Request
}

func (p *onceFault) Fetch(ctx context.Context, req platform.Request) (*platform.Response, error) {
	p.mu.Lock()
	first := len(p.reqs) == 0
	p.reqs = append(p.reqs, req)
	p.mu.Unlock()
	if !first {
		return p.Platform.Fetch(ctx, req)
	}
	asked := req.URL
	if strings.Contains(asked, "?") {
		req.URL += "&" + p.query
	} else {
		req.URL += "?" + p.query
	}
	resp, err := p.Platform.Fetch(ctx, req)
	if err == nil && resp.URL == req.URL {
		resp.URL = asked
	}
	return resp, err
}

func (p *onceFault) sent() []platform.Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]platform.Request(nil), p.reqs...)
}

// served returns the server's log entry of the request that got the
// faults: the one whose query carries them.
func (p *onceFault) served(t *testing.T, f *fixture) logged {
	t.Helper()
	var found []logged
	for _, e := range f.logged() {
		if strings.HasSuffix("&"+e.Query, "&"+p.query) {
			found = append(found, e)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d requests with %s: %s", len(found), p.query, brief(f.logged()))
	}
	return found[0]
}

// rangeOf parses "bytes=a-b" or "bytes=a-": the span [start, end), end
// protocol.UnknownSize for an open range.
func rangeOf(h string) (start, end int64, ok bool) {
	spec, found := strings.CutPrefix(h, "bytes=")
	if !found {
		return 0, 0, false
	}
	a, b, found := strings.Cut(spec, "-")
	if !found {
		return 0, 0, false
	}
	start, err := strconv.ParseInt(a, 10, 64)
	if err != nil {
		return 0, 0, false
	}
	if b == "" {
		return start, protocol.UnknownSize, true
	}
	last, err := strconv.ParseInt(b, 10, 64)
	if err != nil {
		return 0, 0, false
	}
	return start, last + 1, true
}

// TestFinding5StrayStatus: finding 5, "a stray status wipes the file".
// resumer sends no If-Match, so a 412 cannot mean that the file changed,
// and a 416 without Content-Range proves nothing either. After an
// interruption, the first request of the resume gets one of them (on that
// request only, see onceFault): it is a rejection (back off and ask
// again), every stored byte is kept, no stored byte is asked for again,
// and no restart is counted.
func TestFinding5StrayStatus(t *testing.T) {
	for _, status := range []int{412, 416} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			f := newFixture(t)
			u := f.url + file
			f.interrupt(u, size/2, with(1))
			kept := f.storedSpans(u)
			once := &onceFault{query: "status=" + strconv.Itoa(status)}
			m := resumer.NewManager(f.st, once)
			m.Rand = func() float64 { return 0 }
			res, err := f.download(m, u, with(1))
			if e := once.served(t, f); e.Status != status || e.Range == "" || e.IfRange == "" ||
				!strings.Contains(e.Fault, "status=") || e.ContentRange != "" {
				t.Fatalf("the resume did not begin with a bare %d: %v", status, e)
			}
			if err != nil {
				t.Fatalf("after a %d: %v", status, err)
			}
			mustOK(t, f, res, err)
			var again []string
			for _, req := range once.sent() {
				start, end, ok := rangeOf(req.Range)
				if !ok {
					start, end = 0, protocol.UnknownSize
				}
				for _, s := range kept {
					if start < s.End && (end == protocol.UnknownSize || s.Start < end) {
						again = append(again, fmt.Sprintf("%q", req.Range))
						break
					}
				}
			}
			if len(again) > 0 {
				t.Errorf("after the %d, %d requests asked again for bytes stored before it (%v): %s",
					status, len(again), kept, strings.Join(again, " "))
			}
			infos, lerr := m.List(context.Background())
			if lerr != nil || len(infos) != 1 {
				t.Fatalf("list: %v, %v", infos, lerr)
			}
			if res.Restarts != 0 || infos[0].Restarts != 0 {
				t.Errorf("a %d counted as a change of the file: restarts %d (record %d)", status, res.Restarts, infos[0].Restarts)
			}
		})
	}
}

// storedSpans returns the bytes of key's current generation in the store.
func (f *fixture) storedSpans(key string) []protocol.Span {
	f.t.Helper()
	ctx := context.Background()
	rec, err := f.st.Get(ctx, key)
	if err != nil {
		f.t.Fatal(err)
	}
	cs, err := f.st.Chunks(ctx, key)
	if err != nil {
		f.t.Fatal(err)
	}
	var ext protocol.Extents
	for _, c := range cs {
		if c.Gen == rec.Gen && c.Data != nil {
			ext.Add(c.Start, c.End())
		}
	}
	return ext.Spans()
}

// lengthFails is a store where, once every byte of the file (size bytes)
// is committed, the first write of a record that states a known length
// fails: with ErrQuota (a full storage), or, with closeTab, as a tab that
// closes right then (every write from then on fails). A record write that
// states the length before the last byte is committed waits for it (up
// to a deadline), so that the failure falls after every piece has
// committed, whatever order the engine writes in. A last piece written
// together with its record (PutLast) goes through: a store that commits
// both in one step leaves no complete file without its length.
type lengthFails struct {
	store.Store
	size      int64
	closeTab  bool
	mu        sync.Mutex
	committed int64
	all       chan struct{} // closed once size bytes are committed
	failed    bool          // the record write failed
	healed    bool
}

func newLengthFails(st store.Store, size int64, closeTab bool) *lengthFails {
	return &lengthFails{Store: st, size: size, closeTab: closeTab, all: make(chan struct{})}
}

func (s *lengthFails) refuse() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closeTab && s.failed && !s.healed
}

func (s *lengthFails) heal() { s.mu.Lock(); s.healed = true; s.mu.Unlock() }

func (s *lengthFails) count(n int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	before := s.committed
	s.committed += n
	if before < s.size && s.committed >= s.size {
		close(s.all)
	}
}

func (s *lengthFails) Put(ctx context.Context, r store.Record) error {
	if s.refuse() {
		return errKilled
	}
	s.mu.Lock()
	states := r.Total != protocol.UnknownSize && !s.failed && !s.healed
	s.mu.Unlock()
	if states {
		select {
		case <-s.all:
		case <-ctx.Done():
		case <-time.After(10 * time.Second):
		}
		s.mu.Lock()
		s.failed = true
		s.mu.Unlock()
		if s.closeTab {
			return errKilled
		}
		return fmt.Errorf("put record of %s: %w", r.URL, store.ErrQuota)
	}
	return s.Store.Put(ctx, r)
}

func (s *lengthFails) PutChunk(ctx context.Context, c store.Chunk) error {
	if s.refuse() {
		return errKilled
	}
	if err := s.Store.PutChunk(ctx, c); err != nil {
		return err
	}
	s.count(c.Data.Size())
	return nil
}

func (s *lengthFails) PutLast(ctx context.Context, c store.Chunk, r store.Record) error {
	if s.refuse() {
		return errKilled
	}
	if err := s.Store.PutLast(ctx, c, r); err != nil {
		return err
	}
	s.count(c.Data.Size())
	return nil
}

func (s *lengthFails) Reset(ctx context.Context, r store.Record) error {
	if s.refuse() {
		return errKilled
	}
	return s.Store.Reset(ctx, r)
}

func (s *lengthFails) Delete(ctx context.Context, key string) error {
	if s.refuse() {
		return errKilled
	}
	return s.Store.Delete(ctx, key)
}

func (s *lengthFails) DeleteChunk(ctx context.Context, key string, gen, start int64) error {
	if s.refuse() {
		return errKilled
	}
	return s.Store.DeleteChunk(ctx, key, gen, start)
}

// TestFinding6UnknownLengthComplete: finding 6, "a complete file
// discarded". A file of unknown length (a 200 without Content-Length)
// arrives whole and every piece of it is committed; then the record write
// that states its length fails (a full storage, or the tab closes; see
// lengthFails). The next Download of the key, by a new manager on the same
// store, does not fetch the file again: the stored bytes are the file.
func TestFinding6UnknownLengthComplete(t *testing.T) {
	for _, closeTab := range []bool{false, true} {
		name := "quota"
		if closeTab {
			name = "tab closed"
		}
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			u := f.url + file + "?ranges=none&length=none"
			ls := newLengthFails(f.st, size, closeTab)
			w := newWatch()
			d, err := resumer.NewManager(ls, httpfetch.Platform{}).Download(u, w.opts(fast))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(d.Cancel)
			p := w.until(t, "the download stops", func(p resumer.Progress) bool {
				return p.State == protocol.Paused || p.State == protocol.Failed || p.State == protocol.Done
			})
			w.check(t)
			log := f.logged()
			ls.mu.Lock()
			failed := ls.failed
			ls.mu.Unlock()
			if !failed || p.State == protocol.Done {
				t.Fatalf("no write of the length failed: %s, %v", p.State, p.Err)
			}
			if len(log) != 1 || log[0].Status != 200 || log[0].Sent != size || !strings.Contains(log[0].Fault, "Content-Length") {
				t.Fatalf("want one 200 of the whole file without Content-Length: %s", brief(log))
			}
			if n := f.st.Used(); n != size {
				t.Fatalf("%d bytes committed of %d", n, size)
			}
			ls.heal()
			res, err := f.download(f.manager(), u, fast)
			mustOK(t, f, res, err)
			if again := f.logged()[len(log):]; len(again) != 0 {
				t.Fatalf("the file was whole in the store (%d bytes) after %q; fetched again: %s", size, p.Err, brief(again))
			}
		})
	}
}

// TestFinding7DamagedHashState: finding 7, "a correct file deleted as
// corrupt". A finished download whose digest was checked (the dev
// server's samples send Repr-Digest) has its saved hash state damaged in
// the store. Its next Download must not fail with integrity and delete the
// file: the stored bytes are hashed again, and it succeeds with the right
// SHA-256. (store.Record.Check lets any hash fields of a ranged record
// through: see wasm/store/check_test.go.)
func TestFinding7DamagedHashState(t *testing.T) {
	for _, tt := range []struct {
		name   string
		damage func(state []byte) []byte
		// refetch: fetching the file again is allowed (Check may refuse
		// the record); otherwise the stored bytes must be hashed again.
		refetch bool
	}{
		{"state of other bytes", func([]byte) []byte {
			// A readable state, of as many bytes, but not these: the
			// state of a hash that a bug or a crash saved wrong.
			h := sha256.New()
			h.Write(make([]byte, size))
			s, err := protocol.MarshalHash(h)
			if err != nil {
				panic(err)
			}
			return s
		}, false},
		{"no state", func([]byte) []byte { return nil }, true},
		{"unreadable state", func(s []byte) []byte {
			b := make([]byte, len(s))
			rand.Read(b)
			return b
		}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			u := f.url + file
			res, err := f.download(f.manager(), u, with(1))
			mustOK(t, f, res, err)
			if !res.Verified {
				t.Fatal("the sample's Repr-Digest was not checked")
			}
			ctx := context.Background()
			rec, err := f.st.Get(ctx, u)
			if err != nil {
				t.Fatal(err)
			}
			if rec.Hashed != size || len(rec.HashState) == 0 || rec.DigestFrom != "Repr-Digest" {
				t.Fatalf("record: %d bytes hashed, state of %d bytes, digest from %q", rec.Hashed, len(rec.HashState), rec.DigestFrom)
			}
			rec.HashState = tt.damage(rec.HashState)
			if err := f.st.Put(ctx, rec); err != nil {
				t.Fatal(err)
			}
			n := len(f.gets())
			res, err = f.download(f.manager(), u, with(1))
			if err != nil {
				t.Fatalf("a finished file whose saved hash state is damaged: %v; %d of its %d bytes left in the store",
					err, f.st.Used(), size)
			}
			mustMatch(t, res, f.sha())
			if !res.Verified {
				t.Error("not verified")
			}
			if again := f.logged()[n:]; !tt.refetch && len(again) != 0 {
				t.Errorf("fetched again instead of hashing the stored bytes: %s", brief(again))
			}
		})
	}
}

// TestFinding8PausedTabKeepsLock: finding 8, "stuck behind a paused tab".
// Tab A pauses its download; tab B then downloads the same key. Pausing
// lets go of the cross-tab lock: B does not wait in locked-elsewhere for
// as long as A stays paused, but resumes A's bytes and finishes, while A
// stays paused.
func TestFinding8PausedTabKeepsLock(t *testing.T) {
	f := newFixture(t)
	locks := &memLocks{held: map[string]chan struct{}{}}
	u := f.url + file + "?rate=2097152"
	pb := &tab{locks: locks}
	tabA := resumer.NewManager(f.st, &tab{locks: locks})
	tabB := resumer.NewManager(f.st, pb)
	wa := newWatch()
	a, err := tabA.Download(u, wa.opts(resumer.Options{ChunkSize: small}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Cancel)
	wa.until(t, "tab A stores a quarter", func(p resumer.Progress) bool { return p.Stored >= size/4 })
	a.Pause()
	wa.until(t, "tab A paused", func(p resumer.Progress) bool { return p.State == protocol.Paused })
	infos, err := tabB.List(context.Background())
	if err != nil || len(infos) != 1 {
		t.Fatalf("list: %v, %v", infos, err)
	}
	stored := infos[0].Received

	wb := newWatch()
	b, err := tabB.Download(u, wb.opts(resumer.Options{ChunkSize: small}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Cancel)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := b.Wait(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		wb.mu.Lock()
		states := wb.states
		wb.mu.Unlock()
		t.Fatalf("tab B is still %s after 10 s (states %v) while tab A is paused (%s): the paused tab keeps the lock",
			b.State(), states, a.State())
	}
	wb.check(t)
	mustOK(t, f, res, err)
	if a.State() != protocol.Paused {
		t.Fatalf("tab A is %s", a.State())
	}
	sent := pb.sent()
	if len(sent) == 0 {
		t.Fatal("tab B sent no request")
	}
	if start, _, ok := rangeOf(sent[0].Range); !ok || start == 0 || start > stored || sent[0].IfRange == "" {
		t.Fatalf("tab B did not resume the %d bytes tab A stored: it began with Range %q, If-Range %q", stored, sent[0].Range, sent[0].IfRange)
	}
	if e := f.served(sent[0]); e.Status != 206 {
		t.Fatalf("tab B's first request was answered %v", e)
	}
}

// TestFinding9OverrunCut: finding 9, "backing off on a fixable server".
// Every 206 body runs on past its Content-Range (overrun=65536: junk, no
// Content-Length). On the same origin Content-Range is readable: the body
// is cut where it says the range ends, and the download finishes with the
// right SHA-256 in about one request per range, on one connection and on
// four. (hostile_test.go's row "every 206 body longer than its
// Content-Range" holds the old behaviour, a bad-response.)
func TestFinding9OverrunCut(t *testing.T) {
	for _, conns := range []int{1, 4} {
		t.Run(strconv.Itoa(conns)+" connections", func(t *testing.T) {
			f := newFixture(t)
			u := f.url + file + "?overrun=65536"
			opts := with(conns)
			opts.ChunkSize = 256 << 10 // the probe and 4 ranges
			const ranges = 5
			w := newWatch()
			d, err := f.manager().Download(u, w.opts(opts))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(d.Cancel)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			res, err := d.Wait(ctx)
			log := f.logged()
			if errors.Is(err, context.DeadlineExceeded) {
				att, errs := w.failures()
				t.Fatalf("not over after 20 s: %+v; %d requests, %d failures in a row: %q", d.Progress(), len(log), att, errs)
			}
			w.check(t)
			overruns := 0
			for _, e := range log {
				if strings.Contains(e.Fault, "overrun") {
					overruns++
				}
			}
			if overruns == 0 {
				t.Fatalf("no overrun: %s", brief(log))
			}
			if err != nil {
				att, errs := w.failures()
				t.Fatalf("after %d requests (%d with junk past Content-Range), %d failures in a row %q: %v",
					len(log), overruns, att, errs, err)
			}
			mustOK(t, f, res, err)
			if len(log) > ranges+2 {
				t.Fatalf("%d requests for %d ranges: %s", len(log), ranges, brief(log))
			}
		})
	}
}
