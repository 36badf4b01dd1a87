//go:build !js

package resumer

import (
	"bytes"
	"container/heap"
	"context"
	"errors"
	"fmt"
	"hash"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-resumer/resumer/serve/devserver"
	"github.com/go-resumer/resumer/wasm/protocol"
	"github.com/go-resumer/resumer/wasm/resumer/platform"
	"github.com/go-resumer/resumer/wasm/store"
	"github.com/go-resumer/resumer/wasm/store/memstore"
)

// A world for sessions: the network, the store, the hash workers and the
// clock that a session's effects reach, simulated event by event with a
// seeded random source and no goroutine, so that a test drives the session
// itself, thousands of events a second, the same way for the same seed.
//
// Its server is the dev server's own answer, devserver.Plan (on
// protocol.ServeRange, with the dev server's fault vocabulary), over files
// held in memory; the world sends its bodies as the shell's flights read
// them (flight.go): in pieces, skipping, cutting or checking the end as the
// session's plan says, with the latency and the pace of a link, and the
// faults Plan asks for (cut=, stall=, the junk of overrun=).

// simFile is one file of the world's server, in its successive versions.
type simFile struct {
	name     string
	versions [][]byte
	mod      []time.Time
}

func (f *simFile) current() int { return len(f.versions) - 1 }

// simFlight is what the world knows of one request of the session.
type simFlight struct {
	id       int
	req      protocol.Request
	version  int    // of the file that answered, -1 none
	body     []byte // what the server sends, as long as the connection lasts
	stop     int    // where the bytes stop arriving
	ending   string // what happens there: "eof", "cut", "stall"
	rate     float64
	early    []byte // the probe's start, read before the answer was handed over
	plan     bodyPlan
	pos      int   // body bytes read
	skip     int64 // bytes still to skip
	kept     int64 // bytes handed over
	canceled bool
	over     bool      // its end was scheduled
	answered time.Time // when its answer was handed over
}

// simEvent is an event the world will hand the session at at.
type simEvent struct {
	at  time.Time
	seq int
	ev  event
	run int // the session it is for: events of an ended session are dropped
}

type simQueue []simEvent

func (q simQueue) Len() int { return len(q) }
func (q simQueue) Less(i, j int) bool {
	if !q[i].at.Equal(q[j].at) {
		return q[i].at.Before(q[j].at)
	}
	return q[i].seq < q[j].seq
}
func (q simQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *simQueue) Push(x any)   { *q = append(*q, x.(simEvent)) }
func (q *simQueue) Pop() any {
	old := *q
	e := old[len(old)-1]
	*q = old[:len(old)-1]
	return e
}

// simReq is one request the server saw.
type simReq struct {
	at     time.Time
	req    protocol.Request
	faults string
	status int
	// progress: the session had stored more than before the request
	// that failed last (see noStorm).
	after time.Duration // since the end of the request before it
}

// world is the simulation.
type world struct {
	t       testing.TB
	rnd     *rand.Rand
	now     time.Time
	q       simQueue
	seq     int
	run     int // the current session's number
	st      *memstore.Store
	s       *session
	opts    Options
	app     protocol.App
	key     string
	url     string
	files   map[string]*simFile
	cross   bool // the file is on another origin than the page
	flights map[int]*simFlight
	workers map[int]*simWorker
	timer   int // the generation of the one timer
	// refresh is the number of the app's fresh-link call under way (0
	// none); refuse is how often in a hundred the app has no fresh link.
	refresh, refreshes, refuse int
	done                       *fxDone
	steps                      int
	// maxAttempt is the most failures in a row the session reported.
	maxAttempt int

	// faults returns the fault query of the n-th request of the file, req
	// (fault keys of devserver.ParseFaults, plus "change" for a new
	// version of the file before the answer).
	faults func(n int, req protocol.Request) url.Values
	reqs   []simReq
	// latency and rate bound the link: each request's answer takes up to
	// latency, and its body comes at a rate between rate/4 and rate.
	latency time.Duration
	rate    float64
	// writeDelay bounds how long a write takes to commit.
	writeDelay time.Duration
}

