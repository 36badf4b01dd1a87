//go:build js && wasm

package browser

import (
	"context"
	"time"

	"github.com/hack-pad/safejs"

	"github.com/go-resumer/resumer/wasm/internal/jsutil"
	"github.com/go-resumer/resumer/wasm/protocol"
)

// checkTimeout bounds each request of a check until its headers: a server
// that stalls is reported, not waited for.
const checkTimeout = 15 * time.Second

// Check checks whether downloads of url can resume, from this page's own
// origin: the requests protocol.NextCheck asks for go through fetch(), so
// CORS applies as it will to a download, and each body is aborted unread
// once its headers are in. What a page may not send (Accept-Encoding, its
// own preflight) is left out; a refused request (CORS) is an answer with
// an error, as a download would meet it.
//
// server, when not "", names the server whose fixes come first (one of the
// protocol.Server constants); else the one that answered, where the page
// can read its Server header.
func Check(ctx context.Context, url, credentials, server string) protocol.Report {
	var done []protocol.CheckAnswer
	for {
		q, more := protocol.NextCheck(done, protocol.CheckOptions{})
		if !more {
			break
		}
		done = append(done, checkOne(ctx, url, q, credentials))
	}
	r := protocol.Diagnose(url, done)
	r.ForServer(server)
	return r
}

// serverOf is the answer's Server header, or X-Powered-By without one, as
// the page may read them: from another origin, only where exposed.
func serverOf(rv safejs.Value) string {
	h, err := rv.Get("headers")
	if err != nil {
		return ""
	}
	for _, name := range []string{"Server", "X-Powered-By"} {
		if v, err := h.Call("get", name); err == nil && !v.IsNull() && !v.IsUndefined() {
			if s, err := v.String(); err == nil && s != "" {
				return s
			}
		}
	}
	return ""
}

func checkOne(ctx context.Context, url string, q protocol.CheckRequest, credentials string) protocol.CheckAnswer {
	a := protocol.CheckAnswer{Request: q}
	headers := map[string]any{}
	for k, v := range map[string]string{"Range": q.Range, "If-Range": q.IfRange, "If-Match": q.IfMatch} {
		if v != "" {
			headers[k] = v
		}
	}
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	p, ac, err := send(q.Method, url, headers, credentials)
	if err != nil {
		a.Err = err.Error()
		return a
	}
	// The body is never read: aborted once the headers are in (or the
	// time is up), so a server that answers with a whole file sends what
	// the network holds, not the file.
	defer ac.Call("abort")
	rv, err := jsutil.Await(ctx, p)
	if err != nil {
		a.Err = err.Error()
		return a
	}
	if a.Response, err = responseOf(rv, url); err != nil {
		a.Err = err.Error()
	}
	a.Server = serverOf(rv)
	return a
}
