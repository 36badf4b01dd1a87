package protocol

import (
	"bytes"
	"errors"
	"strconv"
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
// has not proven to be the ones asked for, of the stored version; and an
// append is never empty and never ends past what was asked.
func FuzzDecide(f *testing.F) {
	f.Add(int64(400), int64(1000), `"e1"`, uint8(1), `"e1"`, lm, dateOld, int64(1000), int64(400), "", "",
		206, "bytes 400-999/1000", "600", "", "", `"e1"`, "", "", "", false, "", false)
	f.Add(int64(0), int64(-1), "", uint8(0), "", "", "", int64(-1), int64(0), "", "",
		206, "bytes 0-999/1000", "1000", "", "", `"e1"`, lm, dateOld, "", false, "", false)
	f.Add(int64(0), ProbeSize, "", uint8(0), "", "", "", int64(-1), int64(0), "", "",
		206, "bytes 0-9223372036854775807/*", "", "", "", `"e1"`, "", "", "", false, "", false)
	f.Add(int64(400), int64(1000), `"e1"`, uint8(1), `"e1"`, lm, dateOld, int64(1000), int64(400), "https://a/f", "application/octet-stream",
		200, "", "1000", "", "text/html", `"e2"`, "", "", "https://a/login", true, "https://a/f", false)
	f.Add(int64(400), int64(1000), `"e1"`, uint8(1), `"e1"`, "", "", int64(1000), int64(400), "https://a/f", "",
		206, "bytes 400-999/1000", "", "", "", "", "", "", "https://b/f", false, "https://a/f", true)
	f.Add(int64(1000), int64(-1), `"e1"`, uint8(1), `"e1"`, "", "", int64(1000), int64(1000), "", "",
		416, "bytes */1000", "", "", "", "", "", "", "", false, "", false)
	f.Add(int64(400), int64(1000), `"e1"`, uint8(1), `"e1"`, "", "", int64(1000), int64(400), "", "",
		200, "", "1000", "", "", `"e1"`, "", "", "", false, "", false)
	f.Add(int64(0), ProbeSize, "", uint8(0), "", "", "", int64(-1), int64(0), "", "",
		200, "", "26", "", "text/html", "", "", "", "https://a/_login", false, "https://a/f.bin", false)
	f.Fuzz(func(t *testing.T, start, end int64, ifRange string, mode uint8, stETag, stLM, stDate string, stTotal, stBytes int64,
		stURL, stType string, status int, cRange, cLen, cEnc, cType, etag, lastMod, date, url string, cross bool, reqURL string, aimed bool) {
		if start < 0 || (end != UnknownSize && end <= start) || stTotal < UnknownSize || stBytes < 0 {
			return // the engine never sends such requests
		}
		modes := [...]Mode{ModeNew, ModeRanged, ModeRangedPlain, ModeSingle}
		req := Request{Start: start, End: end, IfRange: ifRange, URL: reqURL, Aimed: aimed}
		st := Stored{Mode: modes[int(mode)%len(modes)], Validators: Validators{stETag, stLM, stDate}, Total: stTotal, Bytes: stBytes,
			URL: stURL, ContentType: stType, App: App{FirstAnswer: mode&4 != 0, CanRefresh: mode&8 != 0},
			Refreshes: int(mode>>4) % (MaxRefreshes + 1)}
		established := st.Established()
		resp := Response{Status: status, ContentRange: cRange, ContentLength: cLen, ContentEncoding: cEnc, ContentType: cType,
			Validators: Validators{etag, lastMod, date}, URL: url, CrossOrigin: cross}
		d := Decide(req, st, resp, now)
		for _, v := range []string{d.Validators.ETag, d.Validators.LastModified, d.Validators.Date} {
			if len(v) > MaxValidatorLen {
				t.Fatalf("decision keeps a validator of %d bytes", len(v))
			}
		}
		if !d.Mode.Valid() {
			t.Fatalf("decision leads to mode %q", d.Mode)
		}
		b := d.Body
		if b.Keep && (d.Action == Append || d.Action == Adopt) {
			if unexpectedHTML(req, st, resp) != nil {
				t.Fatalf("keeps %q for a download of %q (asked %q, from %q)", cType, stType, reqURL, url)
			}
			if b.Length == 0 && d.Total != 0 {
				t.Fatalf("keeps an empty body of a file of %d bytes: %+v", d.Total, d)
			}
			if b.Skip < 0 || b.Start < 0 || b.Length < UnknownSize {
				t.Fatalf("body %+v", b)
			}
		} else if b != (Body{}) {
			t.Fatalf("%v with a body %+v", d.Action, b)
		}
		if d.Action == Hand {
			// Only an app that asked for it gets an answer handed over, and
			// only while nothing is stored: never a success, never a 416.
			if !st.App.FirstAnswer || established || st.Bytes > 0 || (status >= 200 && status <= 299 && status != 204 && status != 205) || status == 416 {
				t.Fatalf("hands over a %d for %+v", status, st)
			}
		}
		// A fresh link is asked for exactly when the app can give one, the
		// status says the link no longer gives access, and not too often.
		if wantRefresh := st.App.CanRefresh && refreshStatus(status) && st.Refreshes < MaxRefreshes; (d.Action == Refresh) != wantRefresh {
			t.Fatalf("%v for a %d with %+v", d.Action, status, st)
		}
		switch d.Action {
		case Append:
			if !b.Keep {
				if established || d.Mode != ModeSingle {
					t.Fatalf("append of nothing: %+v", d)
				}
				break
			}
			if b.Length < 1 {
				t.Fatalf("empty append: %+v", d)
			}
			if b.Start != start || (end != UnknownSize && b.Start+b.Length > end) {
				t.Fatalf("append of %d+%d for a request of [%d, %d)", b.Start, b.Length, start, end)
			}
			if established && otherResource(st, resp) {
				t.Fatalf("append from %q to a download from %q without a digest", url, stURL)
			}
			if status == 200 {
				// Only the same version, proven, skipping to the range asked.
				if !established || !st.Mode.Ranged() || !provesSameVersion(st.Validators, resp.Validators) ||
					ParseContentLength(cLen) != stTotal || encoded(resp) || cross || b.Skip != start {
					t.Fatalf("append of a 200: %+v", d)
				}
				break
			}
			cr, err := ParseContentRange(cRange)
			if status != 206 || err != nil || cr.Unsatisfied() {
				t.Fatalf("append without a valid 206: %+v", d)
			}
			if cr.First != start || b.Length != cr.Len() || b.Skip != 0 {
				t.Fatalf("append at %d len %d for request from %d, Content-Range %q", b.Start, b.Length, start, cRange)
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
			if cross && cEnc == "" && !b.Exact {
				t.Fatalf("append of a cross-origin 206 whose coding may be hidden, not exact")
			}
			if d.Total == UnknownSize && d.Mode.Ranged() {
				t.Fatalf("ranged append of unknown length: no range plan could end")
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
				if cr, err := ParseContentRange(cRange); err != nil || cr.First != 0 || (b.Keep && b.Length != cr.Len()) {
					t.Fatalf("adopt of a 206 not from 0: %q", cRange)
				}
			} else if status != 200 {
				t.Fatalf("adopt of status %d", status)
			}
			if b.Start != 0 || b.Skip != 0 {
				t.Fatalf("adopt not at 0")
			}
			if (established || stBytes > 0) != d.NewGen {
				t.Fatalf("adopt over stored bytes without a new generation: %+v", d)
			}
		case Finish:
			if status != 416 {
				t.Fatalf("finish on status %d", status)
			}
			if established && (start < d.Total || (stTotal != UnknownSize && d.Total != stTotal)) {
				t.Fatalf("finish with bytes missing: start %d, total %d, stored total %d", start, d.Total, stTotal)
			}
		case Fail, Retry, Reject:
			if d.Err == nil {
				t.Fatalf("%v without error", d.Action)
			}
			if d.RetryAfter < 0 || d.RetryAfter > MaxRetryDelay {
				t.Fatalf("retry after %v", d.RetryAfter)
			}
			if d.NewGen {
				t.Fatalf("%v discards stored bytes", d.Action)
			}
		case Elsewhere:
			if !established || aimed || !otherResource(st, resp) {
				t.Fatalf("elsewhere: %+v", d)
			}
		}
	})
}

func FuzzParseContentLength(f *testing.F) {
	for _, s := range []string{"0", "1000", " 12 ", "", "-1", "+5", "1e3", "99999999999999999999", "9223372036854775807", "12 34"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := ParseContentLength(s)
		if n == UnknownSize {
			return
		}
		if n < 0 {
			t.Fatalf("ParseContentLength(%q) = %d", s, n)
		}
		// Only plain digits (around optional whitespace) are a length.
		digits := strings.Trim(s, " \t")
		if strings.TrimLeft(digits, "0123456789") != "" {
			t.Fatalf("ParseContentLength(%q) = %d from non-digits", s, n)
		}
		if strings.TrimLeft(digits, "0") != strings.TrimLeft(strconv.FormatInt(n, 10), "0") {
			t.Fatalf("ParseContentLength(%q) = %d", s, n)
		}
	})
}

// FuzzValidators checks the validator rules against each other: what
// IfRange sends is strong and short, SameVersion never sees a change
// between a response and itself, and a proof of version is a strong match.
func FuzzValidators(f *testing.F) {
	f.Add(`"e1"`, lm, dateOld, `"e1"`, lm, dateOld)
	f.Add(`W/"e1"`, lm, dateEq, `"e1"`, "", "")
	f.Add("e1", "yesterday", "", "e1", "yesterday", "")
	f.Add(`"`+strings.Repeat("a", MaxValidatorLen)+`"`, "", "", "", lm, date2)
	f.Fuzz(func(t *testing.T, etag, lastMod, date, etag2, lastMod2, date2 string) {
		a := Validators{etag, lastMod, date}
		b := Validators{etag2, lastMod2, date2}
		send, reason := a.IfRange()
		if send != "" && !reason.None() {
			t.Fatalf("IfRange() = %q with reason %+v", send, reason)
		}
		if send == "" && reason.None() && (a.ETag == "" || !a.strongLastModified()) {
			t.Fatalf("resumable without If-Range, yet without an entity tag and a strong date: %+v", a)
		}
		if send == a.LastModified && send != "" && a.ETag != "" {
			t.Fatalf("If-Range sends a date while an entity tag is held: %+v", a)
		}
		if send != "" {
			if len(send) > MaxValidatorLen {
				t.Fatalf("If-Range of %d bytes", len(send))
			}
			tag, err := ParseETag(send)
			if err == nil && tag.Weak {
				t.Fatalf("weak If-Range %q", send)
			}
			if err != nil && (send != lastMod || !a.strongLastModified()) {
				t.Fatalf("If-Range %q is neither a strong tag nor a strong date", send)
			}
		}
		if ok, _ := a.Resumable(); ok != reason.None() {
			t.Fatalf("Resumable disagrees with IfRange")
		}
		if !a.SameVersion(a) {
			t.Fatalf("%+v is not the same version as itself", a)
		}
		if provesSameVersion(a, a) != reason.None() {
			t.Fatalf("provesSameVersion(v, v) = %v with If-Range %q, reason %+v", provesSameVersion(a, a), send, reason)
		}
		if provesSameVersion(a, b) {
			et, strong := a.strongETag()
			bt, err := ParseETag(b.ETag)
			if !(strong && err == nil && StrongMatch(et, bt)) && !(a.strongLastModified() && sameDate(a.LastModified, b.LastModified)) {
				t.Fatalf("provesSameVersion(%+v, %+v) without a strong match", a, b)
			}
		}
		for _, v := range []string{a.Bounded().ETag, a.Bounded().LastModified, a.Bounded().Date} {
			if len(v) > MaxValidatorLen {
				t.Fatalf("Bounded kept %d bytes", len(v))
			}
		}
	})
}

// FuzzRetryDelay checks that no setting, however large or odd, makes a
// delay of 0 (a request storm) or one past MaxRetryDelay.
func FuzzRetryDelay(f *testing.F) {
	f.Add(int64(0), int64(0), 0, 0.0, 1, int64(0), 0.5)
	f.Add(int64(1), int64(1<<62), 1<<30, 1.0, 1<<30, int64(1<<62), 0.99999)
	f.Add(int64(-5), int64(-5), -3, -2.0, 0, int64(-1), -1.0)
	f.Fuzz(func(t *testing.T, base, maxD int64, attempts int, jitter float64, attempt int, asked int64, rnd float64) {
		p := RetryPolicy{Base: time.Duration(base), Max: time.Duration(maxD), Attempts: attempts, Jitter: jitter}
		d := p.Delay(attempt, time.Duration(asked), rnd)
		if d < MinRetryDelay || d > MaxRetryDelay {
			t.Fatalf("%+v.Delay(%d, %v, %v) = %v", p, attempt, time.Duration(asked), rnd, d)
		}
		if attempt > 0 && p.GiveUp(attempt) && !p.GiveUp(attempt+1) && attempt+1 > attempt {
			t.Fatalf("GiveUp(%d) but not GiveUp(%d)", attempt, attempt+1)
		}
	})
}

// FuzzStateNext checks the state machine: an event leads somewhere only if
// the table allows it, never out of a terminal state but to canceled, and
// never to an unknown state.
func FuzzStateNext(f *testing.F) {
	for _, s := range []string{"idle", "running", "paused", "done", "failed", "canceled", "locked-elsewhere", "zombie", ""} {
		for _, e := range []string{"start", "pause", "resume", "finish", "fail", "cancel", "wait", "x"} {
			f.Add(s, e)
		}
	}
	f.Fuzz(func(t *testing.T, state, event string) {
		from, ev := State(state), Event(event)
		to, err := from.Next(ev)
		if err != nil {
			if to != from || !errors.Is(err, ErrTransition) {
				t.Fatalf("%s --%s--> %s, %v", from, ev, to, err)
			}
			return
		}
		if !from.Valid() || !to.Valid() {
			t.Fatalf("%s --%s--> %s involves an unknown state", from, ev, to)
		}
		if from.Terminal() && to != Canceled {
			t.Fatalf("left terminal %s for %s", from, to)
		}
		if (ev == EvCancel) != (to == Canceled) {
			t.Fatalf("%s --%s--> %s", from, ev, to)
		}
	})
}

// FuzzNextSpan checks range planning: a planned span is not empty, inside
// the file, inside one cell of the grid, and asks for no byte that is
// stored or busy; nothing is planned only when nothing is left.
func FuzzNextSpan(f *testing.F) {
	f.Add(int64(1000), int64(100), int64(0), int64(64), int64(64), int64(200), int64(500), int64(600))
	f.Add(int64(1<<40), int64(8<<20), int64(0), int64(1<<40), int64(0), int64(0), int64(0), int64(0))
	f.Fuzz(func(t *testing.T, total, chunk, s1, e1, s2, e2, b1, b2 int64) {
		if total < 0 || total > 1<<50 || chunk < 1 {
			return
		}
		var stored Extents
		stored.Add(s1, e1)
		stored.Add(s2, e2)
		busy := []Span{{b1, b2}}
		if b2 <= b1 {
			busy = nil
		}
		s, ok := NextSpan(&stored, busy, total, chunk)
		left := Subtract(stored.Missing(total), busy)
		if !ok {
			if len(left) != 0 {
				t.Fatalf("nothing planned with %v left", left)
			}
			return
		}
		if s.Len() < 1 || s.Start < 0 || s.End > total {
			t.Fatalf("span %v of a file of %d", s, total)
		}
		if s.End > CellEnd(s.Start, chunk) {
			t.Fatalf("span %v crosses a cell of the grid of %d", s, chunk)
		}
		if len(Subtract([]Span{s}, append(stored.Spans(), busy...))) != 1 || Subtract([]Span{s}, append(stored.Spans(), busy...))[0] != s {
			t.Fatalf("span %v overlaps stored %v or busy %v", s, stored.Spans(), busy)
		}
	})
}

// FuzzParseIntegrity checks that whatever an application passes as
// integrity, a Digest comes back only of a supported algorithm and its
// length, it prints back to itself, and the zero Digest without error only
// for a string that asks for nothing.
func FuzzParseIntegrity(f *testing.F) {
	for _, s := range []string{"", " ", "sha256-" + b64A256, "sha512-" + b64A512 + "?x sha256-" + b64A256,
		"sha384-" + strings.TrimRight(b64A384, "="), "sha512-" + b64A512 + " sha512-" + b64B512, "md5-x", "sha256-", "sha256-" + setPadBit(b64A256),
		"sha256-ab-cd", "sha256-" + b64A256 + "\u00a0", "\fsha384-" + b64A384 + "\r\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseIntegrity(s)
		if err != nil {
			if !errors.Is(err, ErrBadIntegrity) || !d.Empty() {
				t.Fatalf("ParseIntegrity(%q) = %v, %v", s, d, err)
			}
			return
		}
		if d.Empty() {
			if len(splitASCIIWhitespace(s)) != 0 {
				t.Fatalf("ParseIntegrity(%q) asks for nothing", s)
			}
			return
		}
		i, ok := lookupAlg(d.Alg)
		if !ok || len(d.Sum) != algorithms[i].size {
			t.Fatalf("ParseIntegrity(%q) = %v", s, d)
		}
		if !strings.Contains(s, algorithms[i].sri+"-") {
			t.Fatalf("ParseIntegrity(%q) = %v from nowhere", s, d)
		}
		again, err := ParseIntegrity(d.String())
		if err != nil || !again.Equal(d) {
			t.Fatalf("%q -> %v -> %v, %v", s, d, again, err)
		}
	})
}

