// Package memstore is an in-memory store.Store for native tests and tools.
package memstore

import (
	"context"
	"crypto/rand"
	"fmt"
	"sort"
	"sync"

	"github.com/go-resumer/resumer/wasm/store"
)

// Bytes is the store.Blob of this package.
type Bytes []byte

// Size returns len(b).
func (b Bytes) Size() int64 { return int64(len(b)) }

// Slice returns b[start:end] without copying.
func (b Bytes) Slice(start, end int64) store.Blob { return b[start:end] }

type chunkKey struct {
	url   string
	gen   int64
	start int64
}

// Store is an in-memory store.Store. The zero value is not usable; call New.
type Store struct {
	// Limit, when positive, is the number of chunk bytes the store accepts
	// before PutChunk fails with store.ErrQuota, like a full browser quota.
	Limit int64

	mu      sync.Mutex
	records map[string]store.Record
	chunks  map[chunkKey]store.Chunk
	used    int64
	secret  []byte
}

// New returns an empty store.
func New() *Store {
	return &Store{records: map[string]store.Record{}, chunks: map[chunkKey]store.Chunk{}}
}

var _ store.Store = (*Store)(nil)

// Get implements store.Store.
func (s *Store) Get(ctx context.Context, url string) (store.Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.records[url]
	if !ok {
		return store.Record{}, fmt.Errorf("get %s: %w", url, store.ErrNotFound)
	}
	return rec, nil
}

// Put implements store.Store.
func (s *Store) Put(ctx context.Context, rec store.Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.records[rec.URL] = rec
	return nil
}

// List implements store.Store.
func (s *Store) List(ctx context.Context) ([]store.Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]store.Record, 0, len(s.records))
	for _, r := range s.records {
		out = append(out, r)
	}
	return out, nil
}

// Delete implements store.Store.
func (s *Store) Delete(ctx context.Context, url string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.records, url)
	s.dropChunks(url)
	return nil
}

// Reset implements store.Store.
func (s *Store) Reset(ctx context.Context, rec store.Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dropChunks(rec.URL)
	s.records[rec.URL] = rec
	return nil
}

func (s *Store) dropChunks(url string) {
	for k, c := range s.chunks {
		if k.url == url {
			s.used -= c.Data.Size()
			delete(s.chunks, k)
		}
	}
}

// PutChunk implements store.Store.
func (s *Store) PutChunk(ctx context.Context, c store.Chunk) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.putChunk(c)
}

// PutLast implements store.Store.
func (s *Store) PutLast(ctx context.Context, c store.Chunk, rec store.Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.putChunk(c); err != nil {
		return err
	}
	s.records[rec.URL] = rec
	return nil
}

func (s *Store) putChunk(c store.Chunk) error {
	k := chunkKey{c.URL, c.Gen, c.Start}
	used := s.used + c.Data.Size()
	if old, ok := s.chunks[k]; ok {
		used -= old.Data.Size()
	}
	if s.Limit > 0 && used > s.Limit {
		return fmt.Errorf("put chunk at %d of %s: %w", c.Start, c.URL, store.ErrQuota)
	}
	s.used = used
	s.chunks[k] = c
	return nil
}

// Chunks implements store.Store.
func (s *Store) Chunks(ctx context.Context, url string) ([]store.Chunk, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []store.Chunk
	for k, c := range s.chunks {
		if k.url == url {
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Gen != out[j].Gen {
			return out[i].Gen < out[j].Gen
		}
		return out[i].Start < out[j].Start
	})
	return out, nil
}

// DeleteChunk implements store.Store.
func (s *Store) DeleteChunk(ctx context.Context, url string, gen, start int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := chunkKey{url, gen, start}
	if c, ok := s.chunks[k]; ok {
		s.used -= c.Data.Size()
		delete(s.chunks, k)
	}
	return nil
}

// Used returns the number of chunk bytes stored.
func (s *Store) Used() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.used
}

// Secret implements store.Store.
func (s *Store) Secret(ctx context.Context) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.secret == nil {
		b := make([]byte, store.SecretSize)
		if _, err := rand.Read(b); err != nil {
			return nil, fmt.Errorf("make the store's secret: %w", err)
		}
		s.secret = b
	}
	return append([]byte(nil), s.secret...), nil
}