func newWorld(t testing.TB, seed uint64, data []byte) *world {
	w := &world{
		t: t, rnd: rand.New(rand.NewPCG(seed, 7)), now: time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC),
		st: memstore.New(), key: "https://sim.test/files/f.bin", url: "https://sim.test/files/f.bin",
		files:   map[string]*simFile{},
		flights: map[int]*simFlight{}, workers: map[int]*simWorker{},
		faults:  func(int, protocol.Request) url.Values { return nil },
		latency: 20 * time.Millisecond, rate: 32 << 20, writeDelay: 10 * time.Millisecond,
		opts: Options{ChunkSize: 64 << 10, Retry: protocol.RetryPolicy{Base: 10 * time.Millisecond, Max: 200 * time.Millisecond, Attempts: 8}},
	}
	mod := w.now.Add(-time.Hour)
	w.files["f.bin"] = &simFile{name: "f.bin", versions: [][]byte{data}, mod: []time.Time{mod}}
	w.files["g.bin"] = &simFile{name: "g.bin", versions: [][]byte{bytes.Repeat([]byte{0x5a}, len(data)/2+1)}, mod: []time.Time{mod}}
	return w
}

// file returns the download's file.
func (w *world) file() *simFile { return w.files["f.bin"] }

// newVersion replaces the file with another of its length.
func (w *world) newVersion() {
	f := w.file()
	n := len(f.versions)
	data := make([]byte, len(f.versions[0]))
	for i := range data {
		data[i] = byte(i*31 + n*101 + i/251)
	}
	f.versions = append(f.versions, data)
	f.mod = append(f.mod, w.now.Add(-time.Duration(len(f.versions))*time.Minute))
}

// start begins a new session (a new page, or the first).
func (w *world) start() {
	w.run++
	o, err := w.opts.withDefaults()
	if err != nil {
		w.t.Fatal(err)
	}
	w.refresh = 0
	w.s = newSession(sessionConfig{key: w.key, url: w.url, opts: o, seed: w.rnd.Uint64(), jitter: w.rnd.Float64, estimates: true, app: w.app})
	w.flights, w.workers, w.done = map[int]*simFlight{}, map[int]*simWorker{}, nil
	w.timer++
	w.deliver(evStart{})
}

// at schedules ev for the current session d from now.
func (w *world) at(d time.Duration, ev event) {
	w.seq++
	heap.Push(&w.q, simEvent{at: w.now.Add(d), seq: w.seq, ev: ev, run: w.run})
}

// deliver hands ev to the session now and carries out its effects; the
// results of effects done in order come back before any other event.
func (w *world) deliver(ev event) {
	queue := []event{ev}
	for len(queue) > 0 {
		ev, queue = queue[0], queue[1:]
		w.steps++
		for _, fx := range w.s.step(w.now, ev) {
			if next := w.do(fx); next != nil {
				queue = append(queue, next)
			}
		}
	}
}

// runUntil runs the world until the session ends or stop says so (checked
// before each event), at most maxSteps events in all.
func (w *world) runUntil(stop func() bool, maxSteps int) {
	for w.done == nil && !stop() {
		if w.q.Len() == 0 {
			w.t.Fatalf("the session waits for nothing: %s", w.describe())
		}
		e := heap.Pop(&w.q).(simEvent)
		if e.run != w.run {
			continue
		}
		w.now = e.at
		if ev := w.handle(e.ev); ev != nil {
			w.deliver(ev)
		}
		if w.steps > maxSteps {
			w.t.Fatalf("no end after %d events: %s", w.steps, w.describe())
		}
	}
}

func (w *world) describe() string {
	return fmt.Sprintf("run %d at %v: phase %d, mode %s, stored %d of %d, %d flights, %d writes, %d requests",
		w.run, w.now.Format("15:04:05.000"), w.s.phase, w.s.rec.Mode, w.s.ext.Len(), w.s.rec.Total, len(w.s.flights), w.s.writes, len(w.reqs))
}

