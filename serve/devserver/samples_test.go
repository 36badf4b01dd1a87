//go:build !js && !wasip1

package devserver

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestGenerationDeterministic: two servers in two folders generate the
// same bytes, and the bytes are pinned so that a change of algorithm or
// seed (which would break caches of old downloads in tests) is noticed.
func TestGenerationDeterministic(t *testing.T) {
	t.Parallel()
	e1, e2 := newEnv(t), newEnv(t)
	a1, a2 := e1.file(t, "a.bin"), e2.file(t, "a.bin")
	if len(a1) != aSize || !bytes.Equal(a1, a2) {
		t.Fatalf("two generations differ or have the wrong size (%d, %d)", len(a1), len(a2))
	}
	if got, want := hex.EncodeToString(a1[:16]), "886158f09dcec407f75506a419acc31b"; got != want {
		t.Errorf("first bytes %s, want %s", got, want)
	}
	if bytes.Equal(a1[:aSize/2], a1[aSize/2:]) {
		t.Errorf("content repeats: not random-looking")
	}
}

func TestChangeFile(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p, err := e.s.Path("a.bin")
	if err != nil {
		t.Fatal(err)
	}
	v0 := e.file(t, "a.bin")
	fi0, _ := os.Stat(p)
	tag0, lm0 := e.validators(t, "a.bin")
	if err := e.s.ChangeFile("a.bin"); err != nil {
		t.Fatalf("ChangeFile: %v", err)
	}
	v1 := e.file(t, "a.bin")
	fi1, _ := os.Stat(p)
	tag1, lm1 := e.validators(t, "a.bin")
	if len(v1) != len(v0) || bytes.Equal(v1, v0) {
		t.Errorf("after ChangeFile: %d bytes, equal to before: %v; want same size, new content", len(v1), bytes.Equal(v1, v0))
	}
	if tag1 == tag0 || lm1 == lm0 {
		t.Errorf("validators %s %q, before %s %q: want both new", tag1, lm1, tag0, lm0)
	}
	if fi1.ModTime().Sub(fi0.ModTime()) < 2*time.Second {
		t.Errorf("mtime moved by %v, want at least 2s", fi1.ModTime().Sub(fi0.ModTime()))
	}
	if !bytes.Equal(v1[:16], contentPrefix("a.bin", 1, 16)) {
		t.Errorf("changed content is not version 1")
	}
	if err := e.s.ChangeFile("a.bin"); err != nil {
		t.Fatalf("second ChangeFile: %v", err)
	}
	if v2 := e.file(t, "a.bin"); bytes.Equal(v2, v1) || bytes.Equal(v2, v0) {
		t.Errorf("second change: want content unlike both earlier versions")
	}
	for _, bad := range []string{"../a.bin", "/etc/passwd", "nope.bin", ""} {
		if err := e.s.ChangeFile(bad); err == nil {
			t.Errorf("ChangeFile(%q): no error", bad)
		}
	}
}

// TestRestartKeepsOrRepairs: a second New on the same folder keeps a good
// sample (same mtime, so same ETag) and regenerates a bad one.
func TestRestartKeepsOrRepairs(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	samples := []Sample{{Name: "a.bin", Size: aSize}, {Name: "b.bin", Size: 1000}, {Name: "c.bin", Size: 1000}}
	s, err := New(Config{DataDir: dir, Samples: samples})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	a := filepath.Join(dir, "a.bin")
	fiA, _ := os.Stat(a)
	good, _ := os.ReadFile(filepath.Join(dir, "c.bin"))
	if err := os.Truncate(filepath.Join(dir, "b.bin"), 10); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "c.bin"), bytes.Repeat([]byte{'x'}, 1000), 0o644); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(dir, tmpPrefix+"old.tmp")
	fresh := filepath.Join(dir, tmpPrefix+"busy.tmp")
	for _, p := range []string{stale, fresh} {
		if err := os.WriteFile(p, []byte("partial"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-time.Hour)
	os.Chtimes(stale, old, old)

	s2, err := New(Config{DataDir: dir, Samples: samples})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if fi, _ := os.Stat(a); !fi.ModTime().Equal(fiA.ModTime()) {
		t.Errorf("a.bin was rewritten (mtime %v, was %v): its ETag changed for nothing", fi.ModTime(), fiA.ModTime())
	}
	if fi, _ := os.Stat(filepath.Join(dir, "b.bin")); fi.Size() != 1000 {
		t.Errorf("truncated b.bin not regenerated: %d bytes", fi.Size())
	}
	if c, _ := os.ReadFile(filepath.Join(dir, "c.bin")); !bytes.Equal(c, good) {
		t.Errorf("overwritten c.bin not regenerated")
	}
	if _, err := os.Stat(stale); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("stale temporary file kept: %v", err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("recent temporary file (maybe another process's) removed: %v", err)
	}
}

func TestNewErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, cfg := range []Config{
		{},
		{DataDir: dir, Samples: []Sample{{Name: "../x.bin", Size: 1}}},
		{DataDir: dir, Samples: []Sample{{Name: "sub/x.bin", Size: 1}}},
		{DataDir: dir, Samples: []Sample{{Name: "x.bin", Size: -1}}},
	} {
		if s, err := New(cfg); err == nil {
			s.Close()
			t.Errorf("New(%+v): no error", cfg)
		}
	}
}

// TestNewContextCancelled: an interrupted generation leaves no file, not
// even a temporary one.
func TestNewContextCancelled(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := NewContext(ctx, Config{DataDir: dir, Samples: []Sample{{Name: "big.bin", Size: 8 << 20}}}); !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("files left behind: %v", left)
	}
}
