// Package platform holds what the resumer engine needs from where it runs:
// a Fetcher that sends requests and hands back bodies that stay in the
// platform (a JS Blob in the browser), and the optional abilities a
// platform may have (cross-origin checks, storage estimates, hashing and
// reading of stored bytes, cross-tab locks). Package browser implements it
// on fetch() and Blobs; tests implement it on net/http. An app that only
// downloads needs none of it: resumer.Manager and browser.Open.
package platform

import (
	"context"
	"errors"
	"fmt"
	"hash"
	"time"

	"github.com/go-resumer/resumer/wasm/protocol"
	"github.com/go-resumer/resumer/wasm/store"
)

// Request is an HTTP GET the engine asks a Fetcher to send.
type Request struct {
	URL string
	// Range and IfRange are the header values to send; "" sends none.
	Range, IfRange string
	// Header holds the app's own headers (resumer.Options.Header), sent as they
	// are; the engine never changes the map.
	Header map[string]string
	// Credentials is the fetch() credentials mode (resumer.Options.Credentials).
	Credentials string
}

// Response is a Fetcher's answer: the status and headers the engine checks
// (with the URL after redirects), and the body, which stays with the
// platform until it is stored.
type Response struct {
	protocol.Response
	Body Body
}

// Body is a response body that is read in pieces. The bytes stay in the
// platform (a JS Blob in the browser), never copied into Go by the engine.
// Its methods are called from one goroutine at a time.
type Body interface {
	// Whole returns the rest of the body as one blob. In the browser this
	// is Response.blob(), whose bytes never enter the JS heap: the fastest
	// way, at the price of losing every byte of it if the connection drops
	// before its end. The engine calls it only for a body whose length the
	// response states (Content-Length), so a body that runs on is cut by
	// the platform's own framing.
	Whole(ctx context.Context) (store.Blob, error)
	// Next returns the next piece of the body: at most max bytes, returned
	// early once flush has passed since the first byte of the piece
	// arrived (flush 0: wait for max bytes). At the end of the body it
	// returns io.EOF, possibly with a last piece. On any other error (the
	// connection dropped, ctx ended) it returns the bytes that arrived
	// before it, so that they can be kept. onData, if not nil, is called
	// with the count of bytes each time some arrive. Bytes past max that
	// arrived together with the piece are kept for the next call.
	Next(ctx context.Context, max int64, flush time.Duration, onData func(n int64)) (store.Blob, error)
	// Close releases the body, aborting the transfer if it is not finished.
	Close()
}

// Releaser is a Body that can be handed to the app unread, as the
// platform's own response (in the browser, the fetch() Response): after
// Release, Close no longer aborts the transfer. The engine calls it only
// before reading anything of the body.
type Releaser interface {
	Release() any
}

// Fetcher sends requests. A network failure is an error; any HTTP status
// is a Response. The context governs the whole exchange: when it ends, the
// platform aborts the request and its body.
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

// BlobReader copies a blob's bytes into Go. The engine reads downloaded
// bytes only where Go must see them: to hash them (resumer.Options.Integrity)
// and for resumer.Manager.Reader.
type BlobReader interface {
	ReadBlob(ctx context.Context, b store.Blob) ([]byte, error)
}

// BlobHasher hashes blobs where their bytes are (in the browser, a Worker
// running resumer-digest.js, on hash-wasm), so that checking a download's
// digest neither copies its bytes into Go nor takes the page's thread.
// state is what the previous call returned (nil: a new hash), in a form
// only the platform reads; b nil asks only for the sum of state. A state
// it cannot read is an error wrapping ErrHashState.
type BlobHasher interface {
	HashBlob(ctx context.Context, alg string, state []byte, b store.Blob) (next, sum []byte, err error)
}

// ErrHashState reports a saved hash state a BlobHasher cannot take up: the
// engine hashes the bytes again from the start.
var ErrHashState = errors.New("unreadable hash state")

// ReadStep caps the bytes copied into Go at once (HashRead, and
// resumer.Manager.Reader).
const ReadStep int64 = 4 << 20

// HashRead is the BlobHasher of a platform that can only read blobs: it
// copies the bytes into Go in steps of a few MiB and hashes them with Go's
// hash, whose state marshals (protocol.MarshalHash).
func HashRead(ctx context.Context, r BlobReader, alg string, state []byte, b store.Blob) (next, sum []byte, err error) {
	var h hash.Hash
	if len(state) > 0 {
		if h, err = protocol.RestoreHash(alg, state); err != nil {
			return nil, nil, fmt.Errorf("%w: %w", ErrHashState, err)
		}
	} else if h, err = protocol.NewHash(alg); err != nil {
		return nil, nil, err
	}
	if b != nil {
		for off := int64(0); off < b.Size(); off += ReadStep {
			buf, err := r.ReadBlob(ctx, b.Slice(off, min(off+ReadStep, b.Size())))
			if err != nil {
				return nil, nil, err
			}
			h.Write(buf)
		}
	}
	if next, err = protocol.MarshalHash(h); err != nil {
		return nil, nil, err
	}
	return next, h.Sum(nil), nil
}

// Locker gives exclusive locks shared by every tab of an origin (the Web
// Locks API), so that only one tab writes a given download.
type Locker interface {
	// Lock acquires the lock called name. With wait false it returns at
	// once, ok false if another holder has the lock; with wait true it
	// waits until the lock is free or ctx ends. release lets go of it.
	Lock(ctx context.Context, name string, wait bool) (release func(), ok bool, err error)
}

// Teller carries news between the tabs of an origin (a BroadcastChannel in
// the browser): the tab that writes a download tells its progress, and a
// tab whose Download of it waits (state locked-elsewhere) shows it.
type Teller interface {
	// Tell sends msg to the listeners of channel name in the other tabs.
	Tell(name string, msg []byte)
	// Listen calls fn with each message told on channel name (the other
	// tabs', and perhaps this one's own), in order, one at a time;
	// messages that arrive faster than fn takes them may be dropped. stop
	// ends it.
	Listen(name string, fn func(msg []byte)) (stop func())
}
