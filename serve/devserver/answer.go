package devserver

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-resumer/resumer/wasm/protocol"
)

// The dev server's answer to a request for a file, as a pure function.
//
// Plan decides everything a /files/ request gets: status, headers, which
// bytes of the file (or which text) make the body, and how the body is to
// be shaped (rate=, cut=, stall=, the junk of overrun=). It reads no file,
// no clock and no server state, so that a test server holding its file in
// memory answers exactly as the dev server does: parse the query with
// ParseFaults, call Plan, and write the body Answer describes. The dev
// server itself does the same (Server.serveFile), with its own state merged
// first: faults armed with Server.Arm, and the fail= counters.
//
// Ranges and preconditions are protocol.ServeRange's: RFC 9110 as an origin
// server that supports single byte ranges. Where net/http's ServeContent,
// which the dev server used before, chose otherwise, Plan follows the RFC:
// several ranges get a 200 with the whole file rather than a
// multipart/byteranges 206 (§14.2 allows it), a HEAD ignores Range (§14.2:
// range handling is defined for GET only), an invalid Range is ignored
// rather than answered 416 (§14.2), a Range of an empty file is a 416
// (§14.1.2), and an If-Range date holds only when Last-Modified is a strong
// validator (§13.1.5, §8.8.2.2: at least a second before Date).

// File is what the server knows of a file it serves.
type File struct {
	// Name is the file's name under /files/, slash-separated; its
	// extension gives the Content-Type when Type is "".
	Name string
	// Size is its length in bytes.
	Size int64
	// ModTime is when it last changed: the Last-Modified sent, at the
	// second. The zero time or the Unix epoch means unknown (as in
	// net/http): no Last-Modified, and dates in preconditions are ignored.
	ModTime time.Time
	// ETag is the entity-tag sent, as is; "" sends none. ETagOf gives the
	// one the dev server makes for its files.
	ETag string
	// Type is the Content-Type of the file; "" is the one the dev server
	// gives Name's extension (application/octet-stream for .bin and
	// anything unknown, never sniffed).
	Type string
	// Digest is the SHA-256 of the whole file, sent as Repr-Digest (RFC
	// 9530 §3) when HasDigest.
	Digest    [sha256.Size]byte
	HasDigest bool
}

// NewFile describes a file held in memory as the dev server describes a
// sample it generated: the ETag of ETagOf, Last-Modified from modTime, and
// the Repr-Digest of content.
func NewFile(name string, content []byte, modTime time.Time) File {
	return File{
		Name:      name,
		Size:      int64(len(content)),
		ModTime:   modTime,
		ETag:      ETagOf(int64(len(content)), modTime),
		Digest:    sha256.Sum256(content),
		HasDigest: true,
	}
}

// ETagOf is the strong entity-tag the dev server gives a file of size bytes
// last changed at modTime: "<size hex>-<mtime unix nanos hex>", like nginx.
// It changes whenever the file is rewritten (RFC 9110 §8.8.3) and costs no
// read of the content.
func ETagOf(size int64, modTime time.Time) string {
	return fmt.Sprintf(`"%x-%x"`, size, modTime.UnixNano())
}

// Faults are the faults of one request, parsed: see ParseFaults. The zero
// Faults asks for none.
type Faults struct {
	f *faults // nil = none
}

// ParseFaults reads the fault keys of a /files/ query (the table of the
// faults type: validators=, type=, cut=, status=... and no other key); a
// known key with a bad value, or a combination that means nothing, is an
// error, which the dev server answers with a 400. change= is refused: it
// rewrites a file on the server, so only Server.Arm can ask for it. fail=
// is read, but Plan cannot count requests: see Fail.
func ParseFaults(q url.Values) (Faults, error) {
	f, err := parseFaults(q, nil)
	if err != nil {
		return Faults{}, err
	}
	return Faults{&f}, nil
}

// get returns the faults, noFaults for the zero Faults.
func (fs Faults) get() *faults {
	if fs.f == nil {
		f := noFaults()
		return &f
	}
	return fs.f
}

// String describes the faults as LogEntry.Fault does; "" for none.
func (fs Faults) String() string { return fs.get().String() }

// Fail returns K of fail=K, -1 without it. The status of status= is then
// for the first K requests of a URL only, and Plan, which keeps no state,
// applies it to every request: the caller counts, and from the request
// K+1 on plans with StatusSpent.
func (fs Faults) Fail() int64 { return fs.get().fail }

