package devserver

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// maxLogWait caps GET /_control/log?timeout=.
const maxLogWait = 30 * time.Second

// handleControl serves the JSON control API under /_control/, for
// out-of-process tests and people testing their own clients:
//
//	GET  /_control/log[?wait=N&timeout=5s]  the request log; with wait, first
//	                                        wait for N entries (up to timeout)
//	POST /_control/reset                    ResetLog and Disarm
//	POST /_control/change?file=NAME         ChangeFile; answers the new ETag
//	POST /_control/arm?file=NAME&times=K&<fault>=<value>...
//	                                        Arm (times defaults to 1)
//	POST /_control/cut?file=NAME            CutNow: close the connections
//	                                        sending NAME now; answers {"cut": n}
//
// It sends Access-Control-Allow-Origin: * so that a test page on another
// origin can drive it too.
func (s *Server) handleControl(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Cache-Control", "no-store")
	if r.Method == http.MethodOptions {
		h.Set("Access-Control-Allow-Methods", "GET, POST")
		w.WriteHeader(http.StatusNoContent)
		return
	}
	op := strings.TrimPrefix(r.URL.Path, "/_control/")
	method := http.MethodPost
	if op == "log" {
		method = http.MethodGet
	}
	if r.Method != method {
		h.Set("Allow", method+", OPTIONS")
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
	writeJSON(w, http.StatusOK, map[string]any{
		"file":         name,
		"size":         fi.Size(),
		"etag":         strongETag(fi),
		"lastModified": fi.ModTime().UTC().Format(http.TimeFormat),
	})
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
		writeJSON(w, http.StatusBadRequest, jsonError(err.Error()))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"file": name, "times": times, "faults": values.Encode()})
}

// errStatus maps an error of a control call to a status code.
func errStatus(err error) int {
	switch {
	case errors.Is(err, errBadName):
		return http.StatusBadRequest
	case errors.Is(err, fs.ErrNotExist):
		return http.StatusNotFound
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
