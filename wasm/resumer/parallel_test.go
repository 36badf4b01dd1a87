//go:build !js

package resumer_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/go-resumer/resumer/wasm/internal/httpfetch"
	"github.com/go-resumer/resumer/wasm/resumer"
	"github.com/go-resumer/resumer/wasm/resumer/platform"
)

// chunksDisjoint fails if the stored chunks of url overlap or leave a hole.
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

// concurrent is a platform that counts the requests in progress (from
// Fetch until their body is closed) and the most at once.
type concurrent struct {
	httpfetch.Platform
	mu        sync.Mutex
	now, most int
}

func (c *concurrent) Fetch(ctx context.Context, req platform.Request) (*platform.Response, error) {
	c.mu.Lock()
	c.now++
	c.most = max(c.most, c.now)
	c.mu.Unlock()
	resp, err := c.Platform.Fetch(ctx, req)
	if err != nil {
		c.done()
		return nil, err
	}
	resp.Body = &countedBody{Body: resp.Body, done: c.done}
	return resp, nil
}

func (c *concurrent) done() {
	c.mu.Lock()
	c.now--
	c.mu.Unlock()
}

type countedBody struct {
	platform.Body
	once sync.Once
	done func()
}

func (b *countedBody) Close() {
	b.Body.Close()
	b.once.Do(b.done)
}

// TestConnections: after the probe, the cells of the grid go out on four
// connections at once, each answer is read to its end, and the chunks add
// up to the file without overlap.
func TestConnections(t *testing.T) {
	f := newFixture(t)
	u := f.url + file + "?rate=4194304"
	p := &concurrent{}
	m := resumer.NewManager(f.st, p)
	res, err := f.download(m, u, resumer.Options{Connections: 4, ChunkSize: 128 << 10})
	mustOK(t, f, res, err)
	chunksDisjoint(t, f, u)
	if p.most != 4 {
		t.Fatalf("at most %d requests at once, want 4", p.most)
	}
	// One connection: a request goes out a round trip before the body
	// before it ends (endingBy), never more.
	f1 := newFixture(t)
	p1 := &concurrent{}
	res, err = f1.download(resumer.NewManager(f1.st, p1), f1.url+file+"?rate=4194304", resumer.Options{ChunkSize: 128 << 10})
	mustOK(t, f1, res, err)
	if p1.most > 2 {
		t.Fatalf("one connection: %d requests at once", p1.most)
	}
	g := f.logged()
	if len(g) != 1+size/(128<<10) || res.Stats.Requests != len(g) || res.Stats.Commits == 0 {
		t.Fatalf("%d requests (stats %+v): %v", len(g), res.Stats, g)
	}
	for _, e := range g[1:] {
		if e.IfRange == "" || e.Status != 206 || e.ClientGone {
			t.Fatalf("range request %v", e)
		}
	}
}

// TestConnectionsResumeFillsHoles: a download interrupted on four
// connections leaves holes; the resume asks for exactly the missing bytes,
// each once, and every answer arrives whole: nothing is sent twice.
func TestConnectionsResumeFillsHoles(t *testing.T) {
	f := newFixture(t)
	u := f.url + file + "?rate=1048576"
	stored := f.interrupt(u, size/2, resumer.Options{Connections: 4, ChunkSize: 256 << 10, FlushInterval: 50 * time.Millisecond})
	chunks, _ := f.st.Chunks(context.Background(), u)
	m, rec := f.recorded()
	res, err := f.download(m, u, resumer.Options{Connections: 4, ChunkSize: 256 << 10})
	mustOK(t, f, res, err)
	var sent int64
	for _, req := range rec.sent() {
		e := f.served(req)
		if e.Status != 206 || e.ClientGone || e.Start == 0 || e.IfRange == "" {
			t.Fatalf("resume request %v", e)
		}
		sent += e.Sent
	}
	if sent != size-stored {
		t.Fatalf("resumed by sending %d bytes for %d missing (%d chunks were stored)", sent, size-stored, len(chunks))
	}
}
