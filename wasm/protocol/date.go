package protocol

import (
	"errors"
	"strings"
	"time"
)

// ErrBadDate reports a header value that is not an HTTP-date.
var ErrBadDate = errors.New("malformed HTTP-date")

// The three formats a recipient must accept (RFC 9110 §5.6.7). IMF-fixdate is
// the only one a sender may generate; the other two are obsolete but still
// seen in the wild.
var httpDateLayouts = [...]string{
	"Mon, 02 Jan 2006 15:04:05 GMT",  // IMF-fixdate
	"Monday, 02-Jan-06 15:04:05 GMT", // rfc850-date
	"Mon Jan _2 15:04:05 2006",       // asctime-date
}

// ParseHTTPDate parses an HTTP-date in any of the three formats of
// RFC 9110 §5.6.7 and returns it in UTC.
func ParseHTTPDate(s string) (time.Time, error) {
	s = strings.Trim(s, " \t")
	for _, layout := range httpDateLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, ErrBadDate
}
