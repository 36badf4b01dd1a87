package devserver

import (
	"encoding/json"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"
)

// handleFiles serves /files/, /files/<name> and /api/samples, and logs
// every request.
func (s *Server) handleFiles(w http.ResponseWriter, r *http.Request) {
	e := newEntry(r)
	s.begin(e)
	rw := newRespWriter(w, r, e, s.closing)
	defer func() {
		// Runs on the cut= panic too: the entry must record the cut.
		rw.finish()
		s.record(e)
	}()

	name := strings.TrimPrefix(r.URL.Path, "/files/")
	if r.URL.Path == "/files" || r.URL.Path == "/api/samples" {
		name = ""
	}
	if name == "" {
		s.serveListing(rw, r)
		return
	}
	if err := checkEscapedPath(r.URL); err != nil {
		fileError(rw, err.Error(), http.StatusBadRequest)
		return
	}
	if _, err := cleanName(name); err != nil {
		fileError(rw, err.Error(), http.StatusBadRequest)
		return
	}
	switch r.Method {
	case http.MethodOptions:
		// A preflight sees the armed faults (cors=) without spending them.
		f, err := s.requestFaults(r, name, false)
		if err != nil {
			fileError(rw, err.Error(), http.StatusBadRequest)
			return
		}
		rw.send(Plan(r, File{Name: name}, Faults{&f}, time.Now()), nil)
	case http.MethodGet, http.MethodHead:
		s.serveFile(rw, r, name)
	default:
		a := Answer{Header: http.Header{}, Start: -1, Cut: -1, Stall: -1, Change: -1}
		methodNotAllowed(&a)
		rw.send(a, nil)
	}
}

// fileError answers a /files/ request that cannot be served, with CORS
// headers so that a cross-origin client can at least read the status.
func fileError(w http.ResponseWriter, msg string, code int) {
	setCORS(w.Header(), "")
	http.Error(w, msg, code)
}

// serveFile serves one data file with the faults of the request: the
// server's part is its state (armed faults, fail= counters, the file on
// disk, its digest, CutNow and change=); what the answer is, Plan decides.
func (s *Server) serveFile(rw *respWriter, r *http.Request, name string) {
	f, err := s.requestFaults(r, name, true)
	if err != nil {
		fileError(rw, err.Error(), http.StatusBadRequest)
		return
	}
	// Authorization comes first, as on a real server: a request auth=
	// refuses neither gets nor counts towards any other fault.
	if _, _, refused := f.authorize(r.Header); !refused {
		s.applyFail(&f, r)
	}
	file, fi, err := openRegular(s.dataDir, name)
	missing := err != nil || isTemp(name)
	if missing && file != nil {
		file.Close()
	}
	af := File{Name: name}
	if !missing {
		defer file.Close()
		af.Size, af.ModTime, af.ETag = fi.Size(), fi.ModTime(), strongETag(fi)
		// fi is the open file's own: the digest, if any, is of these bytes
		// even when ChangeFile replaces the file while they are sent.
		af.Digest, af.HasDigest = s.digestOf(name, fi)
	}
	a := Plan(r, af, Faults{&f}, time.Now())
	if !a.OfFile {
		rw.send(a, nil) // auth=, status=, redirect=: answered with or without the file
		return
	}
	if missing {
		rw.useFaults(&f)
		setCORS(rw.Header(), f.cors)
		http.Error(rw, "404 page not found", http.StatusNotFound)
		return
	}
	untrack := s.track(r, name)
	defer func() {
		if untrack() {
			rw.e.Cut = true
			rw.note("cut by CutNow after %d bytes", rw.e.Sent)
		}
	}()
	if a.Change >= 0 {
		rw.onChange = func() {
			if err := s.ChangeFile(name); err != nil {
				rw.note("change failed: %v", err)
				return
			}
			rw.note("file changed after %d bytes", rw.e.Sent)
		}
	}
	rw.send(a, file)
}

// fileType is the Content-Type of a data file; .bin (and anything unknown)
// is application/octet-stream, never sniffed.
func fileType(name string) string {
	if t := mime.TypeByExtension(path.Ext(name)); t != "" && path.Ext(name) != ".bin" {
		return t
	}
	return "application/octet-stream"
}

