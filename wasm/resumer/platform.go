package resumer

import (
	"context"

	"github.com/go-resumer/resumer/wasm/resumer/platform"
	"github.com/go-resumer/resumer/wasm/store"
)

// readHasher is the platform.BlobHasher HashRead makes of a platform.BlobReader.
type readHasher struct{ r platform.BlobReader }

func (h readHasher) HashBlob(ctx context.Context, alg string, state []byte, b store.Blob) ([]byte, []byte, error) {
	return platform.HashRead(ctx, h.r, alg, state, b)
}

// hasher returns how this manager's platform hashes blobs, if it can.
func (m *Manager) hasher() (platform.BlobHasher, bool) {
	if h, ok := m.platform.(platform.BlobHasher); ok {
		return h, true
	}
	if r, ok := m.platform.(platform.BlobReader); ok {
		return readHasher{r}, true
	}
	return nil, false
}
