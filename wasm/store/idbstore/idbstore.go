//go:build js && wasm

// Package idbstore is the IndexedDB store.Store, on
// github.com/hack-pad/go-indexeddb.
//
// One database holds a "downloads" object store (one record per URL) and
// Lanes chunk stores ("chunks", "chunks-1", …). Chunk bodies are stored as
// the JS Blobs fetch() returned, so their bytes never enter Go. Each chunk is
// written in its own read-write transaction on one lane, and its key
// [url, gen, start] together with its size is the progress it counts: a
// chunk and its progress commit together. Read-write transactions on the
// same object store commit one at a time; spreading chunks over several
// lanes lets their commits run in parallel.
//
// Traps of IndexedDB this package avoids: it awaits only from goroutines;
// it never awaits anything but the transaction it opened while that
// transaction is open (it would auto-commit); every call takes a context
// with a deadline; a "versionchange" from another tab closes the connection,
// after which the next call reopens it.
package idbstore

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall/js"
	"time"

	"github.com/hack-pad/go-indexeddb/idb"
	"github.com/hack-pad/safejs"

	"github.com/go-resumer/resumer/wasm/internal/jsutil"
	"github.com/go-resumer/resumer/wasm/protocol"
	"github.com/go-resumer/resumer/wasm/store"
)

// Lanes is the number of chunk object stores.
const Lanes = 4

// dbVersion is the IndexedDB schema version: it creates the stores above.
// Version 2 added metaStore; upgrade creates whatever store is missing, so
// a database of version 1 keeps its downloads.
const dbVersion = 2

const downloadsStore = "downloads"

// metaStore holds what belongs to the store as a whole: under secretKey,
// the store's Secret (base64).
const (
	metaStore = "meta"
	secretKey = "secret"
)

// ErrUnsupported reports a browser context without IndexedDB (some private
// modes, workers of old browsers).
var ErrUnsupported = errors.New("IndexedDB is not available here")

var (
	errQuota       = idb.NewDOMException("QuotaExceededError")
	errInvalidStat = idb.NewDOMException("InvalidStateError")
)

func laneName(i int) string {
	if i == 0 {
		return "chunks"
	}
	return "chunks-" + strconv.Itoa(i)
}

func allStores() []string {
	names := []string{downloadsStore, metaStore}
	for i := range Lanes {
		names = append(names, laneName(i))
	}
	return names
}

// Store is the IndexedDB store.Store.
type Store struct {
	name string

	mu       sync.Mutex // guards the fields below
	db       *idb.Database
	inflight [Lanes]int
	next     int
	lastSeq  int64

	secret []byte // the store's Secret, once read

	bytesOnly atomic.Bool // chunks are stored as ArrayBuffers: this browser refused a Blob (PutChunk)
}

var _ store.Store = (*Store)(nil)

// Open opens (creating if needed) the database name.
func Open(ctx context.Context, name string) (*Store, error) {
	s := &Store{name: name}
	db, err := s.open(ctx)
	if err != nil {
		return nil, err
	}
	s.db = db
	return s, nil
}

func (s *Store) open(ctx context.Context) (db *idb.Database, err error) {
	defer func() {
		// idb.Global panics where indexedDB is missing.
		if r := recover(); r != nil {
			db, err = nil, fmt.Errorf("open %s: %w (%v)", s.name, ErrUnsupported, r)
		}
	}()
	req, err := idb.Global().Open(ctx, s.name, dbVersion, upgrade)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", s.name, err)
	}
	db, err = req.Await(ctx)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", s.name, err)
	}
	return db, nil
}

// upgrade creates the object stores. It stays trivial: an error here would
// panic inside a JS callback instead of returning from Open.
func upgrade(db *idb.Database, oldVersion, newVersion uint) error {
	have, err := db.ObjectStoreNames()
	if err != nil {
		return err
	}
	exists := map[string]bool{}
	for _, n := range have {
		exists[n] = true
	}
	for _, n := range allStores() {
		if !exists[n] {
			if _, err := db.CreateObjectStore(n, idb.ObjectStoreOptions{}); err != nil {
				return err
			}
		}
	}
	return nil
}

// Name returns the database's name.
func (s *Store) Name() string { return s.name }

