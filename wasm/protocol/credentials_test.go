package protocol

import (
	"strings"
	"testing"
)

func TestCredentials(t *testing.T) {
	for _, tt := range []struct {
		name   string
		header map[string]string
		mode   string
		want   string
	}{
		{"nothing", nil, "", ""},
		{"the default mode", nil, "same-origin", ""},
		{"omit", nil, "omit", ""},
		{"headers that carry no credentials", map[string]string{"Accept": "*/*", "User-Agent": "x/1", "Cache-Control": "no-cache", "Accept-Language": "de"}, "", ""},
		{"include", nil, "include", "m include\n"},
		{"include, any case", nil, " Include ", "m include\n"},
		{"a header cannot read as the mode", map[string]string{"Credentials": "include"}, "omit", "h credentials: include\n"},
		{"authorization", map[string]string{"Authorization": "Bearer a"}, "", "h authorization: Bearer a\n"},
		{"names fold, order is fixed", map[string]string{"X-Key": "k", "AUTHORIZATION": "Bearer a", "Accept": "x"}, "", "h authorization: Bearer a\nh x-key: k\n"},
		{"two spellings of one name", map[string]string{"x-key": "b", "X-Key": "a"}, "", "h x-key: a, b\n"},
		{"include and a header", map[string]string{"X-Key": "k"}, "include", "m include\nh x-key: k\n"},
		{"a newline cannot forge a second header", map[string]string{"X-A": "1\nx-b: 2"}, "", "h x-a: 1\\nx-b\\: 2\n"},
		{"an empty name is no header", map[string]string{" ": "v"}, "", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := Credentials(tt.header, tt.mode); got != tt.want {
				t.Errorf("Credentials(%v, %q) = %q, want %q", tt.header, tt.mode, got, tt.want)
			}
		})
	}
}

// FuzzCredentials: two requests read the same only if they carry the same
// credentials, and a request with a header outside credentialFree always
// carries some.
func FuzzCredentials(f *testing.F) {
	f.Add("Authorization", "Bearer a", "X-B", "b", "include")
	f.Add("x-a", "1\nx-b: 2", "x-b", "2", "")
	f.Add("x-a", "1, 2", "X-A", "2", "omit")
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2, mode string) {
		h := map[string]string{k1: v1, k2: v2}
		got := Credentials(h, mode)
		for k := range h {
			n := strings.ToLower(strings.TrimSpace(k))
			if n != "" && !credentialFree[n] && got == "" {
				t.Fatalf("%v carries %q but reads as no credentials", h, n)
			}
		}
		if one := Credentials(map[string]string{k1: v1}, mode); one == got && strings.ToLower(strings.TrimSpace(k1)) != strings.ToLower(strings.TrimSpace(k2)) &&
			!credentialFree[strings.ToLower(strings.TrimSpace(k2))] && strings.TrimSpace(k2) != "" {
			t.Fatalf("adding %q: %q reads as without it", k2, v2)
		}
		if Credentials(h, "include") == Credentials(h, "omit") {
			t.Fatalf("%v: with cookies and without read the same", h)
		}
		if strings.Count(got, "\n") > 3 {
			t.Fatalf("%q: more lines than headers", got)
		}
	})
}
