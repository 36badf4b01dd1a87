package devserver

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// Sample is a file that the server generates in its data folder.
type Sample struct {
	Name string // file name in DataDir, no slash
	Size int64  // bytes
	Desc string // one line for the demo page
}

// DefaultSamples is the standard set used by `go run ./serve`.
var DefaultSamples = []Sample{
	{Name: "1mib.bin", Size: 1 << 20, Desc: "1 MiB: done in a blink"},
	{Name: "64mib.bin", Size: 64 << 20, Desc: "64 MiB: long enough to interrupt"},
	{Name: "512mib.bin", Size: 512 << 20, Desc: "512 MiB: storage quota and throughput"},
}

const (
	// genChunk is the write size of generation: large enough to be fast,
	// small enough to notice a cancelled context quickly.
	genChunk = 1 << 20
	// checkLen is how much of an existing file is compared with the
	// expected content: enough to tell versions apart without reading
	// 512 MiB at every start.
	checkLen = 4096
	// tmpPrefix starts the names of files being generated; they are
	// renamed (or linked) into place only once complete.
	tmpPrefix = ".resumer-gen-"
	// staleTmp is the age after which a leftover temporary file is
	// considered abandoned: a live generation writes continuously.
	staleTmp = time.Minute
)

// content returns the deterministic byte stream of version v of name:
// ChaCha8 seeded from a hash of both. ChaCha8 is a specified algorithm in
// math/rand/v2, so the bytes are the same on every machine and Go release.
func content(name string, v int) io.Reader {
	seed := sha256.Sum256(fmt.Appendf(nil, "resumer sample\x00%s\x00%d", name, v))
	return rand.NewChaCha8(seed)
}

// contentPrefix returns the first n bytes of version v of name.
func contentPrefix(name string, v int, n int64) []byte {
	b := make([]byte, min(n, checkLen))
	io.ReadFull(content(name, v), b) // ChaCha8 never fails
	return b
}

// generateSamples makes sure every configured sample exists with the
// right size and version-0 content; it also removes leftovers of
// generations that were killed.
func (s *Server) generateSamples(ctx context.Context) error {
	s.removeStaleTemps()
	for _, sm := range s.samples {
		t0 := time.Now()
		made, err := s.ensureSample(ctx, sm)
		if err != nil {
			return fmt.Errorf("generate %s: %w", sm.Name, err)
		}
		if made {
			s.logf("generated %s (%d bytes) in %v", sm.Name, sm.Size, time.Since(t0).Round(time.Millisecond))
		}
		t0 = time.Now()
		if err := s.ensureDigest(ctx, sm.Name); err != nil {
			return fmt.Errorf("generate %s: %w", sm.Name, err)
		}
		if !made {
			s.logf("kept %s (%d bytes, its digest read in %v)", sm.Name, sm.Size, time.Since(t0).Round(time.Millisecond))
		}
		s.mu.Lock()
		s.versions[sm.Name] = 0
		s.mu.Unlock()
	}
	return nil
}

// ensureSample reports whether it had to (re)generate the sample.
func (s *Server) ensureSample(ctx context.Context, sm Sample) (bool, error) {
	ok, err := s.hasVersion(sm.Name, sm.Size, 0)
	if err != nil || ok {
		return false, err
	}
	return true, s.writeVersion(ctx, sm.Name, 0, sm.Size, time.Now(), true)
}

// hasVersion reports whether the data file name exists as a regular file
// of the given size that starts like version v.
func (s *Server) hasVersion(name string, size int64, v int) (bool, error) {
	f, fi, err := openRegular(s.dataDir, name)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer f.Close()
	if fi.Size() != size {
		return false, nil
	}
	want := contentPrefix(name, v, size)
	got := make([]byte, len(want))
	if _, err := io.ReadFull(f, got); err != nil {
		return false, fmt.Errorf("read %s: %w", name, err)
	}
	return bytes.Equal(got, want), nil
}

// writeVersion writes version v of name to a temporary file with the given
// mtime and moves it into place. With keepExisting, a complete file of the
// right version that appeared meanwhile (another process generating the
// same sample into the same folder) is kept rather than replaced, so that
// its ETag does not change under the feet of that process. The SHA-256 of
// the bytes is computed as they are written and recorded (addDigest)
// before the file takes its name.
func (s *Server) writeVersion(ctx context.Context, name string, v int, size int64, mtime time.Time, keepExisting bool) (err error) {
	root, err := os.OpenRoot(s.dataDir)
	if err != nil {
		return err
	}
	defer root.Close()
	tmp := path.Join(path.Dir(name), fmt.Sprintf("%s%s-%x.tmp", tmpPrefix, path.Base(name), rand.Uint64()))
	f, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("create temporary file: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			root.Remove(tmp)
		}
	}()
	h := sha256.New()
	if err = copyContent(ctx, io.MultiWriter(f, h), content(name, v), size); err != nil {
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", tmp, err)
	}
	if err = root.Chtimes(tmp, mtime, mtime); err != nil {
		return fmt.Errorf("set mtime of %s: %w", tmp, err)
	}
	// The stat after Chtimes holds the mtime as the file system stores
	// it, which is what a response's fstat will see; the rename or link
	// of install keeps the inode.
	d := fileSum{}
	if d.fi, err = root.Stat(tmp); err != nil {
		return fmt.Errorf("stat %s: %w", tmp, err)
	}
	h.Sum(d.sum[:0])
	s.addDigest(name, d)
	return s.install(root, tmp, name, v, size, keepExisting)
}