// do carries out one effect.
func (w *world) do(fx effect) event {
	switch fx := fx.(type) {
	case fxLoad:
		rec, err := w.st.Get(context.Background(), w.key)
		cs, _ := w.st.Chunks(context.Background(), w.key)
		return evLoaded{rec: rec, found: err == nil, chunks: cs}
	case fxSave:
		if fx.reset {
			return evStored{op: fx.op, err: w.st.Reset(context.Background(), fx.rec)}
		}
		return evStored{op: fx.op, err: w.st.Put(context.Background(), fx.rec)}
	case fxReset:
		return evStored{op: opReset, err: w.st.Reset(context.Background(), fx.rec)}
	case fxDeleteChunk:
		_ = w.st.DeleteChunk(context.Background(), w.key, fx.gen, fx.start)
	case fxWrite:
		w.at(w.jitterDur(w.writeDelay), simWrite{fx})
	case fxSpace:
		return evSpace{why: fx.why, free: 1 << 40, ok: true}
	case fxChunks:
		cs, err := w.st.Chunks(context.Background(), w.key)
		return evChunks{why: fx.why, chunks: cs, err: err}
	case fxJoin:
		blob, err := join(simJoiner{}, fx.parts, fx.contentType)
		return evJoined{blob: blob, err: err}
	case fxSend:
		w.send(fx)
	case fxPlan:
		w.plan(fx)
	case fxMore:
		if f := w.flights[fx.id]; f != nil && !f.over {
			w.readNext(f)
		}
	case fxCancel:
		w.cancel(fx.id)
	case fxHashStart:
		w.startHash(fx)
	case fxHash:
		if wk := w.workers[fx.w]; wk != nil {
			wk.jobs = append(wk.jobs, fx.blob.Slice(fx.from, fx.to))
			w.at(w.jitterDur(time.Millisecond), simHash{fx.w})
		}
	case fxHashStop:
		delete(w.workers, fx.w)
	case fxTimer:
		w.timer++
		if !fx.at.IsZero() {
			w.at(max(fx.at.Sub(w.now), 0), simTimer{w.timer})
		}
	case fxRefresh:
		// The app asks its own server for a fresh link: it takes a while,
		// and sometimes it has none.
		w.refreshes++
		w.refresh = w.refreshes
		var err error
		if w.rnd.IntN(100) < w.refuse {
			err = errors.New("signed out")
		}
		w.at(w.jitterDur(200*time.Millisecond), simRefreshed{n: w.refresh, err: err})
	case fxRefreshCancel:
		if w.refresh != 0 {
			w.refresh = 0
			return evRefreshed{err: context.Canceled}
		}
	case fxReport:
		if fx.retry != nil {
			w.maxAttempt = max(w.maxAttempt, fx.retry.attempt)
		}
	case fxDone:
		w.done = &fx
	}
	return nil
}

// jitterDur is a random duration in [d/8, d].
func (w *world) jitterDur(d time.Duration) time.Duration {
	return d/8 + time.Duration(w.rnd.Int64N(int64(d)))*7/8
}

// The world's own events, which it turns into the session's.
type (
	simWrite     struct{ fx fxWrite }
	simRefreshed struct {
		n   int // the call it answers (world.refresh)
		err error
	}
	simHash  struct{ w int }
	simTimer struct{ gen int }
	simRead  struct {
		id   int
		n    int // bytes the piece takes from the body
		done bool
	}
	simAnswer struct {
		id   int
		resp protocol.Response
		err  error
	}
)

func (simWrite) isEvent()     {}
func (simRefreshed) isEvent() {}
func (simHash) isEvent()      {}
func (simTimer) isEvent()     {}
func (simRead) isEvent()      {}
func (simAnswer) isEvent()    {}

// simJoiner joins memstore bytes.
type simJoiner struct{}

func (simJoiner) Fetch(context.Context, platform.Request) (*platform.Response, error) {
	return nil, errors.New("no")
}
func (simJoiner) Join(parts []store.Blob, contentType string) (store.Blob, error) {
	var out []byte
	for _, p := range parts {
		out = append(out, p.(memstore.Bytes)...)
	}
	return memstore.Bytes(out), nil
}

