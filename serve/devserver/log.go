package devserver

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// LogEntry records one /files/ or /_login request once it is complete:
// what the client asked, what the server answered, and what it did on
// purpose.
//
// Any page can send requests here, so an entry keeps a bounded amount of
// what a client chose: each text field is cut at 512 bytes, Fault at 2048
// (each of its items at 512), and the token of auth= is never kept: Query
// and Fault show it as (hidden).
type LogEntry struct {
	Time   time.Time `json:"time"`   // when the request arrived
	End    time.Time `json:"end"`    // when its handler returned
	Method string    `json:"method"` // GET, HEAD, OPTIONS...
	Path   string    `json:"path"`   // URL path, decoded
	// Query is the raw query, without "?", with the value of auth= (a
	// secret) replaced by (hidden).
	Query string `json:"query"`

	Origin  string `json:"origin"`  // Origin request header
	Range   string `json:"range"`   // Range request header as sent
	IfRange string `json:"ifRange"` // If-Range request header as sent
	IfMatch string `json:"ifMatch"` // If-Match request header as sent
	ACRH    string `json:"acrh"`    // Access-Control-Request-Headers (preflights)
	// Auth says whether an Authorization header came. Its value is a
	// secret (a token, a password) and is never kept.
	Auth bool `json:"auth"`

	Status       int    `json:"status"`       // status code sent
	ContentRange string `json:"contentRange"` // Content-Range response header as sent
	ETag         string `json:"etag"`         // ETag response header as sent
	ReprDigest   string `json:"reprDigest"`   // Repr-Digest response header as sent

	// Start is the file offset of the first body byte: 0 for a 200, the
	// range start for a 206 (even when cr= corrupted Content-Range), and
	// -1 when no file bytes are sent (HEAD, 304, 412, 416, status=,
	// redirect=, auth=, /_login, listings, preflights, 404).
	Start      int64  `json:"start"`
	Sent       int64  `json:"sent"`       // body bytes written to the connection, overrun= junk included
	Cut        bool   `json:"cut"`        // the server cut the connection on purpose (cut=)
	ClientGone bool   `json:"clientGone"` // the client left before the body was complete
	Stalled    bool   `json:"stalled"`    // the body stalled on purpose (stall=)
	Fault      string `json:"fault"`      // the faults applied, human readable, cut (faults.String); "" if none
}

// newEntry starts the log entry of r.
// Each text it copies from the request is cut at maxLogField bytes: the
// log keeps what a test reasons about, not what a client chose to send.
// The response headers the entry keeps are cut the same way (respWriter):
// etag= and type= choose them too.
func newEntry(r *http.Request) *LogEntry {
	return &LogEntry{
		Time:    time.Now(),
		Method:  clip(r.Method),
		Path:    clip(r.URL.Path),
		Query:   clip(hideAuth(r.URL.RawQuery)),
		Origin:  clip(r.Header.Get("Origin")),
		Range:   clip(r.Header.Get("Range")),
		IfRange: clip(r.Header.Get("If-Range")),
		IfMatch: clip(r.Header.Get("If-Match")),
		ACRH:    clip(r.Header.Get("Access-Control-Request-Headers")),
		Auth:    len(r.Header.Values("Authorization")) > 0,
		Start:   -1,
	}
}

// clip cuts s at maxLogField bytes, marking the cut.
func clip(s string) string {
	return clipTo(s, maxLogField)
}

// clipTo cuts s at n bytes, or a little less so as not to split a UTF-8
// sequence, marking the cut with "…" (3 more bytes).
func clipTo(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n
	for i > n-utf8.UTFMax && i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
}

// begin counts a request that record will log, so that WaitIdle knows it
// is coming.
func (s *Server) begin(e *LogEntry) {
	s.mu.Lock()
	s.pending[e] = struct{}{}
	s.mu.Unlock()
}

