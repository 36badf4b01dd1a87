//go:build !js

package resumer

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-resumer/resumer/wasm/protocol"
)

var sessionSeeds = flag.Int("session.seeds", 400, "how many random worlds TestSessionChaos runs")

// chaosFaults are the dev server's faults a chaos run picks from, each a
// way for one answer to go wrong ("change" makes a new version of the file
// first).
var chaosFaults = []string{
	"status=503&retry-after=0", "status=500", "status=412", "status=416", "status=408",
	"cr=shift", "cr=total", "cr=unknown", "cr=overflow", "cr=missing", "cr=hugetotal",
	"ranges=none", "ifrange=ignore", "redirect=login", "redirect=file:g.bin", "redirect=same",
	"cut=1000", "cut=30000", "stall=0", "stall=5000", "cap=1000", "cap=40000",
	"overrun=7", "overrun=70000", "length=none", "type=text/html", "change=0", "change=0&ifrange=ignore",
	"validators=none", "validators=weak", "digest=bad", "cors=noifrange",
}

// TestSessionChaos drives sessions through worlds whose server misanswers
// at random (the dev server's faults), whose pages are paused and closed at
// random, with several versions of the file, on one to four connections,
// on another origin, for apps that renew expired links (Options.Refresh)
// and that want fetch()'s answers (Options.FirstAnswer), and holds every
// run to what matters:
//   - it ends: the session finishes or fails with a code, within a bounded
//     number of events, whatever it was told;
//   - a finished file is exactly one version of it, the one whose ETag it
//     reports (and the one the app's integrity names, when it gives one):
//     bytes of two versions are never joined, bytes past a Content-Range
//     are never kept, a login page is never the file;
//   - no storm: a request that follows an answer that gave nothing waits
//     for a back-off, but for a few changes of plan.
//
// RESUMER_SEED=n (see the test's log) runs one world again.
func TestSessionChaos(t *testing.T) {
	began := time.Now()
	steps := 0
	seeds := uint64(*sessionSeeds)
	first := uint64(0)
	if testing.Short() {
		seeds = 50
	}
	if s := envSeed(); s >= 0 {
		first, seeds = uint64(s), 1
	}
	outcomes := map[string]int{}
	for seed := first; seed < first+seeds; seed++ {
		n, outcome := chaosWorld(t, seed)
		steps += n
		outcomes[outcome]++
		if t.Failed() {
			t.Fatalf("seed %d (RESUMER_SEED=%d reproduces it)", seed, seed)
		}
	}
	if d := time.Since(began); d > 0 {
		t.Logf("%d worlds, %d events, %.0f events/s; outcomes %v", seeds, steps, float64(steps)/d.Seconds(), outcomes)
	}
}