// send answers a request as the dev server would (devserver.Plan), after
// the link's latency; the probe's start is read before the answer is
// handed over, as the shell's flight does.
func (w *world) send(fx fxSend) {
	f := &simFlight{id: fx.id, req: fx.req, version: -1, rate: w.rate/4 + w.rnd.Float64()*w.rate*3/4}
	w.flights[fx.id] = f
	n := len(w.reqs)
	q := w.faults(n, fx.req)
	var prev time.Time
	if n > 0 {
		prev = w.reqs[n-1].at
	}
	w.reqs = append(w.reqs, simReq{at: w.now, req: fx.req, faults: q.Encode(), after: w.now.Sub(prev)})
	if q.Has("change") {
		w.newVersion()
		q.Del("change")
	}
	if w.cross && fx.req.IfRange != "" && q.Get("cors") == "noifrange" {
		// The preflight refuses If-Range: fetch fails before any answer.
		w.at(w.jitterDur(w.latency), simAnswer{id: f.id, err: errors.New("TypeError: Failed to fetch")})
		return
	}
	faults, err := devserver.ParseFaults(q)
	if err != nil {
		w.t.Fatalf("faults %q: %v", q.Encode(), err)
	}
	target := w.url
	if fx.url != "" {
		target = fx.url
	}
	var resp protocol.Response
	for hop := 0; ; hop++ {
		u, _ := url.Parse(target)
		r, _ := http.NewRequest(http.MethodGet, target, nil)
		if h := fx.req.RangeHeader(); h != "" {
			r.Header.Set("Range", h)
		}
		if fx.req.IfRange != "" {
			r.Header.Set("If-Range", fx.req.IfRange)
		}
		var a devserver.Answer
		var data []byte
		switch name := strings.TrimPrefix(u.Path, "/files/"); {
		case u.Path == "/_login":
			a = devserver.LoginAnswer(r, w.now)
		case w.files[name] != nil:
			sf := w.files[name]
			v := sf.current()
			data = sf.versions[v]
			a = devserver.Plan(r, devserver.NewFile(name, data, sf.mod[v]), faults, w.now)
			if name == "f.bin" {
				f.version = v
			}
		default:
			a = devserver.Answer{Status: 404, Header: http.Header{}, Text: []byte("404 page not found"), Start: -1, Cut: -1, Stall: -1}
		}
		if a.Status >= 300 && a.Status < 400 && a.Header.Get("Location") != "" && hop < 20 {
			// fetch follows redirects; faults were meant for the first hop
			// (the query keeps them on the way: Plan put them in Location).
			loc, _ := u.Parse(a.Header.Get("Location"))
			target = loc.String()
			faults, _ = devserver.ParseFaults(faultKeys(loc.Query()))
			continue
		}
		if a.Status == http.StatusOK && a.Junk > 0 {
			// Junk after a 200 without Content-Length is the body as far
			// as anyone can tell (it ends where its connection does): no
			// client could know it for junk. Served honestly instead.
			a.Junk = 0
			a.Header.Set("Content-Length", strconv.FormatInt(a.Length, 10))
		}
		resp = w.response(a, target)
		f.body = simBody(a, data)
		f.stop, f.ending = len(f.body), "eof"
		switch {
		case a.Cut >= 0 && int(a.Cut) < len(f.body):
			f.stop, f.ending = int(a.Cut), "cut"
		case a.Stall >= 0 && int(a.Stall) < len(f.body):
			f.stop, f.ending = int(a.Stall), "stall"
		}
		if a.Rate > 0 {
			f.rate = float64(a.Rate)
		}
		break
	}
	w.reqs[n].status = resp.Status
	took := w.jitterDur(w.latency)
	if fx.eager {
		// The probe's start, read before the answer is handed over; a
		// stall there holds the answer for the stall timeout.
		n := min(int(protocol.ProbeSize), f.stop)
		f.early = f.body[:n]
		f.pos = n
		took += w.bodyTime(f, n)
		if n < int(protocol.ProbeSize) && f.ending == "stall" {
			took += w.s.cfg.opts.StallTimeout
			f.ending = "cut" // its read failed: the flight ends at once
		}
	}
	w.at(took, simAnswer{id: f.id, resp: resp})
}

