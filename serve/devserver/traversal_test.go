//go:build !js && !wasip1

package devserver

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const secret = "TOP-SECRET-OUTSIDE-THE-FOLDER"

// traversalEnv is a server with a secret file next to (outside) its data
// and web folders, and symlinks in both that lead outside.
func traversalEnv(t *testing.T) *env {
	t.Helper()
	e := newEnv(t)
	outside := filepath.Join(e.dir, "secret.txt")
	if err := os.WriteFile(outside, []byte(secret), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, folder := range []string{e.data, e.web} {
		links := map[string]string{
			"passwd":    "/etc/passwd",
			"rel.txt":   "../secret.txt",
			"abs.txt":   outside,
			"linkdir":   e.dir,
			"inside.js": "index.js", // stays inside: allowed
			"alias.bin": "a.bin",    // stays inside: allowed
		}
		for name, target := range links {
			if err := os.Symlink(target, filepath.Join(folder, name)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := os.WriteFile(filepath.Join(e.web, "index.js"), []byte("ok"), 0o644); err != nil {
		t.Fatal(err)
	}
	return e
}

func TestTraversal(t *testing.T) {
	t.Parallel()
	e := traversalEnv(t)
	for _, prefix := range []string{"/files/", "/"} {
		for _, target := range []string{
			"../secret.txt",
			"../../etc/passwd",
			"sub/../../secret.txt",
			"%2e%2e/secret.txt",
			"%2e%2e%2fsecret.txt",
			"..%2fsecret.txt",
			"..%2Fsecret.txt",
			"%2E%2E%2F%2E%2E%2Fetc%2Fpasswd",
			"..%5csecret.txt",
			"..\\secret.txt",
			"%2fetc%2fpasswd",
			"/etc/passwd",
			"./../secret.txt",
			"passwd",
			"rel.txt",
			"abs.txt",
			"linkdir/secret.txt",
			"linkdir/data/a.bin",
		} {
			code, body := e.raw(t, prefix+target)
			if code != http.StatusBadRequest && code != http.StatusNotFound {
				t.Errorf("GET %s%s: status %d, want 400 or 404", prefix, target, code)
			}
			if strings.Contains(body, secret) || strings.Contains(body, "root:") {
				t.Errorf("GET %s%s: leaked a file from outside: %.80q", prefix, target, body)
			}
		}
	}
	// Symlinks that stay inside are fine: refusing them would be a bug too.
	for _, target := range []string{"/files/alias.bin", "/inside.js"} {
		if code, _ := e.raw(t, target); code != http.StatusOK {
			t.Errorf("GET %s: status %d, want 200 (symlink inside the folder)", target, code)
		}
	}
}

func TestPath(t *testing.T) {
	t.Parallel()
	e := traversalEnv(t)
	p, err := e.s.Path("a.bin")
	if err != nil || !filepath.IsAbs(p) || filepath.Base(p) != "a.bin" {
		t.Errorf("Path(a.bin) = %q, %v", p, err)
	}
	if p, err := e.s.Path("alias.bin"); err != nil || filepath.Base(p) != "a.bin" {
		t.Errorf("Path(alias.bin) = %q, %v; want the resolved a.bin", p, err)
	}
	for _, bad := range []string{"", "../secret.txt", "/etc/passwd", "passwd", "rel.txt", "abs.txt",
		"linkdir/secret.txt", "a\\b", "./a.bin", "a.bin/", "nope.bin"} {
		if p, err := e.s.Path(bad); err == nil {
			t.Errorf("Path(%q) = %q, want an error", bad, p)
		}
	}
}
