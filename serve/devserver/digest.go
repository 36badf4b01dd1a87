package devserver

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io/fs"
	"net/http"
	"os"
)

// A generated sample is served with Repr-Digest (RFC 9530 §3): the
// SHA-256 of the whole file, the selected representation, on 200, 206 and
// 304 alike, so that a client can check a download it assembled from
// ranges. Files of up to a GiB and more must not be read per request, so
// the digest is computed once per version of a sample: while the version
// is written, or, for a sample kept from an earlier run, by reading it
// once at start.
//
// Other files in the data folder get no Repr-Digest: hashing one would
// mean reading all of it on its first request (seconds, for a large file),
// and whether the header came would then depend on what was asked before.
// Their owner can ask resumer for integrity= instead.

// maxDigestsPerFile is how many versions of one sample keep their digest:
// the current one and the one before, for a response that opened the old
// file just before ChangeFile replaced it.
const maxDigestsPerFile = 2

// fileSum is the SHA-256 of one version of a sample, with the file it
// was computed for. It applies to a file being served only when that is
// the same file (device and inode) with the same size and mtime: a file
// replaced or rewritten behind the server's back gets no Repr-Digest
// rather than a wrong one.
type fileSum struct {
	fi  fs.FileInfo
	sum [sha256.Size]byte
}

// matches reports whether d was computed for the file fi describes.
func (d *fileSum) matches(fi fs.FileInfo) bool {
	return os.SameFile(d.fi, fi) && d.fi.Size() == fi.Size() && d.fi.ModTime().Equal(fi.ModTime())
}

// addDigest records the digest of a version of the file name, before the
// version is moved into place, so that the first response to open it
// finds it. Only the newest maxDigestsPerFile are kept.
func (s *Server) addDigest(name string, d fileSum) {
	s.mu.Lock()
	defer s.mu.Unlock()
	list := append(s.digests[name], d)
	if len(list) > maxDigestsPerFile {
		list = append(list[:0:0], list[len(list)-maxDigestsPerFile:]...)
	}
	s.digests[name] = list
}

// digestOf returns the SHA-256 of the data file name as fi describes it
// (fi from the open file being served), if the server knows it.
func (s *Server) digestOf(name string, fi fs.FileInfo) ([sha256.Size]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	list := s.digests[name]
	for i := len(list) - 1; i >= 0; i-- {
		if list[i].matches(fi) {
			return list[i].sum, true
		}
	}
	return [sha256.Size]byte{}, false
}

// ensureDigest makes sure the digest of the sample name as it is now is
// known: after a generation it is (computed while writing), unless the
// sample was kept from an earlier run or another process installed it
// first; then the file is read once.
func (s *Server) ensureDigest(ctx context.Context, name string) error {
	f, fi, err := openRegular(s.dataDir, name)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, ok := s.digestOf(name, fi); ok {
		return nil
	}
	h := sha256.New()
	if err := copyContent(ctx, h, f, fi.Size()); err != nil {
		return fmt.Errorf("digest of %s: %w", name, err)
	}
	d := fileSum{fi: fi}
	h.Sum(d.sum[:0])
	s.addDigest(name, d)
	return nil
}

// reprDigest is the Repr-Digest field value for a SHA-256: an RFC 8941
// dictionary whose key is the algorithm name registered by RFC 9530 §5 and
// whose value is a byte sequence (RFC 8941 §3.3.5: standard base64 with
// padding, between colons).
func reprDigest(sum [sha256.Size]byte) string {
	return "sha-256=:" + base64.StdEncoding.EncodeToString(sum[:]) + ":"
}

// badDigest is what digest=bad sends instead: the complement of each
// byte of the right digest, well formed and never equal to it, so that a
// client that checks finds a mismatch however the file was downloaded.
func badDigest(sum [sha256.Size]byte) [sha256.Size]byte {
	for i := range sum {
		sum[i] = ^sum[i]
	}
	return sum
}

// hasRepresentation reports whether a response with this status describes
// the selected representation, so that Repr-Digest belongs on it: 200 and
// 206 carry (part of) it, and a 304 updates the headers of the stored one
// (RFC 9111 §4.3.4). A 412 or 416 carries no representation, and an error
// page (status=) or a 302 (redirect=) is not the file.
func hasRepresentation(code int) bool {
	return code == http.StatusOK || code == http.StatusPartialContent || code == http.StatusNotModified
}
