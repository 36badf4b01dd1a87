package protocol

import "testing"

func TestIsTokenChar(t *testing.T) {
	const tchars = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	want := map[byte]bool{}
	for i := range len(tchars) {
		want[tchars[i]] = true
	}
	for c := range 256 {
		if got := IsTokenChar(byte(c)); got != want[byte(c)] {
			t.Errorf("IsTokenChar(%q) = %v, want %v", byte(c), got, want[byte(c)])
		}
	}
}
