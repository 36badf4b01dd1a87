package protocol

import (
	"errors"
	"strconv"
	"strings"
	"time"
)

// Request describes a range request as it was sent. resumer always sends a
// single range (RFC 9110 §14.2), never multiple ranges.
type Request struct {
	// Start is the first byte asked for.
	Start int64
	// End is one past the last byte asked for, or UnknownSize for an
	// open-ended "bytes=Start-".
	End int64
	// IfRange is the If-Range value sent with the request, "" for none.
	IfRange string
	// Whole is true for a request sent without Range, after ranges proved
	// unusable (Action Whole).
	Whole bool
}

// RangeHeader returns the Range header value for r, "" for a Whole request.
func (r Request) RangeHeader() string {
	if r.Whole {
		return ""
	}
	s := "bytes=" + strconv.FormatInt(r.Start, 10) + "-"
	if r.End != UnknownSize {
		s += strconv.FormatInt(r.End-1, 10)
	}
	return s
}

// Stored is what the download knew before the response arrived.
type Stored struct {
	// Established is true once a first response was accepted: its validators
	// and total length are then the reference every later response is
	// checked against.
	Established bool
	Validators  Validators
	// Total is the complete length, or UnknownSize.
	Total int64
	// Bytes is how many bytes are stored.
	Bytes int64
	// URL and ContentType are the final URL (after redirects) and the
	// Content-Type of the response that established the download.
	URL, ContentType string
}

// Response is what the adapter could read of a response.
type Response struct {
	Status          int
	ContentRange    string
	ContentLength   string
	ContentEncoding string
	ContentType     string
	RetryAfter      string
	// AcceptRanges is shown as proof (Exchange); Decide does not read it:
	// only a 206 proves that ranges work (RFC 9110 §14.3).
	AcceptRanges string
	Validators   Validators
	// URL is the URL the response came from, after redirects ("" if the
	// platform cannot tell).
	URL string
	// CrossOrigin is true for a CORS response, whose headers outside the
	// CORS-safelist are hidden unless the server exposes them
	// (Access-Control-Expose-Headers). An absent header may then be hidden.
	CrossOrigin bool
	// ReprDigest and ContentDigest are the digest fields of RFC 9530: of
	// the whole file (on any status), and of this response's content.
	ReprDigest, ContentDigest string
}

// FileDigest returns the digest of the whole file a response states, and
// the field that stated it: Repr-Digest (RFC 9530 §3), or Content-Digest
// on a 200 without content coding, whose content is the file (§2). ok is
// false when it states none this package can check.
//
// A digest is only taken where the bytes fetch hands over are the ones it
// covers: never with a Content-Encoding (fetch decodes the body, and the
// digest covers the encoded bytes, RFC 9530 §3), nor on a cross-origin
// answer other than a 206, whose Content-Encoding the page may not be
// allowed to see (a 206 is never encoded: Fetch asks for identity with
// Range, and Decide refuses an encoded one).
func (resp Response) FileDigest() (d Digest, field string, ok bool) {
	if encoded(resp) || (resp.CrossOrigin && resp.Status != 206) {
		return Digest{}, "", false
	}
	if d, ok := ParseDigestField(resp.ReprDigest); ok {
		return d, "Repr-Digest", true
	}
	if resp.Status == 200 && resp.ContentEncoding == "" {
		if d, ok := ParseDigestField(resp.ContentDigest); ok {
			return d, "Content-Digest", true
		}
	}
	return Digest{}, "", false
}

// Action is what to do with a response.
type Action int

// The actions Decide can return.
const (
	// Append: the body holds bytes [Start, Start+Length) of the stored version.
	Append Action = iota
	// Adopt: the body is the download's content from byte 0, possibly of a
	// new version; discard stored bytes first (unless it is the first
	// response) and take Validators and Total from the decision.
	Adopt
	// Finish: nothing is missing.
	Finish
	// Restart: the file changed and the body is of no use; discard stored
	// bytes and ask again from byte 0.
	Restart
	// Whole: ranges cannot be used; ask again without Range and take the
	// whole body in one stream. The download is not resumable.
	Whole
	// Retry: a transient failure; ask again after RetryAfter (0: back off).
	Retry
	// Reject: the response contradicts the request; do not append, and give
	// up after a few in a row.
	Reject
	// Fail: a permanent failure.
	Fail
)

