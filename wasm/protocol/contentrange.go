package protocol

import (
	"errors"
	"math"
	"strconv"
	"strings"
)

// ErrBadContentRange reports a Content-Range value that does not parse.
var ErrBadContentRange = errors.New("malformed Content-Range")

// UnknownSize marks a total length that is not known ("*" in Content-Range,
// or no Content-Length).
const UnknownSize int64 = -1

// ContentRange is a parsed Content-Range header (RFC 9110 §14.4).
type ContentRange struct {
	// First and Last are the inclusive byte positions of the enclosed range.
	// Both are -1 for an unsatisfied-range ("bytes */total").
	First, Last int64
	// Total is the complete length, or UnknownSize for "*".
	Total int64
}

// Unsatisfied reports whether the header is of the form "bytes */total",
// which a 416 response carries.
func (c ContentRange) Unsatisfied() bool { return c.First < 0 }

// Len returns the number of bytes the range encloses.
func (c ContentRange) Len() int64 {
	if c.Unsatisfied() {
		return 0
	}
	return c.Last - c.First + 1
}

// ParseContentRange parses
//
//	Content-Range     = range-unit SP ( range-resp / unsatisfied-range )
//	range-resp        = incl-range "/" ( complete-length / "*" )
//	incl-range        = first-pos "-" last-pos
//	unsatisfied-range = "*/" complete-length
//
// The only range unit resumer ever asks for is "bytes" (compared
// case-insensitively, §14.1). A range whose last-pos is before its first-pos,
// or not inside a known complete-length, is invalid (§14.4) and rejected, as
// is any sign, space or overflow inside the numbers, and a last-pos of
// MaxInt64, whose length (last - first + 1) would not fit an int64.
func ParseContentRange(s string) (ContentRange, error) {
	s = strings.Trim(s, " \t")
	unit, rest, ok := strings.Cut(s, " ")
	if !ok || !strings.EqualFold(unit, "bytes") {
		return ContentRange{}, ErrBadContentRange
	}
	rng, total, ok := strings.Cut(rest, "/")
	if !ok {
		return ContentRange{}, ErrBadContentRange
	}
	cr := ContentRange{First: -1, Last: -1, Total: UnknownSize}
	if total != "*" {
		n, err := parseDigits(total)
		if err != nil {
			return ContentRange{}, ErrBadContentRange
		}
		cr.Total = n
	}
	if rng == "*" {
		// An unsatisfied-range always states the complete length.
		if cr.Total == UnknownSize {
			return ContentRange{}, ErrBadContentRange
		}
		return cr, nil
	}
	first, last, ok := strings.Cut(rng, "-")
	if !ok {
		return ContentRange{}, ErrBadContentRange
	}
	var err error
	if cr.First, err = parseDigits(first); err != nil {
		return ContentRange{}, ErrBadContentRange
	}
	if cr.Last, err = parseDigits(last); err != nil {
		return ContentRange{}, ErrBadContentRange
	}
	if cr.Last < cr.First || cr.Last == math.MaxInt64 || (cr.Total != UnknownSize && cr.Last >= cr.Total) {
		return ContentRange{}, ErrBadContentRange
	}
	return cr, nil
}

// parseDigits parses 1*DIGIT into a non-negative int64. Unlike
// strconv.ParseInt it refuses signs, and it refuses values that overflow.
func parseDigits(s string) (int64, error) {
	if s == "" {
		return 0, strconv.ErrSyntax
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, strconv.ErrSyntax
		}
	}
	return strconv.ParseInt(s, 10, 64)
}

// ParseContentLength parses a Content-Length value; an empty or invalid value
// gives UnknownSize.
func ParseContentLength(s string) int64 {
	n, err := parseDigits(strings.Trim(s, " \t"))
	if err != nil {
		return UnknownSize
	}
	return n
}
