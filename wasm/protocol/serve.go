package protocol

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"time"
)

// ServeRequest is what a reader of a stored file asked for: the method, the
// Range header and the conditional header values ("" when absent).
type ServeRequest struct {
	// Method is GET or HEAD; "" means GET.
	Method string
	// Range and IfRange are the header values as sent.
	Range, IfRange string
	// IfMatch, IfNoneMatch, IfModifiedSince and IfUnmodifiedSince are the
	// header values of the other preconditions (RFC 9110 §13.1) as sent.
	// A list field sent on several lines (If-Match, If-None-Match) is
	// given as one value, the lines joined with ", " (§5.3).
	IfMatch, IfNoneMatch, IfModifiedSince, IfUnmodifiedSince string
}

// Served says how to answer a ServeRequest.
type Served struct {
	// Status is 200, 206, 304, 412, 416 or 405.
	Status int
	// Start and Length are the body bytes [Start, Start+Length) of the
	// stored file: the whole file for 200 (also for HEAD, where Length is
	// the Content-Length), one range for 206, nothing for 304, 412, 416
	// and 405.
	Start, Length int64
	// ContentRange is the Content-Range header to send: "bytes a-b/size"
	// for 206, "bytes */size" for 416 (RFC 9110 §14.4, §15.5.17), "" else.
	ContentRange string
	// Body is true when the answer carries the bytes: false for HEAD, 304,
	// 412, 416 and 405. A 304 has no content at all, not even an empty
	// one (RFC 9110 §15.4.5): no Content-Length either, and of the
	// representation's metadata only what a 200 would carry to update a
	// cache (ETag, and Last-Modified when there is no ETag).
	Body bool
	// Allow is the Allow header a 405 must carry (RFC 9110 §15.5.6), ""
	// otherwise.
	Allow string
	// Precondition names the request header whose condition was false,
	// for 412 (If-Match, If-Unmodified-Since) and 304 (If-None-Match,
	// If-Modified-Since); "" otherwise. A false If-Range is no failure
	// (its answer is a 200) and is not named.
	Precondition string
}

