//go:build js && wasm

package idbstore_test

import (
	"context"
	"strconv"
	"sync/atomic"
	"syscall/js"
	"testing"
	"time"

	"github.com/hack-pad/go-indexeddb/idb"

	"github.com/go-resumer/resumer/wasm/internal/jsutil"
	"github.com/go-resumer/resumer/wasm/protocol"
	"github.com/go-resumer/resumer/wasm/store"
	"github.com/go-resumer/resumer/wasm/store/idbstore"
	"github.com/go-resumer/resumer/wasm/store/storetest"
)

var dbSeq atomic.Int64

func newStore(t *testing.T) store.Store {
	s, _ := newNamedStore(t)
	return s
}

func newNamedStore(t *testing.T) (store.Store, string) {
	name := "idbstore-test-" + strconv.FormatInt(time.Now().UnixNano(), 36) + "-" + strconv.FormatInt(dbSeq.Add(1), 10)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := idbstore.Open(ctx, name)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = s.Close()
		if err := idbstore.DeleteDatabase(ctx, name); err != nil {
			t.Errorf("DeleteDatabase: %v", err)
		}
	})
	return s, name
}

// TestSchemaOneUpgraded: a record the previous version of resumer wrote
// (schema 1, four flags instead of a mode) is read as schema 2 with the
// mode its flags meant, so that its download resumes.
func TestSchemaOneUpgraded(t *testing.T) {
	s, name := newNamedStore(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	const u = "https://x.test/old.bin"
	old := map[string]any{
		"url": u, "schema": 1, "gen": 2, "established": true, "resumable": true, "noRanges": false, "noIfRange": true,
		"total": 1000, "etag": `"e1"`, "state": "paused", "contentType": "application/octet-stream", "received": 400,
	}
	req, err := idb.Global().Open(ctx, name, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	db, err := req.Await(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tx, err := db.Transaction(idb.TransactionReadWrite, "downloads")
	if err != nil {
		t.Fatal(err)
	}
	os, err := tx.ObjectStore("downloads")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.PutKey(js.ValueOf(u), js.ValueOf(old)); err != nil {
		t.Fatal(err)
	}
	if err := tx.Await(ctx); err != nil {
		t.Fatal(err)
	}
	db.Close()
	rec, err := s.Get(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Schema != store.SchemaVersion || rec.Mode != protocol.ModeRangedPlain || rec.Gen != 2 || rec.Total != 1000 || rec.Check() != nil {
		t.Fatalf("upgraded record %+v (check: %v)", rec, rec.Check())
	}
}

func TestConformance(t *testing.T) {
	storetest.Run(t, harness(newStore))
}

// TestConformanceBytes: where chunks are kept as ArrayBuffers (a browser
// that cannot store Blobs, WebKit in an ephemeral session), the store
// behaves the same.
func TestConformanceBytes(t *testing.T) {
	storetest.Run(t, harness(func(t *testing.T) store.Store {
		s := newStore(t)
		s.(*idbstore.Store).StoreBytes()
		return s
	}))
}

// TestBytesStoredAsArrayBuffer: in bytes mode the database holds an
// ArrayBuffer, not a Blob.
func TestBytesStoredAsArrayBuffer(t *testing.T) {
	s, name := newNamedStore(t)
	s.(*idbstore.Store).StoreBytes()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b, err := jsutil.NewBlob([]byte("hello"), "")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.PutChunk(ctx, store.Chunk{URL: "u", Gen: 1, Start: 0, Data: b}); err != nil {
		t.Fatal(err)
	}
	done := make(chan string, 1)
	cb := js.FuncOf(func(this js.Value, args []js.Value) any {
		done <- args[0].String()
		return nil
	})
	defer cb.Release()
	js.Global().Call("eval", `(async (name, report) => {
	  const db = await new Promise((res, rej) => { const r = indexedDB.open(name); r.onsuccess = () => res(r.result); r.onerror = () => rej(r.error); });
	  const names = [...db.objectStoreNames].filter((n) => n.startsWith("chunks"));
	  const tx = db.transaction(names, "readonly");
	  const all = (await Promise.all(names.map((n) => new Promise((res) => { const r = tx.objectStore(n).getAll(); r.onsuccess = () => res(r.result); })))).flat();
	  db.close();
	  report(all.map((v) => (v.bytes instanceof ArrayBuffer ? "bytes" : "") + (v.blob ? "blob" : "")).join(","));
	})`).Invoke(name, cb)
	select {
	case got := <-done:
		if got != "bytes" {
			t.Errorf("stored values: %q, want one ArrayBuffer", got)
		}
	case <-ctx.Done():
		t.Fatal(ctx.Err())
	}
}

func harness(newStore func(t *testing.T) store.Store) storetest.Harness {
	return storetest.Harness{
		New: newStore,
		Reopen: func(t *testing.T, s store.Store) store.Store {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			again, err := idbstore.Open(ctx, s.(*idbstore.Store).Name())
			if err != nil {
				t.Fatalf("Open again: %v", err)
			}
			t.Cleanup(func() { _ = again.Close() })
			return again
		},
		Blob: func(t *testing.T, data []byte) store.Blob {
			b, err := jsutil.NewBlob(data, "application/octet-stream")
			if err != nil {
				t.Fatal(err)
			}
			return b
		},
		Read: func(t *testing.T, b store.Blob) []byte {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			data, err := jsutil.ReadBlob(ctx, b.(jsutil.Blob))
			if err != nil {
				t.Fatal(err)
			}
			return data
		},
	}
}
