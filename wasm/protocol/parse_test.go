package protocol

import (
	"errors"
	"testing"
	"time"
)

func TestParseETag(t *testing.T) {
	tests := []struct {
		name, in string
		want     ETag
		err      error
	}{
		{"strong", `"abc"`, ETag{Opaque: `"abc"`}, nil},
		{"weak", `W/"abc"`, ETag{Weak: true, Opaque: `"abc"`}, nil},
		{"empty opaque is valid", `""`, ETag{Opaque: `""`}, nil},
		{"surrounding whitespace", " \t\"x\" ", ETag{Opaque: `"x"`}, nil},
		{"obs-text allowed", "\"\x80\xff\"", ETag{Opaque: "\"\x80\xff\""}, nil},
		{"unquoted", `abc`, ETag{}, ErrBadETag},
		{"lowercase weak prefix is not weak", `w/"abc"`, ETag{}, ErrBadETag},
		{"inner quote", `"a"b"`, ETag{}, ErrBadETag},
		{"inner space", `"a b"`, ETag{}, ErrBadETag},
		{"control char", "\"a\x01\"", ETag{}, ErrBadETag},
		{"DEL", "\"a\x7f\"", ETag{}, ErrBadETag},
		{"lone quote", `"`, ETag{}, ErrBadETag},
		{"W/ alone", `W/`, ETag{}, ErrBadETag},
		{"list of tags", `"a", "b"`, ETag{}, ErrBadETag},
		{"empty", ``, ETag{}, ErrBadETag},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseETag(tt.in)
			if !errors.Is(err, tt.err) || got != tt.want {
				t.Fatalf("ParseETag(%q) = %+v, %v; want %+v, %v", tt.in, got, err, tt.want, tt.err)
			}
		})
	}
}

func TestStrongMatch(t *testing.T) {
	// RFC 9110 §8.8.3.2, the comparison table.
	tests := []struct {
		a, b string
		want bool
	}{
		{`W/"1"`, `W/"1"`, false},
		{`W/"1"`, `W/"2"`, false},
		{`W/"1"`, `"1"`, false},
		{`"1"`, `"1"`, true},
		{`"1"`, `"2"`, false},
	}
	for _, tt := range tests {
		a, _ := ParseETag(tt.a)
		b, _ := ParseETag(tt.b)
		if got := StrongMatch(a, b); got != tt.want {
			t.Errorf("StrongMatch(%s, %s) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestParseHTTPDate(t *testing.T) {
	want := time.Date(1994, 11, 6, 8, 49, 37, 0, time.UTC)
	tests := []struct {
		name, in string
		ok       bool
	}{
		{"IMF-fixdate", "Sun, 06 Nov 1994 08:49:37 GMT", true},
		{"rfc850", "Sunday, 06-Nov-94 08:49:37 GMT", true},
		{"asctime", "Sun Nov  6 08:49:37 1994", true},
		{"whitespace", "  Sun, 06 Nov 1994 08:49:37 GMT ", true},
		{"not GMT", "Sun, 06 Nov 1994 08:49:37 PST", false},
		{"garbage", "yesterday", false},
		{"empty", "", false},
		{"seconds", "784111777", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseHTTPDate(tt.in)
			if tt.ok != (err == nil) || (tt.ok && !got.Equal(want)) {
				t.Fatalf("ParseHTTPDate(%q) = %v, %v", tt.in, got, err)
			}
			if !tt.ok && !errors.Is(err, ErrBadDate) {
				t.Fatalf("error %v is not ErrBadDate", err)
			}
		})
	}
}

func TestParseContentRange(t *testing.T) {
	tests := []struct {
		name, in string
		want     ContentRange
		ok       bool
	}{
		{"range with total", "bytes 0-499/1234", ContentRange{0, 499, 1234}, true},
		{"last byte", "bytes 1233-1233/1234", ContentRange{1233, 1233, 1234}, true},
		{"unknown total", "bytes 10-19/*", ContentRange{10, 19, UnknownSize}, true},
		{"unsatisfied", "bytes */1234", ContentRange{-1, -1, 1234}, true},
		{"unit is case-insensitive", "Bytes 0-0/1", ContentRange{0, 0, 1}, true},
		{"last before first", "bytes 5-4/10", ContentRange{}, false},
		{"last at total", "bytes 0-10/10", ContentRange{}, false},
		{"unsatisfied with unknown total", "bytes */*", ContentRange{}, false},
		{"other unit", "items 0-1/2", ContentRange{}, false},
		{"no unit", "0-1/2", ContentRange{}, false},
		{"no total", "bytes 0-1", ContentRange{}, false},
		{"negative", "bytes -1-2/3", ContentRange{}, false},
		{"plus sign", "bytes +1-2/3", ContentRange{}, false},
		{"spaces inside", "bytes 1 - 2/3", ContentRange{}, false},
		{"overflow", "bytes 0-99999999999999999999/*", ContentRange{}, false},
		{"multiple ranges", "bytes 0-1,3-4/10", ContentRange{}, false},
		{"empty", "", ContentRange{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseContentRange(tt.in)
			if tt.ok != (err == nil) || (tt.ok && got != tt.want) {
				t.Fatalf("ParseContentRange(%q) = %+v, %v", tt.in, got, err)
			}
		})
	}
}

func TestParseContentLength(t *testing.T) {
	for in, want := range map[string]int64{"0": 0, "1234": 1234, " 7 ": 7, "": UnknownSize, "-1": UnknownSize, "1, 1": UnknownSize, "x": UnknownSize} {
		if got := ParseContentLength(in); got != want {
			t.Errorf("ParseContentLength(%q) = %d, want %d", in, got, want)
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name, value, date string
		want              time.Duration
	}{
		{"seconds", "120", "", 2 * time.Minute},
		{"zero", "0", "", 0},
		{"date against Date header", "Fri, 02 Jan 2026 03:05:05 GMT", "Fri, 02 Jan 2026 03:04:35 GMT", 30 * time.Second},
		{"date against clock without Date", "Fri, 02 Jan 2026 03:05:05 GMT", "", time.Minute},
		{"date in the past", "Thu, 01 Jan 2026 00:00:00 GMT", "", 0},
		{"capped", "999999", "", maxRetryAfter},
		{"overflowing number is capped", "99999999999999999999999", "", maxRetryAfter},
		{"negative", "-5", "", 0},
		{"garbage", "soon", "", 0},
		{"empty", "", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ParseRetryAfter(tt.value, tt.date, now); got != tt.want {
				t.Fatalf("ParseRetryAfter(%q, %q) = %v, want %v", tt.value, tt.date, got, tt.want)
			}
		})
	}
}