var actionNames = [...]string{"append", "adopt", "finish", "restart", "whole", "retry", "reject", "fail"}

func (a Action) String() string {
	if int(a) < len(actionNames) {
		return actionNames[a]
	}
	return "action(" + strconv.Itoa(int(a)) + ")"
}

// Decision is the result of Decide.
type Decision struct {
	Action Action
	// Start is where the body goes (Append); 0 for Adopt.
	Start int64
	// Length is the expected body length, or UnknownSize.
	Length int64
	// Total is the complete length as the response states it, or UnknownSize.
	Total int64
	// Validators are the response's own (Append of a first response, Adopt).
	Validators Validators
	// Changed reports evidence that the stored bytes belong to another
	// version of the file (different validators or length).
	Changed bool
	// Resumable and Reason say, for a response that establishes a download
	// (first Append, Adopt, Whole), whether later requests may resume it.
	Resumable bool
	Reason    Reason
	// RetryAfter is the delay the server asked for (Retry), 0 if none.
	RetryAfter time.Duration
	// Err says what went wrong (Retry, Reject, Fail).
	Err error
}

// Decide applies the rules of RFC 9110 to one response to a range request.
// It never returns Append or Finish for a response that contradicts the
// request or the stored version: bytes of two versions are never joined.
// An Append is never empty, starts at req.Start and never ends past
// req.End.
func Decide(req Request, st Stored, resp Response, now time.Time) Decision {
	d := decide(req, st, resp, now)
	d.Validators = d.Validators.Bounded()
	return d
}

func decide(req Request, st Stored, resp Response, now time.Time) Decision {
	if s := resp.Status; (s == 200 || s == 206) && htmlInstead(st, resp.ContentType) {
		// A login, error or captive-portal page (often a redirect's end)
		// in answer to a download that is not HTML is not a version of
		// it, even when nothing is stored yet: keep what is stored and say
		// what came instead.
		return Decision{Action: Fail, Err: &ContentTypeError{Stored: st.ContentType, Got: resp.ContentType, URL: resp.URL}}
	}
	switch s := resp.Status; {
	case s == 206 && req.Whole:
		return Decision{Action: Reject, Err: badResponse("206 to a request without Range")}
	case s == 206:
		return decidePartial(req, st, resp)
	case s == 200:
		return decideFull(req, st, resp)
	case s == 416 && req.Whole:
		return Decision{Action: Reject, Err: badResponse("416 to a request without Range")}
	case s == 416:
		return decideUnsatisfiable(req, st, resp)
	case s == 412:
		// Only If-Match or If-Unmodified-Since can fail: the version the
		// preconditions named is gone (RFC 9110 §15.5.13).
		if st.Established {
			return Decision{Action: Restart, Changed: true, Err: &StatusError{Status: s}}
		}
		return Decision{Action: Reject, Err: badResponse("412 to a request without preconditions")}
	case retryableStatus(s):
		return Decision{Action: Retry, Err: &StatusError{Status: s},
			RetryAfter: ParseRetryAfter(resp.RetryAfter, resp.Validators.Date, now)}
	case s >= 200 && s < 300:
		return Decision{Action: Reject, Err: badResponse("unexpected status " + strconv.Itoa(s) + " to a GET with Range")}
	default:
		return Decision{Action: Fail, Err: &StatusError{Status: s}}
	}
}

// retryableStatus reports statuses that say "try again later": 408 Request
// Timeout, 425 Too Early, 429 Too Many Requests and server errors, except
// 501 Not Implemented and 505 HTTP Version Not Supported, which will not
// change by waiting.
func retryableStatus(s int) bool {
	switch s {
	case 408, 425, 429:
		return true
	case 501, 505:
		return false
	}
	return s >= 500 && s < 600
}

