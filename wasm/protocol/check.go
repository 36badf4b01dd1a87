package protocol

import (
	"strings"
	"time"
)

// A check of one URL answers "why won't this download resume?" before a
// download is ever started. NextCheck says which small requests to send,
// one after the other, each chosen from the answers so far; Diagnose turns
// the answers into findings and verdicts. Whoever sends the requests (the
// dev server's "check" command over net/http, resumer.check through the
// page's fetch) calls the same two functions, and Diagnose judges each
// answer with Decide, the rule the engine itself applies: the verdict for
// the same answers cannot differ between a check and a download.

// CheckKind names one request of a check.
type CheckKind string

// The requests of a check, in the order NextCheck asks for them.
const (
	// CheckHead is a HEAD: the headers of the whole file.
	CheckHead CheckKind = "head"
	// CheckFirst asks for the first byte (Range: bytes=0-0), as a
	// download's first request asks for its first bytes.
	CheckFirst CheckKind = "first-byte"
	// CheckMiddle asks for a few bytes in the middle, as a resume does.
	CheckMiddle CheckKind = "middle"
	// CheckIfRange asks for the same bytes with If-Range holding the
	// server's own validator: the request of a resume.
	CheckIfRange CheckKind = "if-range"
	// CheckStale asks for them with If-Range holding a validator of no
	// version: the server must answer 200 (RFC 9110 §13.1.5).
	CheckStale CheckKind = "if-range-stale"
	// CheckIfMatch asks for the first byte with If-Match holding the
	// server's ETag (RFC 9110 §13.1.1), as some clients resume.
	CheckIfMatch CheckKind = "if-match"
	// CheckGzip asks for the first byte accepting gzip, to see whether
	// range answers get compressed. Only a client that may set
	// Accept-Encoding sends it (a page may not: Fetch forbids it).
	CheckGzip CheckKind = "gzip"
	// CheckPreflight is the CORS preflight a page's request with If-Range
	// needs (OPTIONS with Access-Control-Request-Headers: if-range). Only
	// a client that plays a page of another origin sends it: a browser
	// sends its own.
	CheckPreflight CheckKind = "preflight"
)

// CheckRequest is one request of a check.
type CheckRequest struct {
	Kind   CheckKind
	Method string // GET, HEAD or OPTIONS
	// Range, IfRange and IfMatch are the header values to send; "" sends
	// none.
	Range, IfRange, IfMatch string
	// AcceptEncoding is the value to send: "identity" for every request a
	// browser would send with Range (Fetch does so), "gzip" for CheckGzip.
	AcceptEncoding string
}

// CheckAnswer is a request of a check and what came of it.
type CheckAnswer struct {
	Request CheckRequest
	// Response is the answer as the client could read it: cross-origin,
	// only the headers the server exposed (SeenFrom does this for a
	// client that is not a browser).
	Response Response
	// Err says why no answer could be read (the network failed, or CORS
	// refused it); "" when one was.
	Err string
	// Server is the software that answered as its headers name it: the
	// Server header, or X-Powered-By without one ("" where the client could
	// not read either). It orders the fixes (ServerOf, Report.ForServer).
	Server string
	// AllowOrigin, AllowHeaders and ExposeHeaders are the CORS response
	// headers (Access-Control-Allow-Origin, -Allow-Headers,
	// -Expose-Headers), for a client that plays a page of another origin.
	AllowOrigin, AllowHeaders, ExposeHeaders string
}

// CheckOptions say what the client sending the requests can do.
type CheckOptions struct {
	// SetEncoding: the client may set Accept-Encoding (not a page).
	SetEncoding bool
	// Preflight: the client plays a page of another origin and sends the
	// preflight itself (a browser sends its own).
	Preflight bool
}

// checkSpan is how many bytes the middle requests ask for: enough to see a
// real body, little enough that a check never costs a download.
const checkSpan = 16

// StaleETag is the If-Range of CheckStale when the server's validator is an
// entity-tag: a tag no server gives (a stale date is StaleDate).
const (
	StaleETag = `"resumer-check-stale"`
	StaleDate = "Thu, 01 Jan 1970 00:00:01 GMT"
)

