package devserver

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// faults is the misbehaviour asked for one /files/ request, from its query
// parameters merged with armed faults (Server.Arm; an armed value wins
// over the query's value for the same key). They combine freely.
//
//	key          values            effect
//	-----------  ----------------  ------------------------------------------------------------
//	validators   none              no ETag and no Last-Modified: the iOS case, not resumable
//	             etag              ETag only
//	             lm                Last-Modified only
//	             weak              ETag sent as W/"...", no Last-Modified; a weak ETag never
//	                               matches If-Range (RFC 9110 §13.1.5), so If-Range gets a 200
//	lm           now               Last-Modified equal to Date: a weak date (§8.8.2.2), since a
//	                               change within that second would go unnoticed; only when a
//	                               Last-Modified is sent at all
//	etag         <raw value>       this exact ETag header value, also used by If-Range and
//	                               If-Match: send mismatching or malformed validators
//	ranges       none              ignore Range (and If-Range): always 200 with the whole body,
//	                               Accept-Ranges: none (§14.3)
//	ifrange      ignore            drop If-Range before serving: the range is served even when
//	                               the validator does not match (a buggy server, §13.1.5)
//	cr           shift             206 Content-Range first and last shifted by +1, body unchanged
//	             total             206 Content-Range with total+1
//	             missing           206 without Content-Range
//	rate         <bytes/s>         throttle the body smoothly (small slices, flushed)
//	cut          <N>               after N body bytes: flush, then abort the connection
//	                               (no cut when the body is N bytes or shorter)
//	change       <N>               after N body bytes: ChangeFile; this response goes on with the
//	                               old bytes, the next one sees the new ETag and content
//	status       <code 200-599>    answer this status with a short text body, not the file
//	retry-after  <value>           with status: add Retry-After: <value> (§10.2.3)
//	fail         <K>               with status: only the first K GET/HEAD requests of this exact
//	                               URL (path and query) get the status, later ones the file;
//	                               counters are per server, reset by ResetLog
//	cors         none              no CORS headers at all (preflight included)
//	             noexpose          Access-Control-Allow-Origin but no Expose-Headers: a
//	                               cross-origin script cannot read ETag or Content-Range
//	             noifrange         the preflight allows only Range, so a request with If-Range
//	                               or If-Match fails its preflight
//
// Other query keys are ignored (cache busters); a known key with a bad
// value is a 400.
type faults struct {
	validators    string // "", none, etag, lm, weak
	lmNow         bool
	etag          string
	etagSet       bool
	rangesNone    bool
	ifRangeIgnore bool
	cr            string // "", shift, total, missing
	rate          int64  // 0 = unlimited
	cut           int64  // -1 = never
	change        int64  // -1 = never
	status        int    // 0 = serve the file
	retryAfter    string
	fail          int64  // -1 = always
	cors          string // "", none, noexpose, noifrange

	desc []string // human-readable, for LogEntry.Fault
}

// faultKeys lists the recognised keys in the order used for descriptions.
var faultKeys = []string{
	"validators", "lm", "etag", "ranges", "ifrange", "cr",
	"rate", "cut", "change", "status", "retry-after", "fail", "cors",
}

// isFaultKey reports whether k is one of faultKeys.
func isFaultKey(k string) bool {
	for _, f := range faultKeys {
		if f == k {
			return true
		}
	}
	return false
}

// noFaults is the zero behaviour: everything served as it should be.
func noFaults() faults {
	return faults{cut: -1, change: -1, fail: -1}
}

// parseFaults reads the fault keys of q; armedKeys names the keys that
// came from an armed fault, for the description.
func parseFaults(q url.Values, armedKeys map[string]bool) (faults, error) {
	f := noFaults()
	for _, k := range faultKeys {
		if !q.Has(k) {
			continue
		}
		v := q.Get(k)
		if err := f.set(k, v); err != nil {
			return f, fmt.Errorf("fault %s=%q: %w", k, v, err)
		}
		d := k + "=" + v
		if armedKeys[k] {
			d += " (armed)"
		}
		f.desc = append(f.desc, d)
	}
	if f.fail >= 0 && f.status == 0 {
		return f, fmt.Errorf("fault fail=%d: needs status=<code>", f.fail)
	}
	if f.retryAfter != "" && f.status == 0 {
		return f, fmt.Errorf("fault retry-after=%q: needs status=<code>", f.retryAfter)
	}
	return f, nil
}

