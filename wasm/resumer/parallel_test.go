//go:build !js

package resumer_test

import (
	"context"
	"testing"
	"time"

	"github.com/go-resumer/resumer/wasm/protocol"
	"github.com/go-resumer/resumer/wasm/resumer"
)

// chunksDisjoint fails if stored chunks overlap or leave a hole.
func chunksDisjoint(t *testing.T, f *fixture, url string) int {
	t.Helper()
	rec, err := f.st.Get(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	cs, _ := f.st.Chunks(context.Background(), url)
	var at int64
	for _, c := range cs {
		if c.Gen != rec.Gen {
			continue
		}
		if c.Start != at {
			t.Fatalf("chunk at %d, want %d: overlap or hole", c.Start, at)
		}
		at = c.End()
	}
	if at != size {
		t.Fatalf("chunks end at %d", at)
	}
	return len(cs)
}

func TestConnections(t *testing.T) {
	f := newFixture(t)
	u := f.url + file + "?rate=1048576" // 1 MiB/s per connection
	start := time.Now()
	res, err := f.download(f.manager(), u, resumer.Options{Connections: 4, FlushInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	mustMatch(t, res, f.sha())
	chunksDisjoint(t, f, u)
	g := f.gets(res.Stats.Requests)
	// The first request establishes the download; then the connections
	// share what is left (here in spans of at least 256 KiB: three) and
	// run at once: their requests arrive within a few milliseconds.
	if len(g) >= 4 {
		first, last := g[1].Time, g[1].Time
		for _, e := range g[1:4] {
			first, last = minTime(first, e.Time), maxTime(last, e.Time)
		}
		if last.Sub(first) > 100*time.Millisecond {
			t.Fatalf("the four ranges did not start together: %v apart", last.Sub(first))
		}
	}
	if len(g) < 4 {
		t.Fatalf("%d requests; want the first and at least 3 ranges", len(g))
	}
	for _, e := range g[1:] {
		if e.IfRange == "" || e.Status != 206 {
			t.Fatalf("range request %s", e.String())
		}
	}
	// One connection at 1 MiB/s would take a second; four take about a
	// quarter (plus the first request's 300 ms).
	t.Logf("%d requests in %v", len(g), time.Since(start))
	if res.Stats.Requests != len(g) || res.Stats.Commits == 0 {
		t.Fatalf("stats %+v for %d requests", res.Stats, len(g))
	}
}

func TestConnectionsResumeFillsHoles(t *testing.T) {
	f := newFixture(t)
	u := f.url + file + "?rate=1048576"
	k := &killable{Store: f.st}
	m := resumer.NewManager(k, &tab{})
	d, _ := m.Download(u, resumer.Options{Connections: 4, FlushInterval: 50 * time.Millisecond})
	for d.Progress().Stored < size/2 {
		time.Sleep(5 * time.Millisecond)
	}
	k.kill()
	d.Pause()
	for d.State() == protocol.Running {
		time.Sleep(5 * time.Millisecond)
	}
	infos, _ := f.manager().List(context.Background())
	stored := infos[0].Received
	before := len(f.gets(0))
	res, err := f.download(f.manager(), u, resumer.Options{Connections: 4})
	if err != nil {
		t.Fatal(err)
	}
	mustMatch(t, res, f.sha())
	after := f.gets(before + res.Stats.Requests)[before:]
	var sent int64
	for _, e := range after {
		sent += e.Sent
		if e.Start == 0 || e.IfRange == "" {
			t.Fatalf("resume request %s", e.String())
		}
	}
	// Only the holes were fetched again (plus what a stolen stream had in
	// flight).
	if sent > size-stored+size/8 {
		t.Fatalf("resumed by sending %d bytes for %d missing", sent, size-stored)
	}
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