func chaosWorld(t *testing.T, seed uint64) (events int, outcome string) {
	rnd := rand.New(rand.NewPCG(seed, 99))
	size := []int{0, 1, 70_000, 300_000, 1 << 20}[rnd.IntN(5)]
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(i*7 + i/253 + int(seed))
	}
	w := newWorld(t, seed, data)
	w.opts.Connections = 1 + rnd.IntN(4)
	w.opts.ChunkSize = []int64{16 << 10, 64 << 10, 100_000, 8 << 20}[rnd.IntN(4)]
	w.opts.StallTimeout = 2 * time.Second
	w.opts.Retry.Attempts = 6
	w.cross = rnd.IntN(4) == 0
	if rnd.IntN(3) == 0 {
		w.app.CanHash = true
	}
	integrity := rnd.IntN(5) == 0
	if integrity {
		// The app knows the digest of the first version.
		sum := sha256.Sum256(data)
		w.app.CanHash, w.app.Integrity = true, protocol.Digest{Alg: protocol.AlgSHA256, Sum: sum[:]}
	}
	if rnd.IntN(3) == 0 {
		// The app renews links: the server now and then refuses one
		// (403, 401, 410), and the app has a fresh one, or not.
		w.app.CanRefresh, w.refuse = true, rnd.IntN(30)
	}
	// resumer.fetch's: the server's own answer, until a byte is stored.
	w.app.FirstAnswer = rnd.IntN(4) == 0
	faultRate := 0.1 + 0.5*rnd.Float64()
	faultOf := make([]string, 0, 256)
	w.faults = func(n int, req protocol.Request) url.Values {
		for len(faultOf) <= n {
			f := ""
			if rnd.Float64() < faultRate {
				f = chaosFaults[rnd.IntN(len(chaosFaults))]
				if w.app.CanRefresh && rnd.IntN(4) == 0 {
					f = []string{"status=403", "status=401", "status=410"}[rnd.IntN(3)]
				}
			}
			if req.Whole && strings.HasPrefix(f, "overrun=") {
				// Junk after a 200 without Content-Length is the body as
				// far as anyone can tell: it ends where its connection
				// does.
				f = ""
			}
			faultOf = append(faultOf, f)
		}
		q, _ := url.ParseQuery(faultOf[n])
		return q
	}
	const maxSteps = 200_000
	describe := func() string {
		var b strings.Builder
		fmt.Fprintf(&b, "\nsize %d, chunk %d, connections %d, cross-origin %v, can hash %v; %s",
			size, w.opts.ChunkSize, w.opts.Connections, w.cross, w.app.CanHash, w.describe())
		for i, r := range w.reqs {
			if i >= 200 {
				fmt.Fprintf(&b, "\n  … %d more", len(w.reqs)-i)
				break
			}
			fmt.Fprintf(&b, "\n  %3d %v %3d %-30q %q if-range %q aimed %v", i, r.at.Format("15:04:05.000"), r.status, r.faults,
				r.req.RangeHeader(), r.req.IfRange, r.req.Aimed)
		}
		return b.String()
	}
	// Pages: some are paused, some closed, at random points; the last one
	// runs to its end.
	for page := 0; ; page++ {
		w.start()
		last := page >= 4 || rnd.IntN(3) == 0
		if last {
			w.runUntil(func() bool { return false }, maxSteps)
			break
		}
		until := w.steps + 5 + rnd.IntN(200)
		w.runUntil(func() bool { return w.steps >= until }, maxSteps)
		if w.done != nil {
			break
		}
		if rnd.IntN(2) == 0 {
			w.pause(maxSteps)
			if w.done != nil && !errors.Is(w.done.err, context.Canceled) && w.done.err != nil {
				break // it failed for a reason of its own meanwhile
			}
		} else {
			w.kill()
		}
		if w.done != nil && w.done.err == nil {
			break
		}
	}
	got, res, err := w.result()
	outcome = "done"
	if err != nil {
		outcome = CodeOf(err)
	}
	switch {
	case err != nil:
		if code := CodeOf(err); code == "" || code == CodeInternal {
			t.Errorf("failed without a code: %v%s", err, describe())
		}
	default:
		f, v := w.version(got)
		if f == nil {
			t.Errorf("finished with %d bytes that are no version of a file%s", len(got), describe())
			break
		}
		if integrity && (f != w.file() || v != 0) {
			t.Errorf("finished with version %d of %s, not the one the app's digest names%s", v, f.name, describe())
		}
		// The ETag it reports is that of a version with these very bytes
		// (two versions may hold the same, an empty file's).
		if tag := strings.TrimPrefix(res.Validators.ETag, "W/"); tag != "" {
			named := false
			for i, data := range f.versions {
				named = named || (etagOf(len(data), f.mod[i]) == tag && bytes.Equal(data, got))
			}
			if !named {
				t.Errorf("finished with version %d, reported as %s, a version with other bytes%s", v, res.Validators.ETag, describe())
			}
		}
	}
	// No storm: a request that follows an answer the client could not use
	// comes after a back-off, but for a few changes of plan in a row.
	streak := 0
	for i := 1; i < len(w.reqs); i++ {
		prev, cur := w.reqs[i-1], w.reqs[i]
		sound := prev.faults == "" || strings.HasPrefix(prev.faults, "cap=")
		if sound || cur.at.Sub(prev.at) >= protocol.MinRetryDelay {
			streak = 0
			continue
		}
		if streak++; streak > 2*w.opts.Connections+maxRestarts+3 {
			t.Errorf("request %d: %d requests in a row without a back-off after answers that gave nothing%s", i, streak, describe())
			break
		}
	}
	if len(w.reqs) > 3000 {
		t.Errorf("%d requests for a file of %d bytes%s", len(w.reqs), size, describe())
	}
	return w.steps, outcome
}

// TestSessionSingleStreamCut: a single stream of unknown length (a
// cross-origin 200, whose Content-Length a hidden Content-Encoding makes
// meaningless) that is cut starts over from byte 0. Found by
// TestSessionChaos: the last piece it held was written as kept bytes after
// the cut, and the session then waited for nothing, for no request can
// continue a stream that is not resumable.
func TestSessionSingleStreamCut(t *testing.T) {
	data := bytes.Repeat([]byte("resumer "), 300_000/8)
	w := newWorld(t, 1, data)
	w.cross = true
	w.faults = func(n int, req protocol.Request) url.Values {
		switch n {
		case 0:
			return url.Values{"cr": {"missing"}} // ranges unusable: one stream
		case 1:
			return url.Values{"cut": {"30000"}}
		}
		return nil
	}
	w.start()
	w.runUntil(func() bool { return false }, 10_000)
	got, _, err := w.result()
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("%d bytes, %v; want the file (%s)", len(got), err, w.describe())
	}
	if len(w.reqs) != 3 || !w.reqs[1].req.Whole || !w.reqs[2].req.Whole {
		t.Fatalf("requests %+v; want the probe, the stream that was cut, and the stream again", w.reqs)
	}
}

