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
	storetest.Run(t, storetest.Harness{
		New: newStore,
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
	})
}
