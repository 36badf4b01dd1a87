package store_test

import (
	"errors"
	"testing"

	"github.com/go-resumer/resumer/wasm/protocol"
	"github.com/go-resumer/resumer/wasm/store"
)

func TestRecordCheck(t *testing.T) {
	good := store.Record{
		URL: "https://x.test/f", Schema: store.SchemaVersion, Gen: 2, Mode: protocol.ModeRanged, Total: 100,
		Validators: protocol.Validators{ETag: `"e"`}, FinalURL: "https://cdn.test/f", State: protocol.Paused,
	}
	single := store.Record{URL: "https://x.test/f", Schema: store.SchemaVersion, Mode: protocol.ModeSingle, Total: protocol.UnknownSize,
		State: protocol.Paused, Reason: protocol.Reason{Code: protocol.ReasonUnknownLength, Text: "no length"}}
	fresh := store.Record{URL: "https://x.test/f", Schema: store.SchemaVersion, Mode: protocol.ModeNew, Total: protocol.UnknownSize, State: protocol.Idle}
	tests := []struct {
		name   string
		mutate func(*store.Record)
		base   store.Record
		ok     bool
	}{
		{"good", func(*store.Record) {}, good, true},
		{"fresh", func(*store.Record) {}, fresh, true},
		{"not resumable, unknown length", func(*store.Record) {}, single, true},
		{"ranged-plain", func(r *store.Record) { r.Mode = protocol.ModeRangedPlain }, good, true},
		{"not resumable without a reason", func(r *store.Record) { r.Reason = protocol.Reason{} }, single, false},
		{"unknown mode", func(r *store.Record) { r.Mode = "sideways" }, good, false},
		{"no mode (unreadable record)", func(r *store.Record) { r.Mode = "" }, good, false},
		{"final URL without a response", func(r *store.Record) { r.FinalURL = "https://x.test/g" }, fresh, false},
		{"other schema", func(r *store.Record) { r.Schema = 99 }, good, false},
		{"zero schema (unreadable record)", func(r *store.Record) { r.Schema = 0 }, good, false},
		{"no URL", func(r *store.Record) { r.URL = "" }, good, false},
		{"unknown state", func(r *store.Record) { r.State = "zombie" }, good, false},
		{"canceled is never stored", func(r *store.Record) { r.State = protocol.Canceled }, good, false},
		{"negative gen", func(r *store.Record) { r.Gen = -1 }, good, false},
		{"negative total", func(r *store.Record) { r.Total = -5 }, good, false},
		{"validators without a response", func(r *store.Record) { r.Mode = protocol.ModeNew }, good, false},
		{"resumable with weak ETag", func(r *store.Record) { r.Validators.ETag = `W/"e"` }, good, false},
		{"resumable without length", func(r *store.Record) { r.Total = protocol.UnknownSize }, good, false},
		{"done without length", func(r *store.Record) { r.State = protocol.Done }, single, false},
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

func TestFromV1(t *testing.T) {
	base := store.Record{URL: "https://x.test/f", Schema: 1, Total: 100, Validators: protocol.Validators{ETag: `"e"`}, State: protocol.Paused}
	tests := []struct {
		name  string
		flags store.V1Flags
		want  protocol.Mode
	}{
		{"not established", store.V1Flags{}, protocol.ModeNew},
		{"resumable", store.V1Flags{Established: true, Resumable: true}, protocol.ModeRanged},
		{"resumable without If-Range", store.V1Flags{Established: true, Resumable: true, NoIfRange: true}, protocol.ModeRangedPlain},
		{"no ranges", store.V1Flags{Established: true, Resumable: true, NoRanges: true}, protocol.ModeSingle},
		{"not resumable", store.V1Flags{Established: true}, protocol.ModeSingle},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := base
			if !tt.flags.Established {
				rec.Total, rec.Validators = protocol.UnknownSize, protocol.Validators{}
			}
			got := store.FromV1(rec, tt.flags)
			if got.Mode != tt.want || got.Schema != store.SchemaVersion {
				t.Fatalf("FromV1 = mode %q schema %d, want %q", got.Mode, got.Schema, tt.want)
			}
			if err := got.Check(); err != nil {
				t.Fatalf("upgraded record not trusted: %v", err)
			}
		})
	}
}
