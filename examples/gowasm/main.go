//go:build js && wasm

// Command gowasm is a Go program, in a module of its own, that uses
// resumer as a library: compiled to js/wasm, it downloads the file its
// page names into IndexedDB (resumably: reload the page and it resumes),
// and hands the finished file to the page as a JS Blob.
//
// Build and serve it beside its page (index.html) and the toolchain's
// glue:
//
//	GOOS=js GOARCH=wasm go build -o gowasm.wasm .
//	cp "$(go env GOROOT)/lib/wasm/wasm_exec.js" .
//
// The page calls resumerDownload(url, integrity) once the program runs,
// and gets onProgress(state, stored, total) and onFile(blob, verified) or
// onError(code, message) back.
package main

import (
	"context"
	"errors"
	"syscall/js"

	"github.com/go-resumer/resumer/wasm/browser"
	"github.com/go-resumer/resumer/wasm/resumer"
)

func main() {
	m, err := browser.Open(context.Background(), "gowasm-example")
	if err != nil {
		call("onError", "unsupported", err.Error())
		return
	}
	js.Global().Set("resumerDownload", js.FuncOf(func(_ js.Value, args []js.Value) any {
		url, integrity := args[0].String(), ""
		if len(args) > 1 && args[1].Type() == js.TypeString {
			integrity = args[1].String()
		}
		// Waiting blocks: never inside a JS callback, always in a goroutine.
		go download(m, url, integrity)
		return nil
	}))
	call("onReady")
	select {} // the page keeps calling in
}

// download runs one download to its end and reports it to the page.
func download(m *resumer.Manager, url, integrity string) {
	d, err := m.Download(url, resumer.Options{
		Integrity: integrity,
		OnProgress: func(p resumer.Progress) {
			call("onProgress", string(p.State), p.Stored, p.Total)
		},
	})
	if err != nil {
		report(err)
		return
	}
	res, err := d.Wait(context.Background())
	if err != nil {
		report(err)
		return
	}
	blob, _ := browser.JSBlob(res.Blob)
	call("onFile", blob, res.Verified)
}

// report hands an error to the page with its stable code.
func report(err error) {
	var re *resumer.Error
	code := "internal"
	if errors.As(err, &re) {
		code = re.Code
	}
	call("onError", code, err.Error())
}

// call calls the page's function name, if it has one.
func call(name string, args ...any) {
	if f := js.Global().Get(name); f.Type() == js.TypeFunction {
		f.Invoke(args...)
	}
}