// TestSessionPauseWhileHashing: a pause that comes while the last bytes
// are hashed stops the session (a stop is a stop, whatever phase), keeps
// the bytes and the hash's state, and the next session finishes and checks
// the file.
func TestSessionPauseWhileHashing(t *testing.T) {
	data := bytes.Repeat([]byte("verified "), 1<<20/9)
	w := newWorld(t, 2, data)
	sum := sha256.Sum256(data)
	w.app = protocol.App{CanHash: true, Integrity: protocol.Digest{Alg: protocol.AlgSHA256, Sum: sum[:]}}
	w.start()
	w.runUntil(func() bool { return w.s.phase == phaseVerify }, 100_000)
	if w.done != nil {
		t.Fatalf("the session ended before it verified: %v", w.done.err)
	}
	w.pause(100_000)
	if w.done == nil || !errors.Is(w.done.err, context.Canceled) {
		t.Fatalf("a pause while hashing: %+v; want the session stopped", w.done)
	}
	reqs := len(w.reqs)
	w.start()
	w.runUntil(func() bool { return false }, 100_000)
	got, res, err := w.result()
	if err != nil || !bytes.Equal(got, data) || !res.Verified || len(w.reqs) != reqs {
		t.Fatalf("after the pause: %d bytes, verified %v, %v, %d more requests; want the file, verified, none", len(got), res.Verified, err, len(w.reqs)-reqs)
	}
}

// TestSession416ToRequestWithoutRange: a 416 in answer to a request without
// Range (a server that cannot prove versions, so the download is one
// stream) is a contradiction, backed off and counted, not a loop.
func TestSession416ToRequestWithoutRange(t *testing.T) {
	w := newWorld(t, 3, bytes.Repeat([]byte{7}, 200_000))
	w.faults = func(n int, req protocol.Request) url.Values {
		if req.Whole {
			return url.Values{"status": {"416"}}
		}
		return url.Values{"validators": {"none"}}
	}
	w.start()
	w.runUntil(func() bool { return false }, 10_000)
	if _, _, err := w.result(); CodeOf(err) != CodeBadResponse || len(w.reqs) != 1+maxRejects {
		t.Fatalf("%d requests, ended by %v; want the probe and %d rejected, bad-response (%s)", len(w.reqs), err, maxRejects, w.describe())
	}
	for _, r := range w.reqs[2:] {
		if r.after < protocol.MinRetryDelay {
			t.Fatalf("a request %v after the one before: no back-off", r.after)
		}
	}
}

// TestSessionProbeAnswered200Slowly: a probe answered with a 200 of the
// whole file on a slow link is streamed, not taken whole (which would show
// no progress and be given up as stalled), and is the one request.
func TestSessionProbeAnswered200Slowly(t *testing.T) {
	data := bytes.Repeat([]byte("slow"), 2<<20) // 8 MiB at 200 kB/s: 42 s, past the 30 s stall timeout
	w := newWorld(t, 4, data)
	w.opts.StallTimeout = 30 * time.Second
	w.faults = func(int, protocol.Request) url.Values {
		return url.Values{"ranges": {"none"}, "rate": {"200000"}}
	}
	w.start()
	w.runUntil(func() bool { return false }, 100_000)
	got, _, err := w.result()
	if err != nil || !bytes.Equal(got, data) || len(w.reqs) != 1 || w.s.attempt != 0 {
		t.Fatalf("%d bytes, %v, %d requests, %d failures (%s)", len(got), err, len(w.reqs), w.s.attempt, w.describe())
	}
}

// TestSessionSlowdownAfterFastStart: bodies taken whole on a fast link,
// then the link slows to 200 kB/s: the body taken whole then, and the one
// sent a round trip before its end (endingBy), take longer than the stall
// timeout and are given up together; after that bodies are streamed, no
// failure follows, and the download finishes.
func TestSessionSlowdownAfterFastStart(t *testing.T) {
	data := bytes.Repeat([]byte("fast then slow "), 64<<20/15)
	w := newWorld(t, 5, data)
	w.opts = Options{} // the defaults: 8 MiB cells, 30 s stall timeout
	w.latency = time.Millisecond
	w.faults = func(n int, req protocol.Request) url.Values {
		if n < 4 {
			return url.Values{"rate": {"100000000"}} // 100 MB/s
		}
		return url.Values{"rate": {"200000"}} // bytes keep flowing, slowly
	}
	w.start()
	w.runUntil(func() bool { return false }, 1_000_000)
	got, _, err := w.result()
	if err != nil || !bytes.Equal(got, data) || w.maxAttempt > 2 || len(w.reqs) > 4+2+(len(data)>>23) {
		t.Fatalf("%d bytes, %v, %d requests, %d failures in a row (%s)", len(got), err, len(w.reqs), w.maxAttempt, w.describe())
	}
}
