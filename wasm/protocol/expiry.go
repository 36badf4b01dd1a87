package protocol

import (
	"strconv"
	"strings"
	"time"
)

// ExpiryMargin is how long before a signed link's stated expiry a
// download asks for a fresh one (LinkExpiry), rather than send a request
// that may be refused: clocks differ, and a request takes time to arrive.
const ExpiryMargin = 30 * time.Second

// LinkExpiry returns when a signed link expires, where its query says so:
//   - AWS Signature Version 4 (S3, and CloudFront in front of it):
//     X-Amz-Date (20261207T101500Z) plus X-Amz-Expires seconds; Google
//     Cloud Storage's V4: X-Goog-Date plus X-Goog-Expires;
//   - CloudFront's canned policy and Google Cloud CDN: Expires, seconds
//     since the epoch, beside the link's Signature;
//   - Azure's shared access signatures: se, an RFC 3339 time (seconds
//     optional), beside sig.
//
// ok is false when the query states none of these, or nonsense: a time
// before 1990 is no expiry (?expires=3600 is a lifetime, not a date).
func LinkExpiry(url string) (at time.Time, ok bool) {
	at, ok = linkExpiry(queryOf(url))
	if ok && at.Before(time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC)) {
		return time.Time{}, false
	}
	return at, ok
}

func linkExpiry(q map[string]string) (time.Time, bool) {
	for _, p := range [...]string{"X-Amz-", "X-Goog-"} {
		date, expires := q[strings.ToLower(p+"Date")], q[strings.ToLower(p+"Expires")]
		if date == "" || expires == "" {
			continue
		}
		t, err := time.Parse("20060102T150405Z", date)
		n, nerr := strconv.ParseInt(expires, 10, 64)
		if err != nil || nerr != nil || n < 0 || n > 10*365*24*3600 {
			return time.Time{}, false
		}
		return t.Add(time.Duration(n) * time.Second), true
	}
	if s := q["expires"]; s != "" && q["signature"] != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n <= 0 || n > 1<<40 {
			return time.Time{}, false
		}
		return time.Unix(n, 0).UTC(), true
	}
	if s := q["se"]; s != "" && q["sig"] != "" {
		for _, layout := range [...]string{time.RFC3339, "2006-01-02T15:04Z07:00", "2006-01-02"} {
			if t, err := time.Parse(layout, s); err == nil {
				return t.UTC(), true
			}
		}
		return time.Time{}, false
	}
	return time.Time{}, false
}

// queryOf returns the parameters of url's query, their names lowered, the
// values percent-decoded; of a repeated name, the first. (Not net/url:
// the wasm module is smaller without it.)
func queryOf(url string) map[string]string {
	out := map[string]string{}
	if j := strings.IndexByte(url, '#'); j >= 0 {
		url = url[:j]
	}
	i := strings.IndexByte(url, '?')
	if i < 0 {
		return out
	}
	q := url[i+1:]
	for _, kv := range strings.Split(q, "&") {
		k, v, _ := strings.Cut(kv, "=")
		k = strings.ToLower(unescape(k))
		if _, seen := out[k]; !seen && k != "" {
			out[k] = unescape(v)
		}
	}
	return out
}

// unescape decodes %XX and "+" of a query value; a broken escape stays.
func unescape(s string) string {
	if !strings.ContainsAny(s, "%+") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '+':
			b.WriteByte(' ')
		case c == '%' && i+2 < len(s):
			if n, err := strconv.ParseUint(s[i+1:i+3], 16, 8); err == nil {
				b.WriteByte(byte(n))
				i += 2
				continue
			}
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