// ServeRange answers a request for a stored file of size bytes whose
// validators are v, following RFC 9110 as an origin server that supports
// single byte ranges:
//
//   - A method other than GET and HEAD is answered 405 (§15.5.6). Methods
//     are case-sensitive (§9.1), but "get" and "head" count as GET and
//     HEAD, as Fetch normalizes them before any request is made (Fetch
//     standard, "normalize a method").
//   - The preconditions come next, in the order of §13.2.2, and only then
//     Range: a false If-Match (§13.1.1: "*" holds for the stored file, an
//     entity-tag only when it strongly matches v's ETag) or, without
//     If-Match, a false If-Unmodified-Since (§13.1.4: v's Last-Modified
//     later than the date) is a 412; then a false If-None-Match (§13.1.2:
//     "*", or an entity-tag that weakly matches v's ETag) or, without
//     If-None-Match, a false If-Modified-Since (§13.1.3: v's Last-Modified
//     not later than the date) is a 304. A date that does not parse, or a
//     stored Last-Modified that does not, makes a date condition ignored
//     (§13.1.3, §13.1.4). Entity-tag lists are read up to the first
//     member that is not an entity-tag, like net/http, and v's ETag is no
//     validator here when longer than MaxValidatorLen (as for If-Range).
//   - Range is used only with GET, the one method range handling is defined
//     for (§14.2); HEAD always gets 200.
//   - A Range of another unit than "bytes" (case-insensitive, §14.1), or one
//     that does not parse, or that holds any invalid range-spec, is ignored
//     (§14.2: a server MAY ignore an invalid ranges-specifier): 200.
//   - If-Range (§13.1.5): the Range applies only if the If-Range is an
//     entity-tag that strongly matches v's ETag (§8.8.3.2), or an HTTP-date
//     equal to v's Last-Modified when that date is a strong validator
//     (§8.8.2.2, Validators rules); anything else, 200 with the whole file.
//   - One satisfiable range-spec (§14.1.2: first-pos below size, or a
//     suffix-length above 0; last-pos clipped to size-1, a suffix longer
//     than the file is the whole file) gives 206 with its Content-Range
//     (§15.3.7). None satisfiable gives 416 with "bytes */size"
//     (§15.5.17).
//   - Several range-specs, at least one satisfiable, give 200 with the
//     whole file: resumer never sends multipart/byteranges, and a server
//     MAY ignore Range (§14.2).
//   - An empty file satisfies no int-range (416), and a suffix-range only in
//     name (§14.1.2): no Content-Range can state zero bytes (§14.4), so that
//     Range is ignored: 200 with the empty body.
//   - Numbers have no limit in the grammar, and §14.1.2 asks recipients to
//     expect large ones: a first-pos too large for int64 is past any file
//     (unsatisfiable), a last-pos or suffix-length that large reaches the
//     end of the file. Only a last-pos below its first-pos is invalid.
//
// A negative size is taken as 0. For any input 0 ≤ Start ≤ Start+Length ≤
// size, and a 206 has Length ≥ 1.
func ServeRange(req ServeRequest, size int64, v Validators) Served {
	size = max(size, 0)
	var method string
	switch m := req.Method; {
	case m == "" || strings.EqualFold(m, "GET"):
		method = "GET"
	case strings.EqualFold(m, "HEAD"):
		method = "HEAD"
	default:
		return Served{Status: 405, Allow: "GET, HEAD"}
	}
	// §13.2.1: the preconditions are evaluated once the method is known
	// to be one this answer serves (a 405 above ignores them), and before
	// Range and If-Range (§13.2.2 step 5).
	if s, done := preconditions(req, v); done {
		return s
	}
	whole := Served{Status: 200, Length: size, Body: method == "GET"}
	if method != "GET" || req.Range == "" {
		return whole
	}
	specs, err := parseRange(req.Range)
	if err != nil {
		return whole
	}
	// §13.2.2 step 5: If-Range is evaluated only for a GET with Range, and
	// when false, the Range is ignored, satisfiable or not.
	if req.IfRange != "" && !ifRangeHolds(req.IfRange, v) {
		return whole
	}
	satisfiable := 0
	var span Span
	for _, r := range specs {
		if s, ok := r.resolve(size); ok {
			satisfiable++
			span = s
		}
	}
	switch {
	case satisfiable == 0:
		return Served{Status: 416, ContentRange: "bytes */" + strconv.FormatInt(size, 10)}
	case len(specs) > 1 || span.Len() == 0:
		return whole
	}
	return Served{Status: 206, Start: span.Start, Length: span.Len(), Body: true,
		ContentRange: "bytes " + strconv.FormatInt(span.Start, 10) + "-" + strconv.FormatInt(span.End-1, 10) + "/" + strconv.FormatInt(size, 10)}
}

// preconditions evaluates If-Match, If-Unmodified-Since, If-None-Match and
// If-Modified-Since in the order of RFC 9110 §13.2.2 (steps 1 to 4), for a
// GET or HEAD of a representation that exists, and returns the 412 or 304
// it calls for, if any.
func preconditions(req ServeRequest, v Validators) (Served, bool) {
	failed := func(field string) (Served, bool) {
		return Served{Status: 412, Precondition: field}, true
	}
	notModified := func(field string) (Served, bool) {
		return Served{Status: 304, Precondition: field}, true
	}
	// Steps 1 and 2: If-Unmodified-Since counts only without If-Match
	// (§13.1.4: "MUST ignore ... if the request contains an If-Match").
	switch {
	case req.IfMatch != "":
		if !ifMatchHolds(req.IfMatch, v) {
			return failed("If-Match")
		}
	case req.IfUnmodifiedSince != "":
		if lm, since, ok := compareDates(v.LastModified, req.IfUnmodifiedSince); ok && lm.After(since) {
			return failed("If-Unmodified-Since")
		}
	}
	// Steps 3 and 4, for GET and HEAD (the only methods answered here):
	// If-Modified-Since counts only without If-None-Match (§13.1.3).
	switch {
	case req.IfNoneMatch != "":
		if !ifNoneMatchHolds(req.IfNoneMatch, v) {
			return notModified("If-None-Match")
		}
	case req.IfModifiedSince != "":
		if lm, since, ok := compareDates(v.LastModified, req.IfModifiedSince); ok && !lm.After(since) {
			return notModified("If-Modified-Since")
		}
	}
	return Served{}, false
}

