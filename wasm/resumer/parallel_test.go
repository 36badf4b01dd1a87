//go:build !js

package resumer_test

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-resumer/resumer/wasm/internal/httpfetch"
	"github.com/go-resumer/resumer/wasm/protocol"
	"github.com/go-resumer/resumer/wasm/resumer"
	"github.com/go-resumer/resumer/wasm/store"
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
	if at != f.size {
		t.Fatalf("chunks end at %d, want %d", at, f.size)
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

// slowCommits delays every chunk commit and records when each ended.
type slowCommits struct {
	store.Store
	delay time.Duration
	mu    sync.Mutex
	ends  map[int64]time.Time // chunk start → when its commit ended
}

func (s *slowCommits) PutChunk(ctx context.Context, c store.Chunk) error {
	time.Sleep(s.delay)
	err := s.Store.PutChunk(ctx, c)
	s.mu.Lock()
	s.ends[c.Start] = time.Now()
	s.mu.Unlock()
	return err
}

// bigFile is the size of the sample big.bin: more than two whole-body
// chunks after the first request gives way to ranges.
const bigFile = 48 << 20

// TestFastStreamGivesWay: on a fast link, the first request's stream gives
// way to whole-body range requests, which go out before the stream's last
// pieces have committed (claims leave pending pieces alone), and no byte is
// stored twice or missed.
func TestFastStreamGivesWay(t *testing.T) {
	f := newFixtureOf(t, "big.bin", bigFile)
	st := &slowCommits{Store: f.st, delay: 150 * time.Millisecond, ends: map[int64]time.Time{}}
	u := f.url + f.name
	res, err := f.download(resumer.NewManager(st, httpfetch.Platform{}), u, resumer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	mustMatch(t, res, f.sha())
	log := f.gets(2)
	stream, ranged := log[0], log[1]
	if stream.Range != "bytes=0-" || !stream.ClientGone || stream.Sent >= bigFile {
		t.Fatalf("first request %s: want a stream from 0 that was left early", stream.String())
	}
	if ranged.IfRange == "" || ranged.Status != 206 || strings.HasSuffix(ranged.Range, "-") {
		t.Fatalf("second request %s: want a closed range with If-Range", ranged.String())
	}
	// A piece of the stream committed after the range request arrived:
	// the request did not wait for it.
	st.mu.Lock()
	var late int
	for start, end := range st.ends {
		if start < ranged.Start && end.After(ranged.Time) {
			late++
		}
	}
	st.mu.Unlock()
	if late == 0 {
		t.Fatalf("every piece of the stream (bytes before %d) committed before the range request arrived", ranged.Start)
	}
	chunksDisjoint(t, f, u)
}

// TestDroppedLinkStreams: on a fast link, a dropped whole-body request
// loses what it carried, so after a drop bodies are streamed, and a second
// drop loses nothing that arrived.
func TestDroppedLinkStreams(t *testing.T) {
	f := newFixtureOf(t, "big.bin", bigFile)
	// Paced, so that the bytes the server counts as sent reach the client
	// before the cut.
	const pace = "rate=67108864"
	f.arm(1, pace)
	f.arm(1, "cut=1048576&"+pace)
	f.arm(1, "cut=3145728&"+pace)
	res, err := f.download(f.manager(), f.url+f.name, resumer.Options{Retry: fast.Retry})
	if err != nil {
		t.Fatal(err)
	}
	mustMatch(t, res, f.sha())
	log := f.gets(4)
	whole, after, resumed := log[1], log[2], log[3]
	last := "-" + strconv.Itoa(bigFile-1)
	if !whole.Cut || strings.HasSuffix(whole.Range, last) {
		t.Fatalf("second request %s: want a whole body of one chunk, cut", whole.String())
	}
	// After the drop, the connection streams the rest of the file (from
	// where the whole body stopped: in a browser its start, as
	// Response.blob() keeps nothing of a dropped body; here, with Go's
	// client, what arrived)...
	if !after.Cut || after.Start < whole.Start || after.Start > whole.Start+whole.Sent || !strings.HasSuffix(after.Range, last) {
		t.Fatalf("third request %s: want a stream to the end, cut", after.String())
	}
	// ...and keeps every byte that arrived before the second cut.
	if resumed.Start != after.Start+after.Sent {
		t.Fatalf("fourth request %s: want it to start at %d, where the cut stream stopped", resumed.String(), after.Start+after.Sent)
	}
}
