// Package store defines where resumer keeps downloads: a small interface with
// an in-memory implementation (memstore) for native tests and an IndexedDB
// implementation (idbstore) in the browser, both held to one conformance
// suite (storetest).
//
// A download is a Record (its metadata) and Chunks (its bytes). A chunk's
// key says which bytes it holds, so a chunk and the progress that counts it
// are committed together: the progress of a download is exactly the set of
// its committed chunks, whatever instant a tab is closed at.
package store

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/go-resumer/resumer/wasm/protocol"
)

// SchemaVersion is the version of the Record layout this code writes. A
// record of another version is not trusted, except one of schema 1, which
// FromV1 reads.
//
// Schema 2 replaced the four flags Established, Resumable, NoRanges and
// NoIfRange with one Mode, and added FinalURL.
const SchemaVersion = 2

// Errors every Store returns, wrapped, so callers can test them with
// errors.Is.
var (
	// ErrNotFound: no record for that URL.
	ErrNotFound = errors.New("download not found")
	// ErrQuota: the browser refused to store more (QuotaExceededError).
	ErrQuota = errors.New("storage quota exceeded")
	// ErrBlobLost: the bytes of a Blob could not be read (a fetch()
	// body's Blob whose page is unloading: WebKit's NotReadableError).
	// Storing a chunk: nothing was stored, and the bytes are to be
	// fetched again, as after a cut connection. Hashing one: the stored
	// chunks are read again.
	ErrBlobLost = errors.New("the bytes of a Blob could not be read")
)

// Blob is a run of bytes the store keeps without the caller holding them:
// a JS Blob in the browser, a byte slice natively.
type Blob interface {
	// Size returns the length in bytes.
	Size() int64
	// Slice returns bytes [start, end) of the blob without copying them.
	Slice(start, end int64) Blob
}

// Record is everything known about one download except its bytes.
type Record struct {
	// URL is the absolute URL, the key of the download.
	URL string
	// Schema is the SchemaVersion the record was written with.
	Schema int
	// Gen is the generation of the stored bytes. It grows each time stored
	// bytes are discarded, so chunks of an older generation are never mixed
	// with newer ones even if a write lands late.
	Gen int64
	// Mode is how the download is fetched: protocol.ModeNew until a
	// response is accepted for the current generation; then Total,
	// Validators, FinalURL and ContentType hold what it said, and every
	// later response is checked against them.
	Mode protocol.Mode
	// Total is the file's length, or protocol.UnknownSize.
	Total int64
	// Validators are the ETag, Last-Modified and Date of the response that
	// established the current generation.
	Validators protocol.Validators
	// FinalURL is the URL that response came from, after redirects.
	FinalURL string
	// ContentType is the media type the server gave, used for the result.
	ContentType string
	// ChunkSize is the size of the chunks the download was started with.
	ChunkSize int64
	// State is the last state written (a download running in a tab that was
	// closed stays "running" until it is resumed).
	State protocol.State
	// Reason says why the download is not resumable, in ModeSingle.
	Reason protocol.Reason
	// Restarts counts how often stored bytes were discarded because the file
	// changed on the server.
	Restarts int
	// Received is the number of bytes stored when the record was written: a
	// hint for listings; the chunks are the truth.
	Received int64
	// ErrCode and ErrMessage describe the last failure, if State is failed
	// or paused by an error (quota).
	ErrCode, ErrMessage string
	// Created and Updated are Unix milliseconds.
	Created, Updated int64

	// Source is the URL the download was last requested from ("" in
	// records written before it was kept). URL is the download's key,
	// which an app may choose (the Key option) for a file whose links
	// change: Source is then the latest link.
	Source string
	// Digest is what the whole file must hash to, and DigestFrom who said
	// so: DigestIntegrity (the app) or the server's header
	// ("Repr-Digest", "Content-Digest"). A zero Digest is not checked.
	Digest     protocol.Digest
	DigestFrom string
	// Hashed is how many bytes from the start of the current generation
	// have been hashed, and HashState the state of the hash after them
	// (protocol.MarshalHash), so that a resume hashes only what is new.
	Hashed    int64
	HashState []byte

	// Decided is the request and answer that decided Mode: the first
	// answer of the generation, or the one that showed ranges do not
	// work. It is kept to be shown as proof, never to decide anything.
	// Zero in records written before it was kept.
	Decided protocol.Exchange

	// Owner is set for a private download (protocol.Credentials): a keyed
	// hash of the credentials it was made with (OwnerPrefix, then the
	// unpadded base64url of an HMAC-SHA-256 under the store's Secret), so
	// that its bytes are answered only to a caller with the same ones,
	// and the credentials are never stored in clear. "" for a file anyone
	// on the origin may be given.
	Owner string
}

