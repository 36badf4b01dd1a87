package memstore_test

import (
	"testing"

	"github.com/go-resumer/resumer/wasm/store"
	"github.com/go-resumer/resumer/wasm/store/memstore"
	"github.com/go-resumer/resumer/wasm/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, storetest.Harness{
		New:    func(t *testing.T) store.Store { return memstore.New() },
		Blob:   func(t *testing.T, data []byte) store.Blob { return memstore.Bytes(append([]byte(nil), data...)) },
		Read:   func(t *testing.T, b store.Blob) []byte { return b.(memstore.Bytes) },
		Reopen: func(t *testing.T, s store.Store) store.Store { return s },
		Full:   func(t *testing.T, limit int64) store.Store { s := memstore.New(); s.Limit = limit; return s },
	})
}