// faultKeys keeps the fault keys of a query.
func faultKeys(q url.Values) url.Values {
	out := url.Values{}
	for k, v := range q {
		if _, err := devserver.ParseFaults(url.Values{k: v}); err == nil && k != "redirected" {
			out[k] = v
		}
	}
	return out
}

// simBody is the body an answer sends, as long as its connection lasts:
// the text, or the file bytes and the junk after them.
func simBody(a devserver.Answer, data []byte) []byte {
	if a.Text != nil {
		return a.Text
	}
	if a.Start < 0 {
		return nil
	}
	out := append([]byte(nil), data[a.Start:a.Start+a.Length]...)
	junk := make([]byte, a.Junk)
	devserver.Junk(bytes.NewReader(data), a.Start+a.Length, junk)
	return append(out, junk...)
}

// response is what fetch lets the page read of an answer: on another
// origin, only the CORS-safelisted response headers and those the server
// exposes.
func (w *world) response(a devserver.Answer, finalURL string) protocol.Response {
	h := a.Header
	get := func(name string) string {
		if w.cross && !exposed(h, name) {
			return ""
		}
		return h.Get(name)
	}
	return protocol.Response{
		Status: a.Status, ContentRange: get("Content-Range"), ContentLength: get("Content-Length"),
		ContentEncoding: get("Content-Encoding"), ContentType: get("Content-Type"), RetryAfter: get("Retry-After"),
		AcceptRanges: get("Accept-Ranges"),
		Validators:   protocol.Validators{ETag: get("ETag"), LastModified: get("Last-Modified"), Date: get("Date")},
		URL:          finalURL, CrossOrigin: w.cross,
		ReprDigest: get("Repr-Digest"), ContentDigest: get("Content-Digest"),
	}
}

// exposed reports whether a cross-origin page may read response header
// name (Fetch: CORS-safelisted response-header names, and those listed in
// Access-Control-Expose-Headers).
func exposed(h http.Header, name string) bool {
	switch strings.ToLower(name) {
	case "cache-control", "content-language", "content-length", "content-type", "expires", "last-modified", "pragma":
		return true
	}
	for _, v := range strings.Split(h.Get("Access-Control-Expose-Headers"), ",") {
		if v = strings.TrimSpace(v); v == "*" || strings.EqualFold(v, name) {
			return true
		}
	}
	return false
}

// bodyTime is how long n body bytes take to arrive.
func (w *world) bodyTime(f *simFlight, n int) time.Duration {
	return time.Duration(float64(n) / f.rate * float64(time.Second))
}

// plan starts reading a body as the session's plan says.
func (w *world) plan(fx fxPlan) {
	f := w.flights[fx.id]
	if f == nil || f.over {
		return
	}
	f.plan = fx.plan
	if !fx.plan.read || f.canceled {
		w.end(f, 0, protocol.EndOK, nil)
		return
	}
	f.skip = fx.plan.skip
	if len(f.early) > 0 {
		// The early piece comes first: taken as the shell takes it.
		w.take(f, f.early, f.pos == f.stop)
		return
	}
	w.readNext(f)
}

// readNext reads the next piece of f's body, as the shell's bodyReader
// does: at most plan.piece bytes (all at once when taken whole), never
// past what the plan keeps.
func (w *world) readNext(f *simFlight) {
	p := f.plan
	open := p.length == protocol.UnknownSize
	if !open && f.kept >= p.length {
		// Every kept byte is in: an exact body must end here.
		if p.exact && f.pos < f.stop {
			w.end(f, 0, protocol.EndLong, errLongBody)
			return
		}
		if p.exact && f.pos == f.stop && f.ending != "eof" {
			w.fail(f, f.pos)
			return
		}
		w.end(f, 0, protocol.EndOK, nil)
		return
	}
	if p.whole {
		// Response.blob(): the whole rest of the body, or its failure; it
		// shows no progress until its end, so the stall timeout gives up
		// one that takes longer (the shell's watchdog).
		if stall := w.s.cfg.opts.StallTimeout; w.bodyTime(f, f.stop-f.pos) > stall {
			w.end(f, stall, protocol.EndStalled, ErrStalled)
			return
		}
		if f.ending != "eof" {
			w.at(w.bodyTime(f, f.stop-f.pos), simRead{id: f.id, n: 0, done: true})
			return
		}
		w.at(w.bodyTime(f, f.stop-f.pos), simRead{id: f.id, n: f.stop - f.pos})
		return
	}
	want := int(p.piece)
	if !open {
		want = min(want, int(f.skip+p.length-f.kept))
	}
	n := min(want, f.stop-f.pos)
	if n <= 0 {
		w.fail(f, f.stop)
		return
	}
	w.at(w.bodyTime(f, n), simRead{id: f.id, n: n})
}

