package resumer

import (
	"errors"
	"time"

	"github.com/go-resumer/resumer/wasm/protocol"
)

// Defaults and bounds for Options.
const (
	// DefaultChunkSize is the size of each range request. The requests of
	// a download are the cells of a fixed grid of this size, so that a
	// server sees the same requests in every run.
	DefaultChunkSize int64 = 8 << 20
	// MinChunkSize and MaxChunkSize bound Options.ChunkSize.
	MinChunkSize int64 = 16 << 10
	MaxChunkSize int64 = 1 << 30
	// DefaultFlushInterval bounds how long received bytes wait in memory
	// before they are stored, so that a reload loses at most about this
	// much transfer.
	DefaultFlushInterval = 500 * time.Millisecond
	// DefaultStallTimeout is how long a response may send nothing (no
	// headers, or no byte of its body) before it is given up as stalled.
	DefaultStallTimeout = 30 * time.Second
	// MinStallTimeout is the shortest stall timeout accepted.
	MinStallTimeout = 10 * time.Millisecond
	// DefaultConnections is the number of ranges fetched at once.
	DefaultConnections = 1
	// MaxConnections caps Options.Connections.
	MaxConnections = 16
)

// Options tune one download. The zero value is ready to use.
type Options struct {
	// ChunkSize is the size of each range request (default 8 MiB).
	ChunkSize int64
	// FlushInterval stores a streamed piece after this long even if it is
	// not complete (default 500 ms). It also decides how bodies are read:
	// one that the measured speed says will arrive within FlushInterval is
	// taken whole (the fastest way); a longer one is streamed and stored
	// piece by piece. Either way a reload or a drop loses about
	// FlushInterval of transfer at most.
	FlushInterval time.Duration
	// Connections is how many ranges are fetched at once (default 1).
	Connections int
	// StallTimeout gives up a response that sends nothing for this long
	// (default 30 s): it is aborted, and the download backs off and resumes
	// like after any network error.
	StallTimeout time.Duration
	// MaxBytes, when positive, is the largest file the download accepts:
	// a larger length, or a body of unknown length that runs past it,
	// fails with CodeTooLarge.
	MaxBytes int64
	// Retry is the retry policy (zero: protocol.DefaultRetryPolicy).
	Retry protocol.RetryPolicy
	// OnProgress is called as bytes arrive (at most every ProgressInterval)
	// and at each state change. It may be called from several goroutines,
	// one call at a time.
	OnProgress func(Progress)
}

// ProgressInterval is the shortest time between two progress calls that
// report only more bytes.
const ProgressInterval = 100 * time.Millisecond

func (o Options) withDefaults() (Options, error) {
	switch {
	case o.ChunkSize == 0:
		o.ChunkSize = DefaultChunkSize
	case o.ChunkSize < MinChunkSize || o.ChunkSize > MaxChunkSize:
		return o, errors.New("chunkSize must be between 16 KiB and 1 GiB")
	}
	if o.Connections == 0 {
		o.Connections = DefaultConnections
	}
	if o.Connections < 1 || o.Connections > MaxConnections {
		return o, errors.New("connections must be between 1 and 16")
	}
	switch {
	case o.FlushInterval == 0:
		o.FlushInterval = DefaultFlushInterval
	case o.FlushInterval < 0:
		return o, errors.New("flushInterval must not be negative")
	}
	switch {
	case o.StallTimeout == 0:
		o.StallTimeout = DefaultStallTimeout
	case o.StallTimeout < MinStallTimeout:
		return o, errors.New("stallTimeout must be at least 10 ms")
	}
	if o.MaxBytes < 0 {
		return o, errors.New("maxBytes must not be negative")
	}
	return o, nil
}

// Progress is a snapshot of a download.
type Progress struct {
	State protocol.State
	// Received is the number of bytes received: stored plus in flight.
	Received int64
	// Stored is the number of bytes committed to storage.
	Stored int64
	// Total is the file's length, or protocol.UnknownSize.
	Total int64
	// Speed is the recent transfer rate in bytes per second.
	Speed float64
	// Attempt counts failed attempts in a row (0 when all is well).
	Attempt int
	// RetryAt is when the next attempt starts, while waiting to retry.
	RetryAt time.Time
	// ErrCode and Err describe the error that caused the wait or pause.
	ErrCode string
	Err     error
	// Validators, Resumable and Reason are what the server said of the
	// file, once it said it.
	Validators protocol.Validators
	Resumable  bool
	Reason     protocol.Reason
	// Notice is the last thing the engine did on its own that a person may
	// want to know: stored data it discarded or repaired, a fallback.
	Notice string
}
