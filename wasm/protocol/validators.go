package protocol

import (
	"strconv"
	"time"
)

// Reason explains, in a stable code and in plain words, why a download cannot
// be resumed. The zero Reason means it can.
type Reason struct {
	// Code is stable and meant for programs: one of the Reason* constants.
	Code string
	// Text is a sentence meant for people.
	Text string
}

// Reason codes. They are part of the public API: the JS API reports them in
// Result.reasonCode and list() entries.
const (
	ReasonNoValidators     = "no-validators"
	ReasonWeakETag         = "weak-etag"
	ReasonWeakLastModified = "weak-last-modified"
	ReasonNoRanges         = "no-ranges"
	ReasonEncoded          = "content-encoding"
	ReasonUnknownLength    = "unknown-length"
	ReasonHiddenHeaders    = "hidden-headers"
	ReasonLongValidator    = "long-validator"
)

// MaxValidatorLen is the longest ETag resumer keeps and sends back in
// If-Range. Real entity-tags are a few dozen bytes; one of kilobytes is a
// broken server, and storing it with every download and sending it with
// every request would cost more than it proves.
const MaxValidatorLen = 8 << 10

// None reports whether r is the zero Reason.
func (r Reason) None() bool { return r.Code == "" }

// Validators are what a response says about the version of the bytes it
// carries (RFC 9110 §8.8): the ETag and Last-Modified headers exactly as sent,
// and the Date of the same response, which decides whether Last-Modified is
// strong.
type Validators struct {
	ETag         string
	LastModified string
	Date         string
}

// Empty reports whether the response carried neither ETag nor Last-Modified.
func (v Validators) Empty() bool { return v.ETag == "" && v.LastModified == "" }

// minDateGap is how much older than Date a Last-Modified must be to be strong
// (RFC 9110 §8.8.2.2): HTTP dates have a resolution of one second, so a
// change within the same second as Last-Modified would keep the same date.
const minDateGap = time.Second

// strongETag returns the ETag if it parses, is strong and is not longer
// than MaxValidatorLen.
func (v Validators) strongETag() (ETag, bool) {
	if v.ETag == "" || len(v.ETag) > MaxValidatorLen {
		return ETag{}, false
	}
	t, err := ParseETag(v.ETag)
	if err != nil || t.Weak {
		return ETag{}, false
	}
	return t, true
}

// strongLastModified reports whether Last-Modified is a strong validator: it
// parses, and the response's own Date is at least one second later
// (RFC 9110 §8.8.2.2). Without a readable Date the date is weak: a
// cross-origin script cannot read Date unless the server exposes it.
func (v Validators) strongLastModified() bool {
	lm, err := ParseHTTPDate(v.LastModified)
	if err != nil {
		return false
	}
	date, err := ParseHTTPDate(v.Date)
	if err != nil {
		return false
	}
	return date.Sub(lm) >= minDateGap
}

// IfRange returns the validator to send in If-Range, preferring the strong
// ETag and falling back to a strong Last-Modified (RFC 9110 §13.1.5: a weak
// validator must not be sent there, nor a date when there is an entity
// tag). When there is no strong validator it returns "" and the Reason the
// download is not resumable; "" with no Reason means resumable, but with
// plain Range requests whose 206s must carry the strong date.
func (v Validators) IfRange() (string, Reason) {
	if t, ok := v.strongETag(); ok {
		return t.String(), Reason{}
	}
	if v.strongLastModified() {
		if v.ETag != "" {
			// "A client MUST NOT generate an If-Range header field
			// containing an HTTP-date unless the client has no entity tag
			// for the corresponding representation" (RFC 9110 §13.1.5).
			// Still resumable: each 206 must then carry the same strong
			// date itself (plain Range, checked like ModeRangedPlain).
			return "", Reason{}
		}
		return v.LastModified, Reason{}
	}
	switch {
	case v.Empty():
		return "", Reason{ReasonNoValidators,
			"the server sent no ETag or Last-Modified header, so nothing proves that bytes fetched later belong to the same version of the file"}
	case len(v.ETag) > MaxValidatorLen:
		return "", Reason{ReasonLongValidator,
			"the server's ETag is " + strconv.Itoa(len(v.ETag)) + " bytes long, more than the " + strconv.Itoa(MaxValidatorLen) +
				" resumer keeps, and it sent no usable Last-Modified"}
	case v.ETag != "" && v.LastModified == "":
		return "", Reason{ReasonWeakETag,
			"the server sent only a weak or malformed ETag (" + v.ETag + ") and no Last-Modified; a weak ETag cannot prove that two byte ranges belong to the same version"}
	default:
		return "", Reason{ReasonWeakLastModified,
			"the server sent no strong ETag, and its Last-Modified is not at least one second older than its Date header, so a change within that second would go unnoticed"}
	}
}

// Resumable reports whether stored bytes may later be joined with bytes of a
// new request, and why not.
func (v Validators) Resumable() (bool, Reason) {
	_, r := v.IfRange()
	return r.None(), r
}

// Bounded returns v without any value longer than MaxValidatorLen, which is
// what a download keeps: an overlong value proves nothing (see IfRange) and
// is not worth storing.
func (v Validators) Bounded() Validators {
	for _, f := range []*string{&v.ETag, &v.LastModified, &v.Date} {
		if len(*f) > MaxValidatorLen {
			*f = ""
		}
	}
	return v
}

// SameVersion compares the validators a later response carried (got) with
// the stored ones (v). Every validator the response carries must equal the
// stored one: a different ETag or Last-Modified means the file changed even
// when the server ignored If-Range. Headers the response does not carry are
// not compared (a 206 need not repeat them, RFC 9110 §15.3.7).
func (v Validators) SameVersion(got Validators) bool {
	if got.ETag != "" && !sameETag(v.ETag, got.ETag) {
		return false
	}
	if got.LastModified != "" && !sameDate(v.LastModified, got.LastModified) {
		return false
	}
	return true
}

// sameETag compares two ETag header values as tags: same weakness and same
// opaque-tag. Equality here is only the absence of evidence of a change; the
// proof that bytes match comes from IfRange, which demands a strong validator.
// A tag that does not parse is compared as raw text.
func sameETag(stored, got string) bool {
	a, errA := ParseETag(stored)
	b, errB := ParseETag(got)
	if errA != nil || errB != nil {
		return stored == got
	}
	return a == b
}

// sameDate compares two HTTP-dates by the instant they name, so that the
// obsolete formats compare equal to IMF-fixdate. Values that are not dates
// are compared as raw text, like sameETag: a server that repeats the same
// unreadable Last-Modified has not shown a change (and such a value never
// proves anything: a weak date is never a validator).
func sameDate(stored, got string) bool {
	a, errA := ParseHTTPDate(stored)
	b, errB := ParseHTTPDate(got)
	if errA != nil || errB != nil {
		return errA != nil && errB != nil && stored == got
	}
	return a.Equal(b)
}
