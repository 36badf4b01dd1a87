package resumer

import (
	"context"
	"errors"
	"fmt"
	"strings"
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
	// Key is the download's identity in the store, for a file whose URL
	// changes from one session to the next (a signed or expiring CDN
	// link): the stored bytes of Key are resumed from whatever URL is
	// given, and the validators decide whether they continue (default:
	// the URL).
	Key string
	// Header holds headers sent with every request (Authorization, …).
	// They are never written to the store. Range and the conditional
	// headers are resumer's own and refused here.
	Header map[string]string
	// Credentials is the fetch() credentials mode: "omit", "same-origin"
	// (the default) or "include". Platforms without the notion ignore it.
	Credentials string
	// Integrity is the Subresource Integrity metadata the file must match
	// ("sha256-…", "sha384-…" or "sha512-…"). The bytes are hashed as
	// they are stored, and the hash's state is saved with them, so a
	// resume does not read stored bytes again; a file that does not match
	// fails with CodeIntegrity and its bytes are discarded. Without it, a
	// Repr-Digest the server sends (RFC 9530) is checked the same way.
	Integrity string
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
	// AcceptHTML accepts an HTML page as the file even where a redirect led
	// to it from a URL that does not name a page (see CodeUnexpectedContent):
	// for an app that downloads pages.
	AcceptHTML bool
	// FirstAnswer makes the download answer as fetch() would until it is
	// under way: while nothing of the file is stored, a server's answer
	// that is not a success (a 404, a 500) ends it at once with that
	// answer, unread, in Error.Answer, and a request that fails before any
	// answer ends it with CodeNetwork, untried again. Once a first answer
	// was accepted, failures are retried as Retry says. (resumer.fetch
	// sets it: code written for fetch() reads a 404 as "absent".)
	FirstAnswer bool
	// Waiting marks a caller that only waits for the file, as
	// resumer.fetch does, rather than one that runs the download: the
	// Download counts such callers, each of which says with
	// Download.Leave when it stops waiting. Once the last one has left
	// because it gave up (its AbortSignal), the Download pauses, its bytes
	// kept for the next caller, unless a caller without Waiting started
	// or joined it: that one's download is its own to pause.
	Waiting bool
	// Refresh, when set, gives a fresh link to the file when the server
	// answers 401, 403 or 410: a signed URL (S3, CloudFront, a model hub's
	// CDN) or a token that expired mid-download; and ahead of the expiry
	// a signed link's query states (Expired.Status 0). The download goes on from
	// its stored bytes, which the validators of the fresh link's answers
	// still decide. It runs on a goroutine of its own, and may take its
	// time, up to two minutes; it should return when ctx ends (a pause).
	// An error from it, or no answer in time, ends the download with the
	// status that asked (CodeHTTPStatus), as does a link answered so
	// protocol.MaxRefreshes times in a row; asked ahead of an expiry
	// (Expired.Status 0), it is no failure: the download goes on with the
	// link it has.
	Refresh func(ctx context.Context, e Expired) (Link, error)
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
	for name, v := range o.Header {
		if err := checkHeader(name, v); err != nil {
			return o, err
		}
	}
	switch o.Credentials {
	case "":
		o.Credentials = "same-origin"
	case "omit", "same-origin", "include":
	default:
		return o, fmt.Errorf("credentials must be \"omit\", \"same-origin\" or \"include\", not %q", o.Credentials)
	}
	if _, err := protocol.ParseIntegrity(o.Integrity); err != nil {
		return o, fmt.Errorf("integrity: %w", err)
	}
	if len(o.Key) > protocol.MaxHeaderLen {
		return o, fmt.Errorf("key is %d bytes long, at most %d", len(o.Key), protocol.MaxHeaderLen)
	}
	return o, nil
}

// Expired is what Options.Refresh is told: the status with which url
// refused the download, or 0 when no request was refused but url's query
// says it expires within protocol.ExpiryMargin (protocol.LinkExpiry: S3,
// CloudFront, Google Cloud and Azure signed links).
type Expired struct {
	Status int
	URL    string
}

// Link is a fresh way to a download's file, from Options.Refresh: URL (""
// keeps the current one) and Header (nil keeps the current headers; the
// same rules as Options.Header).
type Link struct {
	URL    string
	Header map[string]string
}

// check refuses a link whose URL or headers the download could not use.
func (l Link) check() error {
	if l.URL != "" {
		if err := checkURL(l.URL); err != nil {
			return fmt.Errorf("the fresh link: %w", err)
		}
	}
	for name, v := range l.Header {
		if err := checkHeader(name, v); err != nil {
			return err
		}
	}
	return nil
}

// ownHeaders are the request headers the engine sets itself: the range it
// asks for and the conditions that prove a version (RFC 9110 §13.1). An
// app's value for any of them would change what an answer means.
var ownHeaders = map[string]bool{
	"range": true, "if-range": true, "if-match": true, "if-none-match": true,
	"if-modified-since": true, "if-unmodified-since": true,
}

// checkHeader refuses a header an app may not set on resumer's requests,
// and a name or value that is not a valid field (RFC 9110 §5.1, §5.5).
func checkHeader(name, value string) error {
	if name == "" {
		return errors.New("a header with an empty name")
	}
	for i := 0; i < len(name); i++ {
		if !protocol.IsTokenChar(name[i]) {
			return fmt.Errorf("header name %q is not a token", name)
		}
	}
	if ownHeaders[strings.ToLower(name)] {
		return fmt.Errorf("header %s is set by resumer itself", name)
	}
	for i := 0; i < len(value); i++ {
		if c := value[i]; c == '\r' || c == '\n' || c == 0 {
			return fmt.Errorf("header %s: control character in its value", name)
		}
	}
	return nil
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
	// Decided is the request and answer that decided Resumable: the
	// header lines to show as proof.
	Decided protocol.Exchange
	// Notice is the last thing the engine did on its own that a person may
	// want to know: stored data it discarded or repaired, a fallback.
	// NoticeCode names the kind for programs: NoticeEvicted, or "".
	Notice     string
	NoticeCode string
	// Private is true for a download made with credentials
	// (protocol.Credentials): its file is answered only to a Caller with
	// the same ones (Manager.Serve), never to one without.
	Private bool
	// Elsewhere is, while State is locked-elsewhere, the state of the
	// download in the tab that writes it, whose progress (Received,
	// Stored, Total, Speed, the validators) this one then shows, as that
	// tab tells it (platform.Teller); "" until it tells.
	Elsewhere protocol.State
}

// NoticeEvicted is Progress.NoticeCode when stored bytes vanished (the
// browser evicted them) and are fetched again.
const NoticeEvicted = "evicted"

// NoticeOtherCredentials is Progress.NoticeCode when the stored download
// was made with other credentials (another user's private file, or a
// public file now asked for with credentials): its bytes are discarded,
// never joined to this caller's, and the file is fetched again.
const NoticeOtherCredentials = "other-credentials"
