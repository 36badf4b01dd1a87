package protocol

import (
	"errors"
	"strings"
)

// ErrBadETag reports a header value that is not an entity-tag (RFC 9110 §8.8.3).
var ErrBadETag = errors.New("malformed entity-tag")

// ETag is a parsed entity-tag.
type ETag struct {
	// Weak is true for W/"..." tags, which only claim semantic equivalence and
	// can never prove that two byte ranges belong to the same representation.
	Weak bool
	// Opaque is the quoted opaque-tag, quotes included, e.g. `"abc"`.
	Opaque string
}

// String returns the header form of the tag.
func (t ETag) String() string {
	if t.Weak {
		return "W/" + t.Opaque
	}
	return t.Opaque
}

// ParseETag parses one entity-tag:
//
//	entity-tag = [ weak ] opaque-tag
//	weak       = %s"W/"
//	opaque-tag = DQUOTE *etagc DQUOTE
//	etagc      = %x21 / %x23-7E / obs-text
//
// Surrounding optional whitespace is allowed; anything else is ErrBadETag.
// A lenient parser would be dangerous here: a tag this package cannot read
// must not be trusted to tell two versions apart.
func ParseETag(s string) (ETag, error) {
	s = strings.Trim(s, " \t")
	var t ETag
	if strings.HasPrefix(s, "W/") {
		t.Weak = true
		s = s[2:]
	}
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return ETag{}, ErrBadETag
	}
	for i := 1; i < len(s)-1; i++ {
		c := s[i]
		if c == '"' || c < 0x21 || c == 0x7f {
			return ETag{}, ErrBadETag
		}
	}
	t.Opaque = s
	return t, nil
}

// StrongMatch reports whether a and b match under the strong comparison of
// RFC 9110 §8.8.3.2: both strong and their opaque-tags identical.
func StrongMatch(a, b ETag) bool {
	return !a.Weak && !b.Weak && a.Opaque != "" && a.Opaque == b.Opaque
}