// set applies one key; the value syntax is checked here so that a typo
// is a 400 rather than a silently ignored fault.
func (f *faults) set(k, v string) error {
	var err error
	switch k {
	case "validators":
		f.validators, err = oneOf(v, "none", "etag", "lm", "weak")
	case "lm":
		_, err = oneOf(v, "now")
		f.lmNow = err == nil
	case "etag":
		f.etag, f.etagSet, err = v, true, headerValue(v)
		if v == "" {
			err = fmt.Errorf("empty (use validators=lm for no ETag)")
		}
	case "ranges":
		_, err = oneOf(v, "none")
		f.rangesNone = err == nil
	case "ifrange":
		_, err = oneOf(v, "ignore")
		f.ifRangeIgnore = err == nil
	case "cr":
		f.cr, err = oneOf(v, "shift", "total", "missing")
	case "rate":
		f.rate, err = count(v, 1)
	case "cut":
		f.cut, err = count(v, 0)
	case "change":
		f.change, err = count(v, 0)
	case "status":
		var n int64
		n, err = count(v, 200)
		if err == nil && n > 599 {
			err = fmt.Errorf("want a status code 200-599")
		}
		f.status = int(n)
	case "retry-after":
		f.retryAfter, err = v, headerValue(v)
		if v == "" {
			err = fmt.Errorf("empty")
		}
	case "fail":
		f.fail, err = count(v, 0)
	case "cors":
		f.cors, err = oneOf(v, "none", "noexpose", "noifrange")
	}
	return err
}

// oneOf returns v if it is one of the allowed values.
func oneOf(v string, allowed ...string) (string, error) {
	for _, a := range allowed {
		if v == a {
			return v, nil
		}
	}
	return "", fmt.Errorf("want one of %s", strings.Join(allowed, ", "))
}

// count parses a decimal integer of at least lo.
func count(v string, lo int64) (int64, error) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < lo {
		return 0, fmt.Errorf("want an integer >= %d", lo)
	}
	return n, nil
}

// headerValue refuses control characters, which could split headers.
func headerValue(v string) error {
	if strings.ContainsFunc(v, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		return fmt.Errorf("control character in header value")
	}
	return nil
}

// note adds a runtime event to the description.
func (f *faults) note(format string, args ...any) {
	f.desc = append(f.desc, fmt.Sprintf(format, args...))
}

// String describes the faults for LogEntry.Fault; "" when none.
func (f *faults) String() string {
	return strings.Join(f.desc, ", ")
}

// hasBodyFault reports whether the body must be shaped, which costs
// sendfile.
func (f *faults) hasBodyFault() bool {
	return f.rate > 0 || f.cut >= 0 || f.change >= 0
}

// applyValidators applies validators=, etag= and lm= to the response headers
// and returns the modtime to hand to http.ServeContent: the zero time
// makes ServeContent send no Last-Modified and ignore dates in If-Range.
func (f *faults) applyValidators(h http.Header, etag string, modtime time.Time) time.Time {
	switch f.validators {
	case "none":
		etag, modtime = "", time.Time{}
	case "etag":
		modtime = time.Time{}
	case "lm":
		etag = ""
	case "weak":
		etag, modtime = "W/"+etag, time.Time{}
	}
	if f.etagSet {
		etag = f.etag
	}
	if f.lmNow && !modtime.IsZero() {
		// Same second as the Date header, which net/http keeps when the
		// handler sets it.
		modtime = time.Now().Truncate(time.Second)
		h.Set("Date", modtime.UTC().Format(http.TimeFormat))
	}
	if etag != "" {
		h.Set("ETag", etag)
	}
	return modtime
}

// headerFaults returns the changes made to the response headers at the
// moment they are written, after http.ServeContent has set them: it sets
// Accept-Ranges and Content-Range itself.
func (f *faults) headerFaults() func(h http.Header, code int) {
	if !f.rangesNone && f.cr == "" {
		return nil
	}
	return func(h http.Header, code int) {
		if f.rangesNone {
			h.Set("Accept-Ranges", "none")
		}
		if code == http.StatusPartialContent && h.Get("Content-Range") != "" {
			corruptContentRange(h, f.cr)
		}
	}
}

