package resumer

import (
	"errors"
	"time"

	"github.com/go-resumer/resumer/wasm/protocol"
)

// Defaults for Options.
const (
	// DefaultFlushInterval bounds how long received bytes wait in memory
	// before they are stored, so that a reload on a slow link loses at most
	// about this much transfer time.
	DefaultFlushInterval = 500 * time.Millisecond
	// DefaultConnections is the number of ranges fetched at once.
	DefaultConnections = 1
	// MaxConnections caps Options.Connections.
	MaxConnections = 16
	// MinChunkSize is the smallest chunk size accepted.
	MinChunkSize int64 = 16 << 10
)

// Options tune one download. The zero value is ready to use.
type Options struct {
	// ChunkSize fixes the size of each range request and stored piece.
	// Zero (the default) adapts it to the measured speed: about
	// chunkTime of transfer, between 1 MiB and 64 MiB.
	ChunkSize int64
	// FlushInterval stores a piece after this long even if it is smaller
	// than the chunk (default 500 ms).
	FlushInterval time.Duration
	// Connections is how many ranges are fetched at once (default 1).
	// Each connection's bytes are stored as they arrive; a resume fills
	// the holes.
	Connections int
	// Retry is the retry policy (zero: protocol.DefaultRetryPolicy).
	Retry protocol.RetryPolicy
	// OnProgress is called as bytes arrive (at most every ProgressInterval)
	// and at each state change, from the download's goroutine.
	OnProgress func(Progress)
}

// ProgressInterval is the shortest time between two progress calls that
// report only more bytes.
const ProgressInterval = 100 * time.Millisecond

func (o Options) withDefaults() (Options, error) {
	if o.ChunkSize != 0 && o.ChunkSize < MinChunkSize {
		return o, errors.New("chunkSize must be at least 16 KiB")
	}
	if o.Connections == 0 {
		o.Connections = DefaultConnections
	}
	if o.Connections < 1 || o.Connections > MaxConnections {
		return o, errors.New("connections must be between 1 and 16")
	}
	if o.FlushInterval == 0 {
		o.FlushInterval = DefaultFlushInterval
	}
	if o.FlushInterval < 0 {
		return o, errors.New("flushInterval must not be negative")
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