// ifMatchHolds evaluates an If-Match value (RFC 9110 §13.1.1): "*" holds
// for any stored representation; a list holds when one of its entity-tags
// strongly matches the stored ETag (§8.8.3.2), so never a weak one and
// never without a stored ETag.
func ifMatchHolds(field string, v Validators) bool {
	star, tags := scanETags(field)
	if star {
		return true
	}
	cur, ok := v.strongETag()
	if !ok {
		return false
	}
	for _, t := range tags {
		if StrongMatch(cur, t) {
			return true
		}
	}
	return false
}

// ifNoneMatchHolds evaluates an If-None-Match value (RFC 9110 §13.1.2):
// "*" is false for any stored representation; a list is false when one of
// its entity-tags weakly matches the stored ETag (§8.8.3.2: the same
// opaque-tag, weak or not).
func ifNoneMatchHolds(field string, v Validators) bool {
	star, tags := scanETags(field)
	if star {
		return false
	}
	if v.ETag == "" || len(v.ETag) > MaxValidatorLen {
		return true
	}
	cur, err := ParseETag(v.ETag)
	if err != nil {
		return true
	}
	for _, t := range tags {
		if t.Opaque == cur.Opaque {
			return false
		}
	}
	return true
}

// scanETags reads the field value of If-Match or If-None-Match:
//
//	If-Match = "*" / #entity-tag
//
// (RFC 9110 §13.1.1), with empty list elements and whitespace around
// commas allowed (§5.6.1). It stops at the first member that is neither
// "*" nor an entity-tag, keeping the tags before it; a "*" member makes
// star true wherever it stands. This is how net/http reads these fields:
// RFC 9110 says nothing of a malformed list, and an origin server that
// agrees with the most common one surprises no client.
func scanETags(s string) (star bool, tags []ETag) {
	for {
		s = strings.TrimLeft(s, " \t,")
		if s == "" {
			return false, tags
		}
		if s[0] == '*' {
			return true, tags
		}
		t, rest, ok := cutETag(s)
		if !ok {
			return false, tags
		}
		tags = append(tags, t)
		s = rest
	}
}

// cutETag parses the entity-tag at the start of s and returns it and what
// follows it.
func cutETag(s string) (ETag, string, bool) {
	i := 0
	if strings.HasPrefix(s, "W/") {
		i = 2
	}
	if len(s) < i+2 || s[i] != '"' {
		return ETag{}, "", false
	}
	end := strings.IndexByte(s[i+1:], '"')
	if end < 0 {
		return ETag{}, "", false
	}
	end += i + 2 // past the closing DQUOTE
	t, err := ParseETag(s[:end])
	return t, s[end:], err == nil
}

// compareDates parses the stored Last-Modified and the HTTP-date of an
// If-Modified-Since or If-Unmodified-Since field. ok is false when either
// does not parse: a field that is not one valid HTTP-date (a list of dates
// included) is ignored (§13.1.3, §13.1.4), and so is the condition when
// the representation has no modification date.
func compareDates(lastModified, field string) (lm, since time.Time, ok bool) {
	lm, err := ParseHTTPDate(lastModified)
	if err != nil {
		return lm, since, false
	}
	since, err = ParseHTTPDate(field)
	return lm, since, err == nil
}

