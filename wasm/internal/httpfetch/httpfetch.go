//go:build !js

// Package httpfetch is a platform.Platform on net/http and memstore, so the
// engine runs natively in tests against real HTTP servers.
package httpfetch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/go-resumer/resumer/wasm/protocol"
	"github.com/go-resumer/resumer/wasm/resumer/platform"
	"github.com/go-resumer/resumer/wasm/store"
	"github.com/go-resumer/resumer/wasm/store/memstore"
)

// Platform fetches with an http.Client and keeps bytes as memstore.Bytes.
type Platform struct {
	Client *http.Client
}

var _ platform.Platform = Platform{}

// Fetch implements platform.Fetcher.
func (p Platform) Fetch(ctx context.Context, req platform.Request) (*platform.Response, error) {
	hreq, err := http.NewRequestWithContext(ctx, http.MethodGet, req.URL, nil)
	if err != nil {
		return nil, fmt.Errorf("new request: %w", err)
	}
	for k, v := range req.Header {
		hreq.Header.Set(k, v)
	}
	if req.Range != "" {
		hreq.Header.Set("Range", req.Range)
	}
	if req.IfRange != "" {
		hreq.Header.Set("If-Range", req.IfRange)
	}
	// Like fetch() with a Range header: ask for identity so that offsets
	// count the bytes we get.
	hreq.Header.Set("Accept-Encoding", "identity")
	client := p.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(hreq)
	if err != nil {
		return nil, err
	}
	h := resp.Header
	return &platform.Response{
		Response: protocol.Response{
			Status: resp.StatusCode, ContentRange: h.Get("Content-Range"), ContentLength: contentLength(resp),
			ContentEncoding: h.Get("Content-Encoding"), ContentType: h.Get("Content-Type"), RetryAfter: h.Get("Retry-After"),
			AcceptRanges: h.Get("Accept-Ranges"),
			Validators:   protocol.Validators{ETag: h.Get("ETag"), LastModified: h.Get("Last-Modified"), Date: h.Get("Date")},
			URL:          resp.Request.URL.String(),
			ReprDigest:   h.Get("Repr-Digest"), ContentDigest: h.Get("Content-Digest"),
		},
		Body: &body{rc: resp.Body},
	}, nil
}

// contentLength is the Content-Length header as fetch() shows it: net/http
// moves it into resp.ContentLength (-1 when absent, as with chunked
// transfer coding).
func contentLength(resp *http.Response) string {
	if resp.ContentLength < 0 {
		return ""
	}
	return strconv.FormatInt(resp.ContentLength, 10)
}

// body reads a net/http response body into memstore.Bytes pieces.
type body struct {
	rc       io.ReadCloser
	leftover []byte // read past the last piece's max, for the next one
}

// Whole implements platform.Body: everything up to the end, or nothing.
func (b *body) Whole(ctx context.Context) (store.Blob, error) {
	data, err := io.ReadAll(b.rc)
	if err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return nil, err
	}
	return memstore.Bytes(append(b.leftover, data...)), nil
}

// Next implements platform.Body.
func (b *body) Next(ctx context.Context, max int64, flush time.Duration, onData func(int64)) (store.Blob, error) {
	var buf bytes.Buffer
	var first time.Time
	if len(b.leftover) > 0 {
		n := min(int64(len(b.leftover)), max)
		buf.Write(b.leftover[:n])
		b.leftover = b.leftover[n:]
		first = time.Now()
	}
	chunk := make([]byte, 32<<10)
	for int64(buf.Len()) < max {
		if err := ctx.Err(); err != nil {
			return memstore.Bytes(buf.Bytes()), err
		}
		n, err := b.rc.Read(chunk)
		if n > 0 {
			if buf.Len() == 0 {
				first = time.Now()
			}
			if onData != nil {
				onData(int64(n))
			}
			take := min(int64(n), max-int64(buf.Len()))
			buf.Write(chunk[:take])
			b.leftover = append(b.leftover, chunk[take:n]...)
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return memstore.Bytes(buf.Bytes()), io.EOF
			}
			if ctx.Err() != nil {
				err = ctx.Err()
			}
			return memstore.Bytes(buf.Bytes()), err
		}
		if buf.Len() > 0 && flush > 0 && time.Since(first) >= flush {
			break
		}
	}
	return memstore.Bytes(buf.Bytes()), nil
}

// Close implements platform.Body.
func (b *body) Close() { b.rc.Close() }

// ReadBlob implements platform.BlobReader.
func (Platform) ReadBlob(ctx context.Context, b store.Blob) ([]byte, error) {
	m, ok := b.(memstore.Bytes)
	if !ok {
		return nil, fmt.Errorf("read blob of type %T", b)
	}
	return m, nil
}

// Join implements platform.Platform.
func (Platform) Join(parts []store.Blob, contentType string) (store.Blob, error) {
	var n int64
	for _, p := range parts {
		n += p.Size()
	}
	out := make([]byte, 0, n)
	for _, p := range parts {
		b, ok := p.(memstore.Bytes)
		if !ok {
			return nil, fmt.Errorf("join: part of type %T", p)
		}
		out = append(out, b...)
	}
	return memstore.Bytes(out), nil
}
