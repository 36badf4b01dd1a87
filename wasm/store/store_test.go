package store_test

import (
	"errors"
	"testing"

	"github.com/go-resumer/resumer/wasm/protocol"
	"github.com/go-resumer/resumer/wasm/store"
)

func TestRecordCheck(t *testing.T) {
	good := store.Record{
		URL: "https://x.test/f", Schema: store.SchemaVersion, Gen: 2, Established: true, Total: 100,
		Validators: protocol.Validators{ETag: `"e"`}, State: protocol.Paused, Resumable: true,
	}
	fresh := store.Record{URL: "https://x.test/f", Schema: store.SchemaVersion, Total: protocol.UnknownSize, State: protocol.Idle}
	tests := []struct {
		name   string
		mutate func(*store.Record)
		base   store.Record
		ok     bool
	}{
		{"good", func(*store.Record) {}, good, true},
		{"fresh", func(*store.Record) {}, fresh, true},
		{"not resumable, unknown length", func(r *store.Record) { r.Resumable, r.Total = false, protocol.UnknownSize }, good, true},
		{"other schema", func(r *store.Record) { r.Schema = 99 }, good, false},
		{"zero schema (unreadable record)", func(r *store.Record) { r.Schema = 0 }, good, false},
		{"no URL", func(r *store.Record) { r.URL = "" }, good, false},
		{"unknown state", func(r *store.Record) { r.State = "zombie" }, good, false},
		{"canceled is never stored", func(r *store.Record) { r.State = protocol.Canceled }, good, false},
		{"negative gen", func(r *store.Record) { r.Gen = -1 }, good, false},
		{"negative total", func(r *store.Record) { r.Total = -5 }, good, false},
		{"validators without a response", func(r *store.Record) { r.Established = false }, good, false},
		{"resumable with weak ETag", func(r *store.Record) { r.Validators.ETag = `W/"e"` }, good, false},
		{"resumable without length", func(r *store.Record) { r.Total = protocol.UnknownSize }, good, false},
		{"done without length", func(r *store.Record) { r.Resumable, r.Total, r.State = false, protocol.UnknownSize, protocol.Done }, good, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.base
			tt.mutate(&r)
			err := r.Check()
			if (err == nil) != tt.ok || (err != nil && !errors.Is(err, store.ErrUntrusted)) {
				t.Fatalf("Check() = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}