func encoded(resp Response) bool {
	ce := strings.Trim(resp.ContentEncoding, " \t")
	return ce != "" && !strings.EqualFold(ce, "identity")
}

// hiddenReason explains which headers a cross-origin server must expose.
func hiddenReason() Reason {
	return Reason{ReasonHiddenHeaders,
		"the server is on another origin and does not expose the headers a resumer must check; it must send Access-Control-Expose-Headers: ETag, Last-Modified, Content-Range, Date"}
}

func decidePartial(req Request, st Stored, resp Response) Decision {
	// Content-Encoding other than identity makes byte offsets meaningless
	// for the decoded body Fetch hands over (ranges count encoded bytes).
	if encoded(resp) {
		return unusablePartial(st, "206 with Content-Encoding "+resp.ContentEncoding)
	}
	if strings.HasPrefix(strings.ToLower(strings.Trim(resp.ContentType, " \t")), "multipart/byteranges") {
		return unusablePartial(st, "multipart/byteranges answer to a single-range request")
	}
	if resp.ContentRange == "" {
		if resp.CrossOrigin {
			// The 206 cannot be checked: fall back to one whole stream.
			return Decision{Action: Whole, Reason: hiddenReason(), Err: badResponse("Content-Range is not exposed to this origin")}
		}
		return Decision{Action: Reject, Err: badResponse("206 without Content-Range")}
	}
	cr, err := ParseContentRange(resp.ContentRange)
	if err != nil || cr.Unsatisfied() {
		return Decision{Action: Reject, Err: badResponse("unreadable Content-Range " + strconv.Quote(resp.ContentRange))}
	}
	if st.Established {
		if movedAway(st, resp) && !provesSameVersion(st.Validators, resp.Validators) {
			// A redirect to another resource: an If-Range evaluated there
			// proves nothing about the stored bytes (entity-tags belong to
			// one resource, RFC 9110 §8.8.3); only the response's own
			// strong validator, equal to the stored one, does. Without it
			// the answer is unusable, but no evidence against the stored
			// bytes either.
			return Decision{Action: Reject, Err: badResponse("a 206 from " + resp.URL + ", not where the download started, carries no validator equal to the stored one")}
		}
		changed := !st.Validators.SameVersion(resp.Validators) ||
			(cr.Total != UnknownSize && st.Total != UnknownSize && cr.Total != st.Total)
		if changed {
			// The server ignored If-Range, or the file changed between two
			// requests: a 206 from byte 0 is still a valid start of the new
			// version; any other is useless.
			if cr.First == 0 {
				return adopt(resp, cr.Len(), cr.Total, true, partialReason(resp))
			}
			return Decision{Action: Restart, Changed: true}
		}
	}
	if cr.First != req.Start {
		return Decision{Action: Reject, Err: badResponse("asked for bytes from " + strconv.FormatInt(req.Start, 10) +
			", got Content-Range " + resp.ContentRange)}
	}
	if req.End != UnknownSize && cr.Last >= req.End {
		return Decision{Action: Reject, Err: badResponse("Content-Range " + resp.ContentRange + " goes past the range asked for")}
	}
	if n := ParseContentLength(resp.ContentLength); n != UnknownSize && n != cr.Len() {
		return Decision{Action: Reject, Err: badResponse("Content-Length " + resp.ContentLength + " does not match Content-Range " + resp.ContentRange)}
	}
	total := cr.Total
	if total == UnknownSize {
		total = st.Total
	}
	d := Decision{Action: Append, Start: cr.First, Length: cr.Len(), Total: total, Validators: resp.Validators}
	if !st.Established {
		d.Resumable, d.Reason = resp.Validators.Resumable()
		if !d.Resumable && resp.CrossOrigin {
			d.Reason = hiddenReason()
		}
		if cr.First != 0 {
			return Decision{Action: Reject, Err: badResponse("first response does not start at byte 0")}
		}
		if total == UnknownSize {
			// Without a length no range plan can end, and asking again
			// would not tell it: take the file in one request instead.
			return Decision{Action: Whole, Reason: unknownLength(), Err: badResponse("Content-Range " + resp.ContentRange + " gives no length")}
		}
		return d
	}
	// Bytes after the start are joined to stored ones only with proof that
	// they are of the same version: the server honoured our If-Range, or the
	// response itself carries a strong validator equal to the stored one.
	if req.Start > 0 && req.IfRange == "" && !provesSameVersion(st.Validators, resp.Validators) {
		if resp.CrossOrigin {
			return Decision{Action: Whole, Reason: hiddenReason(), Err: badResponse("the 206 carries no readable validator")}
		}
		return Decision{Action: Reject, Err: badResponse("206 without If-Range carries no validator to check")}
	}
	return d
}