// StatusSpent returns the faults of the n-th request of a URL with fail=K,
// n > K: without status= and retry-after=, so that the request gets the
// file, and with a note that says why.
func (fs Faults) StatusSpent(n int) Faults {
	f := *fs.get()
	f.desc = slices.Clone(f.desc)
	if f.status != 0 {
		f.note("request %d of this URL: status %d no longer applied", n, f.status)
	}
	f.status, f.retryAfter = 0, ""
	return Faults{&f}
}

// Expire returns K of expire=K, -1 without it: a signed link that gives
// K requests, then 403. Plan, which keeps no state, serves the file; the
// caller counts, and from the request K+1 on plans with Expired.
func (fs Faults) Expire() int64 { return fs.get().expire }

// Expired returns the faults of the n-th request of a URL with
// expire=K, n > K: a 403, as S3 and CloudFront answer a signature that
// expired, with a note that says why.
func (fs Faults) Expired(n int) Faults {
	f := *fs.get()
	f.desc = slices.Clone(f.desc)
	f.note("request %d of this URL: the link expired after %d", n, f.expire)
	f.status = http.StatusForbidden
	return Faults{&f}
}

// Answer is what Plan decided for one request: everything to send. A
// writer sends Header and Status as they are, then, except to a HEAD, the
// body: Text when it is not nil, else the file bytes [Start, Start+Length)
// followed by Junk bytes of junk (see Junk and Answer.Body). The body is
// shaped as Rate, Cut and Stall say, all of them counted in body bytes
// sent, junk included, and neither Cut nor Stall happens at or past the
// end of the body. The dev server's writer does all that; Send writes an
// Answer unshaped, and Body gives its bytes.
type Answer struct {
	// Status is the status code.
	Status int
	// Header is the whole header, Date included. A Content-Length left out
	// is left out on purpose (length=none, overrun=: the body goes chunked).
	Header http.Header
	// Text is the body when it is not the file's: the page of status=,
	// auth= or redirect=, or of a 416 or a 405. It is nil when the body is
	// file bytes, and when there is no body (HEAD, 204, 304, 412).
	Text []byte
	// Start and Length are the file bytes of the body, [Start,
	// Start+Length) (the range of a 206, the whole file for a 200); Start
	// is -1 when the body carries none.
	Start, Length int64
	// Junk is how many bytes of junk follow the file bytes (overrun=),
	// once they are all sent: the complement of the file byte at each
	// offset from Start+Length, 0xEE past the end of the file (Junk).
	Junk int64
	// Cut is the body offset where the writer flushes and aborts the
	// connection (cut=: panic(http.ErrAbortHandler)); -1: never.
	Cut int64
	// Stall is the body offset where the writer flushes and then sends
	// nothing, connection open, until the client leaves (stall=); -1:
	// never.
	Stall int64
	// Rate paces the body at that many bytes a second (rate=); 0: as fast
	// as the connection goes.
	Rate int64
	// Change is the body offset where the server replaces the file with a
	// new version (change=, which only Server.Arm can ask for): this body
	// goes on with the old bytes; -1: never.
	Change int64
	// OfFile reports an answer about the file itself: 200, 206, 304, 412
	// or 416, rather than a page that replaces it (auth=, status=,
	// redirect=), a preflight or a 405. A server that has no such file
	// answers those requests 404 instead.
	OfFile bool
	// Fault describes the faults applied, as LogEntry.Fault keeps it: the
	// request's fault keys, then what they did to the answer. What the
	// writer does later (a cut, a stall, the junk) comes after.
	Fault string

	desc []string // the items of Fault, uncut
}

// note adds an item to the description.
func (a *Answer) note(format string, args ...any) {
	a.desc = append(a.desc, fmt.Sprintf(format, args...))
}

// Body returns the body of a as a writer sends it, unshaped, from the
// file's bytes: Text, or the file bytes and the junk after them; nothing
// for a HEAD or a status without content.
func (a Answer) Body(file io.ReaderAt) io.Reader {
	if a.Text != nil {
		return bytes.NewReader(a.Text)
	}
	if a.Start < 0 {
		return bytes.NewReader(nil)
	}
	return io.MultiReader(io.NewSectionReader(file, a.Start, a.Length),
		&junkReader{file: file, off: a.Start + a.Length, n: a.Junk})
}