// install moves the complete temporary file to its name. A hard link
// creates the name only if it does not exist yet (atomically); a rename
// replaces it, while responses that have the old file open keep reading
// the old bytes.
func (s *Server) install(root *os.Root, tmp, name string, v int, size int64, keepExisting bool) error {
	if keepExisting {
		if err := root.Link(tmp, name); err == nil {
			return root.Remove(tmp)
		}
		if ok, _ := s.hasVersion(name, size, v); ok {
			return root.Remove(tmp)
		}
	}
	if err := root.Rename(tmp, name); err != nil {
		root.Remove(tmp)
		return fmt.Errorf("rename %s: %w", tmp, err)
	}
	return nil
}

// copyContent writes size bytes of src to w in chunks, checking ctx
// between chunks.
func copyContent(ctx context.Context, w io.Writer, src io.Reader, size int64) error {
	buf := make([]byte, genChunk)
	for left := size; left > 0; {
		if err := ctx.Err(); err != nil {
			return err
		}
		n := min(left, genChunk)
		if _, err := io.ReadFull(src, buf[:n]); err != nil {
			return err
		}
		if _, err := w.Write(buf[:n]); err != nil {
			return err
		}
		left -= n
	}
	return nil
}

// removeStaleTemps deletes temporary files of generations that were killed
// before they could clean up. Recent ones may belong to another process
// generating right now and are left alone.
func (s *Server) removeStaleTemps() {
	matches, _ := filepath.Glob(filepath.Join(s.dataDir, tmpPrefix+"*.tmp"))
	for _, m := range matches {
		if fi, err := os.Lstat(m); err == nil && fi.Mode().IsRegular() && time.Since(fi.ModTime()) > staleTmp {
			if os.Remove(m) == nil {
				s.logf("removed leftover %s", filepath.Base(m))
			}
		}
	}
}

// ChangeFile rewrites the data file name with the next deterministic
// version of its content, same size, so that a download in progress sees
// a new representation: new ETag and new Last-Modified. The mtime is set
// to max(now, old mtime + 2 s), because Last-Modified has a resolution of
// one second (RFC 9110 §5.6.7) and two changes within a second would
// otherwise share it. The file is replaced by rename: responses already
// reading it continue with the old bytes. Only a generated sample
// (Config.Samples) can be changed: any other file in the data folder may
// be somebody's own.
func (s *Server) ChangeFile(name string) error {
	if _, err := cleanName(name); err != nil {
		return fmt.Errorf("change %q: %w", name, err)
	}
	if !s.isSample(name) {
		return fmt.Errorf("change %s: %w", name, errNotSample)
	}
	p, err := s.Path(name)
	if err != nil {
		return fmt.Errorf("change %s: %w", name, err)
	}
	rel, err := filepath.Rel(s.dataDir, p)
	if err != nil {
		return fmt.Errorf("change %s: %w", name, err)
	}
	rel = filepath.ToSlash(rel)
	s.changeMu.Lock()
	defer s.changeMu.Unlock()
	fi, err := os.Stat(p)
	if err != nil {
		return fmt.Errorf("change %s: %w", name, err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("change %s: not a regular file", name)
	}
	v, err := s.nextVersion(rel, fi.Size())
	if err != nil {
		return fmt.Errorf("change %s: %w", name, err)
	}
	mtime := time.Now()
	if old := fi.ModTime().Add(2 * time.Second); old.After(mtime) {
		mtime = old
	}
	if err := s.writeVersion(context.Background(), rel, v, fi.Size(), mtime, false); err != nil {
		return fmt.Errorf("change %s: %w", name, err)
	}
	s.mu.Lock()
	s.versions[rel] = v
	s.mu.Unlock()
	s.logf("changed %s to version %d", rel, v)
	return nil
}

// nextVersion picks the version after the one this server last wrote,
// skipping any version whose content the file already has (a file changed
// by an earlier run of the server), so that the content really changes.
func (s *Server) nextVersion(name string, size int64) (int, error) {
	s.mu.Lock()
	v := s.versions[name] + 1
	s.mu.Unlock()
	for range 16 {
		same, err := s.hasVersion(name, size, v)
		if err != nil {
			return 0, err
		}
		if !same || size == 0 {
			return v, nil
		}
		v++
	}
	return v, nil
}

// isTemp reports whether a data file name is a generation in progress.
func isTemp(name string) bool {
	return strings.HasPrefix(path.Base(name), tmpPrefix)
}

// isSample reports whether name is one of the samples the server
// generates (Config.Samples).
func (s *Server) isSample(name string) bool {
	for _, sm := range s.samples {
		if sm.Name == name {
			return true
		}
	}
	return false
}
