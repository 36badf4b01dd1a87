// Package storetest is the conformance suite every store.Store passes: the
// in-memory one natively, the IndexedDB one in headless Chromium.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/go-resumer/resumer/wasm/protocol"
	"github.com/go-resumer/resumer/wasm/store"
)

// Harness adapts one implementation to the suite.
type Harness struct {
	// New returns a new, empty store; the harness cleans it up with t.Cleanup.
	New func(t *testing.T) store.Store
	// Blob makes a blob of the implementation's kind holding data.
	Blob func(t *testing.T, data []byte) store.Blob
	// Read returns the bytes of a blob the store handed out.
	Read func(t *testing.T, b store.Blob) []byte
	// Reopen returns another handle on the data of s, as another tab
	// opens the same database.
	Reopen func(t *testing.T, s store.Store) store.Store
	// Full, if not nil, returns a store that refuses to hold more than about
	// limit chunk bytes. The quota test is skipped without it.
	Full func(t *testing.T, limit int64) store.Store
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return c
}

func sampleRecord(url string) store.Record {
	return store.Record{
		URL: url, Schema: store.SchemaVersion, Gen: 3, Mode: protocol.ModeSingle, Total: 1 << 40,
		Validators: protocol.Validators{ETag: `"e1"`, LastModified: "Mon, 02 Nov 2026 10:00:00 GMT", Date: "Mon, 02 Nov 2026 10:00:05 GMT"},
		FinalURL:   url + "&redirected=ü", ContentType: "application/octet-stream", ChunkSize: 4 << 20, State: protocol.Paused,
		Reason:   protocol.Reason{Code: protocol.ReasonNoValidators, Text: "why ✓"},
		Restarts: 2, Received: 12345, ErrCode: "quota-exceeded", ErrMessage: "full",
		Created: 1700000000000, Updated: 1700000000001,
		Source: url + "&sig=2", Digest: protocol.Digest{Alg: "sha-256", Sum: pattern(32, 1)}, DigestFrom: store.DigestIntegrity,
		Hashed: 1 << 33, HashState: pattern(108, 9),
		Decided: protocol.Exchange{
			Request: []protocol.Field{{Name: "Range", Value: "bytes=0-65535"}}, Status: 200,
			Response: []protocol.Field{{Name: "Content-Length", Value: "1099511627776"}, {Name: "ETag", Value: `"e1"`}},
			Missing:  []string{"Accept-Ranges"}, URL: url + "&redirected=ü", CrossOrigin: true,
		},
		Owner: store.OwnerPrefix + "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",
	}
}

func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7) + seed
	}
	return b
}

