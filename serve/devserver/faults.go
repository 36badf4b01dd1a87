package devserver

import (
	"container/list"
	"crypto/sha256"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// faults is the misbehaviour asked for one /files/ request, from its query
// parameters merged with armed faults (Server.Arm; an armed value wins
// over the query's value for the same key). They combine, except where a
// combination means nothing (see the end of the table).
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
//	type         <media type>      200 and 206 carry this Content-Type instead of the file's own:
//	                               an HTML page, say, where a binary is expected
//	length       none              200 and 206 without Content-Length: chunked transfer coding,
//	                               body unchanged; with ranges=none, a 200 of unknown length
//	ranges       none              ignore Range (and If-Range): always 200 with the whole body,
//	                               Accept-Ranges: none (§14.3)
//	cap          <N >= 1>          a proxy that caps ranges: one range bytes=a-b or bytes=a- that
//	                               spans more than N bytes is served as bytes=a-(a+N-1), a correct
//	                               shorter 206 (§14.2); no Range, suffix and multiple ranges (a
//	                               200) are left alone; the log keeps the Range the client sent
//	ifrange      ignore            drop If-Range before serving: the range is served even when
//	                               the validator does not match (a buggy server, §13.1.5)
//	cr           shift             206 Content-Range first and last shifted by +1, body unchanged
//	             total             206 Content-Range with total+1
//	             missing           206 without Content-Range
//	             unknown           206 Content-Range bytes a-b/* (complete length unknown)
//	             overflow          206 Content-Range bytes a-9223372036854775807/*: a last-pos of
//	                               MaxInt64, whose length overflows int64 when a is 0
//	             hugetotal         206 Content-Range bytes a-b/99999999999999999999, a total
//	                               that does not fit int64
//	digest       bad               a generated sample's Repr-Digest (RFC 9530 §3) is wrong: the
//	                               complement of each byte of the file's SHA-256, well formed and
//	                               never the right value, on 200, 206 and 304 (noted when sent);
//	                               a file with no Repr-Digest gets none, noted
//	             none              no Repr-Digest (noted when one was due)
//	rate         <bytes/s>         throttle the body smoothly (small slices, flushed)
//	overrun      <N >= 1>          after a complete 200 or 206 body, N more bytes of junk (the
//	                               complement of the file byte at each offset, 0xEE past the end
//	                               of the file: never a file byte), and no Content-Length, so
//	                               that only Content-Range or the file size tells where the body
//	                               should have ended; Sent counts the junk, rate= paces it and
//	                               cut= and stall= count it
//	stall        <N >= 0>          after N body bytes (0: right after the headers): flush, then
//	                               send nothing with the connection open until the client
//	                               leaves, Close, or 10 minutes (then abort); no stall when the
//	                               body is N bytes or shorter; LogEntry.Stalled says it began
//	cut          <N>               after N body bytes: flush, then abort the connection
//	                               (no cut when the body is N bytes or shorter)
//	change       <N>               after N body bytes: ChangeFile; this response goes on with the
//	                               old bytes, the next one sees the new ETag and content; only
//	                               armed (Arm, POST /_control/arm), never from a URL, and only
//	                               for a generated sample
//	status       <code 200-599>    answer this status with a short text body, not the file
//	retry-after  <value>           with status: add Retry-After: <value> (§10.2.3)
//	fail         <K>               with status: only the first K GET/HEAD requests of this exact
//	                               URL (path and query) get the status, later ones the file;
//	                               counters are per server, reset by ResetLog, keyed by a
//	                               SHA-256 of the URL, and at most 10000 (maxFailCounters): past
//	                               that the least recently requested URL is forgotten (counts
//	                               from 0 again), so that varying queries cannot grow the server
//	redirect     login             302 Found to /_login, an HTML sign-in page (a captive portal
//	                               or an expired session), instead of the file
//	             same              302 Found to this same /files/ path, with the query minus
//	                               redirect plus redirected=1: the final URL differs
//	             file:<name>       302 Found to /files/<name>, query as for same
//	                               The other faults of the query travel to the target with it;
//	                               the 302 itself is never shaped (rate, cut, stall, overrun)
//	auth         <token>           answer 401 Unauthorized with WWW-Authenticate: Bearer (RFC
//	                               6750 §3) to a GET or HEAD without Authorization: Bearer
//	                               <token>, instead of the file; preflights are answered
//	                               (they never carry Authorization); the token is an RFC 6750
//	                               b64token; LogEntry.Query and LogEntry.Fault show it as
//	                               (hidden), and no error or printed line holds it
//	cors         none              no CORS headers at all (preflight included)
//	             noexpose          Access-Control-Allow-Origin but no Expose-Headers: a
//	                               cross-origin script cannot read ETag or Content-Range
//	             noifrange         the preflight allows only Range, so a request with If-Range
//	                               or If-Match fails its preflight
//
// Combinations that mean nothing are a 400: retry-after or fail without
// status, redirect with status (both replace the file), stall with cut
// (both end the body: use one), change in a URL's query.
//
// Other query keys are ignored (cache busters, and the redirected=1 that
// redirect= adds); a known key with a bad value is a 400.
//
// Any page can make a browser send these URLs (a no-cors <img>), so what
// the server keeps of them is bounded: the log cuts each value a client
// chose (etag=, type=, retry-after=, the query) at maxLogField (512)
// bytes and LogEntry.Fault at maxFaultField (2048), fail= counters are
// bounded as above, and an armed set (name, keys, values) is at most
// maxArmBytes (4096).
type faults struct {
	validators    string // "", none, etag, lm, weak
	lmNow         bool
	etag          string
	etagSet       bool
	rangesNone    bool
	ifRangeIgnore bool
	ctype         string // "" = the file's own Content-Type
	lengthNone    bool
	rangeCap      int64  // 0 = no cap
	cr            string // "", shift, total, missing, unknown, overflow, hugetotal
	digest        string // "", bad, none
	rate          int64  // 0 = unlimited
	overrun       int64  // 0 = none
	stall         int64  // -1 = never
	cut           int64  // -1 = never
	change        int64  // -1 = never
	status        int    // 0 = serve the file
	retryAfter    string
	fail          int64  // -1 = always
	expire        int64  // -1 = never: requests of this URL after the first expire answer 403
	redirect      string // "", login, same, file
	redirectFile  string // redirect=file:<name>: the name
	cors          string // "", none, noexpose, noifrange
	auth          string // "" = no authorization asked

	desc []string // human-readable, for LogEntry.Fault
}

// faultKeys lists the recognised keys in the order used for descriptions.
var faultKeys = []string{
	"validators", "lm", "etag", "type", "length", "ranges", "cap", "ifrange", "cr", "digest",
	"rate", "overrun", "stall", "cut", "change", "status", "retry-after", "fail",
	"expire", "redirect", "cors", "auth",
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
	return faults{stall: -1, cut: -1, change: -1, fail: -1, expire: -1}
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
		shown := clip(v) // the error is an answer body, and may be printed
		if k == "auth" {
			shown = authHidden // a secret, even a malformed one: see LogEntry.Auth
		}
		if err := f.set(k, v); err != nil {
			return f, fmt.Errorf("fault %s=%q: %w", k, shown, err)
		}
		// Uncut here, so that the description parses back to the same
		// faults; String cuts it for the log.
		d := k + "=" + v
		if k == "auth" {
			d = k + "=" + authHidden
		}
		if armedKeys[k] {
			d += " (armed)"
		}
		f.desc = append(f.desc, d)
	}
	if f.fail >= 0 && f.status == 0 {
		return f, fmt.Errorf("fault fail=%d: needs status=<code>", f.fail)
	}
	if f.expire >= 0 && f.status != 0 {
		return f, fmt.Errorf("fault expire=%d with status=%d: both answer a status, use one", f.expire, f.status)
	}
	if f.retryAfter != "" && f.status == 0 {
		return f, fmt.Errorf("fault retry-after=%q: needs status=<code>", clip(f.retryAfter))
	}
	if f.redirect != "" && f.status != 0 {
		return f, fmt.Errorf("fault redirect with status=%d: both replace the file, use one", f.status)
	}
	if f.stall >= 0 && f.cut >= 0 {
		return f, fmt.Errorf("fault stall=%d with cut=%d: both end the body, use one", f.stall, f.cut)
	}
	if f.change >= 0 && !armedKeys["change"] {
		// A GET anyone can make (an <img> on any page) must not rewrite a
		// file: change= is only armed, through the control API.
		return f, fmt.Errorf("fault change=%d: it rewrites the file, so it is only armed (POST /_control/arm)", f.change)
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
	case "type":
		f.ctype, err = v, headerValue(v)
		if strings.TrimSpace(v) == "" {
			err = fmt.Errorf("empty (want a media type such as text/html)")
		}
	case "length":
		_, err = oneOf(v, "none")
		f.lengthNone = err == nil
	case "cap":
		f.rangeCap, err = count(v, 1)
	case "cr":
		f.cr, err = oneOf(v, "shift", "total", "missing", "unknown", "overflow", "hugetotal")
	case "digest":
		f.digest, err = oneOf(v, "bad", "none")
	case "rate":
		f.rate, err = count(v, 1)
	case "overrun":
		f.overrun, err = count(v, 1)
	case "stall":
		f.stall, err = count(v, 0)
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
	case "expire":
		f.expire, err = count(v, 0)
	case "redirect":
		err = f.setRedirect(v)
	case "cors":
		f.cors, err = oneOf(v, "none", "noexpose", "noifrange")
	case "auth":
		f.auth, err = v, checkToken(v)
	}
	return err
}