// Secret implements store.Store. The secret is read once per Store; it is
// created by an add, which fails where another tab added one first, and is
// then read again.
func (s *Store) Secret(ctx context.Context) ([]byte, error) {
	s.mu.Lock()
	known := s.secret
	s.mu.Unlock()
	if known != nil {
		return append([]byte(nil), known...), nil
	}
	b, found, err := s.readSecret(ctx)
	if err != nil {
		return nil, classify("read the store's secret", err)
	}
	if !found {
		fresh := make([]byte, store.SecretSize)
		if _, err := rand.Read(fresh); err != nil {
			return nil, fmt.Errorf("make the store's secret: %w", err)
		}
		addErr := s.write(ctx, []string{metaStore}, func(t *idb.Transaction) error {
			os, err := t.ObjectStore(metaStore)
			if err != nil {
				return err
			}
			_, err = os.AddKey(js.ValueOf(secretKey), js.ValueOf(base64.StdEncoding.EncodeToString(fresh)))
			return err
		})
		if b, found, err = s.readSecret(ctx); err != nil || !found {
			return nil, classify("store the store's secret", cmp.Or(err, addErr, errors.New("not kept")))
		}
	}
	s.mu.Lock()
	s.secret = b
	s.mu.Unlock()
	return append([]byte(nil), b...), nil
}

// readSecret reads the store's secret, found false when there is none.
func (s *Store) readSecret(ctx context.Context) ([]byte, bool, error) {
	t, err := s.txn(ctx, idb.TransactionReadOnly, metaStore)
	if err != nil {
		return nil, false, err
	}
	os, err := t.ObjectStore(metaStore)
	if err != nil {
		return nil, false, err
	}
	req, err := os.Get(js.ValueOf(secretKey))
	if err != nil {
		return nil, false, err
	}
	v, err := req.Await(ctx)
	if err != nil {
		return nil, false, err
	}
	if v.Type() != js.TypeString {
		return nil, false, nil
	}
	b, err := base64.StdEncoding.DecodeString(v.String())
	if err != nil || len(b) != store.SecretSize {
		// Damaged: an error, not a new secret that would orphan every
		// private download without a word.
		return nil, false, fmt.Errorf("the store's secret is damaged (%d bytes, %v)", len(b), err)
	}
	return b, true, nil
}

// Close closes the connection.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.db.Close()
}

// Delete the whole database name. The caller must have closed its stores.
func DeleteDatabase(ctx context.Context, name string) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("delete database %s: %w", name, ErrUnsupported)
		}
	}()
	req, err := idb.Global().DeleteDatabase(name)
	if err != nil {
		return fmt.Errorf("delete database %s: %w", name, err)
	}
	return req.Await(ctx)
}

// txn starts a transaction, reopening the connection once if another tab's
// version change closed it.
func (s *Store) txn(ctx context.Context, mode idb.TransactionMode, stores ...string) (*idb.Transaction, error) {
	s.mu.Lock()
	db := s.db
	s.mu.Unlock()
	t, err := db.TransactionWithOptions(idb.TransactionOptions{Mode: mode, Durability: idb.DurabilityRelaxed}, stores[0], stores[1:]...)
	if err == nil {
		return t, nil
	}
	if !errors.Is(err, errInvalidStat) {
		return nil, err
	}
	db, err = s.open(ctx)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.db = db
	// The database may be another one now (deleted, site data cleared):
	// its secret is read again, never carried over.
	s.secret = nil
	s.mu.Unlock()
	return db.TransactionWithOptions(idb.TransactionOptions{Mode: mode, Durability: idb.DurabilityRelaxed}, stores[0], stores[1:]...)
}