// unusablePartial handles a 206 whose body cannot be placed: a download that
// has not started falls back to one stream; one with stored bytes rejects it.
func unusablePartial(st Stored, detail string) Decision {
	if !st.Established || st.Bytes == 0 {
		return Decision{Action: Whole, Reason: Reason{ReasonEncoded, "the server's answer to a range request could not be used (" + detail + ")"},
			Err: badResponse(detail)}
	}
	return Decision{Action: Reject, Err: badResponse(detail)}
}

// provesSameVersion reports whether got carries a strong validator equal to a
// strong stored one.
func provesSameVersion(stored, got Validators) bool {
	if t, ok := stored.strongETag(); ok && got.ETag != "" {
		if g, err := ParseETag(got.ETag); err == nil && StrongMatch(t, g) {
			return true
		}
	}
	return stored.strongLastModified() && got.LastModified != "" && sameDate(stored.LastModified, got.LastModified)
}

// movedAway reports whether resp came from another URL than the response
// that established the download.
func movedAway(st Stored, resp Response) bool {
	return st.URL != "" && resp.URL != "" && resp.URL != st.URL
}

// htmlInstead reports an HTML page in answer to a download known to be of
// another type (st.ContentType, kept across new generations; an
// established download without one counts as not HTML). Other changes of
// type are allowed: a new version of a file may well come with another.
func htmlInstead(st Stored, got string) bool {
	isHTML := func(mt string) bool { return mt == "text/html" || mt == "application/xhtml+xml" }
	known := st.Established || st.ContentType != ""
	return known && isHTML(MediaType(got)) && !isHTML(MediaType(st.ContentType))
}

// MediaType returns the media type of a Content-Type value, lower case,
// without parameters: "text/html; charset=utf-8" gives "text/html".
func MediaType(contentType string) string {
	mt, _, _ := strings.Cut(contentType, ";")
	return strings.ToLower(strings.Trim(mt, " \t"))
}

func unknownLength() Reason {
	return Reason{ReasonUnknownLength, "the server did not say how long the file is"}
}

func partialReason(resp Response) Reason {
	ok, r := resp.Validators.Resumable()
	if !ok && resp.CrossOrigin {
		return hiddenReason()
	}
	return r
}

// adopt builds an Adopt decision for a body that starts at byte 0.
func adopt(resp Response, length, total int64, changed bool, reason Reason) Decision {
	if reason.None() && total == UnknownSize {
		reason = unknownLength()
	}
	return Decision{Action: Adopt, Start: 0, Length: length, Total: total, Validators: resp.Validators,
		Changed: changed, Resumable: reason.None(), Reason: reason}
}