// record adds a completed entry where it arrived, and wakes WaitLog and
// WaitIdle callers. Requests end in another order than they came (a slow
// body, a client that left): the log keeps the order they came in, which
// is what tests reason about. It keeps the newest logLimit entries: past
// that, the oldest quarter goes at once (so that dropping costs nothing
// per request).
func (s *Server) record(e *LogEntry) {
	e.End = time.Now()
	s.mu.Lock()
	i := len(s.log)
	for i > 0 && s.log[i-1].Time.After(e.Time) {
		i--
	}
	s.log = slices.Insert(s.log, i, *e)
	s.logTotal++
	if len(s.log) > s.logLimit {
		s.log = append(s.log[:0:0], s.log[len(s.log)-s.logLimit*3/4:]...)
	}
	delete(s.pending, e)
	close(s.logWake)
	s.logWake = make(chan struct{})
	s.mu.Unlock()
	s.logf("%s", e)
}

// String is the one-line form used for Config.Logf.
func (e *LogEntry) String() string {
	line := e.Method + " " + e.Path
	if e.Query != "" {
		line += "?" + e.Query
	}
	line += " " + strconv.Itoa(e.Status)
	if e.Range != "" {
		line += " range=" + e.Range
	}
	if e.ContentRange != "" {
		line += " content-range=" + e.ContentRange
	}
	if e.Auth {
		line += " auth"
	}
	line += " sent=" + strconv.FormatInt(e.Sent, 10)
	if e.Cut {
		line += " CUT"
	}
	if e.Stalled {
		line += " stalled"
	}
	if e.ClientGone {
		line += " client-gone"
	}
	if e.Fault != "" {
		line += " fault=[" + e.Fault + "]"
	}
	return line
}

// Log returns a copy of the request log, in the order the requests arrived.
func (s *Server) Log() []LogEntry {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]LogEntry(nil), s.log...)
}

// ResetLog clears the request log and the fail= counters, so that a test
// starts from a clean slate. Armed faults stay (see Disarm).
func (s *Server) ResetLog() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log, s.logTotal = nil, 0
	s.fails.reset()
}

// LogTotal returns how many entries have been recorded since the server
// started or ResetLog, those the log no longer keeps included.
func (s *Server) LogTotal() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logTotal
}

// WaitLog waits until at least n entries have been recorded since the
// server started or ResetLog, or ctx ends, and returns a copy of the log
// (which keeps only the newest Config.LogLimit). Entries are recorded when a response is complete,
// which can be a moment after the client has read the last byte: tests
// call WaitLog rather than Log right after a request.
func (s *Server) WaitLog(ctx context.Context, n int) ([]LogEntry, error) {
	return s.waitLog(ctx, func() bool { return s.logTotal >= n })
}

// WaitIdle waits until every /files/ request the server has begun whose
// URL path and raw query (as LogEntry keeps them: cut, auth= hidden)
// match (all of them if match is nil) is complete
// and logged, or ctx ends, and returns a copy of the whole log. A client can see a response end (or give up on it)
// before the server's handler returns: tests that count requests after a
// download call WaitIdle rather than Log.
func (s *Server) WaitIdle(ctx context.Context, match func(path, query string) bool) ([]LogEntry, error) {
	return s.waitLog(ctx, func() bool {
		for e := range s.pending {
			// Path and Query are set before the entry is pending and
			// never change.
			if match == nil || match(e.Path, e.Query) {
				return false
			}
		}
		return true
	})
}

// waitLog waits until done, called with s.mu held, is true.
func (s *Server) waitLog(ctx context.Context, done func() bool) ([]LogEntry, error) {
	for {
		s.mu.Lock()
		if done() {
			out := append([]LogEntry(nil), s.log...)
			s.mu.Unlock()
			return out, nil
		}
		wake := s.logWake
		s.mu.Unlock()
		select {
		case <-ctx.Done():
			return s.Log(), ctx.Err()
		case <-wake:
		}
	}
}