// corruptContentRange rewrites a single-part Content-Range
// "bytes first-last/total" the way cr= asks.
func corruptContentRange(h http.Header, kind string) {
	first, last, total, ok := parseContentRange(h.Get("Content-Range"))
	switch {
	case kind == "missing":
		h.Del("Content-Range")
	case !ok:
	case kind == "shift":
		h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", first+1, last+1, total))
	case kind == "total":
		h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", first, last, total+1))
	}
}

// parseContentRange parses "bytes first-last/total" (RFC 9110 §14.4).
func parseContentRange(v string) (first, last, total int64, ok bool) {
	rest, found := strings.CutPrefix(v, "bytes ")
	if !found {
		return 0, 0, 0, false
	}
	span, tot, found := strings.Cut(rest, "/")
	if !found {
		return 0, 0, 0, false
	}
	a, b, found := strings.Cut(span, "-")
	if !found {
		return 0, 0, 0, false
	}
	var err1, err2, err3 error
	first, err1 = strconv.ParseInt(a, 10, 64)
	last, err2 = strconv.ParseInt(b, 10, 64)
	total, err3 = strconv.ParseInt(tot, 10, 64)
	return first, last, total, err1 == nil && err2 == nil && err3 == nil
}

// stripRequest returns the request http.ServeContent must see: without
// Range for ranges=none, without If-Range for ranges=none and
// ifrange=ignore. The original request is left alone.
func (f *faults) stripRequest(r *http.Request) *http.Request {
	if !f.rangesNone && !f.ifRangeIgnore {
		return r
	}
	r2 := r.Clone(r.Context())
	if f.rangesNone {
		r2.Header.Del("Range")
	}
	r2.Header.Del("If-Range")
	return r2
}

// armedSet is a set of faults armed for the next requests of one file.
type armedSet struct {
	values url.Values // validated fault keys only
	left   int        // requests still to get them
}

// Arm makes the next `times` GET or HEAD requests for the data file name
// get the faults in values (same keys and values as the query parameters;
// other keys are an error). Armed faults apply in addition to the
// request's query faults and win over them for the same key. Arming a file
// again queues another set, used once the previous one is spent. Preflight
// requests see the first queued set (for cors=) without spending it.
func (s *Server) Arm(name string, times int, values url.Values) error {
	if _, err := cleanName(name); err != nil {
		return fmt.Errorf("arm %q: %w", name, err)
	}
	if times < 1 {
		return fmt.Errorf("arm %s: times=%d, want >= 1", name, times)
	}
	clean := url.Values{}
	for k, v := range values {
		if !isFaultKey(k) {
			return fmt.Errorf("arm %s: unknown fault %q", name, k)
		}
		clean[k] = append([]string(nil), v...)
	}
	if _, err := parseFaults(clean, nil); err != nil {
		return fmt.Errorf("arm %s: %w", name, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.armed[name] = append(s.armed[name], &armedSet{values: clean, left: times})
	return nil
}

// Disarm drops every armed fault.
func (s *Server) Disarm() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.armed)
}

// requestFaults merges the query faults of r with the first set armed for
// name. With spend, a valid merge uses up one of the set's requests; a
// malformed query (a 400) spends nothing. The lock is held throughout so
// that two concurrent requests cannot both take the last use.
func (s *Server) requestFaults(r *http.Request, name string, spend bool) (faults, error) {
	q := r.URL.Query()
	s.mu.Lock()
	defer s.mu.Unlock()
	queue := s.armed[name]
	if len(queue) == 0 {
		return parseFaults(q, nil)
	}
	a := queue[0]
	keys := map[string]bool{}
	for k, v := range a.values {
		q[k] = v
		keys[k] = true
	}
	f, err := parseFaults(q, keys)
	if err != nil || !spend {
		return f, err
	}
	if a.left--; a.left == 0 {
		if len(queue) == 1 {
			delete(s.armed, name)
		} else {
			s.armed[name] = queue[1:]
		}
	}
	return f, nil
}

// applyFail enforces fail=K: the status applies only to the first K
// requests of this exact URL.
func (s *Server) applyFail(f *faults, r *http.Request) {
	if f.status == 0 || f.fail < 0 {
		return
	}
	key := r.URL.Path + "?" + r.URL.RawQuery
	s.mu.Lock()
	s.fails[key]++
	n := s.fails[key]
	s.mu.Unlock()
	if int64(n) > f.fail {
		f.note("request %d of this URL: status %d no longer applied", n, f.status)
		f.status, f.retryAfter = 0, ""
	}
}