func decideFull(req Request, st Stored, resp Response) Decision {
	length := ParseContentLength(resp.ContentLength)
	reason := Reason{}
	switch {
	case req.Whole && resp.CrossOrigin && length != UnknownSize:
		// Without Range the browser asks for compression, and a
		// cross-origin script cannot see Content-Encoding unless the
		// server exposes it: Content-Length may count compressed bytes of
		// a body fetch() hands over decompressed. Read it to its end.
		length = UnknownSize
		reason = unknownLength()
	case encoded(resp):
		// Content-Length counts encoded bytes; Fetch hands over decoded ones.
		length = UnknownSize
		reason = Reason{ReasonEncoded, "the server compressed the file (Content-Encoding: " + resp.ContentEncoding + "), so byte offsets cannot be resumed"}
	case length == UnknownSize:
		reason = unknownLength()
	default:
		if ok, r := resp.Validators.Resumable(); !ok {
			reason = r
			if resp.CrossOrigin {
				reason = hiddenReason()
			}
		} else if !req.Whole {
			// A 200 to a Range request: the server ignores ranges, or
			// If-Range found the file changed. Ranges are only proven by a
			// 206 (RFC 9110 §14.3), so a download whose every answer is a
			// 200 is not resumable.
			reason = Reason{ReasonNoRanges, "the server answered a range request with the whole file (200), so it does not support byte ranges"}
		}
	}
	changed := false
	if st.Established && st.Bytes > 0 {
		changed = !st.Validators.SameVersion(resp.Validators) ||
			(length != UnknownSize && st.Total != UnknownSize && length != st.Total)
		if changed && reason.Code == ReasonNoRanges {
			// The file changed and If-Range did its job: the server may
			// well support ranges.
			reason = Reason{}
		}
	}
	return adopt(resp, length, length, changed, reason)
}

func decideUnsatisfiable(req Request, st Stored, resp Response) Decision {
	cr, err := ParseContentRange(resp.ContentRange)
	if err != nil || !cr.Unsatisfied() {
		if st.Established && st.Bytes > 0 {
			return Decision{Action: Restart, Err: &StatusError{Status: 416}}
		}
		return Decision{Action: Whole, Reason: Reason{ReasonNoRanges, "the server refused a range request from byte 0"},
			Err: &StatusError{Status: 416}}
	}
	if movedAway(st, resp) {
		// A redirect to another resource (a login page, say) says nothing
		// of the stored download's length.
		return Decision{Action: Reject, Err: badResponse("416 from " + resp.URL + ", not where the download started")}
	}
	if !st.Established {
		if cr.Total == 0 && req.Start == 0 {
			// "bytes=0-" of an empty file cannot be satisfied (§14.1.2).
			ok, r := resp.Validators.Resumable()
			return Decision{Action: Finish, Total: 0, Validators: resp.Validators, Resumable: ok, Reason: r}
		}
		return Decision{Action: Reject, Err: badResponse("416 for a range inside the file (Content-Range " + resp.ContentRange + ")")}
	}
	if st.Total != UnknownSize && cr.Total != st.Total {
		return Decision{Action: Restart, Changed: true, Total: cr.Total}
	}
	if req.Start >= cr.Total {
		return Decision{Action: Finish, Total: cr.Total}
	}
	return Decision{Action: Reject, Err: badResponse("416 for a range inside the file (Content-Range " + resp.ContentRange + ")")}
}

// maxRetryAfter caps a server's Retry-After so that a typo on the server
// cannot park a download for days.
const maxRetryAfter = MaxRetryDelay

// ParseRetryAfter parses Retry-After (RFC 9110 §10.2.3): delay-seconds or an
// HTTP-date. A date is measured against the response's own Date when there is
// one, which makes it immune to a wrong client clock. It returns 0 for an
// absent or invalid value, and caps the delay at 10 minutes.
func ParseRetryAfter(value, date string, now time.Time) time.Duration {
	value = strings.Trim(value, " \t")
	if value == "" {
		return 0
	}
	var d time.Duration
	if secs, err := parseDigits(value); err == nil || errors.Is(err, strconv.ErrRange) {
		// Digits too many for an int64 still ask for a long wait.
		if err != nil || secs > int64(maxRetryAfter/time.Second) {
			return maxRetryAfter
		}
		d = time.Duration(secs) * time.Second
	} else if at, err := ParseHTTPDate(value); err == nil {
		ref := now
		if t, err := ParseHTTPDate(date); err == nil {
			ref = t
		}
		d = at.Sub(ref)
	}
	if d < 0 {
		return 0
	}
	return min(d, maxRetryAfter)
}