// fail ends f where its bytes stop: the end of the body, a cut, a stall.
func (w *world) fail(f *simFlight, at int) {
	p := f.plan
	f.pos = at
	switch f.ending {
	case "eof":
		if p.length != protocol.UnknownSize && f.kept < p.length {
			w.end(f, 0, protocol.EndShort, errShortBody)
			return
		}
		w.end(f, 0, protocol.EndOK, nil)
	case "cut":
		w.end(f, 0, protocol.EndNetwork, errors.New("connection reset"))
	default:
		w.end(f, w.s.cfg.opts.StallTimeout, protocol.EndStalled, ErrStalled)
	}
}

// take hands over what a read brought, as the shell's bodyReader takes
// it: skipped bytes dropped, bytes past the kept ones cut (or, exact, the
// body is long).
func (w *world) take(f *simFlight, b []byte, atEnd bool) {
	p := f.plan
	if f.skip > 0 {
		n := min(f.skip, int64(len(b)))
		f.skip -= n
		b = b[n:]
	}
	if p.length != protocol.UnknownSize && f.kept+int64(len(b)) > p.length {
		if p.exact {
			w.end(f, 0, protocol.EndLong, errLongBody)
			return
		}
		b = b[:p.length-f.kept]
	}
	f.kept += int64(len(b))
	if len(b) == 0 {
		if atEnd {
			w.fail(f, f.pos)
			return
		}
		w.readNext(f)
		return
	}
	w.at(0, evPiece{id: f.id, blob: memstore.Bytes(append([]byte(nil), b...))})
}

// cancel stops a flight: it ends at once as stopped.
func (w *world) cancel(id int) {
	f := w.flights[id]
	if f == nil || f.over {
		return
	}
	f.canceled = true
	w.end(f, 0, protocol.EndStopped, errStopped)
}

// end schedules f's end after d.
func (w *world) end(f *simFlight, d time.Duration, o protocol.Outcome, err error) {
	if f.over {
		return
	}
	f.over = true
	took := time.Duration(0)
	if !f.answered.IsZero() {
		took = w.now.Add(d).Sub(f.answered) // a body's time counts from its headers
	}
	w.at(d, evEnd{id: f.id, outcome: o, err: err, got: f.kept, took: took, crossOrigin: w.cross})
}

// simWorker is a hash worker.
type simWorker struct {
	alg   string
	h     hash.Hash
	at    int64
	jobs  []store.Blob
	ready bool
}

func (w *world) startHash(fx fxHashStart) {
	h, err := protocol.NewHash(fx.alg)
	if err != nil {
		w.t.Fatal(err)
	}
	wk := &simWorker{alg: fx.alg, h: h, at: fx.from}
	w.workers[fx.w] = wk
	if fx.from > 0 {
		rh, err := protocol.RestoreHash(fx.alg, fx.state)
		if err != nil {
			w.at(time.Millisecond, evHashed{w: fx.w, err: fmt.Errorf("%w: %w", platform.ErrHashState, err)})
			delete(w.workers, fx.w)
			return
		}
		wk.h = rh
	}
	state, _ := protocol.MarshalHash(wk.h)
	w.at(time.Millisecond, evHashed{w: fx.w, upTo: fx.from, state: state, sum: wk.h.Sum(nil)})
}

