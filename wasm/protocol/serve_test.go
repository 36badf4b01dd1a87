package protocol

import (
	"bytes"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"
)

const (
	huge      = "99999999999999999999"          // more than MaxInt64
	lmEarlier = "Mon, 02 Nov 2026 09:59:59 GMT" // a second before lm
)

func TestServeRange(t *testing.T) {
	strong := Validators{ETag: `"e1"`, LastModified: lm, Date: dateOld}
	weakTag := Validators{ETag: `W/"e1"`, LastModified: lm, Date: dateEq}
	dateOnly := Validators{LastModified: lm, Date: dateOld}
	long := Validators{ETag: longETag}
	whole := Served{Status: 200, Length: 1000, Body: true}
	head := Served{Status: 200, Length: 1000}
	unsat := Served{Status: 416, ContentRange: "bytes */1000"}
	failed := func(field string) Served { return Served{Status: 412, Precondition: field} }
	notModified := func(field string) Served { return Served{Status: 304, Precondition: field} }
	part := func(first, last int64) Served {
		return Served{Status: 206, Start: first, Length: last - first + 1, Body: true,
			ContentRange: "bytes " + itoa(first) + "-" + itoa(last) + "/1000"}
	}
	tests := []struct {
		name string
		req  ServeRequest
		size int64
		v    Validators
		want Served
	}{
		{"GET without Range", ServeRequest{Method: "GET"}, 1000, strong, whole},
		{"no method is GET", ServeRequest{}, 1000, strong, whole},
		{"get is normalized as Fetch does", ServeRequest{Method: "get", Range: "bytes=0-0"}, 1000, strong, part(0, 0)},
		{"HEAD", ServeRequest{Method: "HEAD"}, 1000, strong, head},
		{"HEAD ignores Range (§14.2)", ServeRequest{Method: "HEAD", Range: "bytes=0-9"}, 1000, strong, head},
		{"HEAD ignores an unsatisfiable Range", ServeRequest{Method: "HEAD", Range: "bytes=5000-"}, 1000, strong, head},
		{"POST", ServeRequest{Method: "POST", Range: "bytes=0-9"}, 1000, strong, Served{Status: 405, Allow: "GET, HEAD"}},
		{"OPTIONS", ServeRequest{Method: "OPTIONS"}, 1000, strong, Served{Status: 405, Allow: "GET, HEAD"}},
		{"method with spaces", ServeRequest{Method: " GET"}, 1000, strong, Served{Status: 405, Allow: "GET, HEAD"}},

		{"first-last", ServeRequest{Range: "bytes=0-499"}, 1000, strong, part(0, 499)},
		{"first-", ServeRequest{Range: "bytes=500-"}, 1000, strong, part(500, 999)},
		{"suffix", ServeRequest{Range: "bytes=-100"}, 1000, strong, part(900, 999)},
		{"suffix longer than the file", ServeRequest{Range: "bytes=-5000"}, 1000, strong, part(0, 999)},
		{"last-pos clipped", ServeRequest{Range: "bytes=10-5000"}, 1000, strong, part(10, 999)},
		{"last byte", ServeRequest{Range: "bytes=999-999"}, 1000, strong, part(999, 999)},
		{"whole file as a range", ServeRequest{Range: "bytes=0-"}, 1000, strong, part(0, 999)},
		{"unit case-insensitive", ServeRequest{Range: "Bytes=0-0"}, 1000, strong, part(0, 0)},
		{"leading zeros", ServeRequest{Range: "bytes=0010-0019"}, 1000, strong, part(10, 19)},
		{"whitespace around the field and elements", ServeRequest{Range: " bytes= 1-2 \t"}, 1000, strong, part(1, 2)},
		{"empty list elements", ServeRequest{Range: "bytes=,1-2,, "}, 1000, strong, part(1, 2)},
		{"no validators needed without If-Range", ServeRequest{Range: "bytes=1-2"}, 1000, Validators{}, part(1, 2)},

		{"first-pos at size", ServeRequest{Range: "bytes=1000-"}, 1000, strong, unsat},
		{"first-pos past size", ServeRequest{Range: "bytes=1000-2000"}, 1000, strong, unsat},
		{"suffix of zero", ServeRequest{Range: "bytes=-0"}, 1000, strong, unsat},
		{"several, none satisfiable", ServeRequest{Range: "bytes=2000-,3000-3001, -0"}, 1000, strong, unsat},

		{"several ranges: the whole file", ServeRequest{Range: "bytes=0-1,5-6"}, 1000, strong, whole},
		{"several, one satisfiable: the whole file", ServeRequest{Range: "bytes=0-1, 2000-3000"}, 1000, strong, whole},
		{"the same range twice: the whole file", ServeRequest{Range: "bytes=0-1,0-1"}, 1000, strong, whole},
		{"other unit", ServeRequest{Range: "items=0-1"}, 1000, strong, whole},
		{"no unit", ServeRequest{Range: "0-1"}, 1000, strong, whole},
		{"space before =", ServeRequest{Range: "bytes =0-1"}, 1000, strong, whole},
		{"last-pos before first-pos", ServeRequest{Range: "bytes=5-4"}, 1000, strong, whole},
		{"one invalid spec spoils the set", ServeRequest{Range: "bytes=5000-, 5-4"}, 1000, strong, whole},
		{"empty set", ServeRequest{Range: "bytes="}, 1000, strong, whole},
		{"only commas", ServeRequest{Range: "bytes=, ,"}, 1000, strong, whole},
		{"no dash", ServeRequest{Range: "bytes=5"}, 1000, strong, whole},
		{"lone dash", ServeRequest{Range: "bytes=-"}, 1000, strong, whole},
		{"two dashes", ServeRequest{Range: "bytes=1-2-3"}, 1000, strong, whole},
		{"spaces inside", ServeRequest{Range: "bytes=0 - 1"}, 1000, strong, whole},
		{"sign", ServeRequest{Range: "bytes=+1-2"}, 1000, strong, whole},
		{"negative suffix", ServeRequest{Range: "bytes=--1"}, 1000, strong, whole},
		{"other-range", ServeRequest{Range: "bytes=abc"}, 1000, strong, whole},

		{"huge first-pos is past the end", ServeRequest{Range: "bytes=" + huge + "-"}, 1000, strong, unsat},
		{"huge first and last", ServeRequest{Range: "bytes=" + huge + "-" + huge}, 1000, strong, unsat},
		{"huge last-pos reaches the end", ServeRequest{Range: "bytes=5-" + huge}, 1000, strong, part(5, 999)},
		{"huge suffix is the whole file", ServeRequest{Range: "bytes=-" + huge}, 1000, strong, part(0, 999)},
		{"huge last below huger first", ServeRequest{Range: "bytes=" + huge + "0-" + huge}, 1000, strong, whole},
		{"huge first, small last", ServeRequest{Range: "bytes=" + huge + "-5"}, 1000, strong, whole},
		{"huge with leading zeros", ServeRequest{Range: "bytes=0000000000000000000000000005-" + huge}, 1000, strong, part(5, 999)},
		{"MaxInt64 last-pos", ServeRequest{Range: "bytes=0-9223372036854775807"}, 1000, strong, part(0, 999)},
		{"range near MaxInt64 of a huge file", ServeRequest{Range: "bytes=9223372036854775806-"}, 1<<62 + 1<<61 + 1<<60 + 1<<59, strong,
			Served{Status: 416, ContentRange: "bytes */" + itoa(1<<62+1<<61+1<<60+1<<59)}},

		{"the largest file", ServeRequest{Range: "bytes=0-"}, math.MaxInt64, strong,
			Served{Status: 206, Length: math.MaxInt64, Body: true, ContentRange: "bytes 0-9223372036854775806/9223372036854775807"}},
		{"suffix of the largest file", ServeRequest{Range: "bytes=-" + huge}, math.MaxInt64, strong,
			Served{Status: 206, Length: math.MaxInt64, Body: true, ContentRange: "bytes 0-9223372036854775806/9223372036854775807"}},
		{"empty file, no Range", ServeRequest{}, 0, strong, Served{Status: 200, Body: true}},
		{"empty file, int-range", ServeRequest{Range: "bytes=0-"}, 0, strong, Served{Status: 416, ContentRange: "bytes */0"}},
		{"empty file, suffix: ignored", ServeRequest{Range: "bytes=-1"}, 0, strong, Served{Status: 200, Body: true}},
		{"empty file, suffix of zero", ServeRequest{Range: "bytes=-0"}, 0, strong, Served{Status: 416, ContentRange: "bytes */0"}},
		{"negative size is 0", ServeRequest{Range: "bytes=0-"}, -1, strong, Served{Status: 416, ContentRange: "bytes */0"}},

		{"If-Range strong ETag matches", ServeRequest{Range: "bytes=0-9", IfRange: `"e1"`}, 1000, strong, part(0, 9)},
		{"If-Range ETag with whitespace", ServeRequest{Range: "bytes=0-9", IfRange: ` "e1" `}, 1000, strong, part(0, 9)},
		{"If-Range other ETag", ServeRequest{Range: "bytes=0-9", IfRange: `"e2"`}, 1000, strong, whole},
		{"If-Range weak ETag never matches", ServeRequest{Range: "bytes=0-9", IfRange: `W/"e1"`}, 1000, strong, whole},
		{"If-Range against a weak stored ETag", ServeRequest{Range: "bytes=0-9", IfRange: `"e1"`}, 1000, weakTag, whole},
		{"If-Range ETag, none stored", ServeRequest{Range: "bytes=0-9", IfRange: `"e1"`}, 1000, dateOnly, whole},
		{"If-Range ETag list", ServeRequest{Range: "bytes=0-9", IfRange: `"e1", "e2"`}, 1000, strong, whole},
		{"If-Range malformed ETag", ServeRequest{Range: "bytes=0-9", IfRange: `"e1`}, 1000, strong, whole},
		{"If-Range overlong stored ETag", ServeRequest{Range: "bytes=0-9", IfRange: longETag}, 1000, long, whole},
		{"If-Range strong date", ServeRequest{Range: "bytes=0-9", IfRange: lm}, 1000, dateOnly, part(0, 9)},
		{"If-Range date with an ETag stored", ServeRequest{Range: "bytes=0-9", IfRange: lm}, 1000, strong, part(0, 9)},
		{"If-Range date in rfc850 form", ServeRequest{Range: "bytes=0-9", IfRange: "Monday, 02-Nov-26 10:00:00 GMT"}, 1000, dateOnly, part(0, 9)},
		{"If-Range other date", ServeRequest{Range: "bytes=0-9", IfRange: dateOld}, 1000, dateOnly, whole},
		{"If-Range date against a weak Last-Modified", ServeRequest{Range: "bytes=0-9", IfRange: lm}, 1000, weakTag, whole},
		{"If-Range date, none stored", ServeRequest{Range: "bytes=0-9", IfRange: lm}, 1000, Validators{ETag: `"e1"`}, whole},
		{"If-Range garbage", ServeRequest{Range: "bytes=0-9", IfRange: "yesterday"}, 1000, Validators{LastModified: "yesterday", Date: dateOld}, whole},
		{"If-Range holds, Range unsatisfiable", ServeRequest{Range: "bytes=1000-", IfRange: `"e1"`}, 1000, strong, unsat},
		{"If-Range fails, Range unsatisfiable: 200", ServeRequest{Range: "bytes=1000-", IfRange: `"e2"`}, 1000, strong, whole},
		{"If-Range without Range", ServeRequest{IfRange: `"e2"`}, 1000, strong, whole},
		{"If-Range with HEAD", ServeRequest{Method: "HEAD", Range: "bytes=0-9", IfRange: `"e1"`}, 1000, strong, head},
		{"If-Range with an invalid Range", ServeRequest{Range: "bytes=9-0", IfRange: `"e1"`}, 1000, strong, whole},

		// Preconditions (RFC 9110 §13.1, evaluated as §13.2.2 orders).
		{"If-Match holds", ServeRequest{IfMatch: `"e1"`}, 1000, strong, whole},
		{"If-Match holds, Range served", ServeRequest{Range: "bytes=0-9", IfMatch: `"e1"`}, 1000, strong, part(0, 9)},
		{"If-Match in a list", ServeRequest{IfMatch: `"e0", "e1"`}, 1000, strong, whole},
		{"If-Match list with empty elements", ServeRequest{IfMatch: ` ,"e0",, "e1" `}, 1000, strong, whole},
		{"If-Match other: 412", ServeRequest{IfMatch: `"e2"`}, 1000, strong, failed("If-Match")},
		{"If-Match 412 before Range", ServeRequest{Range: "bytes=0-9", IfMatch: `"e2"`}, 1000, strong, failed("If-Match")},
		{"If-Match 412 before an unsatisfiable Range", ServeRequest{Range: "bytes=5000-", IfMatch: `"e2"`}, 1000, strong, failed("If-Match")},
		{"If-Match 412 on HEAD", ServeRequest{Method: "HEAD", IfMatch: `"e2"`}, 1000, strong, failed("If-Match")},
		{"If-Match weak tag: strong comparison fails", ServeRequest{IfMatch: `W/"e1"`}, 1000, strong, failed("If-Match")},
		{"If-Match against a weak stored ETag", ServeRequest{IfMatch: `W/"e1"`}, 1000, weakTag, failed("If-Match")},
		{"If-Match without a stored ETag", ServeRequest{IfMatch: `"e1"`}, 1000, dateOnly, failed("If-Match")},
		{"If-Match * holds for a stored file", ServeRequest{IfMatch: "*"}, 1000, Validators{}, whole},
		{"If-Match * among tags, as net/http reads it", ServeRequest{IfMatch: `"e0", *`}, 1000, strong, whole},
		{"If-Match malformed", ServeRequest{IfMatch: "e1"}, 1000, strong, failed("If-Match")},
		{"If-Match read up to a malformed member", ServeRequest{IfMatch: `"e1", e2`}, 1000, strong, whole},
		{"If-Match tag with a comma inside", ServeRequest{IfMatch: `"a,b"`}, 1000, Validators{ETag: `"a,b"`}, whole},
		{"If-Match against an overlong ETag", ServeRequest{IfMatch: longETag}, 1000, long, failed("If-Match")},
		{"If-Match holds, If-Unmodified-Since ignored (§13.1.4)", ServeRequest{IfMatch: `"e1"`, IfUnmodifiedSince: lmEarlier}, 1000, strong, whole},
		{"If-Match 412 before If-None-Match", ServeRequest{IfMatch: `"e2"`, IfNoneMatch: `"e1"`}, 1000, strong, failed("If-Match")},

		{"If-Unmodified-Since the same date", ServeRequest{IfUnmodifiedSince: lm}, 1000, strong, whole},
		{"If-Unmodified-Since later", ServeRequest{IfUnmodifiedSince: dateOld}, 1000, strong, whole},
		{"If-Unmodified-Since earlier: 412", ServeRequest{IfUnmodifiedSince: lmEarlier}, 1000, strong, failed("If-Unmodified-Since")},
		{"If-Unmodified-Since earlier with Range: 412", ServeRequest{Range: "bytes=0-9", IfUnmodifiedSince: lmEarlier}, 1000, strong, failed("If-Unmodified-Since")},
		{"If-Unmodified-Since in rfc850 form", ServeRequest{IfUnmodifiedSince: "Monday, 02-Nov-26 09:59:59 GMT"}, 1000, strong, failed("If-Unmodified-Since")},
		{"If-Unmodified-Since not a date: ignored", ServeRequest{IfUnmodifiedSince: "yesterday"}, 1000, strong, whole},
		{"If-Unmodified-Since list of dates: ignored", ServeRequest{IfUnmodifiedSince: lmEarlier + ", " + lmEarlier}, 1000, strong, whole},
		{"If-Unmodified-Since without Last-Modified: ignored", ServeRequest{IfUnmodifiedSince: lmEarlier}, 1000, Validators{ETag: `"e1"`}, whole},
		{"If-Unmodified-Since against a weak Last-Modified still compares", ServeRequest{IfUnmodifiedSince: lmEarlier}, 1000, weakTag, failed("If-Unmodified-Since")},

		{"If-None-Match other", ServeRequest{IfNoneMatch: `"e2"`}, 1000, strong, whole},
		{"If-None-Match matches: 304", ServeRequest{IfNoneMatch: `"e1"`}, 1000, strong, notModified("If-None-Match")},
		{"If-None-Match 304 on HEAD", ServeRequest{Method: "HEAD", IfNoneMatch: `"e1"`}, 1000, strong, notModified("If-None-Match")},
		{"If-None-Match 304 before Range", ServeRequest{Range: "bytes=0-9", IfNoneMatch: `"e1"`}, 1000, strong, notModified("If-None-Match")},
		{"If-None-Match 304 before an unsatisfiable Range", ServeRequest{Range: "bytes=5000-", IfNoneMatch: `"e1"`}, 1000, strong, notModified("If-None-Match")},
		{"If-None-Match weak comparison: W/ matches", ServeRequest{IfNoneMatch: `W/"e1"`}, 1000, strong, notModified("If-None-Match")},
		{"If-None-Match against a weak stored ETag", ServeRequest{IfNoneMatch: `"e1"`}, 1000, weakTag, notModified("If-None-Match")},
		{"If-None-Match in a list", ServeRequest{IfNoneMatch: `"e0", W/"e1"`}, 1000, strong, notModified("If-None-Match")},
		{"If-None-Match *", ServeRequest{IfNoneMatch: "*"}, 1000, Validators{}, notModified("If-None-Match")},
		{"If-None-Match without a stored ETag", ServeRequest{IfNoneMatch: `"e1"`}, 1000, dateOnly, whole},
		{"If-None-Match malformed", ServeRequest{IfNoneMatch: "e1"}, 1000, strong, whole},
		{"If-None-Match holds: Range served", ServeRequest{Range: "bytes=0-9", IfNoneMatch: `"e2"`}, 1000, strong, part(0, 9)},
		{"If-None-Match holds, If-Modified-Since ignored (§13.1.3)", ServeRequest{IfNoneMatch: `"e2"`, IfModifiedSince: lm}, 1000, strong, whole},
		{"If-None-Match 304 even when If-Range fails", ServeRequest{Range: "bytes=0-9", IfRange: `"e2"`, IfNoneMatch: `"e1"`}, 1000, strong, notModified("If-None-Match")},

		{"If-Modified-Since the same date: 304", ServeRequest{IfModifiedSince: lm}, 1000, strong, notModified("If-Modified-Since")},
		{"If-Modified-Since later: 304", ServeRequest{IfModifiedSince: dateOld}, 1000, strong, notModified("If-Modified-Since")},
		{"If-Modified-Since earlier", ServeRequest{IfModifiedSince: lmEarlier}, 1000, strong, whole},
		{"If-Modified-Since earlier, Range served", ServeRequest{Range: "bytes=0-9", IfModifiedSince: lmEarlier}, 1000, strong, part(0, 9)},
		{"If-Modified-Since on HEAD: 304", ServeRequest{Method: "HEAD", IfModifiedSince: lm}, 1000, strong, notModified("If-Modified-Since")},
		{"If-Modified-Since in asctime form", ServeRequest{IfModifiedSince: "Mon Nov  2 10:00:00 2026"}, 1000, strong, notModified("If-Modified-Since")},
		{"If-Modified-Since not a date: ignored", ServeRequest{IfModifiedSince: "yesterday"}, 1000, strong, whole},
		{"If-Modified-Since without Last-Modified: ignored", ServeRequest{IfModifiedSince: lm}, 1000, Validators{ETag: `"e1"`}, whole},
		{"If-Modified-Since against an unreadable Last-Modified: ignored", ServeRequest{IfModifiedSince: lm}, 1000, Validators{LastModified: "yesterday"}, whole},

		{"412 before 304", ServeRequest{IfUnmodifiedSince: lmEarlier, IfModifiedSince: lm}, 1000, strong, failed("If-Unmodified-Since")},
		{"a precondition on POST: 405 first (§13.2.1)", ServeRequest{Method: "POST", IfMatch: `"e2"`}, 1000, strong, Served{Status: 405, Allow: "GET, HEAD"}},
		{"If-None-Match on an empty file", ServeRequest{IfNoneMatch: `"e1"`}, 0, strong, notModified("If-None-Match")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ServeRange(tt.req, tt.size, tt.v); got != tt.want {
				t.Fatalf("ServeRange(%+v, %d) = %+v, want %+v", tt.req, tt.size, got, tt.want)
			}
		})
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestServeRangeAnswersRangeHeader checks that what the engine sends
// (Request.RangeHeader) is answered with exactly the bytes it asks for,
// and that the 206 is one Decide appends.
func TestServeRangeAnswersRangeHeader(t *testing.T) {
	const size = 1000
	for _, req := range []Request{
		ProbeRequest(), {Start: 0, End: 1}, {Start: 0, End: size}, {Start: 400, End: UnknownSize},
		{Start: 999, End: UnknownSize}, {Start: 500, End: 600}, {Start: 900, End: 2000},
	} {
		req.IfRange = `"e1"`
		v := Validators{ETag: `"e1"`}
		got := ServeRange(ServeRequest{Range: req.RangeHeader(), IfRange: req.IfRange}, size, v)
		end := int64(size)
		if req.End != UnknownSize {
			end = min(req.End, size)
		}
		if got.Status != 206 || got.Start != req.Start || got.Start+got.Length != end {
			t.Errorf("%q: %+v, want bytes [%d, %d)", req.RangeHeader(), got, req.Start, end)
			continue
		}
		st := Stored{Mode: ModeRanged, Validators: v, Total: size, Bytes: req.Start}
		d := Decide(req, st, Response{Status: got.Status, ContentRange: got.ContentRange, ContentLength: itoa(got.Length), Validators: v}, now)
		if d.Action != Append || d.Body.Start != got.Start || d.Body.Length != got.Length {
			t.Errorf("%q: Decide on our own answer %+v: %+v", req.RangeHeader(), got, d)
		}
	}
}

// TestServeRangeAgreesWithNetHTTP compares ServeRange with net/http's
// ServeContent where RFC 9110 leaves no choice: GET of a non-empty file with
// one well-formed range of numbers that fit, and If-Range by entity-tag.
func TestServeRangeAgreesWithNetHTTP(t *testing.T) {
	ranges := []string{"bytes=0-0", "bytes=0-499", "bytes=500-", "bytes=-100", "bytes=-5000", "bytes=10-5000",
		"bytes=999-", "bytes=999-999", "bytes=1000-", "bytes=1000-1000", "bytes=2000-3000", "bytes=0-9223372036854775807"}
	for _, size := range []int64{1, 999, 1000, 1001} {
		for _, rng := range ranges {
			for _, ifRange := range []string{"", `"e1"`, `"e2"`, `W/"e1"`} {
				rec := httptest.NewRecorder()
				r := httptest.NewRequest("GET", "/f", nil)
				r.Header.Set("Range", rng)
				if ifRange != "" {
					r.Header.Set("If-Range", ifRange)
				}
				rec.Header().Set("ETag", `"e1"`)
				http.ServeContent(rec, r, "f", time.Time{}, bytes.NewReader(make([]byte, size)))
				got := ServeRange(ServeRequest{Method: "GET", Range: rng, IfRange: ifRange}, size, Validators{ETag: `"e1"`})
				// net/http's 416 carries an error text; ServeRange leaves the body to the caller.
				if got.Status != rec.Code || got.ContentRange != rec.Header().Get("Content-Range") || (got.Body && got.Length != int64(rec.Body.Len())) {
					t.Errorf("size %d, Range %q, If-Range %q: ServeRange %+v; net/http %d, Content-Range %q, %d bytes",
						size, rng, ifRange, got, rec.Code, rec.Header().Get("Content-Range"), rec.Body.Len())
				}
			}
		}
	}
}

// TestServeRangePreconditionsAgreeWithNetHTTP compares ServeRange with
// net/http's ServeContent on If-Match, If-Unmodified-Since, If-None-Match
// and If-Modified-Since, alone and together, with and without a Range,
// for stored files with and without each validator: every value here is
// well formed, where RFC 9110 §13.1 and §13.2.2 leave no choice. HEAD is
// asked without Range only: net/http answers a HEAD with Range by a 206,
// which §14.2 rules out (range handling is defined for GET only).
func TestServeRangePreconditionsAgreeWithNetHTTP(t *testing.T) {
	const size = 1000
	modtime, err := ParseHTTPDate(lm)
	if err != nil {
		t.Fatal(err)
	}
	stored := []struct {
		etag string
		lm   bool
	}{{`"e1"`, true}, {`"e1"`, false}, {`W/"e1"`, true}, {"", true}, {"", false}}
	tags := []string{"", `"e1"`, `"e2"`, `W/"e1"`, "*", `"e2", "e1"`, `"e2", W/"e2"`}
	dates := []string{"", lmEarlier, lm, dateOld, "Monday, 02-Nov-26 10:00:00 GMT"}
	type conds struct{ ifMatch, ifUnmodified, ifNoneMatch, ifModified string }
	var all []conds
	for _, im := range tags {
		for _, ius := range dates {
			for _, inm := range tags {
				for _, ims := range dates {
					all = append(all, conds{im, ius, inm, ims})
				}
			}
		}
	}
	n := 0
	for _, st := range stored {
		for _, method := range []string{"GET", "HEAD"} {
			for _, rng := range []string{"", "bytes=10-19", "bytes=2000-"} {
				if method == "HEAD" && rng != "" {
					continue
				}
				for _, c := range all {
					rec := httptest.NewRecorder()
					r := httptest.NewRequest(method, "/f", nil)
					for k, v := range map[string]string{"Range": rng, "If-Match": c.ifMatch, "If-Unmodified-Since": c.ifUnmodified,
						"If-None-Match": c.ifNoneMatch, "If-Modified-Since": c.ifModified} {
						if v != "" {
							r.Header.Set(k, v)
						}
					}
					if st.etag != "" {
						rec.Header().Set("ETag", st.etag)
					}
					mt, v := time.Time{}, Validators{ETag: st.etag, Date: dateOld}
					if st.lm {
						mt, v.LastModified = modtime, lm
					}
					http.ServeContent(rec, r, "f", mt, bytes.NewReader(make([]byte, size)))
					got := ServeRange(ServeRequest{Method: method, Range: rng, IfMatch: c.ifMatch, IfUnmodifiedSince: c.ifUnmodified,
						IfNoneMatch: c.ifNoneMatch, IfModifiedSince: c.ifModified}, size, v)
					n++
					if got.Status != rec.Code || got.ContentRange != rec.Header().Get("Content-Range") ||
						(got.Body && got.Length != int64(rec.Body.Len())) || (!got.Body && got.Status != 416 && rec.Body.Len() != 0) {
						t.Errorf("stored %+v, %s Range %q, %+v: ServeRange %+v; net/http %d, Content-Range %q, %d bytes",
							st, method, rng, c, got, rec.Code, rec.Header().Get("Content-Range"), rec.Body.Len())
					}
				}
			}
		}
	}
	t.Logf("%d requests compared", n)
}

func TestCmpDecimal(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"0", "0", 0}, {"00", "0", 0}, {"1", "2", -1}, {"10", "9", 1}, {"0010", "9", 1},
		{huge, huge, 0}, {huge, huge + "0", -1}, {"99999999999999999998", huge, -1}, {"5", huge, -1},
	}
	for _, tt := range tests {
		if got := cmpDecimal(tt.a, tt.b); got != tt.want {
			t.Errorf("cmpDecimal(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}