// Send writes a to w unshaped (Rate, Cut, Stall and Change left aside):
// Header and Status, then Body. Without a Content-Length the header is
// flushed before the body, as the dev server does, or net/http would add
// one of its own to a short body and the fault (length=none, overrun=)
// would not show.
func (a Answer) Send(w http.ResponseWriter, file io.ReaderAt) error {
	h := w.Header()
	for k, v := range a.Header {
		h[k] = v
	}
	w.WriteHeader(a.Status)
	if a.Text == nil && a.Start < 0 {
		return nil
	}
	if h.Get("Content-Length") == "" {
		if err := http.NewResponseController(w).Flush(); err != nil {
			return err
		}
	}
	_, err := io.Copy(w, a.Body(file))
	return err
}

// junkReader reads n bytes of junk from file offset off.
type junkReader struct {
	file io.ReaderAt
	off  int64
	n    int64
}

func (j *junkReader) Read(p []byte) (int, error) {
	if j.n <= 0 {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), j.n)]
	Junk(j.file, j.off, p)
	j.off += int64(len(p))
	j.n -= int64(len(p))
	return len(p), nil
}

// Junk fills buf with the junk of overrun= that stands at offset off of the
// file: the complement of each file byte, 0xEE where the file has no byte
// (past its end, or everywhere when off < 0). A junk byte is thus never the
// file's byte at its offset: a client that stores even one as file data is
// caught by a comparison. The junk of an Answer starts at Start+Length.
func Junk(file io.ReaderAt, off int64, buf []byte) {
	n := 0
	if off >= 0 {
		n, _ = file.ReadAt(buf, off) // short at the end of the file
	}
	for i := range buf {
		if i < n {
			buf[i] = ^buf[i]
		} else {
			buf[i] = 0xEE
		}
	}
}

// LoginAnswer is the answer of /_login, where redirect=login leads: the
// HTML sign-in page a captive portal or an expired session answers instead
// of a file, to a GET or HEAD.
func LoginAnswer(r *http.Request, now time.Time) Answer {
	a := Answer{Header: http.Header{}, Start: -1, Cut: -1, Stall: -1, Change: -1}
	a.Header.Set("Date", now.UTC().Format(http.TimeFormat))
	setCORS(a.Header, "")
	a.Header.Set("Content-Type", "text/html; charset=utf-8")
	a.Header.Set("Cache-Control", "no-store")
	a.Header.Set("Content-Length", strconv.Itoa(len(loginPage)))
	a.Status = http.StatusOK
	if r.Method != http.MethodHead {
		a.Text = []byte(loginPage)
	}
	return a
}

// Plan answers the request r for the file f with the faults of r (parsed
// and merged by the caller), as the dev server does at the instant now:
//
//   - OPTIONS gets the CORS preflight of cors=; a method other than GET,
//     HEAD and OPTIONS a 405.
//   - Then, in this order, what replaces the file: the 401 of auth=
//     (without the Bearer token), the page of status=, the 302 of
//     redirect= (whose body no body fault shapes: they are meant for the
//     target).
//   - Then the file: validators=, etag= and lm= choose the validators,
//     ranges=, ifrange= and cap= what protocol.ServeRange sees of the
//     request, and ServeRange answers it (preconditions, then Range);
//     type=, length=, cr= and digest= then rewrite the 200 or 206 it
//     gives (digest= also the 304).
//
// The CORS headers of cors= are on every answer. r is only read: its
// method, URL and headers.
func Plan(r *http.Request, f File, faults Faults, now time.Time) Answer {
	fl := faults.get()
	a := Answer{
		Header: http.Header{},
		Start:  -1,
		Cut:    fl.cut,
		Stall:  fl.stall,
		Rate:   fl.rate,
		Change: fl.change,
		desc:   slices.Clone(fl.desc),
	}
	a.Header.Set("Date", now.UTC().Format(http.TimeFormat))
	head := r.Method == http.MethodHead
	switch r.Method {
	case http.MethodGet, http.MethodHead:
	case http.MethodOptions:
		preflightHeaders(a.Header, fl.cors)
		a.Status = http.StatusNoContent
		return a.done()
	default:
		// As the dev server answers before it reads any fault.
		a = Answer{Header: a.Header, Start: -1, Cut: -1, Stall: -1, Change: -1}
		methodNotAllowed(&a)
		return a.done()
	}
	setCORS(a.Header, fl.cors)
	if challenge, note, refused := fl.authorize(r.Header); refused {
		a.note("%s", note)
		a.Header.Set("WWW-Authenticate", challenge)
		a.text(http.StatusUnauthorized, head,
			"401 Unauthorized (auth= fault of the resumer dev server: send Authorization: Bearer <token>)\n")
		return a.done()
	}
	if fl.status != 0 {
		if fl.retryAfter != "" {
			a.Header.Set("Retry-After", fl.retryAfter)
		}
		a.text(fl.status, head, fmt.Sprintf("%d %s (status=%d fault of the resumer dev server)\n",
			fl.status, http.StatusText(fl.status), fl.status))
		return a.done()
	}
	if fl.redirect != "" {
		planRedirect(&a, r, fl)
		return a.done()
	}
	planFile(&a, r, f, fl, now)
	return a.done()
}