// Run runs the suite.
func Run(t *testing.T, h Harness) {
	t.Run("Secret", func(t *testing.T) {
		s := h.New(t)
		var wg sync.WaitGroup
		got := make([][]byte, 4)
		errs := make([]error, 4)
		for i := range got {
			st := s
			if i%2 == 1 {
				st = h.Reopen(t, s) // another tab, racing to create it
			}
			c := ctx(t)
			wg.Add(1)
			go func() {
				defer wg.Done()
				got[i], errs[i] = st.Secret(c)
			}()
		}
		wg.Wait()
		for i := range got {
			if errs[i] != nil {
				t.Fatalf("Secret: %v", errs[i])
			}
			if len(got[i]) != store.SecretSize || !bytes.Equal(got[i], got[0]) {
				t.Fatalf("Secret %d = %x, want %d bytes, the same as %x", i, got[i], store.SecretSize, got[0])
			}
		}
		if bytes.Equal(got[0], make([]byte, store.SecretSize)) {
			t.Fatal("the secret is all zeros")
		}
		got[0][0]++ // the caller's copy
		if again, _ := h.Reopen(t, s).Secret(ctx(t)); !bytes.Equal(again, got[1]) {
			t.Fatalf("Secret read again = %x, want %x", again, got[1])
		}
		if other, err := h.New(t).Secret(ctx(t)); err != nil || bytes.Equal(other, got[1]) {
			t.Fatalf("another store's secret: %x, %v; want another one", other, err)
		}
	})
	t.Run("GetMissing", func(t *testing.T) {
		s := h.New(t)
		if _, err := s.Get(ctx(t), "https://x.test/none"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Get of a missing record: %v, want ErrNotFound", err)
		}
	})
	t.Run("RecordRoundTrip", func(t *testing.T) {
		s := h.New(t)
		for _, rec := range []store.Record{
			sampleRecord("https://x.test/a?b=1#c"),
			{URL: "https://x.test/ünïcode file.bin", Total: protocol.UnknownSize, State: protocol.Running},
			{URL: "https://x.test/zero"},
		} {
			if err := s.Put(ctx(t), rec); err != nil {
				t.Fatalf("Put: %v", err)
			}
			got, err := s.Get(ctx(t), rec.URL)
			if err != nil || !reflect.DeepEqual(got, rec) {
				t.Fatalf("Get after Put:\n got %+v, %v\nwant %+v", got, err, rec)
			}
		}
	})
	t.Run("PutReplaces", func(t *testing.T) {
		s := h.New(t)
		rec := sampleRecord("https://x.test/a")
		mustPut(t, s, rec)
		rec.State, rec.Received = protocol.Done, 99
		mustPut(t, s, rec)
		got, _ := s.Get(ctx(t), rec.URL)
		if got.State != protocol.Done || got.Received != 99 {
			t.Fatalf("record not replaced: %+v", got)
		}
	})
	t.Run("List", func(t *testing.T) {
		s := h.New(t)
		want := map[string]bool{}
		for i := range 5 {
			u := fmt.Sprintf("https://x.test/%d", i)
			mustPut(t, s, sampleRecord(u))
			want[u] = true
		}
		recs, err := s.List(ctx(t))
		if err != nil || len(recs) != len(want) {
			t.Fatalf("List = %d records, %v; want %d", len(recs), err, len(want))
		}
		for _, r := range recs {
			if !want[r.URL] || r.Validators.ETag != `"e1"` {
				t.Fatalf("unexpected record %+v", r)
			}
		}
	})
	t.Run("ChunksOrderedAndIsolated", func(t *testing.T) {
		s := h.New(t)
		// The second URL has the first as a prefix: key ranges must not leak.
		a, b := "https://x.test/f", "https://x.test/f2"
		mustPut(t, s, sampleRecord(a))
		mustPut(t, s, sampleRecord(b))
		putChunk(t, h, s, a, 1, 200, pattern(100, 3))
		putChunk(t, h, s, a, 1, 0, pattern(200, 1))
		putChunk(t, h, s, a, 0, 0, pattern(10, 9))
		putChunk(t, h, s, b, 1, 0, pattern(50, 5))
		cs, err := s.Chunks(ctx(t), a)
		if err != nil {
			t.Fatal(err)
		}
		var got [][3]int64
		for _, c := range cs {
			if c.URL != a {
				t.Fatalf("chunk of %s listed for %s", c.URL, a)
			}
			got = append(got, [3]int64{c.Gen, c.Start, c.Data.Size()})
		}
		want := [][3]int64{{0, 0, 10}, {1, 0, 200}, {1, 200, 100}}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("chunks (gen, start, size) = %v, want %v", got, want)
		}
		if !bytes.Equal(h.Read(t, cs[2].Data), pattern(100, 3)) {
			t.Fatal("chunk bytes differ")
		}
		if !bytes.Equal(h.Read(t, cs[2].Data.Slice(10, 20)), pattern(100, 3)[10:20]) {
			t.Fatal("sliced chunk bytes differ")
		}
	})
	t.Run("PutChunkReplaces", func(t *testing.T) {
		s := h.New(t)
		u := "https://x.test/r"
		putChunk(t, h, s, u, 0, 0, pattern(10, 1))
		putChunk(t, h, s, u, 0, 0, pattern(20, 2))
		cs, _ := s.Chunks(ctx(t), u)
		if len(cs) != 1 || !bytes.Equal(h.Read(t, cs[0].Data), pattern(20, 2)) {
			t.Fatalf("chunk not replaced: %d chunks", len(cs))
		}
	})
	t.Run("PutLast", func(t *testing.T) {
		s := h.New(t)
		u := "https://x.test/l"
		rec := sampleRecord(u)
		rec.State, rec.Total = protocol.Running, protocol.UnknownSize
		mustPut(t, s, rec)
		putChunk(t, h, s, u, rec.Gen, 0, pattern(10, 1))
		rec.Total, rec.Received = 30, 30
		if err := s.PutLast(ctx(t), store.Chunk{URL: u, Gen: rec.Gen, Start: 10, Data: h.Blob(t, pattern(20, 2))}, rec); err != nil {
			t.Fatal(err)
		}
		got, err := s.Get(ctx(t), u)
		if err != nil || got.Total != 30 || got.Received != 30 {
			t.Fatalf("record after PutLast: total %d received %d, %v", got.Total, got.Received, err)
		}
		cs, _ := s.Chunks(ctx(t), u)
		if len(cs) != 2 || cs[1].Start != 10 || !bytes.Equal(h.Read(t, cs[1].Data), pattern(20, 2)) {
			t.Fatalf("chunks after PutLast: %v", cs)
		}
	})
	t.Run("ResetDropsChunksKeepsOthers", func(t *testing.T) {
		s := h.New(t)
		a, b := "https://x.test/a", "https://x.test/b"
		putChunk(t, h, s, a, 0, 0, pattern(10, 1))
		putChunk(t, h, s, a, 1, 10, pattern(10, 1))
		putChunk(t, h, s, b, 0, 0, pattern(10, 1))
		rec := sampleRecord(a)
		rec.Gen = 7
		if err := s.Reset(ctx(t), rec); err != nil {
			t.Fatal(err)
		}
		if cs, _ := s.Chunks(ctx(t), a); len(cs) != 0 {
			t.Fatalf("%d chunks left after Reset", len(cs))
		}
		if cs, _ := s.Chunks(ctx(t), b); len(cs) != 1 {
			t.Fatalf("Reset of %s touched %s: %d chunks", a, b, len(cs))
		}
		if got, err := s.Get(ctx(t), a); err != nil || got.Gen != 7 {
			t.Fatalf("record after Reset: %+v, %v", got, err)
		}
	})
	t.Run("Delete", func(t *testing.T) {
		s := h.New(t)
		a, b := "https://x.test/a", "https://x.test/a/b"
		mustPut(t, s, sampleRecord(a))
		mustPut(t, s, sampleRecord(b))
		putChunk(t, h, s, a, 0, 0, pattern(10, 1))
		putChunk(t, h, s, b, 0, 0, pattern(10, 1))
		if err := s.Delete(ctx(t), a); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Get(ctx(t), a); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("record still there: %v", err)
		}
		if cs, _ := s.Chunks(ctx(t), a); len(cs) != 0 {
			t.Fatalf("%d chunks left", len(cs))
		}
		if cs, _ := s.Chunks(ctx(t), b); len(cs) != 1 {
			t.Fatal("Delete touched another download")
		}
		if err := s.Delete(ctx(t), "https://x.test/never"); err != nil {
			t.Fatalf("Delete of a missing download: %v", err)
		}
	})
	t.Run("DeleteChunk", func(t *testing.T) {
		s := h.New(t)
		u := "https://x.test/d"
		putChunk(t, h, s, u, 0, 0, pattern(10, 1))
		putChunk(t, h, s, u, 0, 10, pattern(10, 1))
		if err := s.DeleteChunk(ctx(t), u, 0, 0); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteChunk(ctx(t), u, 5, 5); err != nil {
			t.Fatalf("DeleteChunk of a missing chunk: %v", err)
		}
		if cs, _ := s.Chunks(ctx(t), u); len(cs) != 1 || cs[0].Start != 10 {
			t.Fatalf("chunks after DeleteChunk: %v", cs)
		}
	})
	t.Run("ConcurrentChunks", func(t *testing.T) {
		s := h.New(t)
		u := "https://x.test/c"
		const n = 16
		var wg sync.WaitGroup
		errs := make(chan error, n)
		blobs := make([]store.Blob, n)
		for i := range n {
			blobs[i] = h.Blob(t, pattern(1000, byte(i)))
		}
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- s.PutChunk(ctx(t), store.Chunk{URL: u, Gen: 0, Start: int64(i) * 1000, Data: blobs[i]})
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		cs, err := s.Chunks(ctx(t), u)
		if err != nil || len(cs) != n {
			t.Fatalf("%d chunks, %v; want %d", len(cs), err, n)
		}
		for i, c := range cs {
			if c.Start != int64(i)*1000 || !bytes.Equal(h.Read(t, c.Data), pattern(1000, byte(i))) {
				t.Fatalf("chunk %d wrong", i)
			}
		}
	})
	t.Run("BigChunk", func(t *testing.T) {
		s := h.New(t)
		data := pattern(3<<20+17, 42)
		putChunk(t, h, s, "https://x.test/big", 0, 0, data)
		cs, _ := s.Chunks(ctx(t), "https://x.test/big")
		if len(cs) != 1 || !bytes.Equal(h.Read(t, cs[0].Data), data) {
			t.Fatal("big chunk not stored intact")
		}
	})
	t.Run("Quota", func(t *testing.T) {
		if h.Full == nil {
			t.Skip("the harness cannot fill this store")
		}
		s := h.Full(t, 1<<20)
		u := "https://x.test/q"
		var err error
		stored := 0
		for i := range 64 {
			if err = s.PutChunk(ctx(t), store.Chunk{URL: u, Start: int64(i) << 18, Data: h.Blob(t, pattern(1<<18, byte(i)))}); err != nil {
				break
			}
			stored++
		}
		if !errors.Is(err, store.ErrQuota) {
			t.Fatalf("after %d chunks: %v, want ErrQuota", stored, err)
		}
		cs, err := s.Chunks(ctx(t), u)
		if err != nil || len(cs) != stored {
			t.Fatalf("after quota error: %d chunks, %v; want the %d stored before", len(cs), err, stored)
		}
		// The last piece and its record: neither is written without the
		// other.
		rec := sampleRecord(u)
		mustPut(t, s, rec)
		last := rec
		last.Total = 1 << 30
		err = s.PutLast(ctx(t), store.Chunk{URL: u, Start: 1 << 29, Data: h.Blob(t, pattern(1<<20, 9))}, last)
		if !errors.Is(err, store.ErrQuota) {
			t.Fatalf("PutLast on a full store: %v, want ErrQuota", err)
		}
		if got, err := s.Get(ctx(t), u); err != nil || got.Total != rec.Total {
			t.Fatalf("the record changed by a PutLast that failed: total %d, %v", got.Total, err)
		}
	})
}

func mustPut(t *testing.T, s store.Store, rec store.Record) {
	t.Helper()
	if err := s.Put(ctx(t), rec); err != nil {
		t.Fatalf("Put: %v", err)
	}
}

func putChunk(t *testing.T, h Harness, s store.Store, url string, gen, start int64, data []byte) {
	t.Helper()
	if err := s.PutChunk(ctx(t), store.Chunk{URL: url, Gen: gen, Start: start, Data: h.Blob(t, data)}); err != nil {
		t.Fatalf("PutChunk: %v", err)
	}
}
