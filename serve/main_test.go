//go:build !js && !wasip1

package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-resumer/resumer/serve/devserver"
)

// TestCheckCommand: "serve check" exits 0, 1 or 2 as docs/servers.md says,
// takes its flags before or after the URL, and prints JSON with --json.
func TestCheckCommand(t *testing.T) {
	srv, err := devserver.New(devserver.Config{DataDir: t.TempDir(), Samples: []devserver.Sample{{Name: "f.bin", Size: 1 << 20}}})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		srv.Close()
		hs.Close()
	})
	u := hs.URL + "/files/f.bin"
	for _, tt := range []struct {
		args []string
		exit int
		out  string // printed text it must hold
	}{
		{[]string{u}, 0, "browsers: resumable"},
		{[]string{u + "?validators=none"}, 1, "browsers: not resumable"},
		{[]string{u + "?status=503"}, 2, "browsers: could not check"},
		{[]string{u + "?cors=noexpose", "--origin", "http://app.example"}, 1, "browsers: resumable same-origin only"},
		{[]string{"--json", u + "?validators=none"}, 1, `"browser": "not resumable"`},
		{[]string{}, 2, ""},
		{[]string{u, u}, 2, ""},
	} {
		out := capture(t, func() int { return runCheck(tt.args) })
		if out.code != tt.exit || !strings.Contains(out.stdout, tt.out) {
			t.Errorf("check %q: exit %d, want %d; output:\n%s", tt.args, out.code, tt.exit, out.stdout)
		}
		if len(tt.args) > 0 && tt.args[0] == "--json" {
			var v map[string]any
			if err := json.Unmarshal([]byte(out.stdout), &v); err != nil {
				t.Errorf("--json printed no JSON: %v\n%s", err, out.stdout)
			}
		}
	}
}

type captured struct {
	code   int
	stdout string
}

// capture runs fn with os.Stdout and os.Stderr going to a pipe.
func capture(t *testing.T, fn func() int) captured {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, stderr := os.Stdout, os.Stderr
	os.Stdout, os.Stderr = w, w
	var buf bytes.Buffer
	done := make(chan struct{})
	go func() {
		io.Copy(&buf, r)
		close(done)
	}()
	code := fn()
	os.Stdout, os.Stderr = stdout, stderr
	w.Close()
	<-done
	r.Close()
	return captured{code, buf.String()}
}

// TestServeTLS: with a certificate (serve -tls) the dev server speaks
// HTTP/2 over TLS to a client that trusts it, answers ranges as over
// HTTP/1.1, and stops when its context ends.
func TestServeTLS(t *testing.T) {
	dir := t.TempDir()
	srv, err := devserver.New(devserver.Config{DataDir: dir, Samples: []devserver.Sample{{Name: "f.bin", Size: 1 << 20}}})
	if err != nil {
		t.Fatal(err)
	}
	file, err := os.ReadFile(filepath.Join(dir, "f.bin"))
	if err != nil {
		t.Fatal(err)
	}
	cert, err := devserver.NewSelfSigned()
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, srv, []net.Listener{ln}, cert) }()

	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(cert.PEM) {
		t.Fatal("the certificate's PEM does not parse")
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}, ForceAttemptHTTP2: true}}
	defer client.CloseIdleConnections()
	req, _ := http.NewRequest(http.MethodGet, "https://"+ln.Addr().String()+"/files/f.bin", nil)
	req.Header.Set("Range", "bytes=100-199")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if resp.ProtoMajor != 2 || resp.StatusCode != http.StatusPartialContent || !bytes.Equal(body, file[100:200]) {
		t.Fatalf("%s %d, %d bytes; want HTTP/2 206 with bytes 100-199", resp.Proto, resp.StatusCode, len(body))
	}
	if _, err := (&http.Client{}).Get("https://" + ln.Addr().String() + "/files/f.bin"); err == nil {
		t.Error("a client that does not trust the self-signed certificate got an answer")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve ended with %v", err)
	}
}
