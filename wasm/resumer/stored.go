package resumer

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/go-resumer/resumer/wasm/protocol"
	"github.com/go-resumer/resumer/wasm/resumer/platform"
	"github.com/go-resumer/resumer/wasm/store"
)

// Finished downloads as files: answers to requests for them (Serve, for
// resumer.fetch, the Service Worker and the cache), a reader (Reader, for
// Go programs), and files an app stores itself (Put).

// Served is a stored file's answer to a request for it.
type Served struct {
	// Status is 200, 206, 416 or 405 (protocol.ServeRange).
	Status int
	// Header holds the response's headers: Content-Type, Content-Length,
	// Content-Range, Accept-Ranges, ETag, Last-Modified and, for a file
	// whose digest was checked, Repr-Digest.
	Header map[string]string
	// Body is the bytes to send, nil for HEAD and 416. It is a slice of
	// the stored chunks: no byte is copied.
	Body store.Blob
	// Key is the download's key.
	Key string
	// URL is where the bytes came from: the URL after redirects of the
	// answer that established them (what fetch() reports as
	// Response.url), else the link they were last fetched from.
	URL string
}

// stored finds the finished download of key, or of a download whose last
// link or final URL is key (a Service Worker sees URLs, not keys), and
// returns its record and its bytes as one blob. A private download is
// found only for a caller with its credentials; who is nil for the app's
// own reads (Reader), which find every download.
func (m *Manager) stored(ctx context.Context, key string, who *Caller) (store.Record, store.Blob, error) {
	mine := func(store.Record) bool { return true }
	if who != nil {
		owner, err := m.owner(ctx, protocol.Credentials(who.Header, who.Credentials))
		if err != nil {
			return store.Record{}, nil, err
		}
		mine = func(r store.Record) bool { return sameOwner(r.Owner, owner) }
	}
	rec, err := m.store.Get(ctx, key)
	if err == nil && !mine(rec) {
		// Another caller's private file, or a public one asked for with
		// credentials (whose answer may differ): as if none were stored.
		err = fmt.Errorf("%w: stored for other credentials", store.ErrNotFound)
	}
	if errors.Is(err, store.ErrNotFound) {
		recs, lerr := m.store.List(ctx)
		if lerr != nil {
			return store.Record{}, nil, storageError("list downloads", lerr)
		}
		for _, r := range recs {
			if r.State == protocol.Done && (r.Source == key || r.FinalURL == key) && mine(r) {
				rec, err = r, nil
				break
			}
		}
	}
	switch {
	case errors.Is(err, store.ErrNotFound):
		return store.Record{}, nil, newError(CodeNotFound, fmt.Errorf("no download of %s is stored", key))
	case err != nil:
		return store.Record{}, nil, storageError("read record", err)
	}
	if cerr := rec.Check(); errors.Is(cerr, store.ErrHashState) {
		// The bytes are sound; only the record of their check is not.
		rec = rec.WithoutHash()
	} else if cerr != nil {
		return store.Record{}, nil, newError(CodeNotFound, fmt.Errorf("%s: %w", key, cerr))
	}
	if rec.State != protocol.Done {
		return store.Record{}, nil, newError(CodeNotFound, fmt.Errorf("the download of %s is not finished (%s)", key, rec.State))
	}
	chunks, err := m.store.Chunks(ctx, rec.URL)
	if err != nil {
		return store.Record{}, nil, storageError("read chunks", err)
	}
	parts, err := joinable(chunks, rec.Gen, rec.Total)
	if err != nil {
		// Finished, and bytes are gone: the browser evicted them. The
		// next Download of the key fetches them again.
		return store.Record{}, nil, newError(CodeNotFound, fmt.Errorf("%s: %w (evicted)", key, err))
	}
	blob, err := join(m.platform, parts, rec.ContentType)
	if err != nil {
		return store.Record{}, nil, newError(CodeStorage, fmt.Errorf("join %d chunks: %w", len(parts), err))
	}
	return rec, blob, nil
}

// Serve answers req from the finished download stored under key (or whose
// URL is key), as an HTTP server of that file would (RFC 9110 §14): a
// single Range gets 206, an unsatisfiable one 416, an If-Range that does
// not match the stored version the whole file. It returns an error with
// CodeNotFound when no finished download is stored there for who: a
// private download is answered only to a caller with its credentials, and
// a caller with credentials only from a download made with them.
func (m *Manager) Serve(ctx context.Context, key string, req protocol.ServeRequest, who Caller) (Served, error) {
	rec, blob, err := m.stored(ctx, key, &who)
	if err != nil {
		return Served{}, err
	}
	s := protocol.ServeRange(req, rec.Total, rec.Validators)
	out := Served{Status: s.Status, Key: rec.URL, URL: cmp.Or(rec.FinalURL, rec.Source, rec.URL), Header: map[string]string{"Accept-Ranges": "bytes"}}
	h := out.Header
	if rec.ContentType != "" {
		h["Content-Type"] = rec.ContentType
	}
	if rec.Validators.ETag != "" {
		h["ETag"] = rec.Validators.ETag
	}
	if rec.Validators.LastModified != "" {
		h["Last-Modified"] = rec.Validators.LastModified
	}
	if !rec.Digest.Empty() && rec.Hashed == rec.Total {
		// Checked against the bytes (RFC 9530 §3).
		h["Repr-Digest"] = rec.Digest.Field()
	}
	if s.ContentRange != "" {
		h["Content-Range"] = s.ContentRange
	}
	if s.Allow != "" {
		h["Allow"] = s.Allow
	}
	switch s.Status {
	case 200, 206:
		h["Content-Length"] = strconv.FormatInt(s.Length, 10)
	default:
		h["Content-Length"] = "0"
		delete(h, "Content-Type")
	}
	if s.Body {
		out.Body = blob.Slice(s.Start, s.Start+s.Length)
	}
	return out, nil
}

