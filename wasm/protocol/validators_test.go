package protocol

import (
	"strings"
	"testing"
)

const (
	lm      = "Mon, 02 Nov 2026 10:00:00 GMT"
	dateOld = "Mon, 02 Nov 2026 10:00:01 GMT" // exactly 1 s after lm: strong
	dateEq  = "Mon, 02 Nov 2026 10:00:00 GMT" // equal to lm: weak
	date2   = "Tue, 03 Nov 2026 10:00:00 GMT"
	lm2     = "Tue, 03 Nov 2026 09:00:00 GMT"
)

func TestIfRange(t *testing.T) {
	tests := []struct {
		name   string
		v      Validators
		want   string
		reason string
	}{
		{"strong ETag", Validators{ETag: `"e1"`}, `"e1"`, ""},
		{"strong ETag preferred over date", Validators{ETag: `"e1"`, LastModified: lm, Date: dateOld}, `"e1"`, ""},
		{"weak ETag never sent; nor the date, with an entity tag held (§13.1.5)", Validators{ETag: `W/"e1"`, LastModified: lm, Date: dateOld}, "", ""},
		{"overlong ETag and a strong date: resumable without If-Range", Validators{ETag: longETag, LastModified: lm, Date: dateOld}, "", ""},
		{"weak ETag alone", Validators{ETag: `W/"e1"`}, "", ReasonWeakETag},
		{"malformed ETag alone", Validators{ETag: `e1`}, "", ReasonWeakETag},
		{"date 1 s before Date is strong", Validators{LastModified: lm, Date: dateOld}, lm, ""},
		{"date equal to Date is weak", Validators{LastModified: lm, Date: dateEq}, "", ReasonWeakLastModified},
		{"date after Date is weak", Validators{LastModified: dateOld, Date: lm}, "", ReasonWeakLastModified},
		{"date without Date is weak", Validators{LastModified: lm}, "", ReasonWeakLastModified},
		{"unparsable date", Validators{LastModified: "yesterday", Date: dateOld}, "", ReasonWeakLastModified},
		{"nothing", Validators{}, "", ReasonNoValidators},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, r := tt.v.IfRange()
			if got != tt.want || r.Code != tt.reason {
				t.Fatalf("IfRange() = %q, %q; want %q, %q", got, r.Code, tt.want, tt.reason)
			}
			if r.Code != "" && r.Text == "" {
				t.Fatal("reason without text")
			}
			ok, _ := tt.v.Resumable()
			if ok != (tt.reason == "") {
				t.Fatalf("Resumable() = %v", ok)
			}
		})
	}
}

func TestNoValidatorsReasonNamesHeaders(t *testing.T) {
	_, r := Validators{}.IfRange()
	if !strings.Contains(r.Text, "ETag") || !strings.Contains(r.Text, "Last-Modified") {
		t.Fatalf("reason %q does not name the missing headers", r.Text)
	}
}

func TestSameVersion(t *testing.T) {
	stored := Validators{ETag: `"e1"`, LastModified: lm, Date: dateOld}
	tests := []struct {
		name string
		got  Validators
		want bool
	}{
		{"same ETag", Validators{ETag: `"e1"`}, true},
		{"same both", Validators{ETag: `"e1"`, LastModified: lm}, true},
		{"no validators repeated", Validators{}, true},
		{"other ETag", Validators{ETag: `"e2"`}, false},
		{"weak form of same tag", Validators{ETag: `W/"e1"`}, false},
		{"other date", Validators{LastModified: lm2}, false},
		{"same date in another format", Validators{LastModified: "Monday, 02-Nov-26 10:00:00 GMT"}, true},
		{"same ETag, other date", Validators{ETag: `"e1"`, LastModified: lm2}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := stored.SameVersion(tt.got); got != tt.want {
				t.Fatalf("SameVersion(%+v) = %v", tt.got, got)
			}
		})
	}
	if (Validators{}).SameVersion(Validators{ETag: `"x"`}) {
		t.Fatal("a response with an ETag the stored version did not have must count as another version")
	}
}
