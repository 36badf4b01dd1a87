//go:build !js && !wasip1

package bundle

import "testing"

func TestShipped(t *testing.T) {
	for _, tc := range []struct {
		name string
		want bool
	}{
		{"index.html", true},
		{"resumer.js", true},
		{"resumer-sw.js", true},
		{"style.css", true},
		{"resumer.d.ts", true},
		{"resumer-sw.d.ts", true},
		{"main.ts", false}, // TypeScript source: nothing in a browser runs it
		{"tsconfig.json", false},
		{"check-exports.mjs", false},
		{"notes.md", false},
		{".d.ts.swp", false},
	} {
		if got := Shipped(tc.name); got != tc.want {
			t.Errorf("Shipped(%q) = %v, want %v", tc.name, got, tc.want)
		}
	}
}