// done completes a for its writer.
func (a Answer) done() Answer {
	a.Fault = describe(a.desc)
	return a
}

// text makes a the short plain-text page body (not sent to a HEAD, nor
// with a status that has no content).
func (a *Answer) text(code int, head bool, body string) {
	a.Status = code
	h := a.Header
	h.Set("Cache-Control", "no-store")
	if code == http.StatusNotModified {
		return // §15.4.5: no metadata of a content it does not have
	}
	h.Set("Content-Type", "text/plain; charset=utf-8")
	if code == http.StatusNoContent {
		return
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	if !head {
		a.Text = []byte(body)
	}
}

// methodNotAllowed makes a the 405 of a /files/ request that is neither
// GET, HEAD nor OPTIONS, as http.Error writes it, with CORS headers so that
// a cross-origin client can read the status.
func methodNotAllowed(a *Answer) {
	setCORS(a.Header, "")
	a.Header.Set("Allow", "GET, HEAD, OPTIONS")
	a.Header.Set("Content-Type", "text/plain; charset=utf-8")
	a.Header.Set("X-Content-Type-Options", "nosniff")
	a.Status = http.StatusMethodNotAllowed
	a.Text = []byte("method not allowed\n")
	a.Header.Set("Content-Length", strconv.Itoa(len(a.Text)))
}

// planRedirect makes a the 302 of redirect=. The body faults are meant for
// the file, which the query's faults reach through Location; shaping this
// tiny body (stalling it, say) would only hide the redirect.
func planRedirect(a *Answer, r *http.Request, f *faults) {
	a.Cut, a.Stall, a.Rate, a.Change = -1, -1, 0, -1
	loc := redirectLocation(r, f)
	// The Location keeps the query, auth= token included (the target
	// asks for it too); the log must not.
	shown := loc
	if p, q, ok := strings.Cut(loc, "?"); ok {
		shown = p + "?" + hideAuth(q)
	}
	a.note("302 to %s", shown)
	what := f.redirect
	if what == "file" {
		what += ":" + f.redirectFile
	}
	a.Header.Set("Location", loc)
	a.text(http.StatusFound, r.Method == http.MethodHead,
		fmt.Sprintf("302 Found: %s (redirect=%s fault of the resumer dev server)\n", loc, what))
}

// planFile makes a the answer of the file itself.
func planFile(a *Answer, r *http.Request, file File, f *faults, now time.Time) {
	a.OfFile = true
	h := a.Header
	ctype := file.Type
	if ctype == "" {
		ctype = fileType(file.Name)
	}
	h.Set("Content-Type", ctype)
	h.Set("Cache-Control", "no-cache") // always revalidate: files change under tests

	// Validators: validators= drops some, etag= replaces the tag, lm=now
	// makes the date equal to Date, a weak date (RFC 9110 §8.8.2.2).
	etag, modtime := file.ETag, file.ModTime
	switch f.validators {
	case "none":
		etag, modtime = "", time.Time{}
	case "etag":
		modtime = time.Time{}
	case "lm":
		etag = ""
	case "weak":
		if etag != "" {
			etag = "W/" + etag
		}
		modtime = time.Time{}
	}
	if f.etagSet {
		etag = f.etag
	}
	if f.lmNow && !unknownTime(modtime) {
		modtime = now
	}
	v := protocol.Validators{ETag: etag, Date: h.Get("Date")}
	if !unknownTime(modtime) {
		v.LastModified = modtime.UTC().Format(http.TimeFormat)
		h.Set("Last-Modified", v.LastModified)
	}
	if etag != "" {
		h.Set("ETag", etag)
	}

	// What ServeRange sees of the request: ranges=none drops Range and
	// If-Range, ifrange=ignore If-Range, cap= shortens the Range. The log
	// keeps what the client sent.
	req := protocol.ServeRequest{
		Method:            r.Method,
		Range:             r.Header.Get("Range"),
		IfRange:           r.Header.Get("If-Range"),
		IfMatch:           strings.Join(r.Header.Values("If-Match"), ", "),
		IfNoneMatch:       strings.Join(r.Header.Values("If-None-Match"), ", "),
		IfModifiedSince:   r.Header.Get("If-Modified-Since"),
		IfUnmodifiedSince: r.Header.Get("If-Unmodified-Since"),
	}
	capped := ""
	switch {
	case f.rangesNone:
		req.Range, req.IfRange = "", ""
	case f.rangeCap > 0:
		if capped = capRange(req.Range, file.Size, f.rangeCap); capped != "" {
			req.Range = capped
		}
	}
	if f.ifRangeIgnore {
		req.IfRange = ""
	}
	s := protocol.ServeRange(req, file.Size, v)
	a.Status = s.Status
	if f.rangesNone {
		h.Set("Accept-Ranges", "none") // §14.3, on every answer of the file
	}
	if hasRepresentation(s.Status) {
		a.reprDigest(f.digest, file.Digest, file.HasDigest)
	}
	switch s.Status {
	case http.StatusNotModified:
		// §15.4.5: no content, and of the representation's metadata only
		// what updates a cache: Last-Modified only without an ETag.
		h.Del("Content-Type")
		if etag != "" {
			h.Del("Last-Modified")
		}
		return
	case http.StatusPreconditionFailed:
		h.Set("Content-Length", "0")
		return
	case http.StatusRequestedRangeNotSatisfiable:
		// No validators: a 416 does not describe the representation
		// (net/http drops them too).
		h.Del("Cache-Control")
		h.Del("ETag")
		h.Del("Last-Modified")
		h.Set("Content-Range", s.ContentRange)
		h.Set("Content-Type", "text/plain; charset=utf-8")
		h.Set("X-Content-Type-Options", "nosniff")
		a.Text = fmt.Appendf(nil, "416 Range Not Satisfiable: no byte of the range asked for is in the %d of the file\n", file.Size)
		h.Set("Content-Length", strconv.Itoa(len(a.Text)))
		return
	}

	// 200 or 206.
	if !f.rangesNone {
		h.Set("Accept-Ranges", "bytes")
	}
	h.Set("Content-Length", strconv.FormatInt(s.Length, 10))
	if s.Body {
		a.Start, a.Length, a.Junk = s.Start, s.Length, f.overrun
	}
	if s.Status == http.StatusPartialContent {
		h.Set("Content-Range", s.ContentRange)
		if capped != "" {
			a.note("range capped: served %s", capped)
		}
		if f.cr != "" {
			corruptContentRange(h, f.cr)
			if cr := h.Get("Content-Range"); cr != s.ContentRange {
				a.note("Content-Range %q instead of %q", cr, s.ContentRange)
			}
		}
	}
	if f.ctype != "" {
		h.Set("Content-Type", f.ctype)
		a.note("Content-Type %q instead of %q", f.ctype, ctype)
	}
	// overrun= drops Content-Length too: with it, the junk would run past
	// what the header says, and the client would see the overrun coming.
	if f.lengthNone || f.overrun > 0 {
		h.Del("Content-Length")
		if f.lengthNone {
			a.note("Content-Length %d removed", s.Length)
		}
	}
}

// unknownTime reports whether a modification time is unknown: zero, or
// the Unix epoch, which net/http reads as unknown too.
func unknownTime(t time.Time) bool {
	return t.IsZero() || t.Equal(time.Unix(0, 0))
}

// reprDigest sets Repr-Digest as digest= asks: the right one, a wrong one
// (bad) or none; sum is the file's SHA-256 when known (ok).
func (a *Answer) reprDigest(mode string, sum [sha256.Size]byte, ok bool) {
	switch {
	case mode == "none" && ok:
		a.note("Repr-Digest %s removed", reprDigest(sum))
	case mode == "none":
	case mode == "bad" && ok:
		bad := reprDigest(badDigest(sum))
		a.Header.Set("Repr-Digest", bad)
		a.note("Repr-Digest %s instead of %s", bad, reprDigest(sum))
	case mode == "bad":
		a.note("no Repr-Digest to corrupt: the server knows no digest of this file")
	case ok:
		a.Header.Set("Repr-Digest", reprDigest(sum))
	}
}