// handle turns the world's own events into the session's, or hands them
// over.
func (w *world) handle(ev event) event {
	switch ev := ev.(type) {
	case simWrite:
		p := ev.fx.p
		c := store.Chunk{URL: w.key, Gen: p.gen, Start: p.pos, Data: p.blob}
		var err error
		if ev.fx.last {
			err = w.st.PutLast(context.Background(), c, ev.fx.rec)
		} else {
			err = w.st.PutChunk(context.Background(), c)
		}
		return evCommitted{p: p, last: ev.fx.last, hashed: ev.fx.rec.Hashed, err: err, took: time.Millisecond}
	case simHash:
		wk := w.workers[ev.w]
		if wk == nil || len(wk.jobs) == 0 {
			return nil
		}
		b := wk.jobs[0]
		wk.jobs = wk.jobs[1:]
		wk.h.Write(b.(memstore.Bytes))
		wk.at += b.Size()
		state, _ := protocol.MarshalHash(wk.h)
		return evHashed{w: ev.w, upTo: wk.at, state: state, sum: wk.h.Sum(nil)}
	case simTimer:
		if ev.gen != w.timer {
			return nil
		}
		return evTimer{}
	case simRead:
		f := w.flights[ev.id]
		if f == nil || f.over {
			return nil
		}
		if ev.done {
			w.fail(f, f.stop)
			return nil
		}
		b := f.body[f.pos : f.pos+ev.n]
		f.pos += ev.n
		w.take(f, b, f.pos == f.stop)
		return nil
	case simAnswer:
		f := w.flights[ev.id]
		if f == nil || f.over {
			return nil
		}
		if ev.err != nil {
			w.end(f, 0, protocol.EndNetwork, ev.err)
			return nil
		}
		f.answered = w.now
		return evAnswer{id: ev.id, at: w.now, resp: ev.resp, url: w.url,
			early: earlyPiece{size: int64(len(f.early)), ok: len(f.early) == int(protocol.ProbeSize) || f.ending == "eof", took: w.bodyTime(f, len(f.early))}}
	case simRefreshed:
		if ev.n != w.refresh {
			return nil // given up (fxRefreshCancel)
		}
		w.refresh = 0
		return evRefreshed{err: ev.err}
	case evEnd:
		delete(w.flights, ev.id)
	}
	return ev
}

// kill ends the session as a closed tab does: nothing more happens of it;
// each write on its way lands or not.
func (w *world) kill() {
	for _, e := range w.q {
		if sw, ok := e.ev.(simWrite); ok && e.run == w.run && w.rnd.IntN(2) == 0 {
			w.handle(sw)
		}
	}
	w.run++
}

// pause stops the session as Download.Pause does, and runs it until it
// has stored what arrived and ended.
func (w *world) pause(maxSteps int) {
	w.deliver(evStop{cause: context.Canceled})
	w.runUntil(func() bool { return false }, maxSteps)
}

// result is the file a finished session handed over.
func (w *world) result() ([]byte, Result, error) {
	if w.done == nil {
		return nil, Result{}, errors.New("not done")
	}
	if w.done.err != nil {
		return nil, Result{}, w.done.err
	}
	return []byte(w.done.res.Blob.(memstore.Bytes)), w.done.res, nil
}

// version returns which file of the world b is, and which version of it;
// nil when none (a redirect may lead a download to another file from its
// first answer on).
func (w *world) version(b []byte) (*simFile, int) {
	for _, name := range []string{"f.bin", "g.bin"} {
		f := w.files[name]
		for i, v := range f.versions {
			if bytes.Equal(v, b) {
				return f, i
			}
		}
	}
	return nil, -1
}

func itoa(n int) string { return strconv.Itoa(n) }

// etagOf is the ETag devserver.NewFile gives a file of size bytes changed
// at mod.
func etagOf(size int, mod time.Time) string {
	return fmt.Sprintf(`"%x-%x"`, size, mod.UnixNano())
}

// envSeed is RESUMER_SEED, -1 when unset.
func envSeed() int64 {
	s := os.Getenv("RESUMER_SEED")
	if s == "" {
		return -1
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return -1
	}
	return n
}