// Reader returns the bytes of the finished download stored under key, read
// into Go in steps of a few MiB: for Go programs that process a file
// (parse, hash, decompress) without holding it whole. The platform must be
// able to read blobs (BlobReader); the browser's can. It is the app's own
// read, as Download's Result is: it reads a private download too.
func (m *Manager) Reader(ctx context.Context, key string) (io.ReadCloser, error) {
	br, ok := m.platform.(platform.BlobReader)
	if !ok {
		return nil, newError(CodeInvalid, errors.New("this platform cannot read stored bytes"))
	}
	_, blob, err := m.stored(ctx, key, nil)
	if err != nil {
		return nil, err
	}
	return &blobReader{ctx: ctx, r: br, blob: blob}, nil
}

// blobReader reads a blob in steps of platform.ReadStep.
type blobReader struct {
	ctx  context.Context
	r    platform.BlobReader
	blob store.Blob
	at   int64
	buf  []byte
}

func (b *blobReader) Read(p []byte) (int, error) {
	if len(b.buf) == 0 {
		if b.blob == nil || b.at >= b.blob.Size() {
			return 0, io.EOF
		}
		end := min(b.at+platform.ReadStep, b.blob.Size())
		buf, err := b.r.ReadBlob(b.ctx, b.blob.Slice(b.at, end))
		if err != nil {
			return 0, fmt.Errorf("read stored bytes at %d: %w", b.at, err)
		}
		if int64(len(buf)) != end-b.at {
			return 0, fmt.Errorf("read stored bytes at %d: got %d bytes, want %d", b.at, len(buf), end-b.at)
		}
		b.at, b.buf = end, buf
	}
	n := copy(p, b.buf)
	b.buf = b.buf[n:]
	return n, nil
}

func (b *blobReader) Close() error {
	b.blob, b.buf = nil, nil
	return nil
}

// Verify checks the finished download stored under key against
// integrity (Subresource Integrity metadata, as Options.Integrity): at
// once when its bytes were checked against that digest already, else by
// hashing them where they are (the platform's BlobHasher: a Worker in the
// browser). A file that does not match fails with CodeIntegrity and is
// removed, as a download's would be. It is how a caller that joined a
// download started without that digest checks what it got, without a
// second download.
func (m *Manager) Verify(ctx context.Context, key, integrity string) error {
	want, err := protocol.ParseIntegrity(integrity)
	if err != nil || want.Empty() {
		return newError(CodeInvalid, fmt.Errorf("integrity %q: %w", integrity, cmp.Or(err, errors.New("no digest"))))
	}
	hasher, ok := m.hasher()
	if !ok {
		return newError(CodeInvalid, errors.New("integrity: this platform cannot hash the bytes it stores"))
	}
	rec, blob, err := m.stored(ctx, key, nil)
	if err != nil {
		return err
	}
	if rec.Digest.Equal(want) && rec.Hashed == rec.Total {
		return nil // checked against this very digest as it was stored
	}
	state, sum, err := hashAll(ctx, hasher, want.Alg, blob)
	if err != nil {
		return newError(CodeStorage, fmt.Errorf("hash the stored bytes of %s: %w", key, err))
	}
	if bytes.Equal(sum, want.Sum) {
		m.recordVerified(ctx, rec, want, state)
		return nil
	}
	ierr := newError(CodeIntegrity, fmt.Errorf("the file's %s is %s; integrity wants %s (its %d bytes are discarded)",
		want.Alg, b64(sum), b64(want.Sum), rec.Total))
	if err := m.Remove(ctx, rec.URL); err != nil {
		return errors.Join(ierr, err)
	}
	return ierr
}

// recordVerified writes into rec that its bytes matched want, so that the
// next check of the same digest is at once (and List says it is
// verified). Only under the download's lock, and only if nothing changed
// the download meanwhile: else it is left for the next check to hash.
func (m *Manager) recordVerified(ctx context.Context, rec store.Record, want protocol.Digest, state []byte) {
	if _, running := m.Active(rec.URL); running || len(state) == 0 {
		return
	}
	if l := m.locker(); l != nil {
		release, ok, err := l.Lock(ctx, m.lockName(rec.URL), false)
		if err != nil || !ok {
			return
		}
		defer release()
	}
	now, err := m.store.Get(ctx, rec.URL)
	if err != nil || now.Gen != rec.Gen || now.State != protocol.Done {
		return
	}
	now.Digest, now.DigestFrom, now.Hashed, now.HashState = want, store.DigestIntegrity, now.Total, state
	_ = m.store.Put(ctx, now) // best effort: the next check hashes again
}

