package devserver

import (
	"mime"
	"net/http"
	"path"
	"slices"
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

// handleStatic serves the bundle in WebDir: index.html for folders, and for
// X a precompressed X.br or X.gz when the client accepts brotli or gzip
// (encodings) and asked for no range. A range counts bytes of the encoded
// content (RFC 9110 §14.1.1), so serving an encoded file to a range
// request would give bytes of another representation than the client is
// resuming.
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
	if r.URL.Query().Get("csp") == "no-wasm" {
		// A test's fault: a script (a worker's, whose policy is its own
		// script's) that may load scripts of this origin and compile no
		// WebAssembly, as under a CSP without 'wasm-unsafe-eval'.
		h.Set("Content-Security-Policy", cspNoWasm)
	}
	// coded are the encodings of name stored beside it.
	var coded []string
	for _, e := range encodings {
		if ef, _, err := openRegular(s.webDir, name+e.ext); err == nil {
			ef.Close()
			coded = append(coded, e.coding)
		}
	}
	if len(coded) > 0 {
		h.Set("Vary", "Accept-Encoding")
		if e, ok := pickEncoding(r.Header.Get("Accept-Encoding"), coded); ok && r.Header.Get("Range") == "" {
			if ef, efi, err := openRegular(s.webDir, name+e.ext); err == nil {
				defer ef.Close()
				h.Set("Content-Encoding", e.coding)
				h.Set("ETag", strongETag(efi)) // another representation, another ETag (§8.8.3)
				http.ServeContent(&lengthOn200{ResponseWriter: w, n: efi.Size()}, r, name, efi.ModTime(), ef)
				return
			}
		}
	}
	h.Set("ETag", strongETag(fi))
	http.ServeContent(w, r, name, fi.ModTime(), f)
}

// cspNoWasm is the policy of ?csp=no-wasm: scripts of this origin only,
// and so no WebAssembly (CSP3: WebAssembly compiles only under
// 'wasm-unsafe-eval' or 'unsafe-eval').
const cspNoWasm = "script-src 'self'"

// encoding is a content coding the bundle may hold a file in, precompressed
// beside it (bundle.Build): name+ext.
type encoding struct{ coding, ext string }

// encodings are those the dev server sends, the server's preference first:
// brotli is the smaller (resumer.wasm: about a quarter less than gzip).
var encodings = []encoding{{"br", ".br"}, {"gzip", ".gz"}}

// pickEncoding chooses, among the codings stored (of encodings), the one an
// Accept-Encoding value (RFC 9110 §12.5.3) weighs highest, the server's
// preference between equals; ok is false when it accepts none of them, or
// weighs identity (the file as it is) higher, and the file goes as it is.
// A coding listed with q=0 is refused; "*" stands for those not listed;
// x-gzip is gzip (§8.4.1.3); a weight that does not parse, or lies outside
// 0 to 1, is a refusal.
func pickEncoding(ae string, stored []string) (encoding, bool) {
	weight := map[string]float64{}
	for _, part := range strings.Split(ae, ",") {
		coding, params, _ := strings.Cut(part, ";")
		coding = strings.ToLower(strings.TrimSpace(coding))
		if coding == "x-gzip" {
			coding = "gzip"
		}
		if coding == "" {
			continue
		}
		weight[coding] = qvalue(params)
	}
	star, hasStar := weight["*"]
	var best encoding
	bestQ := 0.0
	for _, e := range encodings {
		if !slices.Contains(stored, e.coding) {
			continue
		}
		q, listed := weight[e.coding]
		if !listed && hasStar {
			q = star
		}
		if q > bestQ {
			best, bestQ = e, q
		}
	}
	if id, listed := weight["identity"]; listed && id > bestQ {
		return encoding{}, false
	}
	return best, bestQ > 0
}

// qvalue is the weight the parameters of one Accept-Encoding member give
// (RFC 9110 §12.4.2): 1 without a q, whose name is case-insensitive.
func qvalue(params string) float64 {
	for _, p := range strings.Split(params, ";") {
		name, value, ok := strings.Cut(strings.TrimSpace(p), "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(name), "q") {
			continue
		}
		q, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil || q < 0 || q > 1 {
			return 0
		}
		return q
	}
	return 1
}

// lengthOn200 states the length of a precompressed file on a 200, which
// ServeContent leaves out when Content-Encoding is set (it expects
// compression on the fly), and on nothing else: a 304 or a 412 has no
// body.
type lengthOn200 struct {
	http.ResponseWriter
	n       int64
	written bool
}

func (w *lengthOn200) WriteHeader(code int) {
	if !w.written && code == http.StatusOK {
		w.Header().Set("Content-Length", strconv.FormatInt(w.n, 10))
	}
	w.written = true
	w.ResponseWriter.WriteHeader(code)
}

func (w *lengthOn200) Write(p []byte) (int, error) {
	if !w.written {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(p)
}
