package devserver

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// maxLogWait caps GET /_control/log?timeout=.
const maxLogWait = 30 * time.Second

// ControlHeader is the request header that carries the control token
// (Server.ControlToken). A page on another origin cannot send it: it is
// not a CORS-safelisted header, so the browser asks first with a
// preflight, and /_control/ answers no preflight.
const ControlHeader = "X-Resumer-Control"

// handleControl serves the JSON control API under /_control/, for
// out-of-process tests and people testing their own clients:
//
//	GET  /_control/log[?wait=N&timeout=5s]  the request log; with wait, first
//	                                        wait for N entries (up to timeout)
//	POST /_control/reset                    ResetLog and Disarm
//	POST /_control/change?file=NAME         ChangeFile; answers the new ETag,
//	                                        Last-Modified and Repr-Digest
//	POST /_control/arm?file=NAME&times=K&<fault>=<value>...
//	                                        Arm (times defaults to 1)
//	POST /_control/cut?file=NAME            CutNow: close the connections
//	                                        sending NAME now; answers {"cut": n}
//
// Only the person running the server and the tests may drive it, never a
// web page that happens to be open in a browser on the same machine:
//   - every call carries the token in ControlHeader (403 without it);
//   - the Host header must name the address the connection came to (403
//     otherwise), so that a DNS-rebinding page, whose requests carry its
//     own host name, is refused even if it learnt the token;
//   - there are no CORS headers and no preflight answers: a script on
//     another origin can neither send the header nor read an answer.
func (s *Server) handleControl(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	if !ownHost(r) {
		writeJSON(w, http.StatusForbidden, jsonError("the Host header must be this server's own address"))
		return
	}
	if got := r.Header.Get(ControlHeader); subtle.ConstantTimeCompare([]byte(got), []byte(s.token)) != 1 {
		writeJSON(w, http.StatusForbidden, jsonError("send the control token (printed when the server starts) in the "+ControlHeader+" header"))
		return
	}
	op := strings.TrimPrefix(r.URL.Path, "/_control/")
	method := http.MethodPost
	if op == "log" {
		method = http.MethodGet
	}
	if r.Method != method {
		h.Set("Allow", method)
		writeJSON(w, http.StatusMethodNotAllowed, jsonError("use "+method))
		return
	}
	q := r.URL.Query()
	switch op {
	case "log":
		s.controlLog(w, r, q)
	case "reset":
		s.ResetLog()
		s.Disarm()
		writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
	case "change":
		s.controlChange(w, q.Get("file"))
	case "arm":
		s.controlArm(w, q)
	case "cut":
		if _, err := cleanName(q.Get("file")); err != nil {
			writeJSON(w, http.StatusBadRequest, jsonError(err.Error()))
			return
		}
		writeJSON(w, http.StatusOK, map[string]int{"cut": s.CutNow(q.Get("file"))})
	default:
		writeJSON(w, http.StatusNotFound, jsonError("unknown control "+strconv.Quote(op)))
	}
}

// ownHost reports whether the Host of r names the address its connection
// came to: that IP and port, or "localhost" and the port when that IP is a
// loopback one.
func ownHost(r *http.Request) bool {
	local, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	if !ok {
		return false
	}
	lhost, lport, err := net.SplitHostPort(local.String())
	if err != nil {
		return false
	}
	host, port, err := net.SplitHostPort(r.Host)
	if err != nil || port != lport {
		return false
	}
	lip, ip := net.ParseIP(lhost), net.ParseIP(host)
	switch {
	case ip != nil:
		return lip != nil && ip.Equal(lip)
	case strings.EqualFold(host, "localhost"):
		return lip != nil && lip.IsLoopback()
	}
	return false
}

// ControlToken returns the token the control API asks for in
// ControlHeader: Config.ControlToken, or one made at random by New.
func (s *Server) ControlToken() string { return s.token }

// newToken returns 128 random bits in hex.
func newToken() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// controlLog answers the log, after waiting for ?wait=N entries if asked.
func (s *Server) controlLog(w http.ResponseWriter, r *http.Request, q url.Values) {
	n := 0
	if v := q.Get("wait"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 0 {
			writeJSON(w, http.StatusBadRequest, jsonError("wait: want an integer >= 0"))
			return
		}
	}
	timeout := 5 * time.Second
	if v := q.Get("timeout"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			writeJSON(w, http.StatusBadRequest, jsonError("timeout: want a duration like 5s"))
			return
		}
		timeout = min(d, maxLogWait)
	}
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	entries, _ := s.WaitLog(ctx, n) // on timeout: what there is
	if entries == nil {
		entries = []LogEntry{}
	}
	writeJSON(w, http.StatusOK, entries)
}

// controlChange changes a file and answers its new validators.
func (s *Server) controlChange(w http.ResponseWriter, name string) {
	if err := s.ChangeFile(name); err != nil {
		writeJSON(w, errStatus(err), jsonError(err.Error()))
		return
	}
	p, err := s.Path(name)
	var fi fs.FileInfo
	if err == nil {
		fi, err = os.Stat(p)
	}
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, jsonError(err.Error()))
		return
	}
	answer := map[string]any{
		"file":         name,
		"size":         fi.Size(),
		"etag":         strongETag(fi),
		"lastModified": fi.ModTime().UTC().Format(http.TimeFormat),
	}
	if sum, ok := s.digestOf(name, fi); ok {
		answer["reprDigest"] = reprDigest(sum)
	}
	writeJSON(w, http.StatusOK, answer)
}

// controlArm arms the faults in the query for ?file=.
func (s *Server) controlArm(w http.ResponseWriter, q url.Values) {
	name := q.Get("file")
	times := 1
	if v := q.Get("times"); v != "" {
		var err error
		if times, err = strconv.Atoi(v); err != nil {
			writeJSON(w, http.StatusBadRequest, jsonError("times: want an integer >= 1"))
			return
		}
	}
	values := url.Values{}
	for k, v := range q {
		if k != "file" && k != "times" {
			values[k] = v
		}
	}
	if err := s.Arm(name, times, values); err != nil {
		code := errStatus(err)
		if code == http.StatusInternalServerError {
			code = http.StatusBadRequest
		}
		writeJSON(w, code, jsonError(err.Error()))
		return
	}
	// The answer may be printed by the caller: auth= shows as (hidden).
	writeJSON(w, http.StatusOK, map[string]any{"file": name, "times": times, "faults": hideAuth(values.Encode())})
}

// errStatus maps an error of a control call to a status code.
func errStatus(err error) int {
	switch {
	case errors.Is(err, errBadName):
		return http.StatusBadRequest
	case errors.Is(err, fs.ErrNotExist):
		return http.StatusNotFound
	case errors.Is(err, errNotSample):
		return http.StatusForbidden
	case errors.Is(err, errTooMany):
		return http.StatusTooManyRequests
	}
	return http.StatusInternalServerError
}

// jsonError is the body of a failed control call.
func jsonError(msg string) map[string]string {
	return map[string]string{"error": msg}
}

// writeJSON sends v as indented JSON.
func writeJSON(w http.ResponseWriter, code int, v any) {
	body, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	w.Write(append(body, '\n'))
}
