package devserver

import (
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
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
		f, err := s.requestFaults(r, name, false)
		if err != nil {
			fileError(rw, err.Error(), http.StatusBadRequest)
			return
		}
		rw.f = &f
		servePreflight(rw, f.cors)
	case http.MethodGet, http.MethodHead:
		s.serveFile(rw, r, name)
	default:
		rw.Header().Set("Allow", "GET, HEAD, OPTIONS")
		fileError(rw, "method not allowed", http.StatusMethodNotAllowed)
	}
}

// fileError answers a /files/ request that cannot be served, with CORS
// headers so that a cross-origin client can at least read the status.
func fileError(w http.ResponseWriter, msg string, code int) {
	setCORS(w.Header(), "")
	http.Error(w, msg, code)
}

// serveFile serves one data file with the faults of the request.
func (s *Server) serveFile(rw *respWriter, r *http.Request, name string) {
	f, err := s.requestFaults(r, name, true)
	if err != nil {
		fileError(rw, err.Error(), http.StatusBadRequest)
		return
	}
	rw.f = &f
	h := rw.Header()
	setCORS(h, f.cors)
	s.applyFail(&f, r)
	if f.status != 0 {
		serveStatus(rw, r, &f)
		return
	}
	file, fi, err := openRegular(s.dataDir, name)
	if err != nil || isTemp(name) {
		if file != nil {
			file.Close()
		}
		http.Error(rw, "404 page not found", http.StatusNotFound)
		return
	}
	defer file.Close()
	untrack := s.track(r, name)
	defer func() {
		if untrack() {
			rw.e.Cut = true
			rw.f.note("cut by CutNow after %d bytes", rw.e.Sent)
		}
	}()

	h.Set("Content-Type", fileType(name))
	h.Set("Cache-Control", "no-cache") // always revalidate: files change under tests
	modtime := f.applyValidators(h, strongETag(fi), fi.ModTime())
	rw.fileBody = true
	rw.onHeader = f.headerFaults()
	if f.change >= 0 {
		rw.onChange = func() {
			if err := s.ChangeFile(name); err != nil {
				f.note("change failed: %v", err)
				return
			}
			f.note("file changed after %d bytes", rw.e.Sent)
		}
	}
	http.ServeContent(rw, f.stripRequest(r), name, modtime, file)
}

// fileType is the Content-Type of a data file; .bin (and anything unknown)
// is application/octet-stream, never sniffed.
func fileType(name string) string {
	if t := mime.TypeByExtension(path.Ext(name)); t != "" && path.Ext(name) != ".bin" {
		return t
	}
	return "application/octet-stream"
}

// serveStatus answers status= instead of the file.
func serveStatus(w http.ResponseWriter, r *http.Request, f *faults) {
	body := fmt.Sprintf("%d %s (status=%d fault of the resumer dev server)\n",
		f.status, http.StatusText(f.status), f.status)
	h := w.Header()
	if f.retryAfter != "" {
		h.Set("Retry-After", f.retryAfter)
	}
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	bodyAllowed := f.status != http.StatusNoContent && f.status != http.StatusNotModified
	if bodyAllowed {
		h.Set("Content-Length", strconv.Itoa(len(body)))
	}
	w.WriteHeader(f.status)
	if bodyAllowed && r.Method != http.MethodHead {
		w.Write([]byte(body))
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
