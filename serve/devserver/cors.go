package devserver

import (
	"net/http"
)

const (
	// exposeHeaders are the response headers a cross-origin resumer must
	// read to validate a 206 and check the whole file (Repr-Digest);
	// without this list a script sees only the CORS-safelisted response
	// headers (Fetch standard).
	exposeHeaders = "ETag, Last-Modified, Content-Range, Accept-Ranges, Content-Length, Date, Retry-After, Repr-Digest"
	// allowHeaders are the request headers a preflight allows. Range with
	// one range that has a start is CORS-safelisted, but If-Range and
	// If-Match are not, so a resume that sends them needs a preflight.
	// Authorization is never safelisted (Fetch standard), and a "*" in
	// this list would not cover it: it is named, for a client that sends
	// a Bearer token (the auth= fault).
	allowHeaders = "Range, If-Range, If-Match, Authorization"
	// preflightMaxAge lets the browser cache a preflight for 10 minutes.
	preflightMaxAge = "600"
)

// setCORS adds the CORS headers of a /files/ response for the cors= mode.
// Access-Control-Allow-Origin is "*" rather than an echo of Origin: the
// files are public and resumer sends no credentials with them.
func setCORS(h http.Header, mode string) {
	if mode == "none" {
		return
	}
	h.Set("Access-Control-Allow-Origin", "*")
	if mode != "noexpose" {
		h.Set("Access-Control-Expose-Headers", exposeHeaders)
	}
}

// servePreflight answers an OPTIONS request. cors=noifrange allows only
// Range, so a request carrying If-Range or If-Match fails its preflight
// and the client must fall back to plain Range. A preflight never carries
// Authorization (Fetch standard: no credentials), so auth= does not apply
// to it.
func servePreflight(w http.ResponseWriter, mode string) {
	preflightHeaders(w.Header(), mode)
	w.WriteHeader(http.StatusNoContent)
}

// preflightHeaders sets the headers of the answer to a preflight.
func preflightHeaders(h http.Header, mode string) {
	h.Set("Allow", "GET, HEAD, OPTIONS")
	if mode != "none" {
		h.Set("Access-Control-Allow-Origin", "*")
		allow := allowHeaders
		if mode == "noifrange" {
			allow = "Range"
		}
		h.Set("Access-Control-Allow-Headers", allow)
		h.Set("Access-Control-Allow-Methods", "GET, HEAD")
		h.Set("Access-Control-Max-Age", preflightMaxAge)
	}
}
