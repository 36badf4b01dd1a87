//go:build js && wasm

package browser_test

import (
	"context"
	"log"
	"syscall/js"

	"github.com/go-resumer/resumer/wasm/browser"
	"github.com/go-resumer/resumer/wasm/resumer"
)

// A Go program compiled to js/wasm downloads a file into the page's
// IndexedDB (resumably: a reload resumes it), checks it against its
// digest, and hands it to the page as a JS Blob, whose bytes never entered
// Go. (examples/gowasm is the whole program, with its page.)
func Example() {
	ctx := context.Background()
	m, err := browser.Open(ctx, "my-app")
	if err != nil {
		log.Fatal(err)
	}
	d, err := m.Download("https://example.com/model.bin", resumer.Options{
		Integrity: "sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
		OnProgress: func(p resumer.Progress) {
			log.Printf("%s: %d of %d bytes", p.State, p.Stored, p.Total)
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	res, err := d.Wait(ctx)
	if err != nil {
		log.Fatal(err) // an *resumer.Error: its Code says why
	}
	blob, _ := browser.JSBlob(res.Blob)
	js.Global().Call("showModel", blob, res.Verified) // the page's own function
}
