package resumer

import (
	"context"
	"time"

	"github.com/go-resumer/resumer/wasm/protocol"
	"github.com/go-resumer/resumer/wasm/store"
)

// Request is an HTTP GET the engine asks a Fetcher to send.
type Request struct {
	URL string
	// Range and IfRange are the header values to send; "" sends none.
	Range, IfRange string
}

// Response is a Fetcher's answer: the status and headers the engine checks,
// and the body, which stays with the platform until it is stored.
type Response struct {
	protocol.Response
	// URL is the URL after redirects.
	URL  string
	Body Body
}

// Body is a response body that is read in pieces. The bytes stay in the
// platform (a JS Blob in the browser), never copied into Go by the engine.
type Body interface {
	// Read returns the next piece of the body: at most max bytes, returned
	// early once flushAfter has passed since the first byte of the piece
	// arrived. At the end of the body it returns io.EOF, possibly with a
	// last piece. On any other error (the connection dropped, ctx ended) it
	// returns the bytes that arrived before it, so that they can be kept.
	// onData, if not nil, is called as bytes arrive.
	//
	// flushAfter 0 says the engine expects the piece to arrive quickly: the
	// platform may then take a body that fits in max in one go (in the
	// browser, Response.blob(), which keeps the bytes out of the JS heap),
	// at the price of losing it whole if the connection drops.
	Read(ctx context.Context, max int64, flushAfter time.Duration, onData func(n int64)) (store.Blob, error)
	// Close releases the body, aborting the transfer if it is not finished.
	Close()
}

// Fetcher sends requests. A network failure is an error; any HTTP status
// is a Response.
type Fetcher interface {
	Fetch(ctx context.Context, req Request) (*Response, error)
}

// Platform is what the engine needs from where it runs.
type Platform interface {
	Fetcher
	// Join makes one blob of parts, in order, with the given media type.
	Join(parts []store.Blob, contentType string) (store.Blob, error)
}

// The optional abilities of a platform. The engine uses each one only when
// the platform has it, so that a browser lacking an API still downloads.

// CrossOriginer reports whether a URL is on another origin than the page:
// requests carrying If-Range then need a CORS preflight the server may
// refuse.
type CrossOriginer interface {
	CrossOrigin(url string) bool
}

// Estimator tells how many more bytes the store can take
// (navigator.storage.estimate in the browser).
type Estimator interface {
	// Free returns the bytes left; ok is false when the platform cannot tell.
	Free(ctx context.Context) (free int64, ok bool, err error)
}

// Locker gives exclusive locks shared by every tab of an origin (the Web
// Locks API), so that only one tab writes a given download.
type Locker interface {
	// Lock acquires the lock called name. With wait false it returns at
	// once, ok false if another holder has the lock; with wait true it
	// waits until the lock is free or ctx ends. release lets go of it.
	Lock(ctx context.Context, name string, wait bool) (release func(), ok bool, err error)
}
