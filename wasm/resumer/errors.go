package resumer

import (
	"errors"
	"strconv"

	"github.com/go-resumer/resumer/wasm/protocol"
)

// Error codes. They are stable and reach JavaScript as Error.code.
const (
	// CodeNetwork: the connection failed and retrying did not help.
	CodeNetwork = "network"
	// CodeHTTPStatus: the server answered with a status that ends the
	// download (404, 403, …), or kept answering 5xx/429 past the retries.
	CodeHTTPStatus = "http-status"
	// CodeBadResponse: the server's answers contradict the requests (wrong
	// Content-Range, a file that keeps changing, …); nothing was appended.
	CodeBadResponse = "bad-response"
	// CodeQuota: the browser's storage is full.
	CodeQuota = "quota-exceeded"
	// CodeAborted: the download was canceled; its bytes are deleted.
	CodeAborted = "aborted"
	// CodePaused: the download paused (Download.Pause, or a full storage)
	// while a call waited for it to end, or was stopped (Download.Stop:
	// Wait returns it); its bytes are kept. (The JS resumer.fetch()
	// rejects so on a pause; Download.Wait waits on through one.)
	CodePaused = "paused"
	// CodeStorage: the store failed for another reason than quota.
	CodeStorage = "storage"
	// CodeInvalid: a bad argument (URL, options).
	CodeInvalid = "invalid-argument"
	// CodeLocked: another tab is writing this download (remove refused).
	CodeLocked = "locked-elsewhere"
	// CodeUnexpectedContent: the server answered a resume with content of
	// another type than the stored bytes, most often an HTML page (a login,
	// an error, a captive portal) a redirect led to. The stored bytes are
	// kept: once the page is out of the way, the download resumes.
	CodeUnexpectedContent = "unexpected-content"
	// CodeTooLarge: the file is larger than Options.MaxBytes.
	CodeTooLarge = "too-large"
	// CodeIntegrity: the file's bytes do not hash to the digest the app
	// gave (Options.Integrity) or the server stated (Repr-Digest); they
	// are discarded.
	CodeIntegrity = "integrity"
	// CodeNotFound: no finished download is stored under that key.
	CodeNotFound = "not-found"
	// CodeInternal: resumer broke one of its own rules (a state transition
	// its state machine refuses). It is a bug: please report it.
	CodeInternal = "internal"
)

// ErrCanceled is wrapped by the error of a canceled download.
var ErrCanceled = errors.New("download canceled")

// ErrStalled reports a response that sent nothing for Options.StallTimeout.
var ErrStalled = errors.New("the server sent nothing for too long (stalled)")

// errShortBody reports a body that ended before the bytes its response
// announced; errLongBody one that ran on past them.
var (
	errShortBody = errors.New("response body ended early")
	errLongBody  = errors.New("response body longer than its response announced")
)

// QuotaError reports a download that cannot fit in the storage left.
type QuotaError struct {
	// Need is the number of bytes still to store, Free what storage has.
	Need, Free int64
}

func (e *QuotaError) Error() string {
	return "needs " + strconv.FormatInt(e.Need, 10) + " more bytes of storage, " +
		strconv.FormatInt(e.Free, 10) + " are available"
}

// Error is the error of a download that did not finish. Code is one of the
// Code* constants; Status is the HTTP status for CodeHTTPStatus.
type Error struct {
	Code   string
	Status int
	Err    error
	// Answer is the server's own response, unread, when the download
	// ended on it before storing anything (Options.FirstAnswer): in the
	// browser, the fetch() Response. Nil otherwise.
	Answer any
	// Decided is the request and the answer that decided the failure
	// (a status, a contradiction), empty when no answer did.
	Decided protocol.Exchange
}

func (e *Error) Error() string {
	msg := e.Code
	if e.Status != 0 {
		msg += " " + strconv.Itoa(e.Status)
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// CodeOf returns the code of err if it is or wraps an *Error, else "".
func CodeOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

func newError(code string, err error) *Error { return &Error{Code: code, Err: err} }