// FuzzParseDigestField checks that a server's digest field never crashes
// the parser, gives only a usable digest, and that the parser is the
// RFC 8941 one: a digest survives another member appended, and prints as an
// integrity string that names the same digest.
func FuzzParseDigestField(f *testing.F) {
	for _, s := range []string{"sha-256=:" + b64A256 + ":", "sha-512=:" + b64A512 + ":;p=1, sha-256=:" + b64A256 + ":",
		`a=(1 2.5 "x" tok :AA==: ?1);q=2, sha-256=:` + b64A256 + `:`, "sha-256", "md5=:AA==:", "sha-256=:" + b64A256,
		"sha-256=:ab=c:", "a=1.", "a=-", `a="\`, "a=(", "*=?0", ",", "sha-256=:" + b64A256 + ":,"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, ok := ParseDigestField(s)
		if !ok {
			if !d.Empty() {
				t.Fatalf("ParseDigestField(%q) = %v, false", s, d)
			}
			return
		}
		if len(s) > MaxDigestFieldLen {
			t.Fatalf("a field of %d bytes was read", len(s))
		}
		if !((d.Alg == AlgSHA256 && len(d.Sum) == 32) || (d.Alg == AlgSHA512 && len(d.Sum) == 64)) {
			t.Fatalf("ParseDigestField(%q) = %v", s, d)
		}
		if more := s + ", other=1"; len(more) <= MaxDigestFieldLen {
			if d2, ok := ParseDigestField(more); !ok || !d2.Equal(d) {
				t.Fatalf("ParseDigestField(%q) = %v, %v; without the last member %v", more, d2, ok, d)
			}
		}
		if back, err := ParseIntegrity(d.String()); err != nil || !back.Equal(d) {
			t.Fatalf("%q -> %v -> %v, %v", s, d, back, err)
		}
		if back, ok := ParseDigestField(d.Field()); !ok || !back.Equal(d) {
			t.Fatalf("%q -> %q -> %v, %v", s, d.Field(), back, ok)
		}
	})
}

// FuzzHashResume checks that a hash saved after any prefix and restored
// hashes the rest to the hash of the whole.
func FuzzHashResume(f *testing.F) {
	f.Add([]byte("hello, world"), uint(5), uint8(0))
	f.Add(bytes.Repeat([]byte{0xff}, 300), uint(128), uint8(2))
	f.Fuzz(func(t *testing.T, data []byte, cut uint, which uint8) {
		alg := algorithms[int(which)%len(algorithms)].name
		c := int(cut % uint(len(data)+1))
		h, _ := NewHash(alg)
		h.Write(data[:c])
		state, err := MarshalHash(h)
		if err != nil {
			t.Fatal(err)
		}
		r, err := RestoreHash(alg, state)
		if err != nil {
			t.Fatal(err)
		}
		r.Write(data[c:])
		one, _ := NewHash(alg)
		one.Write(data)
		if !bytes.Equal(r.Sum(nil), one.Sum(nil)) {
			t.Fatalf("%s of %d bytes cut at %d: resumed hash differs", alg, len(data), c)
		}
	})
}

// FuzzServeRange checks that whatever a reader asks, the answer stays inside
// the file, a 206 is a non-empty range whose Content-Range says exactly
// which, a 416 carries no body and says the size, and only a GET or HEAD is
// answered with the file. Preconditions only ever turn an answer into a
// 412 or a 304 that names the field that failed, and one that holds (or
// is absent) changes nothing. The engine's own requests
// (Request.RangeHeader) are answered with the bytes they ask for.
func FuzzServeRange(f *testing.F) {
	f.Add("GET", "bytes=0-499", "", int64(1000), `"e1"`, lm, dateOld, int64(0), int64(500), "", "", "", "")
	f.Add("", "bytes=-100", `"e1"`, int64(1000), `"e1"`, "", "", int64(400), int64(-1), `"e1"`, "", "", "")
	f.Add("HEAD", "bytes=1000-", "", int64(1000), "", "", "", int64(999), int64(1000), "", "", "*", "")
	f.Add("GET", "bytes=0-1,5-6", lm, int64(1000), "", lm, dateOld, int64(0), int64(1), "", dateOld, "", lm)
	f.Add("GET", "bytes="+huge+"-", "", int64(0), "", "", "", int64(0), int64(1), "*", "", `W/"e1"`, "")
	f.Add("GET", "bytes=-"+huge, "", int64(1<<62), "", "", "", int64(1<<61), int64(-1), `"e2", "e1"`, "", "", "")
	f.Add("POST", "bytes=5-4", `W/"e1"`, int64(-3), `W/"e1"`, "", "", int64(0), int64(0), `"e2"`, "", `"e1"`, "")
	f.Add("GET", "bytes=0-9", `"e1"`, int64(1000), `"e1"`, lm, dateOld, int64(0), int64(10), `"e2"`, lm, `"e1"`, lm)
	f.Add("head", "", "", int64(1000), `W/"a,b"`, "yesterday", "", int64(0), int64(10), `W/"a,b"`, "yesterday", `"a,b", *`, "Mon Nov  2 10:00:00 2026")
	f.Add("GET", "bytes=0-", "", int64(5), `"x"`, lm, lm, int64(0), int64(10), ` ,, "x" ,`, "Monday, 02-Nov-26 09:59:59 GMT", `"y", x`, dateOld+", "+lm)
	f.Fuzz(func(t *testing.T, method, rng, ifRange string, size int64, etag, lastMod, date string, start, end int64,
		ifMatch, ifUnmodified, ifNoneMatch, ifModified string) {
		v := Validators{ETag: etag, LastModified: lastMod, Date: date}
		req := ServeRequest{Method: method, Range: rng, IfRange: ifRange,
			IfMatch: ifMatch, IfUnmodifiedSince: ifUnmodified, IfNoneMatch: ifNoneMatch, IfModifiedSince: ifModified}
		s := ServeRange(req, size, v)
		total := max(size, 0)
		if s.Start < 0 || s.Length < 0 || s.Start > total || s.Length > total-s.Start {
			t.Fatalf("%+v outside a file of %d bytes", s, total)
		}
		isGet := method == "" || strings.EqualFold(method, "GET")
		isHead := strings.EqualFold(method, "HEAD")
		if (s.Status == 405) != !(isGet || isHead) || (s.Status == 405) != (s.Allow != "") {
			t.Fatalf("method %q answered %+v", method, s)
		}
		if s.Body && (!isGet || (s.Status != 200 && s.Status != 206)) {
			t.Fatalf("method %q answered %+v with a body", method, s)
		}
		if (s.Status == 304 || s.Status == 412) != (s.Precondition != "") {
			t.Fatalf("precondition %q named on %+v", s.Precondition, s)
		}
		// Without its preconditions, the same request is answered as the
		// same or, when one of them failed, as it would be anyway.
		plain := req
		plain.IfMatch, plain.IfUnmodifiedSince, plain.IfNoneMatch, plain.IfModifiedSince = "", "", "", ""
		if p := ServeRange(plain, size, v); s.Precondition == "" && s != p {
			t.Fatalf("preconditions that all hold changed %+v into %+v", p, s)
		}
		switch s.Status {
		case 200:
			if s.Start != 0 || s.Length != total || s.ContentRange != "" || s.Body != isGet {
				t.Fatalf("bad 200: %+v", s)
			}
		case 206:
			cr, err := ParseContentRange(s.ContentRange)
			if !isGet || s.Length < 1 || !s.Body || err != nil || cr.Unsatisfied() ||
				cr.First != s.Start || cr.Len() != s.Length || cr.Total != total {
				t.Fatalf("bad 206 for %q: %+v (%+v, %v)", rng, s, cr, err)
			}
			if ifRange != "" && !ifRangeHolds(ifRange, v) {
				t.Fatalf("206 although If-Range %q does not hold for %+v", ifRange, v)
			}
		case 416:
			cr, err := ParseContentRange(s.ContentRange)
			if !isGet || s.Body || s.Length != 0 || err != nil || !cr.Unsatisfied() || cr.Total != total {
				t.Fatalf("bad 416: %+v (%+v, %v)", s, cr, err)
			}
		case 412:
			// §13.2.2 steps 1 and 2: If-Match first, If-Unmodified-Since
			// only without it.
			ok := s.Precondition == "If-Match" && ifMatch != "" && !ifMatchHolds(ifMatch, v) ||
				s.Precondition == "If-Unmodified-Since" && ifMatch == "" && ifUnmodified != ""
			if !ok || s.Body || s.Length != 0 || s.ContentRange != "" {
				t.Fatalf("bad 412: %+v", s)
			}
		case 304:
			// Steps 3 and 4, only once 1 and 2 passed.
			ok := s.Precondition == "If-None-Match" && ifNoneMatch != "" && !ifNoneMatchHolds(ifNoneMatch, v) ||
				s.Precondition == "If-Modified-Since" && ifNoneMatch == "" && ifModified != ""
			if !ok || s.Body || s.Length != 0 || s.ContentRange != "" || (ifMatch != "" && !ifMatchHolds(ifMatch, v)) {
				t.Fatalf("bad 304: %+v", s)
			}
		case 405:
			if s.Body || s.Length != 0 || s.ContentRange != "" {
				t.Fatalf("bad 405: %+v", s)
			}
		default:
			t.Fatalf("status %d", s.Status)
		}
		// An If-Match of the stored strong ETag always holds, and an
		// If-None-Match of it never does.
		if tag, ok := v.strongETag(); ok && (isGet || isHead) {
			if got := ServeRange(ServeRequest{Method: method, IfMatch: tag.String()}, size, v); got.Status != 200 {
				t.Fatalf("If-Match %s of the stored ETag: %+v", tag, got)
			}
			if got := ServeRange(ServeRequest{Method: method, IfNoneMatch: tag.String()}, size, v); got.Status != 304 {
				t.Fatalf("If-None-Match %s of the stored ETag: %+v", tag, got)
			}
		}

		// What the engine asks for, it gets, from any file that has it.
		if start < 0 || start >= total || (end != UnknownSize && end <= start) {
			return
		}
		own := Request{Start: start, End: end}
		got := ServeRange(ServeRequest{Range: own.RangeHeader()}, total, Validators{})
		want := total
		if end != UnknownSize {
			want = min(end, total)
		}
		if got.Status != 206 || got.Start != start || got.Start+got.Length != want {
			t.Fatalf("%q of %d bytes: %+v, want [%d, %d)", own.RangeHeader(), total, got, start, want)
		}
	})
}