// hashAll hashes blob with alg through hasher, in steps of hashJobStep
// each under its own deadline, and returns the hash's state and sum.
func hashAll(ctx context.Context, hasher platform.BlobHasher, alg string, blob store.Blob) (state, sum []byte, err error) {
	h, err := protocol.NewHash(alg)
	if err != nil {
		return nil, nil, err
	}
	sum = h.Sum(nil)
	for off := int64(0); off < blob.Size(); {
		n := min(hashJobStep, blob.Size()-off)
		sctx, cancel := storageCtx()
		next, s, err := hasher.HashBlob(sctx, alg, state, blob.Slice(off, off+n))
		cancel()
		if err != nil {
			return nil, nil, err
		}
		if ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
		off, state, sum = off+n, next, s
	}
	return state, sum, nil
}

// PutFile is a file an app stores itself (Manager.Put): what a
// Cache-API-shaped put() is given.
type PutFile struct {
	// URL is where the file came from.
	URL string
	// Blob holds its bytes.
	Blob store.Blob
	// ContentType, ETag and LastModified are the response's headers.
	ContentType, ETag, LastModified string
}

// Put stores f as the finished download of key, replacing what is stored
// there. With a strong validator, a later Download of the key can resume
// it like any other (should its bytes go missing). It refuses a key that
// is being downloaded.
func (m *Manager) Put(ctx context.Context, key string, f PutFile) error {
	if err := checkURL(f.URL); err != nil {
		return newError(CodeInvalid, err)
	}
	if key == "" {
		key = f.URL
	}
	if f.Blob == nil {
		return newError(CodeInvalid, errors.New("put: no bytes"))
	}
	if _, ok := m.Active(key); ok {
		return newError(CodeLocked, fmt.Errorf("%s is being downloaded", key))
	}
	if l := m.locker(); l != nil {
		release, ok, err := l.Lock(ctx, m.lockName(key), false)
		if err != nil {
			return newError(CodeStorage, fmt.Errorf("lock %s: %w", key, err))
		}
		if !ok {
			return newError(CodeLocked, fmt.Errorf("%s is being downloaded in another tab", key))
		}
		defer release()
	}
	now := m.Now().UnixMilli()
	v := protocol.Validators{ETag: f.ETag, LastModified: f.LastModified}.Bounded()
	rec := store.Record{
		URL: key, Schema: store.SchemaVersion, Gen: m.newGen(), Mode: protocol.ModeRanged, Total: f.Blob.Size(),
		Validators: v, FinalURL: protocol.Bounded(f.URL), Source: protocol.Bounded(f.URL), ContentType: protocol.Bounded(strings.TrimSpace(f.ContentType)),
		ChunkSize: DefaultChunkSize, State: protocol.Running, Created: now, Updated: now,
	}
	if ok, reason := v.Resumable(); !ok {
		rec.Mode, rec.Reason = protocol.ModeSingle, reason
	}
	if err := m.store.Reset(ctx, rec); err != nil {
		return storageError("put "+key, err)
	}
	if f.Blob.Size() > 0 {
		if err := m.store.PutChunk(ctx, store.Chunk{URL: key, Gen: rec.Gen, Start: 0, Data: f.Blob}); err != nil {
			return storageError("put "+key, err)
		}
	}
	rec.State, rec.Received = protocol.Done, f.Blob.Size()
	if err := m.store.Put(ctx, rec); err != nil {
		return storageError("put "+key, err)
	}
	return nil
}

// Usage is what a manager's downloads hold.
type Usage struct {
	// Stored is the number of bytes stored, of every download.
	Stored int64
	// Downloads is the number of stored downloads.
	Downloads int
}

// Usage adds up what is stored.
func (m *Manager) Usage(ctx context.Context) (Usage, error) {
	infos, err := m.List(ctx)
	if err != nil {
		return Usage{}, err
	}
	u := Usage{Downloads: len(infos)}
	for _, in := range infos {
		u.Stored += in.Received
	}
	return u, nil
}

// Clear removes every stored download, canceling those that run here. A
// download another tab is writing is left to it; its error (CodeLocked) is
// returned with the others, after everything else is removed.
func (m *Manager) Clear(ctx context.Context) error {
	recs, err := m.store.List(ctx)
	if err != nil {
		return storageError("list downloads", err)
	}
	keys := map[string]bool{}
	for _, r := range recs {
		keys[r.URL] = true
	}
	m.mu.Lock()
	for k := range m.active {
		keys[k] = true
	}
	m.mu.Unlock()
	var errs []error
	for k := range keys {
		if err := m.Remove(ctx, k); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
