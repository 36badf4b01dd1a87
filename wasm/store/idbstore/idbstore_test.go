//go:build js && wasm

package idbstore_test

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-resumer/resumer/wasm/internal/jsutil"
	"github.com/go-resumer/resumer/wasm/store"
	"github.com/go-resumer/resumer/wasm/store/idbstore"
	"github.com/go-resumer/resumer/wasm/store/storetest"
)

var dbSeq atomic.Int64

func newStore(t *testing.T) store.Store {
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
	return s
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
