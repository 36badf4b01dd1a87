package devserver

import (
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
)

// staticTypes fixes the Content-Type of the bundle's files rather than
// trusting the machine's mime.types: WebAssembly.instantiateStreaming
// refuses anything but application/wasm.
var staticTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript",
	".mjs":  "text/javascript",
	".wasm": "application/wasm",
	".css":  "text/css; charset=utf-8",
	".json": "application/json",
	".map":  "application/json",
	".svg":  "image/svg+xml",
	".txt":  "text/plain; charset=utf-8",
	".ico":  "image/x-icon",
	".png":  "image/png",
	".gz":   "application/gzip",
	// TypeScript declarations (resumer.d.ts): TypeScript has no registered
	// media type, and Debian's mime.types gives .ts to Qt Linguist; as text
	// a browser shows them.
	".ts": "text/plain; charset=utf-8",
}

// staticType is the Content-Type of a bundle file.
func staticType(name string) string {
	ext := path.Ext(name)
	if t, ok := staticTypes[ext]; ok {
		return t
	}
	if t := mime.TypeByExtension(ext); t != "" {
		return t
	}
	return "application/octet-stream"
}

// handleStatic serves the bundle in WebDir: index.html for folders, a
// precompressed X.gz for X when the client accepts gzip and asked for no
// range. A range counts bytes of the encoded content (RFC 9110 §14.1.1),
// so serving a .gz to a range request would give bytes of another
// representation than the client is resuming.
func (s *Server) handleStatic(w http.ResponseWriter, r *http.Request) {
	if s.webDir == "" {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if err := checkEscapedPath(r.URL); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	name := strings.TrimPrefix(r.URL.Path, "/")
	if name == "" || strings.HasSuffix(name, "/") {
		name += "index.html"
	}
	if _, err := cleanName(name); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	f, fi, err := openRegular(s.webDir, name)
	if err != nil {
		if fi != nil && fi.IsDir() {
			// Redirect so that relative URLs in the folder's index work.
			http.Redirect(w, r, r.URL.Path+"/", http.StatusMovedPermanently)
			return
		}
		http.NotFound(w, r)
		return
	}
	defer f.Close()

	h := w.Header()
	h.Set("Content-Type", staticType(name))
	h.Set("Cache-Control", "no-cache") // a rebuilt bundle must show up on reload
	gz, gzfi, gzerr := openRegular(s.webDir, name+".gz")
	if gzerr == nil {
		defer gz.Close()
		h.Set("Vary", "Accept-Encoding")
		if r.Header.Get("Range") == "" && acceptsGzip(r.Header.Get("Accept-Encoding")) {
			h.Set("Content-Encoding", "gzip")
			// ServeContent leaves out Content-Length when Content-Encoding
			// is set (it expects on-the-fly compression); here the length
			// is known.
			h.Set("Content-Length", strconv.FormatInt(gzfi.Size(), 10))
			h.Set("ETag", strongETag(gzfi)) // another representation, another ETag (§8.8.3)
			http.ServeContent(w, r, name, gzfi.ModTime(), gz)
			return
		}
	}
	h.Set("ETag", strongETag(fi))
	http.ServeContent(w, r, name, fi.ModTime(), f)
}

// acceptsGzip reports whether an Accept-Encoding value (RFC 9110 §12.5.3)
// lists gzip with a non-zero weight.
func acceptsGzip(ae string) bool {
	for _, part := range strings.Split(ae, ",") {
		coding, params, _ := strings.Cut(part, ";")
		if !strings.EqualFold(strings.TrimSpace(coding), "gzip") {
			continue
		}
		q, found := strings.CutPrefix(strings.ReplaceAll(strings.TrimSpace(params), " ", ""), "q=")
		if !found {
			return true
		}
		w, err := strconv.ParseFloat(q, 64)
		return err == nil && w > 0
	}
	return false
}