// classify wraps IndexedDB errors into the store's sentinel errors.
func classify(what string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, errQuota) {
		return fmt.Errorf("%s: %w (%v)", what, store.ErrQuota, err)
	}
	var je *jsutil.JSError
	if errors.As(err, &je) && je.Name == "QuotaExceededError" {
		return fmt.Errorf("%s: %w (%v)", what, store.ErrQuota, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// Get implements store.Store.
func (s *Store) Get(ctx context.Context, url string) (store.Record, error) {
	t, err := s.txn(ctx, idb.TransactionReadOnly, downloadsStore)
	if err != nil {
		return store.Record{}, classify("get "+url, err)
	}
	os, err := t.ObjectStore(downloadsStore)
	if err != nil {
		return store.Record{}, classify("get "+url, err)
	}
	req, err := os.Get(js.ValueOf(url))
	if err != nil {
		return store.Record{}, classify("get "+url, err)
	}
	v, err := req.Await(ctx)
	if err != nil {
		return store.Record{}, classify("get "+url, err)
	}
	if v.IsUndefined() || v.IsNull() {
		return store.Record{}, fmt.Errorf("get %s: %w", url, store.ErrNotFound)
	}
	rec := recordFromJS(safejs.Safe(v))
	if rec.URL == "" {
		rec.URL = url // a damaged value; Check will tell
	}
	return rec, nil
}

// Put implements store.Store.
func (s *Store) Put(ctx context.Context, rec store.Record) error {
	return classify("put "+rec.URL, s.write(ctx, []string{downloadsStore}, func(t *idb.Transaction) error {
		return putRecord(t, rec)
	}))
}

func putRecord(t *idb.Transaction, rec store.Record) error {
	os, err := t.ObjectStore(downloadsStore)
	if err != nil {
		return err
	}
	_, err = os.PutKey(js.ValueOf(rec.URL), recordToJS(rec))
	return err
}

// write runs fn in a read-write transaction over stores and waits for the
// commit. fn only issues requests; it must not await.
func (s *Store) write(ctx context.Context, stores []string, fn func(t *idb.Transaction) error) error {
	t, err := s.txn(ctx, idb.TransactionReadWrite, stores...)
	if err != nil {
		return err
	}
	if err := fn(t); err != nil {
		_ = t.Abort()
		return err
	}
	return t.Await(ctx)
}

// List implements store.Store.
func (s *Store) List(ctx context.Context) ([]store.Record, error) {
	t, err := s.txn(ctx, idb.TransactionReadOnly, downloadsStore)
	if err != nil {
		return nil, classify("list", err)
	}
	os, err := t.ObjectStore(downloadsStore)
	if err != nil {
		return nil, classify("list", err)
	}
	req, err := os.OpenCursor(idb.CursorNext)
	if err != nil {
		return nil, classify("list", err)
	}
	var out []store.Record
	err = req.Iter(ctx, func(c *idb.CursorWithValue) error {
		v, err := c.Value()
		if err != nil {
			return err
		}
		rec := recordFromJS(safejs.Safe(v))
		if rec.URL == "" {
			// A damaged value: the key still says which download it is.
			if k, err := c.Key(); err == nil && k.Type() == js.TypeString {
				rec.URL = k.String()
			}
		}
		out = append(out, rec)
		return nil
	})
	return out, classify("list", err)
}

// urlRange is the key range of every chunk of url: keys are [url, gen,
// start], and an array sorts after every number, so [url, []] is above them
// all while [url2, …] for another URL is outside.
func urlRange(url string) js.Value {
	upper := js.ValueOf([]any{url, []any{}})
	return js.Global().Get("IDBKeyRange").Call("bound", js.ValueOf([]any{url}), upper)
}

func chunkKey(url string, gen, start int64) js.Value {
	return js.ValueOf([]any{url, gen, start})
}

// downloadStores are the stores of downloads: the records and the chunks.
func downloadStores() []string { return append([]string{downloadsStore}, lanes()...) }

func lanes() []string {
	out := make([]string, Lanes)
	for i := range out {
		out[i] = laneName(i)
	}
	return out
}

// Delete implements store.Store.
func (s *Store) Delete(ctx context.Context, url string) error {
	return classify("delete "+url, s.write(ctx, downloadStores(), func(t *idb.Transaction) error {
		os, err := t.ObjectStore(downloadsStore)
		if err != nil {
			return err
		}
		if _, err := os.Delete(js.ValueOf(url)); err != nil {
			return err
		}
		return deleteChunks(t, urlRange(url))
	}))
}

func deleteChunks(t *idb.Transaction, keys js.Value) error {
	for _, lane := range lanes() {
		os, err := t.ObjectStore(lane)
		if err != nil {
			return err
		}
		if _, err := os.Delete(keys); err != nil {
			return err
		}
	}
	return nil
}

// Reset implements store.Store.
func (s *Store) Reset(ctx context.Context, rec store.Record) error {
	return classify("reset "+rec.URL, s.write(ctx, downloadStores(), func(t *idb.Transaction) error {
		if err := deleteChunks(t, urlRange(rec.URL)); err != nil {
			return err
		}
		return putRecord(t, rec)
	}))
}

// DeleteChunk implements store.Store.
func (s *Store) DeleteChunk(ctx context.Context, url string, gen, start int64) error {
	return classify("delete chunk", s.write(ctx, lanes(), func(t *idb.Transaction) error {
		return deleteChunks(t, chunkKey(url, gen, start))
	}))
}

// PutChunk implements store.Store. The chunk goes to the lane with the
// fewest writes in flight, so that commits do not queue behind each other.
//
// Its bytes are stored as the Blob itself where the browser can store
// Blobs. WebKit cannot in an ephemeral session (Safari's private
// browsing, and any WebKit under automation): the put fails with
// "UnknownError: Error preparing Blob/File data to be stored in object
// store". There a chunk is stored as an ArrayBuffer of its bytes, read
// from the Blob before the transaction opens; the first put that fails
// that way, and then succeeds so, switches the store for good. The bytes
// stay in JS either way.
func (s *Store) PutChunk(ctx context.Context, c store.Chunk) error {
	return s.put(ctx, c, nil)
}

// PutLast implements store.Store: the chunk and the record are written in
// one transaction over the chunk's lane and the downloads store.
func (s *Store) PutLast(ctx context.Context, c store.Chunk, rec store.Record) error {
	return s.put(ctx, c, &rec)
}

// put writes c, and rec if it is not nil, in one transaction.
func (s *Store) put(ctx context.Context, c store.Chunk, rec *store.Record) error {
	b, ok := c.Data.(jsutil.Blob)
	if !ok {
		return fmt.Errorf("put chunk: data of type %T is not a JS Blob", c.Data)
	}
	what := fmt.Sprintf("put chunk %d+%d of %s", c.Start, b.N, c.URL)
	lane, seq := s.takeLane()
	defer s.releaseLane(lane)
	bytesOnly := s.bytesOnly.Load()
	var err error
	if !bytesOnly {
		err = s.putChunk(ctx, lane, c, seq, "blob", b.V, rec)
		if err == nil || !blobRefused(err) || ctx.Err() != nil {
			return classify(what, err)
		}
	}
	buf, aerr := arrayBuffer(ctx, b)
	if aerr != nil {
		return classify(what, errors.Join(err, aerr))
	}
	if err := s.putChunk(ctx, lane, c, seq, "bytes", buf, rec); err != nil {
		return classify(what, err)
	}
	s.bytesOnly.Store(true)
	return nil
}

// StoreBytes makes the store keep chunks as ArrayBuffers from now on, as
// it does by itself where the browser cannot store Blobs (PutChunk): for
// tests, and for an app that knows its browser.
func (s *Store) StoreBytes() { s.bytesOnly.Store(true) }

// putChunk writes the value of a chunk whose bytes are data, under key,
// and rec with it when it is not nil.
func (s *Store) putChunk(ctx context.Context, lane int, c store.Chunk, seq int64, key string, data safejs.Value, rec *store.Record) error {
	value := js.ValueOf(map[string]any{
		"url": c.URL, "gen": c.Gen, "start": c.Start, "size": c.Data.Size(), key: safejs.Unsafe(data), "seq": seq,
	})
	stores := []string{laneName(lane)}
	if rec != nil {
		stores = append(stores, downloadsStore)
	}
	return s.write(ctx, stores, func(t *idb.Transaction) error {
		os, err := t.ObjectStore(laneName(lane))
		if err != nil {
			return err
		}
		if _, err = os.PutKey(chunkKey(c.URL, c.Gen, c.Start), value); err != nil || rec == nil {
			return err
		}
		return putRecord(t, *rec)
	})
}

// blobRefused reports whether a put may have failed because the browser
// cannot store a Blob here: any failure but a full quota or a closed
// connection. (Engines name it differently; a put of the bytes that then
// succeeds is the proof.)
func blobRefused(err error) bool {
	return !errors.Is(err, errQuota) && !errors.Is(err, errInvalidStat) && !errors.Is(classify("", err), store.ErrQuota)
}

// arrayBuffer reads the bytes of b into an ArrayBuffer, in JS.
func arrayBuffer(ctx context.Context, b jsutil.Blob) (safejs.Value, error) {
	p, err := b.V.Call("arrayBuffer")
	if err != nil {
		return safejs.Value{}, fmt.Errorf("read the Blob to store its bytes: %w: %w", store.ErrBlobLost, err)
	}
	v, err := jsutil.Await(ctx, p)
	if err != nil {
		return safejs.Value{}, fmt.Errorf("read the Blob to store its bytes: %w: %w", store.ErrBlobLost, err)
	}
	return v, nil
}

// takeLane picks the lane for a write and a sequence number that orders it
// after every earlier write (Unix microseconds, made strictly increasing), so
// that a chunk written again to another lane replaces the older copy.
func (s *Store) takeLane() (int, int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lastSeq = max(s.lastSeq+1, time.Now().UnixMicro())
	best := s.next
	for i := range Lanes {
		l := (s.next + i) % Lanes
		if s.inflight[l] < s.inflight[best] {
			best = l
		}
	}
	s.inflight[best]++
	s.next = (best + 1) % Lanes
	return best, s.lastSeq
}

func (s *Store) releaseLane(l int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inflight[l]--
}

// Chunks implements store.Store. A chunk whose stored value is damaged
// (not a Blob, or a Blob of another size than recorded) comes back with a
// nil Data, so that the caller drops it.
func (s *Store) Chunks(ctx context.Context, url string) ([]store.Chunk, error) {
	// One read-only transaction over every lane, their cursors walked at
	// once: a resume reads its chunks in one round trip per lane, not one
	// transaction after another.
	t, err := s.txn(ctx, idb.TransactionReadOnly, lanes()...)
	if err != nil {
		return nil, classify("read chunks of "+url, err)
	}
	type laneResult struct {
		chunks []seqChunk
		err    error
	}
	results := make(chan laneResult, Lanes)
	for _, lane := range lanes() {
		os, err := t.ObjectStore(lane) // before the goroutines: the transaction caches stores in a map
		if err != nil {
			return nil, classify("read chunks of "+url, err)
		}
		go func() {
			cs, err := laneChunks(ctx, os, url)
			results <- laneResult{cs, err}
		}()
	}
	var all []seqChunk
	for range Lanes {
		r := <-results
		if r.err != nil && err == nil {
			err = r.err
		}
		all = append(all, r.chunks...)
	}
	if err != nil {
		return nil, classify("read chunks of "+url, err)
	}
	sort.Slice(all, func(i, j int) bool {
		a, b := all[i], all[j]
		if a.Gen != b.Gen {
			return a.Gen < b.Gen
		}
		if a.Start != b.Start {
			return a.Start < b.Start
		}
		return a.seq > b.seq
	})
	out := make([]store.Chunk, 0, len(all))
	for i, c := range all {
		// The same key on two lanes: the newest write replaced the other.
		if i > 0 && c.Gen == all[i-1].Gen && c.Start == all[i-1].Start {
			continue
		}
		out = append(out, c.Chunk)
	}
	return out, nil
}

// seqChunk is a chunk with the sequence number of its write.
type seqChunk struct {
	store.Chunk
	seq int64
}

func laneChunks(ctx context.Context, os *idb.ObjectStore, url string) ([]seqChunk, error) {
	kr, err := idb.NewKeyRangeBound(js.ValueOf([]any{url}), js.ValueOf([]any{url, []any{}}), false, false)
	if err != nil {
		return nil, err
	}
	req, err := os.OpenCursorRange(kr, idb.CursorNext)
	if err != nil {
		return nil, err
	}
	var out []seqChunk
	err = req.Iter(ctx, func(c *idb.CursorWithValue) error {
		v, err := c.Value()
		if err != nil {
			return err
		}
		sv := safejs.Safe(v)
		out = append(out, seqChunk{chunkFromJS(url, sv), getInt(sv, "seq")})
		return nil
	})
	return out, err
}

func chunkFromJS(url string, v safejs.Value) store.Chunk {
	c := store.Chunk{URL: url, Gen: getInt(v, "gen"), Start: getInt(v, "start")}
	size := getInt(v, "size")
	if bv, err := v.Get("blob"); err == nil && !bv.IsUndefined() {
		if b, err := jsutil.WrapBlob(bv); err == nil && b.N == size && size > 0 {
			c.Data = b
		}
		return c
	}
	// Bytes stored where Blobs could not be (PutChunk): a Blob of them.
	if bv, err := v.Get("bytes"); err == nil && !bv.IsUndefined() {
		if j, err := jsutil.JoinValues([]any{bv}, "", 0); err == nil {
			if b, err := jsutil.WrapBlob(j.V); err == nil && b.N == size && size > 0 {
				c.Data = b
			}
		}
	}
	return c
}

func recordToJS(r store.Record) js.Value {
	return js.ValueOf(map[string]any{
		"url": r.URL, "schema": r.Schema, "gen": r.Gen, "mode": string(r.Mode), "total": r.Total,
		"etag": r.Validators.ETag, "lastModified": r.Validators.LastModified, "date": r.Validators.Date,
		"finalURL": r.FinalURL, "contentType": r.ContentType, "chunkSize": r.ChunkSize, "state": string(r.State),
		"reasonCode": r.Reason.Code, "reasonText": r.Reason.Text, "restarts": r.Restarts, "received": r.Received,
		"errCode": r.ErrCode, "errMessage": r.ErrMessage, "created": r.Created, "updated": r.Updated,
		"source": r.Source, "digest": digestString(r.Digest), "digestFrom": r.DigestFrom,
		"hashed": r.Hashed, "hashState": base64.StdEncoding.EncodeToString(r.HashState),
		"decided": jsutil.ExchangeValue(r.Decided), "owner": r.Owner,
	})
}

func digestString(d protocol.Digest) string {
	if d.Empty() {
		return ""
	}
	return d.String()
}

// recordFromJS reads a record defensively: a missing or mistyped field reads
// as its zero value, and a record without its schema number is then
// distrusted by the engine rather than crashing it. A record of schema 1 is
// upgraded (store.FromV1) from the flags it was written with.
func recordFromJS(v safejs.Value) store.Record {
	rec := store.Record{
		URL: jsutil.GetString(v, "url"), Schema: int(getInt(v, "schema")), Gen: getInt(v, "gen"),
		Mode: protocol.Mode(jsutil.GetString(v, "mode")), Total: getInt(v, "total"),
		Validators: protocol.Validators{ETag: jsutil.GetString(v, "etag"), LastModified: jsutil.GetString(v, "lastModified"), Date: jsutil.GetString(v, "date")},
		FinalURL:   jsutil.GetString(v, "finalURL"), ContentType: jsutil.GetString(v, "contentType"), ChunkSize: getInt(v, "chunkSize"),
		State:    protocol.State(jsutil.GetString(v, "state")),
		Reason:   protocol.Reason{Code: jsutil.GetString(v, "reasonCode"), Text: jsutil.GetString(v, "reasonText")},
		Restarts: int(getInt(v, "restarts")), Received: getInt(v, "received"),
		ErrCode: jsutil.GetString(v, "errCode"), ErrMessage: jsutil.GetString(v, "errMessage"),
		Created: getInt(v, "created"), Updated: getInt(v, "updated"),
		Source: jsutil.GetString(v, "source"), DigestFrom: jsutil.GetString(v, "digestFrom"), Hashed: getInt(v, "hashed"),
		Owner: jsutil.GetString(v, "owner"),
	}
	// A digest or hash state that does not read is dropped: Check then
	// distrusts a record that counts hashed bytes without them.
	if d, err := protocol.ParseIntegrity(jsutil.GetString(v, "digest")); err == nil {
		rec.Digest = d
	}
	if st, err := base64.StdEncoding.DecodeString(jsutil.GetString(v, "hashState")); err == nil && len(st) > 0 {
		rec.HashState = st
	}
	if d, err := v.Get("decided"); err == nil {
		rec.Decided = jsutil.ExchangeOf(d)
	}
	if rec.Schema == 1 {
		rec = store.FromV1(rec, store.V1Flags{
			Established: jsutil.GetBool(v, "established"), Resumable: jsutil.GetBool(v, "resumable"),
			NoRanges: jsutil.GetBool(v, "noRanges"), NoIfRange: jsutil.GetBool(v, "noIfRange"),
		})
	}
	return rec
}

// getInt reads v[k] as an integer (0 if it is not a number).
func getInt(v safejs.Value, k string) int64 { return int64(jsutil.GetNumber(v, k)) }