// NextCheck returns the next request of a check after the answers done,
// and false when the check is complete. It never asks for more than
// checkSpan bytes with a Range, so a check costs a few small answers;
// a server that ignores Range can still send a whole file to one of them,
// which the client must stop reading after the headers.
func NextCheck(done []CheckAnswer, opts CheckOptions) (CheckRequest, bool) {
	seen := map[CheckKind]bool{}
	for _, a := range done {
		seen[a.Request.Kind] = true
	}
	first, hasFirst := answerOf(done, CheckFirst)
	probe := Request{Start: 0, End: 1}
	var dec Decision
	if hasFirst {
		dec = Decide(probe, unstarted, first.Response, time.Time{})
	}
	ranged := hasFirst && first.Err == "" && dec.Action == Append && dec.Total != UnknownSize
	mid, end := middle(dec.Total)
	ifRange, _ := dec.Validators.IfRange()
	strongETag, hasETag := dec.Validators.strongETag()
	next := []struct {
		kind CheckKind
		want bool
		req  CheckRequest
	}{
		{CheckHead, true, CheckRequest{Method: "HEAD", AcceptEncoding: "identity"}},
		{CheckFirst, true, CheckRequest{Method: "GET", Range: "bytes=0-0", AcceptEncoding: "identity"}},
		{CheckMiddle, ranged && dec.Total > 1, CheckRequest{Method: "GET", Range: rangeOf(mid, end), AcceptEncoding: "identity"}},
		{CheckIfRange, ranged && dec.Total > 1 && ifRange != "", CheckRequest{Method: "GET", Range: rangeOf(mid, end), IfRange: ifRange, AcceptEncoding: "identity"}},
		{CheckStale, ranged && dec.Total > 1 && ifRange != "", CheckRequest{Method: "GET", Range: rangeOf(mid, end), IfRange: staleFor(ifRange), AcceptEncoding: "identity"}},
		{CheckIfMatch, ranged && hasETag, CheckRequest{Method: "GET", Range: "bytes=0-0", IfMatch: strongETag.String(), AcceptEncoding: "identity"}},
		{CheckGzip, ranged && opts.SetEncoding, CheckRequest{Method: "GET", Range: "bytes=0-0", AcceptEncoding: "gzip"}},
		{CheckPreflight, hasFirst && opts.Preflight, CheckRequest{Method: "OPTIONS"}},
	}
	for _, n := range next {
		if n.want && !seen[n.kind] {
			n.req.Kind = n.kind
			return n.req, true
		}
	}
	return CheckRequest{}, false
}

// middle returns the bytes the middle requests ask for.
func middle(total int64) (start, end int64) {
	if total < 2 {
		return 0, 0
	}
	start = total / 2
	return start, min(total, start+checkSpan)
}

func rangeOf(start, end int64) string {
	return Request{Start: start, End: end}.RangeHeader()
}

// staleFor returns a validator of the same kind as v that names no version.
func staleFor(v string) string {
	if strings.HasPrefix(v, `"`) || strings.HasPrefix(v, "W/") {
		return StaleETag
	}
	return StaleDate
}

func answerOf(done []CheckAnswer, k CheckKind) (CheckAnswer, bool) {
	for _, a := range done {
		if a.Request.Kind == k {
			return a, true
		}
	}
	return CheckAnswer{}, false
}

// Verdict is how a finding bears on resuming.
type Verdict string

// The verdicts of a finding.
const (
	VerdictOK      Verdict = "ok"
	VerdictWarning Verdict = "warning"
	VerdictBlocks  Verdict = "blocks"
)

// Finding is one thing a check found.
type Finding struct {
	// ID is stable, for programs: one of the Finding* constants.
	ID      string  `json:"id"`
	Verdict Verdict `json:"verdict"`
	// Text says what was found, in plain words.
	Text string `json:"text"`
	// Proof holds the lines of the requests and answers that show it.
	Proof []string `json:"proof"`
	// Fix says what to change on the server, per server; empty for ok.
	Fix []Fix `json:"fix,omitempty"`
}

// Fix is what to change on one kind of server.
type Fix struct {
	Server string `json:"server"`
	Text   string `json:"text"`
}

// Finding IDs.
const (
	FindingReachable    = "reachable"
	FindingRedirect     = "redirect"
	FindingRanges       = "ranges"
	FindingAcceptRanges = "accept-ranges"
	FindingValidators   = "validators"
	FindingIfRange      = "if-range"
	FindingStale        = "if-range-stale"
	FindingIfMatch      = "if-match"
	FindingCompression  = "compression"
	FindingCORS         = "cors"
)

// BrowserVerdict is whether a browser download of the URL resumes.
type BrowserVerdict string

// The verdicts for browsers.
const (
	Resumable           BrowserVerdict = "resumable"
	ResumableSameOrigin BrowserVerdict = "resumable same-origin only"
	NotResumable        BrowserVerdict = "not resumable"
	NotChecked          BrowserVerdict = "could not check"
)

// Report is what a check concludes.
type Report struct {
	// URL is the URL checked, FinalURL where its answers came from.
	URL      string    `json:"url"`
	FinalURL string    `json:"finalURL"`
	Findings []Finding `json:"findings"`
	// Browser is the verdict for a browser download with resumer, and
	// BrowserText why, in a sentence.
	Browser     BrowserVerdict `json:"browser"`
	BrowserText string         `json:"browserText"`
	// IOS is whether iOS URLSession would produce resume data for the URL
	// (cancel(byProducingResumeData:) returns non-nil), and IOSText why.
	IOS     bool   `json:"ios"`
	IOSText string `json:"iosText"`
	// Server is the server whose fixes each finding lists first (one of
	// the Server constants): the one the app named (ForServer), else the
	// one that answered the first request (ServerOf); "" when unknown.
	Server string `json:"server"`
}

// unstarted is what a download knows before its first answer.
var unstarted = Stored{Total: UnknownSize}
