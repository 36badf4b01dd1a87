//go:build !js

// Package doctor answers "why won't this download resume?" for any URL: it
// sends the few small requests protocol.NextCheck asks for, with net/http,
// never reading a body, and reports what protocol.DiagnoseFrom concludes,
// the rules resumer's own engine and resumer.check in a page apply.
package doctor

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	neturl "net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/go-resumer/resumer/wasm/protocol"
)

// Options say how to check.
type Options struct {
	// Origin, when set, makes the check also play a page on that origin
	// (scheme://host[:port]): each request carries it in Origin, a CORS
	// preflight is sent, and the answers are judged as that page would
	// read them.
	Origin string
	// Timeout bounds each request until its headers (default 15 s): a
	// server that stalls is reported, not waited for.
	Timeout time.Duration
	// Transport sends the requests (default: one connection per request,
	// with a small receive buffer, see newTransport).
	Transport http.RoundTripper
	// Server names the server whose fixes come first (a protocol.Server
	// constant); by default the one that answered (its Server header).
	Server string
}

// Result is a check's report with what it sent and got.
type Result struct {
	protocol.Report
	// Redirects are the URLs the first request was redirected through,
	// in order, ending with the final one; empty without redirects.
	Redirects []string `json:"redirects,omitempty"`
	// Answers are the requests sent and what came of each.
	Answers []protocol.CheckAnswer `json:"-"`
}

// maxRedirects is how many redirects a check follows, as browsers do (the
// Fetch standard stops at 20).
const maxRedirects = 20

// Check checks url. The error is for a check that could not start (a URL
// that does not parse); a server that does not answer is a report whose
// verdict is protocol.NotChecked.
func Check(ctx context.Context, url string, opts Options) (Result, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = 15 * time.Second
	}
	if opts.Transport == nil {
		opts.Transport = newTransport(opts.Timeout)
	}
	if _, err := http.NewRequest("GET", url, nil); err != nil {
		return Result{}, fmt.Errorf("check %q: %w", url, err)
	}
	if strings.HasSuffix(opts.Origin, "/") {
		opts.Origin = strings.TrimRight(opts.Origin, "/")
	}
	var res Result
	copts := protocol.CheckOptions{SetEncoding: true, Preflight: opts.Origin != ""}
	for {
		q, more := protocol.NextCheck(res.Answers, copts)
		if !more {
			break
		}
		var hops []string
		a := send(ctx, url, q, opts, &hops)
		if q.Kind == protocol.CheckFirst && len(hops) > 0 {
			res.Redirects = hops
		}
		res.Answers = append(res.Answers, a)
	}
	res.Report = protocol.DiagnoseFrom(url, opts.Origin, res.Answers)
	res.Report.ForServer(opts.Server)
	return res, nil
}

// send sends one request of the check and reads its headers. The body is
// never read: the connection is closed with it, so a server that answers
// a range request with the whole file sends no more than the socket
// buffers take.
func send(ctx context.Context, url string, q protocol.CheckRequest, opts Options, hops *[]string) protocol.CheckAnswer {
	a := protocol.CheckAnswer{Request: q}
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, q.Method, url, nil)
	if err != nil {
		a.Err = err.Error()
		return a
	}
	set := func(k, v string) {
		if v != "" {
			req.Header.Set(k, v)
		}
	}
	set("Range", q.Range)
	set("If-Range", q.IfRange)
	set("If-Match", q.IfMatch)
	// Set explicitly, Accept-Encoding also stops net/http from
	// decompressing: the check sees Content-Encoding as sent.
	set("Accept-Encoding", q.AcceptEncoding)
	set("Origin", opts.Origin)
	set("User-Agent", "resumer-check")
	if q.Kind == protocol.CheckPreflight {
		req.Header.Set("Access-Control-Request-Method", "GET")
		req.Header.Set("Access-Control-Request-Headers", protocol.PreflightHeaders)
	}
	client := &http.Client{Transport: opts.Transport, CheckRedirect: func(r *http.Request, via []*http.Request) error {
		if q.Kind == protocol.CheckPreflight {
			// A browser fails a preflight that is redirected (and
			// net/http would follow it as a GET of the whole file).
			return http.ErrUseLastResponse
		}
		if len(via) >= maxRedirects {
			return fmt.Errorf("more than %d redirects", maxRedirects)
		}
		*hops = append(*hops, r.URL.String())
		// A browser keeps Range and If-Range across a redirect; net/http
		// copies the headers set on the first request. Redirected to
		// another origin, a page's request says Origin: null.
		if opts.Origin != "" && origin(r.URL) != origin(via[len(via)-1].URL) {
			r.Header.Set("Origin", "null")
		}
		return nil
	}}
	resp, err := client.Do(req)
	if err != nil {
		a.Err = describe(err)
		return a
	}
	resp.Body.Close()
	h := resp.Header
	a.Response = protocol.Response{
		Status: resp.StatusCode, ContentRange: h.Get("Content-Range"), ContentLength: h.Get("Content-Length"),
		ContentEncoding: h.Get("Content-Encoding"), ContentType: h.Get("Content-Type"), RetryAfter: h.Get("Retry-After"),
		AcceptRanges: h.Get("Accept-Ranges"),
		Validators:   protocol.Validators{ETag: h.Get("ETag"), LastModified: h.Get("Last-Modified"), Date: h.Get("Date")},
		URL:          resp.Request.URL.String(),
		ReprDigest:   h.Get("Repr-Digest"), ContentDigest: h.Get("Content-Digest"),
	}
	if a.Response.ContentLength == "" && resp.ContentLength >= 0 && q.Method != "HEAD" {
		// net/http moves Content-Length out of the header map.
		a.Response.ContentLength = strconv.FormatInt(resp.ContentLength, 10)
	}
	if a.Server = h.Get("Server"); a.Server == "" {
		a.Server = h.Get("X-Powered-By")
	}
	a.AllowOrigin = h.Get("Access-Control-Allow-Origin")
	a.AllowHeaders = strings.Join(h.Values("Access-Control-Allow-Headers"), ", ")
	a.ExposeHeaders = strings.Join(h.Values("Access-Control-Expose-Headers"), ", ")
	return a
}

// origin is the scheme://host[:port] of u.
func origin(u *neturl.URL) string { return u.Scheme + "://" + u.Host }

// describe says in a few words why a request got no answer.
func describe(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()):
		return "no answer in time (the server stalls)"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return "the server closed the connection without an answer"
	}
	return err.Error()
}

// recvBuffer is the receive buffer of a check's connections: what a server
// that answers a range request with a whole file can push before the check
// closes the connection is bounded by it (and by the server's own send
// buffer).
const recvBuffer = 4 << 10

// newTransport returns a transport that opens one connection per request
// (closing it drops an unread body) with a small receive buffer, and never
// asks for HTTP/2, whose streams would let a body run on after its close.
func newTransport(timeout time.Duration) *http.Transport {
	d := &net.Dialer{Timeout: 10 * time.Second, Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = setRecvBuffer(fd, recvBuffer)
		})
		return errors.Join(err, serr)
	}}
	return &http.Transport{
		Proxy:             http.ProxyFromEnvironment,
		DialContext:       d.DialContext,
		DisableKeepAlives: true,
		// An empty, non-nil map turns HTTP/2 off.
		TLSNextProto:          map[string]func(string, *tls.Conn) http.RoundTripper{},
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: timeout,
	}
}
