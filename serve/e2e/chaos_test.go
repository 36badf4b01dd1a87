//go:build !js && !wasip1

package e2e

import (
	"context"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"

	"time"

	"github.com/go-resumer/resumer/serve/devserver"
	"github.com/go-resumer/resumer/serve/drive"
)

// TestChaos downloads 256 MiB through 20 page reloads and 20 connection cuts
// at random points, and checks the SHA-256 of the result. It prints how many
// bytes the server sent in all against the size of the file.
func TestChaos(t *testing.T) {
	forEngines(t, func(t *testing.T, e drive.Engine) {
		seed := uint64(time.Now().UnixNano())
		if s := os.Getenv("RESUMER_CHAOS_SEED"); s != "" {
			seed, _ = strconv.ParseUint(s, 10, 64)
		}
		t.Logf("seed %d (RESUMER_CHAOS_SEED reproduces the run)", seed)
		rnd := rand.New(rand.NewPCG(seed, 1))

		const reloads, cuts = 20, 20
		events := make([]bool, 0, reloads+cuts) // true = reload, false = cut
		for range reloads {
			events = append(events, true)
		}
		for range cuts {
			events = append(events, false)
		}
		rnd.Shuffle(len(events), func(i, j int) { events[i], events[j] = events[j], events[i] })

		p := newPage(t, e, "/blank.html")
		// Paced at 32 MiB/s: unpaced, loopback socket buffers hold megabytes
		// that the server counts as sent and a cut or a reload throws away,
		// which would measure the kernel rather than resumer.
		u := fileURL(t, big, "rate=33554432")
		opts := `{retry: {baseMs: 20, maxMs: 200}}`
		p.start(u, opts)
		// Spread the events over the first 200 MiB, at random steps.
		step := int64(200<<20) / int64(len(events))
		var next int64
		for _, reload := range events {
			next += step/2 + rnd.Int64N(step)
			p.waitStored(u, next)
			if reload {
				p.reload()
				p.start(u, opts)
			} else {
				// Cut the transfer now; between a failure and its retry no
				// request is live, so CutNext waits for the next one.
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				_, err := env.srv.CutNext(ctx, big)
				cancel()
				if err != nil {
					t.Fatalf("no live request to cut: %v; the page saw %+v; the server's last requests:\n%s",
						err, p.progressOf(u), lines(lastOf(gets(t, u, 1), 5)))
				}
			}
		}
		r := p.finish(u)
		if r.Error != nil {
			t.Fatalf("download failed: %+v", *r.Error)
		}
		if want := fileSHA(t, big); r.SHA != want || r.Size != bigSize {
			t.Fatalf("sha %s, want %s", r.SHA, want)
		}
		log := gets(t, u, 1)
		var sent int64
		var cut, gone int
		for _, e := range log {
			sent += e.Sent
			if e.Cut {
				cut++
			}
			if e.ClientGone {
				gone++
			}
		}
		// Every cut ends a request and a later one resumes (a cut may end
		// two: on one connection the next request goes out just before a
		// body ends). How many requests a reload ends depends on when it
		// lands: between two requests, or during a retry's wait, it ends
		// none; the reloads are shown by the page, and only logged here.
		if cut < cuts || len(log) < 1+cuts {
			t.Fatalf("%d requests, %d cut by the server (want %d or more), %d left by the client", len(log), cut, cuts, gone)
		}
		t.Logf("chaos: %d requests, %d cut by the server, %d by reloads; %d bytes sent for a %d-byte file: %.3f×",
			len(log), cut, gone, sent, bigSize, float64(sent)/bigSize)
	})
}

// lastOf returns the last n entries of log.
func lastOf(log []devserver.LogEntry, n int) []devserver.LogEntry {
	return log[max(0, len(log)-n):]
}
