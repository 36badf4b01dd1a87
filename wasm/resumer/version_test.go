//go:build !js

package resumer_test

import (
	"os"
	"regexp"
	"testing"

	"github.com/go-resumer/resumer/wasm/resumer"
)

// TestVersionAgrees: one version number, the same in the Go constant, in
// what the JS API reports, in the npm package, and at the top of
// CHANGELOG.md.
func TestVersionAgrees(t *testing.T) {
	for _, c := range []struct {
		file string
		re   string
	}{
		{"../../web/resumer.js", `export const VERSION = "([^"]+)";`},
		{"../../web/package.json", `"version": "([^"]+)"`},
		{"../../CHANGELOG.md", `(?m)^## ([0-9][^ ]*) `},
	} {
		b, err := os.ReadFile(c.file)
		if err != nil {
			t.Fatal(err)
		}
		m := regexp.MustCompile(c.re).FindSubmatch(b)
		if m == nil || string(m[1]) != resumer.Version {
			t.Errorf("%s says %q; resumer.Version is %q", c.file, m, resumer.Version)
		}
	}
}
