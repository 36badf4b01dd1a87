//go:build !js && !wasip1

// Package bundle builds the static bundle a web server hosts: the demo page,
// resumer.js and its TypeScript declarations, the WebAssembly module, a
// gzip and a brotli copy of it, and the glue of the same Go toolchain (resumer-go.js,
// made by GoGlue, and wasm_exec.js). `make
// build`, `go run ./serve -build` and the browser tests all build it
// through Build.
package bundle

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/andybalholm/brotli"
)

// ModulePath is the module whose root holds wasm/ and web/.
const ModulePath = "github.com/go-resumer/resumer"

// Root finds the module root at or above dir.
func Root(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.HasPrefix(b, []byte("module "+ModulePath+"\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("bundle: not inside the " + ModulePath + " module")
		}
		dir = parent
	}
}

// Build writes the bundle of the module at root into out.
func Build(ctx context.Context, root, out string) error {
	out, err := filepath.Abs(out) // go build runs in root
	if err != nil {
		return fmt.Errorf("bundle: %w", err)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return fmt.Errorf("bundle: %w", err)
	}
	wasm := filepath.Join(out, "resumer.wasm")
	cmd := exec.CommandContext(ctx, goTool(), "build", "-trimpath", "-ldflags=-s -w", "-o", wasm, "./wasm/cmd/resumer")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	if outb, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("bundle: go build: %w\n%s", err, outb)
	}
	if err := compressFile(wasm, ".gz", func(w io.Writer) io.WriteCloser {
		zw, _ := gzip.NewWriterLevel(w, gzip.BestCompression)
		return zw
	}); err != nil {
		return fmt.Errorf("bundle: %w", err)
	}
	// Brotli at its best, with a window that holds the whole module: a
	// quarter smaller than gzip, and every browser takes it over HTTPS
	// (and Chromium and Firefox on localhost).
	if err := compressFile(wasm, ".br", func(w io.Writer) io.WriteCloser {
		return brotli.NewWriterOptions(w, brotli.WriterOptions{Quality: brotli.BestCompression, LGWin: 24})
	}); err != nil {
		return fmt.Errorf("bundle: %w", err)
	}
	goroot, err := exec.CommandContext(ctx, goTool(), "env", "GOROOT").Output()
	if err != nil {
		return fmt.Errorf("bundle: go env GOROOT: %w", err)
	}
	// The glue must come from the toolchain that built the module:
	// resumer-go.js, the module resumer.js imports, and wasm_exec.js, the
	// toolchain's own, for Go programs built against this bundle (and
	// resumer.js of earlier versions, which the bench measures).
	wasmExec, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(goroot)), "lib", "wasm", "wasm_exec.js"))
	if err != nil {
		return fmt.Errorf("bundle: %w", err)
	}
	glue, err := GoGlue(wasmExec)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, "resumer-go.js"), glue, 0o644); err != nil {
		return fmt.Errorf("bundle: %w", err)
	}
	if err := os.WriteFile(filepath.Join(out, "wasm_exec.js"), wasmExec, 0o644); err != nil {
		return fmt.Errorf("bundle: %w", err)
	}
	entries, err := os.ReadDir(filepath.Join(root, "web"))
	if err != nil {
		return fmt.Errorf("bundle: %w", err)
	}
	for _, e := range entries {
		if !e.IsDir() && Shipped(e.Name()) {
			if err := copyFile(filepath.Join(root, "web", e.Name()), filepath.Join(out, e.Name())); err != nil {
				return fmt.Errorf("bundle: %w", err)
			}
		}
	}
	// The Service Worker module as a classic script, for importScripts.
	classic, err := Classic(out, SWEntry, SWGlobal)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, classicName(SWEntry)), classic, 0o644); err != nil {
		return fmt.Errorf("bundle: %w", err)
	}
	return nil
}

// SWEntry is the Service Worker module, and SWGlobal the global its classic
// script (resumer-sw-classic.js) sets to its exports.
const (
	SWEntry  = "resumer-sw.js"
	SWGlobal = "resumerSW"
)

// Shipped reports whether the file of web/ with this name goes into the
// bundle: the pages, scripts and styles, and the TypeScript declarations
// (resumer.d.ts), which ship next to the module they describe so that a
// project copying the bundle gets its types. The TypeScript example, and any
// other .ts source, stays out: nothing in a browser runs it.
func Shipped(name string) bool {
	if strings.HasSuffix(name, ".d.ts") {
		return true
	}
	switch filepath.Ext(name) {
	case ".html", ".js", ".css", ".svg", ".ico":
		return true
	}
	return false
}

// goTool is the go command running this program's build, or go on PATH.
func goTool() string {
	if g := os.Getenv("GOROOT"); g != "" {
		if p := filepath.Join(g, "bin", "go"); fileExists(p) {
			return p
		}
	}
	return "go"
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o644)
}

// compressFile writes p+ext next to p, compressed by the writer enc makes;
// the dev server sends it with Content-Encoding to clients that accept
// that coding.
func compressFile(p, ext string, enc func(io.Writer) io.WriteCloser) error {
	in, err := os.Open(p)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp := p + ext + ".tmp"
	out, err := os.Create(tmp)
	if err != nil {
		return err
	}
	zw := enc(out)
	_, err = io.Copy(zw, in)
	if cerr := zw.Close(); err == nil {
		err = cerr
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, p+ext)
}