// setRedirect parses redirect=login|same|file:<name>. The name is checked
// here like a /files/ path, so that the Location never points outside the
// data folder.
func (f *faults) setRedirect(v string) error {
	f.redirect, f.redirectFile = "", ""
	if name, ok := strings.CutPrefix(v, "file:"); ok {
		if _, err := cleanName(name); err != nil {
			return err
		}
		f.redirect, f.redirectFile = "file", name
		return nil
	}
	var err error
	f.redirect, err = oneOf(v, "login", "same")
	if err != nil {
		err = fmt.Errorf("want login, same or file:<name>")
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
func (f *faults) String() string { return describe(f.desc) }

// describe joins the items of a description for LogEntry.Fault. Items
// quote values the client chose (etag=, type=, retry-after=, a Location):
// each item is cut at maxLogField bytes and the whole at maxFaultField, so
// that the log keeps a bounded description of any request.
func describe(desc []string) string {
	items := make([]string, len(desc))
	for i, d := range desc {
		items[i] = clip(d)
	}
	return clipTo(strings.Join(items, ", "), maxFaultField)
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
	case kind == "unknown":
		h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/*", first, last))
	case kind == "overflow":
		h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/*", first, int64(math.MaxInt64)))
	case kind == "hugetotal":
		// 10^20-1: more than MaxInt64 (about 9.2*10^18), and not a
		// number a client can hold in an int64.
		h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/99999999999999999999", first, last))
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

// capRange returns the Range header that serves at most n bytes of the
// single range in v, or "" when v needs no cap: not one range with a first
// byte inside the file (no Range, suffix, multiple ranges, 416, syntax
// protocol.ServeRange ignores anyway), or a span of n bytes or fewer.
func capRange(v string, size, n int64) string {
	spec, ok := strings.CutPrefix(v, "bytes=")
	if !ok || strings.Contains(spec, ",") {
		return ""
	}
	a, b, ok := strings.Cut(spec, "-")
	a, b = strings.TrimSpace(a), strings.TrimSpace(b)
	if !ok || a == "" {
		return ""
	}
	first, err := strconv.ParseInt(a, 10, 64)
	if err != nil || first < 0 || first >= size {
		return ""
	}
	last := size - 1
	if b != "" {
		l, err := strconv.ParseInt(b, 10, 64)
		if err != nil || l < first {
			return ""
		}
		last = min(l, last)
	}
	if last-first+1 <= n {
		return ""
	}
	// first+n-1 < last here, so it cannot overflow.
	return fmt.Sprintf("bytes=%d-%d", first, first+n-1)
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
// requests see the first queued set (for cors=) without spending it. A
// redirect= set is spent by the 302 like any use; the request that follows
// the redirect (it carries redirected=1) neither gets nor spends a set
// with redirect=, so that arming "redirect the next K requests" cannot
// loop.
func (s *Server) Arm(name string, times int, values url.Values) error {
	if _, err := cleanName(name); err != nil {
		return fmt.Errorf("arm %q: %w", name, err)
	}
	if times < 1 || times > MaxArmTimes {
		return fmt.Errorf("arm %s: times=%d, want 1 to %d", name, times, MaxArmTimes)
	}
	// Only the first value of a key is ever read (parseFaults), so only
	// it is kept, and the set is bounded: it stays until spent.
	clean := url.Values{}
	size := len(name)
	for k, v := range values {
		if !isFaultKey(k) {
			return fmt.Errorf("arm %s: unknown fault %q", name, clip(k))
		}
		clean[k] = append([]string(nil), v[:min(len(v), 1)]...)
		size += len(k) + len(clean.Get(k))
	}
	if size > maxArmBytes {
		return fmt.Errorf("arm %s: %d bytes of name and faults, want at most %d", clip(name), size, maxArmBytes)
	}
	keys := map[string]bool{}
	for k := range clean {
		keys[k] = true
	}
	if _, err := parseFaults(clean, keys); err != nil {
		return fmt.Errorf("arm %s: %w", name, err)
	}
	if clean.Has("change") && !s.isSample(name) {
		return fmt.Errorf("arm %s: change= rewrites the file: %w", name, errNotSample)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.nArmed >= MaxArmed {
		return fmt.Errorf("arm %s: %d sets armed already: %w", name, s.nArmed, errTooMany)
	}
	s.armed[name] = append(s.armed[name], &armedSet{values: clean, left: times})
	s.nArmed++
	return nil
}

// Disarm drops every armed fault.
func (s *Server) Disarm() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.armed)
	s.nArmed = 0
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
	if a.values.Has("redirect") && q.Get("redirected") == "1" {
		// The target of a redirect this server sent: an armed redirect
		// is for the requests the client makes, not for where they lead
		// (it would loop), so it neither applies nor is spent here.
		return parseFaults(q, nil)
	}
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
		s.nArmed--
		if len(queue) == 1 {
			delete(s.armed, name)
		} else {
			s.armed[name] = queue[1:]
		}
	}
	return f, nil
}

// applyFail enforces fail=K (the status applies only to the first K
// requests of this exact URL) and expire=K (a 403 from request K+1 on).
func (s *Server) applyFail(f *faults, r *http.Request) {
	if (f.status == 0 || f.fail < 0) && f.expire < 0 {
		return
	}
	s.mu.Lock()
	n := s.fails.hit(r.URL.Path + "?" + r.URL.RawQuery)
	s.mu.Unlock()
	switch {
	case f.expire >= 0 && int64(n) > f.expire:
		*f = *Faults{f}.Expired(n).f
	case f.expire < 0 && int64(n) > f.fail:
		*f = *Faults{f}.StatusSpent(n).f
	}
}

// failCounters counts the requests of each URL with fail=, for
// applyFail, in bounded memory whatever the clients send: a counter is
// keyed by the SHA-256 of its URL, never by the URL itself (which a
// client chooses, up to the server's header limit, and which holds the
// token of auth=), and at most limit counters are kept, the least
// recently requested URL forgotten first. A URL a test keeps requesting
// thus keeps its count while another client varies its query without
// end; a forgotten URL counts from 0 again. The caller holds Server.mu.
type failCounters struct {
	limit int
	byKey map[[sha256.Size]byte]*list.Element // of *failCount
	lru   list.List                           // most recently requested first
}

// failCount is the counter of one URL.
type failCount struct {
	key [sha256.Size]byte
	n   int
}

func newFailCounters(limit int) failCounters {
	return failCounters{limit: limit, byKey: make(map[[sha256.Size]byte]*list.Element)}
}

// hit counts one more request of the URL u and returns its count.
func (c *failCounters) hit(u string) int {
	key := sha256.Sum256([]byte(u))
	if el, ok := c.byKey[key]; ok {
		c.lru.MoveToFront(el)
		fc := el.Value.(*failCount)
		fc.n++
		return fc.n
	}
	for c.lru.Len() > 0 && c.lru.Len() >= c.limit {
		old := c.lru.Remove(c.lru.Back()).(*failCount)
		delete(c.byKey, old.key)
	}
	c.byKey[key] = c.lru.PushFront(&failCount{key: key, n: 1})
	return 1
}

// len returns how many URLs are counted.
func (c *failCounters) len() int { return c.lru.Len() }

// reset forgets every count.
func (c *failCounters) reset() {
	clear(c.byKey)
	c.lru.Init()
}
