//go:build !js

package resumer_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"os"

	"github.com/go-resumer/resumer/serve/devserver"
	"github.com/go-resumer/resumer/wasm/internal/httpfetch"
	"github.com/go-resumer/resumer/wasm/resumer"
	"github.com/go-resumer/resumer/wasm/store/memstore"
)

// A Go program downloads a file, resumably and checked against its
// digest, then reads it back. In a browser (GOOS=js GOARCH=wasm), the
// manager comes from browser.Open(ctx, "resumer"): fetch() and IndexedDB
// instead of the HTTP client and the memory store used here, the same
// calls otherwise.
func Example() {
	// A server to download from: the dev server, with one sample file.
	dir, _ := os.MkdirTemp("", "resumer-example")
	defer os.RemoveAll(dir)
	srv, err := devserver.New(devserver.Config{DataDir: dir, Samples: []devserver.Sample{{Name: "model.bin", Size: 3 << 20}}})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	url := hs.URL + "/files/model.bin"

	m := resumer.NewManager(memstore.New(), httpfetch.Platform{})
	d, err := m.Download(url, resumer.Options{Key: "model-v1"})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	res, err := d.Wait(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("size:", res.Size, "resumable:", res.Resumable, "verified:", res.Verified)

	// Read the finished file, a few MiB at a time.
	r, err := m.Reader(ctx, "model-v1")
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()
	h := sha256.New()
	n, err := io.Copy(h, r)
	if err != nil {
		log.Fatal(err)
	}
	want, _ := os.ReadFile(mustPathOf(srv, "model.bin"))
	fmt.Println("read:", n, "bytes, same as the server's:", fmt.Sprintf("%x", h.Sum(nil)) == fmt.Sprintf("%x", sha256.Sum256(want)))
	// Output:
	// size: 3145728 resumable: true verified: true
	// read: 3145728 bytes, same as the server's: true
}

func mustPathOf(srv *devserver.Server, name string) string {
	p, err := srv.Path(name)
	if err != nil {
		log.Fatal(err)
	}
	return p
}