// redirectLocation is the Location of redirect=: /_login, or a /files/
// path with the request's query minus redirect plus redirected=1, so that
// the final URL differs from the one asked for and the target is not
// redirected again by its query (an armed set still applies).
func redirectLocation(r *http.Request, f *faults) string {
	var p string
	switch f.redirect {
	case "login":
		return loginPath
	case "same":
		p = r.URL.EscapedPath()
	default: // file
		p = (&url.URL{Path: "/files/" + f.redirectFile}).EscapedPath()
	}
	// The raw query is edited rather than re-encoded, so that the other
	// parameters keep their order and spelling (fail= counts per URL).
	var keep []string
	for part := range strings.SplitSeq(r.URL.RawQuery, "&") {
		k, _, _ := strings.Cut(part, "=")
		if k, err := url.QueryUnescape(k); part == "" || err == nil && (k == "redirect" || k == "redirected") {
			continue
		}
		keep = append(keep, part)
	}
	return p + "?" + strings.Join(append(keep, "redirected=1"), "&")
}

// loginPath is where redirect=login sends the client.
const loginPath = "/_login"

// loginPage is what a download lands on after redirect=login: the HTML a
// captive portal or an expired session answers instead of the file.
const loginPage = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Sign in</title></head>
<body>
<h1>Sign in</h1>
<form method="post" action="/_login">
<p><label>User name <input name="user" autocomplete="username"></label></p>
<p><label>Password <input name="password" type="password" autocomplete="current-password"></label></p>
<p><button>Sign in</button></p>
</form>
<p>The redirect=login fault of the resumer dev server: a download that lands here has no file to store.</p>
</body>
</html>
`

// handleLogin serves /_login, the target of redirect=login. It is logged
// like a /files/ request, so that tests can see a client landed there.
func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	e := newEntry(r)
	s.begin(e)
	rw := newRespWriter(w, r, e, s.closing)
	defer func() {
		rw.finish()
		s.record(e)
	}()
	switch r.Method {
	case http.MethodOptions:
		// A cross-origin fetch that sent If-Range needs a preflight for
		// the redirect target too.
		servePreflight(rw, "")
	case http.MethodGet, http.MethodHead:
		LoginAnswer(r, time.Now()).Send(rw, nil)
	default:
		rw.Header().Set("Allow", "GET, HEAD, OPTIONS")
		fileError(rw, "method not allowed", http.StatusMethodNotAllowed)
	}
}

// listItem is one entry of the JSON listing.
type listItem struct {
	Name string `json:"name"`
	URL  string `json:"url"`
	Size int64  `json:"size"`
	Desc string `json:"desc"`
}

// serveListing answers GET /files/ and /api/samples with the samples and
// the demo variants the demo page offers.
func (s *Server) serveListing(w http.ResponseWriter, r *http.Request) {
	setCORS(w.Header(), "")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	body, err := json.MarshalIndent(s.listing(), "", "  ")
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	body = append(body, '\n')
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	if r.Method == http.MethodGet {
		w.Write(body)
	}
}

// listing returns the samples followed by two variants of 64mib.bin (or,
// with other samples, of the largest one): without validators, and
// throttled to 1 MiB/s.
func (s *Server) listing() []listItem {
	items := []listItem{}
	var base *Sample
	for i, sm := range s.samples {
		items = append(items, listItem{Name: sm.Name, URL: "/files/" + sm.Name, Size: sm.Size, Desc: sm.Desc})
		if base == nil || sm.Name == "64mib.bin" || (base.Name != "64mib.bin" && sm.Size > base.Size) {
			base = &s.samples[i]
		}
	}
	if base == nil {
		return items
	}
	u := "/files/" + base.Name
	return append(items,
		listItem{Name: base.Name, URL: u + "?validators=none", Size: base.Size,
			Desc: "no ETag or Last-Modified: the iOS case, not resumable"},
		listItem{Name: base.Name, URL: u + "?rate=1048576", Size: base.Size,
			Desc: "throttled to 1 MiB/s: reload while it runs"},
	)
}