// ifRangeHolds evaluates an If-Range value against the stored validators
// (RFC 9110 §13.1.5). An entity-tag is told from an HTTP-date by a DQUOTE
// in its first three characters (§13.1.5); a weak tag never matches, nor
// a date when the stored Last-Modified is weak.
func ifRangeHolds(ifRange string, v Validators) bool {
	ifRange = strings.Trim(ifRange, " \t")
	if strings.Contains(ifRange[:min(3, len(ifRange))], `"`) {
		got, err := ParseETag(ifRange)
		if err != nil {
			return false
		}
		cur, ok := v.strongETag()
		return ok && StrongMatch(cur, got)
	}
	if _, err := ParseHTTPDate(ifRange); err != nil {
		return false
	}
	return v.strongLastModified() && sameDate(v.LastModified, ifRange)
}

// errBadRange reports a Range value that is not a valid bytes
// ranges-specifier.
var errBadRange = errors.New("malformed Range")

// rangeSpec is one range-spec of a bytes Range (RFC 9110 §14.1.2):
// first-pos "-" [last-pos] or "-" suffix-length. The numbers saturate at
// MaxInt64, which is past any file.
type rangeSpec struct {
	suffix      bool
	first, last int64 // last is MaxInt64 when absent; suffix: last is the length
}

// resolve returns the bytes of a file of size bytes that r selects, and
// whether r is satisfiable (§14.1.2).
func (r rangeSpec) resolve(size int64) (Span, bool) {
	if r.suffix {
		n := min(r.last, size)
		return Span{Start: size - n, End: size}, r.last > 0
	}
	if r.first >= size {
		return Span{}, false
	}
	end := size
	if r.last < size-1 {
		end = r.last + 1
	}
	return Span{Start: r.first, End: end}, true
}

// parseRange parses a Range header value:
//
//	Range            = ranges-specifier
//	ranges-specifier = range-unit "=" range-set
//	range-set        = 1#range-spec
//	range-spec       = int-range / suffix-range
//	int-range        = first-pos "-" [ last-pos ]
//	suffix-range     = "-" suffix-length
//
// (RFC 9110 §14.1.1, §14.1.2, §14.2). The unit must be "bytes", compared
// case-insensitively; other-range is not defined for bytes and so is
// invalid, as is an int-range whose last-pos is below its first-pos. The
// list may have empty elements and optional whitespace around its commas
// (§5.6.1). The response side is ParseContentRange; the request side the
// engine sends is Request.RangeHeader.
func parseRange(s string) ([]rangeSpec, error) {
	unit, set, ok := strings.Cut(strings.Trim(s, " \t"), "=")
	if !ok || !strings.EqualFold(unit, "bytes") {
		return nil, errBadRange
	}
	var specs []rangeSpec
	for elem := range strings.SplitSeq(set, ",") {
		elem = strings.Trim(elem, " \t")
		if elem == "" {
			continue // §5.6.1.2: empty list elements do not count
		}
		first, last, ok := strings.Cut(elem, "-")
		if !ok {
			return nil, errBadRange
		}
		var r rangeSpec
		var err error
		switch {
		case first == "":
			r.suffix = true
			r.last, err = parsePos(last)
		case last == "":
			r.last = math.MaxInt64
			r.first, err = parsePos(first)
		default:
			if r.first, err = parsePos(first); err == nil {
				r.last, err = parsePos(last)
			}
			if err == nil && cmpDecimal(last, first) < 0 {
				return nil, errBadRange
			}
		}
		if err != nil {
			return nil, errBadRange
		}
		specs = append(specs, r)
	}
	if len(specs) == 0 {
		return nil, errBadRange
	}
	return specs, nil
}

// parsePos parses 1*DIGIT, saturating at MaxInt64: a position that large is
// past the end of any file, which is what it means (RFC 9110 §14.1.2 asks
// recipients to expect large numerals).
func parsePos(s string) (int64, error) {
	n, err := parseDigits(s)
	if errors.Is(err, strconv.ErrRange) {
		return math.MaxInt64, nil
	}
	return n, err
}

// cmpDecimal compares two strings of decimal digits by the numbers they
// write, whatever their length: -1, 0 or +1.
func cmpDecimal(a, b string) int {
	a, b = strings.TrimLeft(a, "0"), strings.TrimLeft(b, "0")
	if len(a) != len(b) {
		if len(a) < len(b) {
			return -1
		}
		return 1
	}
	return strings.Compare(a, b)
}
