package store_test

import (
	"testing"

	"github.com/go-resumer/resumer/wasm/protocol"
	"github.com/go-resumer/resumer/wasm/store"
)

// TestCheckHashFieldsInEveryMode: finding 7, "a correct file deleted as
// corrupt". Record.Check must refuse hash fields that contradict each
// other whatever the record's mode and state: hashed bytes past the total,
// hashed bytes without the hash's state or without a digest to check, a
// negative count, and a digest without its source. Today the check stops
// at the case for resumable records (ranged, ranged-plain), so none of the
// later checks runs for them: such a record is trusted, its hash state
// taken up, and the file it holds found "corrupt" and deleted. (The error
// need not be ErrUntrusted: a fix may report hash fields apart, since the
// bytes themselves are not in doubt.)
func TestCheckHashFieldsInEveryMode(t *testing.T) {
	sum := make([]byte, 32)
	for i := range sum {
		sum[i] = byte(i)
	}
	digest := protocol.Digest{Alg: protocol.AlgSHA256, Sum: sum}
	state := []byte("sha\x03 a saved hash state")
	ranged := store.Record{
		URL: "https://x.test/f", Schema: store.SchemaVersion, Gen: 2, Mode: protocol.ModeRanged, Total: 100,
		Validators: protocol.Validators{ETag: `"e"`}, FinalURL: "https://x.test/f", State: protocol.Paused,
		Digest: digest, DigestFrom: "Repr-Digest", Hashed: 50, HashState: state,
	}
	rangedDone := ranged
	rangedDone.State, rangedDone.Hashed = protocol.Done, 100
	plain := ranged
	plain.Mode = protocol.ModeRangedPlain
	single := store.Record{
		URL: "https://x.test/f", Schema: store.SchemaVersion, Gen: 3, Mode: protocol.ModeSingle, Total: 100,
		State: protocol.Paused, Reason: protocol.Reason{Code: protocol.ReasonNoValidators, Text: "no validators"},
		Digest: digest, DigestFrom: store.DigestIntegrity, Hashed: 50, HashState: state,
	}
	singleDone := single
	singleDone.State, singleDone.Hashed = protocol.Done, 100
	// A new generation keeps the app's digest; nothing is hashed yet.
	fresh := store.Record{
		URL: "https://x.test/f", Schema: store.SchemaVersion, Gen: 4, Mode: protocol.ModeNew, Total: protocol.UnknownSize,
		State: protocol.Idle, Digest: digest, DigestFrom: store.DigestIntegrity,
	}
	bases := []struct {
		name string
		rec  store.Record
	}{
		{"ranged", ranged}, {"ranged, done", rangedDone}, {"ranged-plain", plain},
		{"single", single}, {"single, done", singleDone}, {"new", fresh},
	}
	mutations := []struct {
		name string
		// applies reports whether the mutation means anything for rec
		// (a total to hash past needs a known length).
		applies func(store.Record) bool
		mutate  func(*store.Record)
	}{
		{"hashed bytes past the total", func(r store.Record) bool { return r.Total != protocol.UnknownSize },
			func(r *store.Record) { r.Hashed = r.Total + 1 }},
		{"negative hashed bytes", nil, func(r *store.Record) { r.Hashed = -1 }},
		{"hashed bytes without a hash state", nil, func(r *store.Record) {
			r.Hashed = max(r.Hashed, 10)
			r.HashState = nil
		}},
		{"hashed bytes without a digest", nil, func(r *store.Record) {
			r.Hashed = max(r.Hashed, 10)
			r.HashState = state
			r.Digest, r.DigestFrom = protocol.Digest{}, ""
		}},
		{"a digest without its source", nil, func(r *store.Record) { r.DigestFrom = "" }},
	}
	for _, b := range bases {
		t.Run(b.name, func(t *testing.T) {
			if err := b.rec.Check(); err != nil {
				t.Fatalf("the record itself is refused: %v", err)
			}
			for _, m := range mutations {
				if m.applies != nil && !m.applies(b.rec) {
					continue
				}
				t.Run(m.name, func(t *testing.T) {
					r := b.rec
					r.HashState = append([]byte(nil), r.HashState...)
					m.mutate(&r)
					// Refused: with ErrUntrusted, or an error of its own
					// for hash fields (whose bytes are not in doubt).
					if err := r.Check(); err == nil {
						t.Fatalf("%s record (hashed %d of %d, state %d bytes, digest %q from %q): Check() = nil, want it refused",
							r.Mode, r.Hashed, r.Total, len(r.HashState), r.Digest.Alg, r.DigestFrom)
					}
				})
			}
		})
	}
}

// TestCheckOwner: a private download's owner must be a keyed hash of the
// kind this code makes; anything else is distrusted, so that a damaged
// owner can neither read as public nor leave a file nobody matches.
func TestCheckOwner(t *testing.T) {
	rec := store.Record{
		URL: "https://x.test/f", Schema: store.SchemaVersion, Gen: 1, Mode: protocol.ModeNew, Total: protocol.UnknownSize, State: protocol.Idle,
	}
	good := store.OwnerPrefix + "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"
	for _, tt := range []struct {
		owner string
		ok    bool
	}{
		{"", true},
		{good, true},
		{good[:len(good)-1], false}, // 31 bytes and a bit
		{good + "AA", false},        // 33 bytes
		{"hmac-sha1:" + good[len(store.OwnerPrefix):], false}, // another kind
		{store.OwnerPrefix + "Bearer alice", false},           // the credentials themselves
	} {
		rec.Owner = tt.owner
		if err := rec.Check(); (err == nil) != tt.ok {
			t.Errorf("owner %q: Check() = %v, want ok %v", tt.owner, err, tt.ok)
		}
	}
}