// OwnerPrefix begins every Record.Owner: the kind of keyed hash it is.
const OwnerPrefix = "hmac-sha256:"

// SecretSize is the length of a store's Secret.
const SecretSize = 32

// DigestIntegrity is Record.DigestFrom for a digest the app gave.
const DigestIntegrity = "integrity"

// Established reports whether a response was accepted for the current
// generation.
func (rec Record) Established() bool { return rec.Mode != protocol.ModeNew }

// Resumable reports whether the stored bytes can be resumed.
func (rec Record) Resumable() bool { return rec.Mode.Ranged() }

// V1Flags are the fields of a schema 1 record that Mode replaced.
type V1Flags struct {
	Established, Resumable, NoRanges, NoIfRange bool
}

// FromV1 upgrades a record read in schema 1 (its Mode unset) with the flags
// it was stored with, so that downloads stored by the previous version of
// resumer resume instead of being discarded. The result still goes through
// Check.
func FromV1(rec Record, f V1Flags) Record {
	rec.Schema = SchemaVersion
	switch {
	case !f.Established:
		rec.Mode = protocol.ModeNew
	case f.Resumable && !f.NoRanges && f.NoIfRange:
		rec.Mode = protocol.ModeRangedPlain
	case f.Resumable && !f.NoRanges:
		rec.Mode = protocol.ModeRanged
	default:
		rec.Mode = protocol.ModeSingle
		if rec.Reason.None() {
			rec.Reason = protocol.Reason{Code: protocol.ReasonNoRanges, Text: "the server does not support byte ranges"}
		}
	}
	return rec
}

// Chunk is a run of bytes of one generation of a download.
type Chunk struct {
	URL   string
	Gen   int64
	Start int64
	Data  Blob
}

// End returns one past the last byte of the chunk.
func (c Chunk) End() int64 { return c.Start + c.Data.Size() }

// Store keeps records and chunks. Every method is safe for concurrent use,
// and every write is atomic: after a crash it happened entirely or not at all.
type Store interface {
	// Get returns the record for url, or an error wrapping ErrNotFound.
	Get(ctx context.Context, url string) (Record, error)
	// Put writes rec, replacing any record for rec.URL. Chunks are untouched.
	Put(ctx context.Context, rec Record) error
	// List returns every record, in no particular order.
	List(ctx context.Context) ([]Record, error)
	// Delete removes the record for url and all its chunks. Deleting a
	// download that does not exist is not an error.
	Delete(ctx context.Context, url string) error
	// Reset removes every chunk of rec.URL and writes rec, in one step.
	Reset(ctx context.Context, rec Record) error
	// PutChunk stores c. A chunk with the same URL, Gen and Start is
	// replaced. It returns an error wrapping ErrQuota when storage is full.
	PutChunk(ctx context.Context, c Chunk) error
	// PutLast stores c and writes rec, whose URL is c's, in one step: the
	// last piece of a body of unknown length and the record that states
	// the file's length, so that a complete file is never left without the
	// record that says it is complete (nor a record with a byte missing).
	PutLast(ctx context.Context, c Chunk, rec Record) error
	// Chunks returns every chunk of url, of every generation, ordered by
	// generation and then by Start.
	Chunks(ctx context.Context, url string) ([]Chunk, error)
	// DeleteChunk removes one chunk; a missing chunk is not an error.
	DeleteChunk(ctx context.Context, url string, gen, start int64) error
	// Secret returns SecretSize random bytes kept with the store, the
	// same for as long as the store's data lives (every tab that opens it
	// gets the same): the key of the keyed hashes in Record.Owner. The
	// first call creates it; when two race, one secret wins for both.
	Secret(ctx context.Context) ([]byte, error)
}

