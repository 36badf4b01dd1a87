package protocol

import (
	"strings"
	"testing"
	"time"
)

func FuzzParseETag(f *testing.F) {
	for _, s := range []string{`"a"`, `W/"a"`, `""`, `a`, `W/`, "\"\x80\"", `"a"b"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tag, err := ParseETag(s)
		if err != nil {
			return
		}
		// A parsed tag prints back to the trimmed input and parses again.
		if tag.String() != strings.Trim(s, " \t") {
			t.Fatalf("String() = %q for input %q", tag.String(), s)
		}
		again, err := ParseETag(tag.String())
		if err != nil || again != tag {
			t.Fatalf("round trip of %q: %+v, %v", s, again, err)
		}
		if StrongMatch(tag, tag) == tag.Weak {
			t.Fatalf("a tag strongly matches itself iff it is strong: %+v", tag)
		}
	})
}

func FuzzParseHTTPDate(f *testing.F) {
	for _, s := range []string{"Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseHTTPDate(s)
		if err != nil {
			return
		}
		// Whatever parses, prints as an IMF-fixdate naming the same instant.
		again, err := ParseHTTPDate(d.Format(httpDateLayouts[0]))
		if err != nil || !again.Equal(d) {
			t.Fatalf("%q -> %v -> %v, %v", s, d, again, err)
		}
	})
}

func FuzzParseContentRange(f *testing.F) {
	for _, s := range []string{"bytes 0-499/1234", "bytes */1234", "bytes 1-2/*", "bytes 5-4/10", "bytes 0-1,3-4/10"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cr, err := ParseContentRange(s)
		if err != nil {
			return
		}
		if cr.Unsatisfied() {
			if cr.Last != -1 || cr.Total < 0 || cr.Len() != 0 {
				t.Fatalf("%q: bad unsatisfied range %+v", s, cr)
			}
			return
		}
		if cr.First < 0 || cr.Last < cr.First || cr.Len() < 1 {
			t.Fatalf("%q: invalid range accepted: %+v", s, cr)
		}
		if cr.Total != UnknownSize && cr.Last >= cr.Total {
			t.Fatalf("%q: range past total accepted: %+v", s, cr)
		}
	})
}

func FuzzParseRetryAfter(f *testing.F) {
	f.Add("120", "")
	f.Add("Fri, 02 Jan 2026 03:05:05 GMT", "Fri, 02 Jan 2026 03:04:35 GMT")
	f.Fuzz(func(t *testing.T, v, date string) {
		d := ParseRetryAfter(v, date, time.Unix(1e9, 0))
		if d < 0 || d > maxRetryAfter {
			t.Fatalf("ParseRetryAfter(%q, %q) = %v out of [0, %v]", v, date, d, maxRetryAfter)
		}
	})
}

// FuzzDecide checks the one property that matters most: whatever the
// response, Decide never tells the caller to append bytes that the response
// has not proven to be the ones asked for, of the stored version.
func FuzzDecide(f *testing.F) {
	f.Add(int64(400), int64(1000), `"e1"`, true, `"e1"`, lm, dateOld, int64(1000), int64(400),
		206, "bytes 400-999/1000", "600", "", "", `"e1"`, "", "", false)
	f.Add(int64(0), int64(-1), "", false, "", "", "", int64(-1), int64(0),
		206, "bytes 0-999/1000", "1000", "", "", `"e1"`, lm, dateOld, false)
	f.Add(int64(400), int64(1000), `"e1"`, true, `"e1"`, lm, dateOld, int64(1000), int64(400),
		200, "", "1000", "", "", `"e2"`, "", "", true)
	f.Add(int64(1000), int64(-1), `"e1"`, true, `"e1"`, "", "", int64(1000), int64(1000),
		416, "bytes */1000", "", "", "", "", "", "", false)
	f.Fuzz(func(t *testing.T, start, end int64, ifRange string, established bool, stETag, stLM, stDate string, stTotal, stBytes int64,
		status int, cRange, cLen, cEnc, cType, etag, lastMod, date string, cross bool) {
		if start < 0 || (end != UnknownSize && end <= start) || stTotal < UnknownSize || stBytes < 0 {
			return // the engine never sends such requests
		}
		req := Request{Start: start, End: end, IfRange: ifRange}
		st := Stored{Established: established, Validators: Validators{stETag, stLM, stDate}, Total: stTotal, Bytes: stBytes}
		resp := Response{Status: status, ContentRange: cRange, ContentLength: cLen, ContentEncoding: cEnc, ContentType: cType,
			Validators: Validators{etag, lastMod, date}, CrossOrigin: cross}
		d := Decide(req, st, resp, now)
		switch d.Action {
		case Append:
			cr, err := ParseContentRange(cRange)
			if status != 206 || err != nil || cr.Unsatisfied() {
				t.Fatalf("append without a valid 206: %+v", d)
			}
			if d.Start != start || cr.First != start || d.Length != cr.Len() {
				t.Fatalf("append at %d len %d for request from %d, Content-Range %q", d.Start, d.Length, start, cRange)
			}
			if end != UnknownSize && cr.Last >= end {
				t.Fatalf("append past the range asked: %q for end %d", cRange, end)
			}
			if n := ParseContentLength(cLen); n != UnknownSize && n != cr.Len() {
				t.Fatalf("append with Content-Length %q against %q", cLen, cRange)
			}
			if encoded(resp) {
				t.Fatalf("append of an encoded body")
			}
			if established {
				if !st.Validators.SameVersion(resp.Validators) {
					t.Fatalf("append across versions: stored %+v, got %+v", st.Validators, resp.Validators)
				}
				if cr.Total != UnknownSize && stTotal != UnknownSize && cr.Total != stTotal {
					t.Fatalf("append with total %d against stored %d", cr.Total, stTotal)
				}
				if start > 0 && ifRange == "" && !provesSameVersion(st.Validators, resp.Validators) {
					t.Fatalf("append without proof of version")
				}
			} else if start != 0 {
				t.Fatalf("first append not at 0")
			}
		case Adopt:
			if status == 206 {
				if cr, err := ParseContentRange(cRange); err != nil || cr.First != 0 || d.Length != cr.Len() {
					t.Fatalf("adopt of a 206 not from 0: %q", cRange)
				}
			} else if status != 200 {
				t.Fatalf("adopt of status %d", status)
			}
			if d.Start != 0 {
				t.Fatalf("adopt not at 0")
			}
		case Finish:
			if status != 416 {
				t.Fatalf("finish on status %d", status)
			}
			if established && (start < d.Total || (stTotal != UnknownSize && d.Total != stTotal)) {
				t.Fatalf("finish with bytes missing: start %d, total %d, stored total %d", start, d.Total, stTotal)
			}
		case Fail, Retry:
			if d.Err == nil {
				t.Fatalf("%v without error", d.Action)
			}
		}
	})
}
