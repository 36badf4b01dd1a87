//go:build !js && !wasip1

// Command serve runs the resumer dev server: the demo page, the sample
// files with correct headers, and fault injection (see package devserver).
//
//	go run ./serve [-build] [-addr 127.0.0.1:8080] [-addr2 127.0.0.1:8081] [-data build/data] [-web build/web] [-token T] [-quiet]
//
// -build first builds the bundle (the wasm module, resumer.js, the demo)
// into -web; -build-only builds it and exits.
//
// It prints the token the control API (/_control/) asks for in its
// X-Resumer-Control header; -token sets it. It warns when an address is
// not a loopback one.
//
// -addr2 serves the same site on a second address: another origin, for
// cross-origin tests. SIGINT or SIGTERM stops it cleanly, also while the
// samples are being generated.
//
//	go run ./serve check [--origin ORIGIN] [--json] [--timeout 15s] URL
//
// check tells whether downloads of URL can resume, and why not, with a few
// small requests (package doctor). Exit status: 0 resumable, 1 not
// resumable (from ORIGIN, with --origin), 2 could not check.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/go-resumer/resumer/serve/bundle"
	"github.com/go-resumer/resumer/serve/devserver"
	"github.com/go-resumer/resumer/serve/doctor"
	"github.com/go-resumer/resumer/wasm/protocol"
)

// runCheck runs "serve check" and returns its exit status.
func runCheck(args []string) int {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	origin := fs.String("origin", "", "also check as a page on this origin would (CORS), e.g. https://app.example")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	timeout := fs.Duration("timeout", 15*time.Second, "how long to wait for each answer's headers")
	server := fs.String("server", "", "the server whose fixes to show first (nginx, Apache, Caddy, S3/CloudFront, Go, Express, lighttpd); default: the one that answered")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: serve check [--origin ORIGIN] [--server NAME] [--json] [--timeout 15s] URL")
		fs.PrintDefaults()
	}
	// Flags may come before or after the URL.
	var rest []string
	for len(args) > 0 {
		if err := fs.Parse(args); err != nil {
			return doctor.ExitNotChecked
		}
		if fs.NArg() == 0 {
			break
		}
		rest, args = append(rest, fs.Arg(0)), fs.Args()[1:]
	}
	if len(rest) != 1 {
		fs.Usage()
		return doctor.ExitNotChecked
	}
	if *server != "" {
		named, ok := protocol.ServerNamed(*server)
		if !ok {
			fmt.Fprintf(os.Stderr, "resumer check: --server %q: not one of nginx, Apache, Caddy, S3/CloudFront, Go, Express, lighttpd\n", *server)
			return doctor.ExitNotChecked
		}
		*server = named
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := doctor.Check(ctx, rest[0], doctor.Options{Origin: *origin, Timeout: *timeout, Server: *server})
	if err != nil {
		fmt.Fprintln(os.Stderr, "resumer check:", err)
		return doctor.ExitNotChecked
	}
	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		err = enc.Encode(res)
	} else {
		err = res.WriteText(os.Stdout)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "resumer check:", err)
		return doctor.ExitNotChecked
	}
	return res.Exit()
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "check" {
		os.Exit(runCheck(os.Args[2:]))
	}
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "resumer dev server:", err)
		os.Exit(1)
	}
}

func run() error {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address")
	addr2 := flag.String("addr2", "", "optional second listen address (another origin, for CORS tests)")
	data := flag.String("data", "build/data", "folder of the files served under /files/ (samples are generated there)")
	web := flag.String("web", "build/web", "folder of the static bundle served at /")
	quiet := flag.Bool("quiet", false, "log nothing but the address")
	build := flag.Bool("build", false, "build the bundle into -web before serving")
	buildOnly := flag.Bool("build-only", false, "build the bundle into -web and exit")
	token := flag.String("token", "", "control API token (default: a random one, printed at start)")
	useTLS := flag.Bool("tls", false, "serve HTTPS, and so HTTP/2, with a self-signed certificate made at start (its SPKI is printed for Chromium's --ignore-certificate-errors-spki-list)")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if *build || *buildOnly {
		root, err := bundle.Root(".")
		if err != nil {
			return err
		}
		if err := bundle.Build(ctx, root, *web); err != nil {
			return err
		}
		fmt.Printf("resumer dev server: built the bundle in %s\n", *web)
		if *buildOnly {
			return nil
		}
	}

	var logf func(string, ...any)
	if !*quiet {
		logf = log.New(os.Stderr, "", log.Ltime|log.Lmicroseconds).Printf
	}
	srv, err := devserver.NewContext(ctx, devserver.Config{
		DataDir:      *data,
		WebDir:       *web,
		Samples:      devserver.DefaultSamples,
		Logf:         logf,
		ControlToken: *token,
	})
	if err != nil {
		if ctx.Err() != nil {
			fmt.Fprintln(os.Stderr, "resumer dev server: interrupted while generating samples")
			return nil
		}
		return err
	}
	defer srv.Close()

	var cert *devserver.SelfSigned
	scheme := "http"
	if *useTLS {
		if cert, err = devserver.NewSelfSigned(); err != nil {
			return err
		}
		scheme = "https"
	}
	var listeners []net.Listener
	for _, a := range []string{*addr, *addr2} {
		if a == "" {
			continue
		}
		ln, err := net.Listen("tcp", a)
		if err != nil {
			return err
		}
		defer ln.Close()
		listeners = append(listeners, ln)
		fmt.Printf("resumer dev server: %s://%s/\n", scheme, ln.Addr())
		if ip := ln.Addr().(*net.TCPAddr).IP; !ip.IsLoopback() {
			fmt.Fprintf(os.Stderr, "\n"+
				"  WARNING: listening on %s, which is not a loopback address.\n"+
				"  Anyone who can reach it can read every file in %s, and anyone who\n"+
				"  learns the control token can arm faults and rewrite the samples.\n"+
				"  This is a test server: prefer 127.0.0.1.\n\n", ln.Addr(), *data)
		}
	}
	fmt.Printf("resumer dev server: control token %s (send it as %s: to /_control/)\n", srv.ControlToken(), devserver.ControlHeader)
	if cert != nil {
		fmt.Printf("resumer dev server: self-signed certificate, SPKI %s\n", cert.SPKI)
	}
	return serve(ctx, srv, listeners, cert)
}

// serve runs the HTTP server on every listener until ctx ends or one of
// them fails, then shuts down: srv.Close first, so that throttled
// responses end at once instead of holding Shutdown until its timeout.
// With cert it serves HTTPS, HTTP/2 to the clients that offer it.
func serve(ctx context.Context, srv *devserver.Server, listeners []net.Listener, cert *devserver.SelfSigned) error {
	hs := &http.Server{
		Handler:           srv.Handler(),
		ConnContext:       srv.ConnContext, // lets /_control/cut reach live connections
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		// No WriteTimeout: a throttled download may rightly take
		// minutes; the handler gives each write a deadline of its own.
		// No ReadTimeout: it would cancel a long response's context.
	}
	errc := make(chan error, len(listeners))
	if cert != nil {
		hs.TLSConfig = cert.TLSConfig()
	}
	for _, ln := range listeners {
		if cert != nil {
			// ServeTLS sets HTTP/2 up; the certificate is TLSConfig's.
			go func() { errc <- hs.ServeTLS(ln, "", "") }()
			continue
		}
		go func() { errc <- hs.Serve(ln) }()
	}
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	srv.Close()
	sctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if serr := hs.Shutdown(sctx); serr != nil {
		hs.Close()
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}