// ErrUntrusted reports a stored record that does not add up.
var ErrUntrusted = errors.New("stored record cannot be trusted")

// ErrHashState reports a record whose hash fields do not add up (hashed
// bytes past the length or without the hash's state, a digest without its
// source). The bytes are not in doubt, only the check of them: it starts
// again from byte 0 (Record.WithoutHash).
var ErrHashState = errors.New("stored hash state cannot be taken up")

// Check reports why rec cannot be trusted, if it cannot: it was written by
// another schema version, or its fields contradict each other (an error
// wrapping ErrUntrusted), or only its hash fields do (an error wrapping
// ErrHashState, reported only when nothing else is wrong). Records come
// back from storage that other code, other versions or a crash may have
// left behind; none of them may crash a download or pass as finished.
// Every field is checked, whatever the mode.
func (rec Record) Check() error {
	bad := func(why string) error { return fmt.Errorf("%w: %s", ErrUntrusted, why) }
	checks := []struct {
		wrong bool
		why   func() string
	}{
		{rec.Schema != SchemaVersion, func() string {
			return fmt.Sprintf("schema version %d, this code reads %d", rec.Schema, SchemaVersion)
		}},
		{rec.URL == "", func() string { return "no URL" }},
		{!rec.Mode.Valid(), func() string { return fmt.Sprintf("unknown mode %q", rec.Mode) }},
		{!rec.State.Valid() || rec.State == protocol.Canceled, func() string { return fmt.Sprintf("unknown state %q", rec.State) }},
		{rec.Gen < 0 || rec.Restarts < 0 || rec.Received < 0, func() string { return "negative counter" }},
		{rec.Total < protocol.UnknownSize, func() string { return fmt.Sprintf("total length %d", rec.Total) }},
		{!rec.Established() && (rec.Total != protocol.UnknownSize || !rec.Validators.Empty() || rec.FinalURL != ""),
			func() string { return "a length or validators without a response that gave them" }},
		{rec.Resumable() && rec.Total == protocol.UnknownSize, func() string { return "resumable without a known length" }},
		{rec.Resumable() && !strongValidators(rec.Validators), func() string { return "resumable without a strong validator" }},
		{rec.Mode == protocol.ModeSingle && rec.Reason.None(), func() string { return "not resumable without a reason" }},
		{rec.State == protocol.Done && rec.Total == protocol.UnknownSize, func() string { return "done without a length" }},
		// A damaged owner must not read as "anyone's" (""), nor stay
		// owned by nobody who could match it: discarded, fetched again.
		{rec.Owner != "" && !validOwner(rec.Owner), func() string { return "an owner that is not a keyed hash" }},
	}
	for _, c := range checks {
		if c.wrong {
			return bad(c.why())
		}
	}
	hashBad := func(why string) error { return fmt.Errorf("%w: %s", ErrHashState, why) }
	switch {
	case rec.Hashed < 0 || (rec.Total != protocol.UnknownSize && rec.Hashed > rec.Total):
		return hashBad(fmt.Sprintf("%d bytes hashed of %d", rec.Hashed, rec.Total))
	case rec.Hashed > 0 && (rec.Digest.Empty() || len(rec.HashState) == 0):
		return hashBad("bytes hashed without a digest to check or the hash's state")
	case !rec.Digest.Empty() && rec.DigestFrom == "":
		return hashBad("a digest without its source")
	}
	return nil
}

// WithoutHash returns rec with its check started over: no byte hashed, no
// saved state, and no digest whose source is not known.
func (rec Record) WithoutHash() Record {
	rec.Hashed, rec.HashState = 0, nil
	if rec.DigestFrom == "" {
		rec.Digest = protocol.Digest{}
	}
	return rec
}

// validOwner reports whether o has the shape of a Record.Owner.
func validOwner(o string) bool {
	h, ok := strings.CutPrefix(o, OwnerPrefix)
	if !ok {
		return false
	}
	b, err := base64.RawURLEncoding.DecodeString(h)
	return err == nil && len(b) == sha256.Size
}

func strongValidators(v protocol.Validators) bool {
	ok, _ := v.Resumable()
	return ok
}
