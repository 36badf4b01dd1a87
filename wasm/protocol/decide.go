package protocol

import (
	"errors"
	"strconv"
	"strings"
	"time"
)

// Request describes a range request as it was sent. resumer always sends a
// single range (RFC 9110 §14.2), never multiple ranges.
type Request struct {
	// Start is the first byte asked for.
	Start int64
	// End is one past the last byte asked for, or UnknownSize for an
	// open-ended "bytes=Start-".
	End int64
	// IfRange is the If-Range value sent with the request, "" for none.
	IfRange string
	// Whole is true for a request sent without Range, after ranges proved
	// unusable (Action Whole).
	Whole bool
	// URL is where the request was sent: the download's own URL, or, when
	// Aimed, the final URL the stored bytes came from. "" when unknown: the
	// rules that compare URLs then do not apply.
	URL string
	// Aimed is true for a request sent straight to Stored.URL, because an
	// answer through the download's own URL came from another resource
	// (Action Elsewhere).
	Aimed bool
}

// RangeHeader returns the Range header value for r, "" for a Whole request.
func (r Request) RangeHeader() string {
	if r.Whole {
		return ""
	}
	s := "bytes=" + strconv.FormatInt(r.Start, 10) + "-"
	if r.End != UnknownSize {
		s += strconv.FormatInt(r.End-1, 10)
	}
	return s
}

// Stored is what the download knew before the response arrived.
type Stored struct {
	// Mode is the stored generation's mode; "" counts as ModeNew. Once a
	// first response was accepted (any mode but new), its validators,
	// total length, final URL and media type are the reference every later
	// response is checked against.
	Mode       Mode
	Validators Validators
	// Total is the complete length, or UnknownSize.
	Total int64
	// Bytes is how many bytes are stored (or on their way to storage).
	Bytes int64
	// URL and ContentType are the final URL (after redirects) and the
	// Content-Type of the response that established the download. The
	// media type is kept across new generations: the next answer from byte
	// 0 is held to it.
	URL, ContentType string
	// Reason is why the stored mode is single, and HasProof whether the
	// exchange that showed it is recorded: a later answer to a request
	// without Range shows nothing about ranges, so it does not replace it.
	Reason   Reason
	HasProof bool
	// Digest is what the stored version must hash to ("" Alg: nothing),
	// as the app or the server stated it.
	Digest Digest
	// App is what the app asked of the download.
	App App
	// Refreshes counts the fresh links asked for (Refresh) since an answer
	// was last accepted.
	Refreshes int
}

// Established reports whether a response was accepted for the stored
// generation.
func (st Stored) Established() bool { return st.Mode != ModeNew && st.Mode != "" }

// App is what an application asks of a download, which decides what an
// answer may be.
type App struct {
	// Integrity is the digest the app says the file has (Subresource
	// Integrity); zero for none.
	Integrity Digest
	// CanHash is true where the platform can hash what it stores: a digest
	// the server states (Repr-Digest) is then checked too.
	CanHash bool
	// MaxBytes, when positive, is the largest file the app accepts.
	MaxBytes int64
	// AcceptHTML is true when an HTML page is an acceptable answer, even one
	// a redirect led to from a URL that does not name a page.
	AcceptHTML bool
	// FirstAnswer is true when the app wants what fetch() would give it
	// until the download is under way: while nothing is stored, an answer
	// that is not a success (404, 500, …) is handed over as it is (Hand),
	// not retried, and a request that fails before its answer ends the
	// download (EndDecision.Fail), not backed off. Once a first answer was
	// accepted, failures are retried as always.
	FirstAnswer bool
	// CanRefresh is true when the app can give a fresh link to the file (a
	// signed URL that expired, a token that did): a 401, 403 or 410 asks it
	// for one (Refresh) instead of ending the download.
	CanRefresh bool
}

// MaxRefreshes is how many fresh links in a row may be answered 401, 403
// or 410 before the download fails with that status: an app whose every
// link is refused must not make it ask forever.
const MaxRefreshes = 3

// refreshStatus reports whether status s says the link (or its
// credentials) no longer gives access to the file: 401 (RFC 9110
// §15.5.2), 403 (§15.5.4: S3, CloudFront and signed CDN links answer an
// expired signature so) and 410 (§15.5.11).
func refreshStatus(s int) bool { return s == 401 || s == 403 || s == 410 }

// Response is what the adapter could read of a response.
type Response struct {
	Status          int
	ContentRange    string
	ContentLength   string
	ContentEncoding string
	ContentType     string
	RetryAfter      string
	// AcceptRanges is shown as proof (Exchange); Decide does not read it:
	// only a 206 proves that ranges work (RFC 9110 §14.3).
	AcceptRanges string
	Validators   Validators
	// URL is the URL the response came from, after redirects ("" if the
	// platform cannot tell).
	URL string
	// CrossOrigin is true for a CORS response, whose headers outside the
	// CORS-safelist are hidden unless the server exposes them
	// (Access-Control-Expose-Headers). An absent header may then be hidden.
	CrossOrigin bool
	// ReprDigest and ContentDigest are the digest fields of RFC 9530: of
	// the whole file (on any status), and of this response's content.
	ReprDigest, ContentDigest string
}

// FileDigest returns the digest of the whole file a response states, and
// the field that stated it: Repr-Digest (RFC 9530 §3), or Content-Digest
// on a 200 without content coding, whose content is the file (§2). ok is
// false when it states none this package can check.
//
// A digest is only taken where the bytes fetch hands over are the ones it
// covers: never with a Content-Encoding (fetch decodes the body, and the
// digest covers the encoded bytes, RFC 9530 §3), nor on a cross-origin
// answer other than a 206, whose Content-Encoding the page may not be
// allowed to see (a 206 is never encoded: Fetch asks for identity with
// Range, and Decide refuses an encoded one).
func (resp Response) FileDigest() (d Digest, field string, ok bool) {
	if encoded(resp) || (resp.CrossOrigin && resp.Status != 206) {
		return Digest{}, "", false
	}
	if d, ok := ParseDigestField(resp.ReprDigest); ok {
		return d, "Repr-Digest", true
	}
	if resp.Status == 200 && resp.ContentEncoding == "" {
		if d, ok := ParseDigestField(resp.ContentDigest); ok {
			return d, "Content-Digest", true
		}
	}
	return Digest{}, "", false
}

// Action is what to do with a response.
type Action int

// The actions Decide can return.
const (
	// Append: the body holds bytes of the stored version (Decision.Body
	// says which).
	Append Action = iota
	// Adopt: the body is the download's content from byte 0, possibly of a
	// new version: it establishes the generation (Decision.NewGen says
	// whether stored bytes go first).
	Adopt
	// Finish: nothing is missing.
	Finish
	// Restart: the stored bytes are of no use; discard them and ask again
	// from byte 0, at the download's own URL.
	Restart
	// Whole: ranges cannot be used; ask again without Range and take the
	// whole body in one stream. The download is not resumable.
	Whole
	// Retry: a transient failure; ask again after RetryAfter (0: back off).
	Retry
	// Reject: the response contradicts the request or proves nothing; do
	// not append, back off, and give up after a few in a row.
	Reject
	// Fail: a permanent failure.
	Fail
	// Elsewhere: the answer came from another resource than the one the
	// stored bytes came from (a redirect that now leads to another path);
	// ask the stored final URL itself (Request.Aimed) while it answers.
	Elsewhere
	// Hand: the answer is not the file, nothing is stored, and the app
	// asked for the server's own answer in that case (App.FirstAnswer):
	// the download ends, and the response goes to the app unread.
	Hand
	// Refresh: the link no longer gives access (401, 403, 410) and the app
	// can give a fresh one (App.CanRefresh): ask it, then go on from the
	// stored bytes, which the validators still decide.
	Refresh
)

var actionNames = [...]string{"append", "adopt", "finish", "restart", "whole", "retry", "reject", "fail", "elsewhere", "hand", "refresh"}

func (a Action) String() string {
	if int(a) < len(actionNames) {
		return actionNames[a]
	}
	return "action(" + strconv.Itoa(int(a)) + ")"
}

// Body says what of an answer's body a download keeps.
type Body struct {
	// Keep is false when nothing of the body is read.
	Keep bool
	// Skip is how many bytes of the body come before Start: a 200 in
	// answer to a range carries the whole file, of which only the range
	// asked for is kept.
	Skip int64
	// Start is where the kept bytes go in the file; Length how many there
	// are, or UnknownSize: up to the body's end, which is the file's end.
	Start, Length int64
	// Exact: the body must end right after its Length bytes, and they count
	// only once it did. A cross-origin 206 may carry a Content-Encoding the
	// page cannot see (RFC 9110 §14.1.1: ranges count encoded bytes, fetch
	// hands over decoded ones): only a body that ends exactly where its
	// Content-Range says shows its bytes are the file's. Otherwise reading
	// stops after Length bytes, and whatever a broken server sends after
	// them is cut: the validators prove the bytes the Content-Range names.
	Exact bool
	// Framed: the answer's own framing (a Content-Length equal to
	// Skip+Length, no content coding) ends the body after exactly those
	// bytes, so it may be taken in one piece (Response.blob()).
	Framed bool
}

// Decision is the whole verdict on one answer: what the download does with
// it, what it records, and what of its body it keeps.
type Decision struct {
	Action Action
	// Mode is the download's mode once the decision is applied.
	Mode Mode
	// NewGen: every stored byte is discarded first, and a new generation
	// of the download begins.
	NewGen bool
	// Changed reports evidence that the stored bytes belong to another
	// version of the file (different validators or length); it counts in
	// the download's restarts.
	Changed bool
	// Restart counts against the limit on restarts in a row: a server
	// whose every answer names a new version (or whose stored URL keeps
	// vanishing) must not make a download start over forever.
	Restart bool
	// Establish: the answer establishes the generation; Total,
	// Validators, Resumable, Reason, URL, ContentType and Digest are what
	// the download records.
	Establish bool
	// Total is the complete length as the answer states it, or
	// UnknownSize.
	Total int64
	// Validators are the answer's own, bounded (MaxValidatorLen).
	Validators Validators
	// Resumable and Reason say whether later requests may resume the
	// download, and why not (Establish, Whole).
	Resumable bool
	Reason    Reason
	// URL and ContentType are the answer's final URL and media type, cut to
	// MaxHeaderLen (Establish).
	URL, ContentType string
	// Digest is what the file must hash to and DigestFrom who said so:
	// DigestIntegrity for the app, or the server's field (Establish).
	Digest     Digest
	DigestFrom string
	// Decided is the exchange to record as the proof of the mode; zero
	// when the recorded one stands.
	Decided Exchange
	// Body says what of the body to keep.
	Body Body
	// Notice is what a person may want to know of the decision ("" none).
	Notice string
	// RetryAfter is the delay the server asked for (Retry), 0 if none.
	RetryAfter time.Duration
	// Err says what went wrong (Retry, Reject, Fail, and why an answer
	// moved the download: Restart, Whole, Elsewhere).
	Err error
}

// DigestIntegrity is Decision.DigestFrom for a digest the app gave.
const DigestIntegrity = "integrity"

// MaxHeaderLen caps the final URL and Content-Type a download keeps: a
// value a server controls, longer than this, is not worth storing.
const MaxHeaderLen = 8 << 10

// Decide applies the rules of RFC 9110 to one answer to a range request
// and gives the whole verdict. It never returns Append or Finish for an
// answer that contradicts the request or the stored version: bytes of two
// versions are never joined. An Append keeps at least one byte, from
// req.Start, and never past req.End.
func Decide(req Request, st Stored, resp Response, now time.Time) Decision {
	var d Decision
	switch {
	case st.App.CanRefresh && refreshStatus(resp.Status) && st.Refreshes < MaxRefreshes:
		// Before Hand: an app that can renew the link wants it renewed.
		d = Decision{Action: Refresh, Err: &StatusError{Status: resp.Status}}
	case handOver(st, resp):
		d = Decision{Action: Hand, Mode: ModeNew, Err: &StatusError{Status: resp.Status}}
	default:
		d = decide(req, st, resp, now)
		d.Validators = d.Validators.Bounded()
		if d.Establish {
			d = established(req, st, resp, d)
		}
	}
	if d.Mode == "" {
		d.Mode = st.Mode
		if d.Mode == "" {
			d.Mode = ModeNew
		}
	}
	return d
}

// handOver reports whether resp goes to the app as it is (Hand): it asked
// for fetch()'s answer while nothing is stored, and this one is no success
// (nor a 204 or 205, which carry no content: RFC 9110 §15.3.5, §15.3.6).
// A 416 is left to the rules: to the first request, from byte 0, it is how
// an empty file answers (RFC 9110 §15.5.17).
func handOver(st Stored, resp Response) bool {
	if !st.App.FirstAnswer || st.Established() || st.Bytes > 0 {
		return false
	}
	s := resp.Status
	return (s < 200 || s > 299 || s == 204 || s == 205) && s != 416
}

func decide(req Request, st Stored, resp Response, now time.Time) Decision {
	if s := resp.Status; s == 200 || s == 206 {
		if err := unexpectedHTML(req, st, resp); err != nil {
			// A login, error or captive-portal page (often a redirect's
			// end) is not the file, even when nothing is stored yet: keep
			// what is stored, store none of it, and say what came instead.
			return Decision{Action: Fail, Err: err}
		}
	}
	if s := resp.Status; s == 416 && st.Established() && otherResource(st, resp) {
		// A redirect to another resource (a login page, say) says nothing
		// of the stored download's length.
		return Decision{Action: Reject, Err: badResponse("416 from " + resp.URL + ", not where the download started")}
	}
	if s := resp.Status; s == 200 || s == 206 {
		if st.Established() && otherResource(st, resp) && !digestProves(st, resp) {
			// Entity-tags and dates belong to one resource (RFC 9110
			// §8.8.3): equal validators from another path prove nothing
			// (nginx gives two files of one size and time the same ETag).
			if req.Aimed {
				return Decision{Action: Restart, Mode: restartMode(st), NewGen: true, Changed: true, Restart: true,
					Notice: "the URL the stored bytes came from now leads to " + resp.URL + "; starting over",
					Err:    badResponse("the stored final URL " + st.URL + " now leads to " + resp.URL)}
			}
			return Decision{Action: Elsewhere,
				Notice: "the download's URL now leads to " + resp.URL + ", not to " + st.URL + " where the stored bytes came from; asking there",
				Err:    badResponse("the answer came from " + resp.URL + ", not " + st.URL)}
		}
	}
	switch s := resp.Status; {
	case s == 206 && req.Whole:
		return Decision{Action: Reject, Err: badResponse("206 to a request without Range")}
	case s == 206:
		return decidePartial(req, st, resp)
	case s == 200:
		return decideFull(req, st, resp)
	case s == 416 && req.Whole:
		return Decision{Action: Reject, Err: badResponse("416 to a request without Range")}
	case s == 416:
		return decideUnsatisfiable(req, st, resp)
	case s == 412:
		// Only If-Match and If-Unmodified-Since can fail (RFC 9110
		// §15.5.13), and resumer sends neither: a 412 is a proxy's or a
		// firewall's, and says nothing of the stored bytes.
		return Decision{Action: Reject, Err: badResponse("412 to a request without preconditions")}
	case retryableStatus(s):
		return Decision{Action: Retry, Err: &StatusError{Status: s},
			RetryAfter: ParseRetryAfter(resp.RetryAfter, resp.Validators.Date, now)}
	case s >= 200 && s < 300:
		return Decision{Action: Reject, Err: badResponse("unexpected status " + strconv.Itoa(s) + " to a GET with Range")}
	case req.Aimed:
		// The URL the stored bytes came from is gone (a signed link that
		// expired, a version removed): start over from the download's own.
		return Decision{Action: Restart, Mode: restartMode(st), NewGen: true, Changed: true, Restart: true,
			Notice: "the URL the stored bytes came from answers " + strconv.Itoa(s) + "; starting over",
			Err:    &StatusError{Status: s}}
	default:
		return Decision{Action: Fail, Err: &StatusError{Status: s}}
	}
}

// restartMode is the mode a new generation starts in: single stays single,
// because what made ranges unusable is the server's, not the file's.
func restartMode(st Stored) Mode {
	if st.Mode == ModeSingle {
		return ModeSingle
	}
	return ModeNew
}

// retryableStatus reports statuses that say "try again later": 408 Request
// Timeout, 425 Too Early, 429 Too Many Requests and server errors, except
// 501 Not Implemented and 505 HTTP Version Not Supported, which will not
// change by waiting.
func retryableStatus(s int) bool {
	switch s {
	case 408, 425, 429:
		return true
	case 501, 505:
		return false
	}
	return s >= 500 && s < 600
}

func encoded(resp Response) bool {
	ce := strings.Trim(resp.ContentEncoding, " \t")
	return ce != "" && !strings.EqualFold(ce, "identity")
}

// hiddenReason explains which headers a cross-origin server must expose.
func hiddenReason() Reason {
	return Reason{ReasonHiddenHeaders,
		"the server is on another origin and does not expose the headers a resumer must check; it must send Access-Control-Expose-Headers: ETag, Last-Modified, Content-Range, Date"}
}

func decidePartial(req Request, st Stored, resp Response) Decision {
	// Content-Encoding other than identity makes byte offsets meaningless
	// for the decoded body Fetch hands over (ranges count encoded bytes).
	if encoded(resp) {
		return unusablePartial(st, "206 with Content-Encoding "+resp.ContentEncoding)
	}
	if strings.HasPrefix(MediaType(resp.ContentType), "multipart/byteranges") {
		return unusablePartial(st, "multipart/byteranges answer to a single-range request")
	}
	if resp.ContentRange == "" {
		if resp.CrossOrigin {
			// The 206 cannot be checked: fall back to one whole stream.
			return whole(st, hiddenReason(), badResponse("Content-Range is not exposed to this origin"))
		}
		return Decision{Action: Reject, Err: badResponse("206 without Content-Range")}
	}
	cr, err := ParseContentRange(resp.ContentRange)
	if err != nil || cr.Unsatisfied() {
		return Decision{Action: Reject, Err: badResponse("unreadable Content-Range " + strconv.Quote(resp.ContentRange))}
	}
	body := Body{Keep: true, Start: cr.First, Length: cr.Len(),
		Exact:  resp.CrossOrigin && resp.ContentEncoding == "",
		Framed: ParseContentLength(resp.ContentLength) == cr.Len()}
	if st.Established() {
		changed := !st.Validators.SameVersion(resp.Validators) ||
			(cr.Total != UnknownSize && st.Total != UnknownSize && cr.Total != st.Total)
		if changed {
			// The server ignored If-Range, or the file changed between two
			// requests: a 206 from byte 0 is still a valid start of the new
			// version; any other is useless.
			if cr.First == 0 {
				d := adopt(st, resp, body, cr.Total, true, partialReason(resp))
				d.Restart = true
				return d
			}
			return Decision{Action: Restart, Mode: restartMode(st), NewGen: true, Changed: true, Restart: true,
				Err: badResponse("a 206 of another version (" + resp.ContentRange + ")")}
		}
	}
	if cr.First != req.Start {
		return Decision{Action: Reject, Err: badResponse("asked for bytes from " + strconv.FormatInt(req.Start, 10) +
			", got Content-Range " + resp.ContentRange)}
	}
	if req.End != UnknownSize && cr.Last >= req.End {
		return Decision{Action: Reject, Err: badResponse("Content-Range " + resp.ContentRange + " goes past the range asked for")}
	}
	if n := ParseContentLength(resp.ContentLength); n != UnknownSize && n != cr.Len() {
		return Decision{Action: Reject, Err: badResponse("Content-Length " + resp.ContentLength + " does not match Content-Range " + resp.ContentRange)}
	}
	total := cr.Total
	if total == UnknownSize {
		total = st.Total
	}
	if !st.Established() {
		if cr.First != 0 {
			return Decision{Action: Reject, Err: badResponse("first response does not start at byte 0")}
		}
		if total == UnknownSize {
			// Without a length no range plan can end, and asking again
			// would not tell it: take the file in one request instead.
			return whole(st, unknownLength(), badResponse("Content-Range "+resp.ContentRange+" gives no length"))
		}
		ok, reason := resp.Validators.Resumable()
		if !ok && resp.CrossOrigin {
			reason = hiddenReason()
		}
		d := Decision{Action: Append, Establish: true, Mode: ModeRanged, Total: total, Validators: resp.Validators,
			Resumable: ok, Reason: reason, Body: body}
		if !ok {
			d.Mode = ModeSingle
			d.Notice = "not resumable: " + reason.Text
			if !(cr.First == 0 && cr.Len() == total) {
				// A server that cannot prove versions: these bytes can
				// be joined to no later ones. The single mode asks for
				// the whole file.
				d.Body = Body{}
			}
		}
		return d
	}
	// Bytes after the start are joined to stored ones only with proof that
	// they are of the same version: the server honoured our If-Range, or the
	// response itself carries a strong validator equal to the stored one.
	if req.Start > 0 && req.IfRange == "" && !provesSameVersion(st.Validators, resp.Validators) {
		if resp.CrossOrigin {
			return whole(st, hiddenReason(), badResponse("the 206 carries no readable validator"))
		}
		return Decision{Action: Reject, Err: badResponse("206 without If-Range carries no validator to check")}
	}
	return Decision{Action: Append, Total: total, Validators: resp.Validators, Body: body}
}

// whole is the decision to give up ranges: ask for the whole file without
// Range, in one stream. A download already asking that way is shown a
// contradiction, not news.
func whole(st Stored, reason Reason, err error) Decision {
	if st.Mode == ModeSingle {
		return Decision{Action: Reject, Err: err}
	}
	return Decision{Action: Whole, Mode: ModeSingle, NewGen: st.Established() || st.Bytes > 0,
		Reason: reason, Notice: "not resumable: " + reason.Text, Err: err}
}

// unusablePartial handles a 206 whose body cannot be placed: a download that
// has not started falls back to one stream; one with stored bytes rejects it.
func unusablePartial(st Stored, detail string) Decision {
	if !st.Established() || st.Bytes == 0 {
		return whole(st, Reason{ReasonEncoded, "the server's answer to a range request could not be used (" + detail + ")"},
			badResponse(detail))
	}
	return Decision{Action: Reject, Err: badResponse(detail)}
}

// provesSameVersion reports whether got carries a strong validator equal to a
// strong stored one.
func provesSameVersion(stored, got Validators) bool {
	if t, ok := stored.strongETag(); ok && got.ETag != "" {
		if g, err := ParseETag(got.ETag); err == nil && StrongMatch(t, g) {
			return true
		}
	}
	return stored.strongLastModified() && got.LastModified != "" && sameDate(stored.LastModified, got.LastModified)
}

// otherResource reports whether resp came from another resource than the
// answer that established the download: another path. Only the query may
// differ: a signed or expiring link (a CDN's, a model hub's) is renewed in
// its query and names the same file.
func otherResource(st Stored, resp Response) bool {
	return st.URL != "" && resp.URL != "" && resp.URL != st.URL && pathOf(resp.URL) != pathOf(st.URL)
}

// pathOf returns the path of an absolute URL as written (RFC 3986 §3.3:
// after the authority, up to the query or the fragment), "/" for none.
// (net/url would cost the wasm module tens of kilobytes for this.)
func pathOf(u string) string {
	if i := strings.Index(u, "://"); i >= 0 {
		u = u[i+3:]
		if j := strings.IndexAny(u, "/?#"); j >= 0 {
			u = u[j:]
		} else {
			u = ""
		}
	}
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		u = u[:i]
	}
	if u == "" {
		return "/"
	}
	return u
}

// digestProves reports whether resp states a digest of the file equal to
// the one the stored bytes must meet: the same representation, wherever
// it came from (RFC 9530 §3).
func digestProves(st Stored, resp Response) bool {
	d, _, ok := resp.FileDigest()
	return ok && !st.Digest.Empty() && d.Equal(st.Digest)
}

// unexpectedHTML returns the error of an HTML page that is not the file:
// a page in answer to a download known to be of another type
// (st.ContentType, kept across new generations; an established download
// without one counts as not HTML), or, for any download, a page a redirect
// led to from a URL that does not name one. Other changes of type are
// allowed: a new version of a file may well come with another.
func unexpectedHTML(req Request, st Stored, resp Response) error {
	if st.App.AcceptHTML || !isHTMLType(MediaType(resp.ContentType)) {
		return nil
	}
	known := st.Established() || st.ContentType != ""
	if known && !isHTMLType(MediaType(st.ContentType)) {
		return &ContentTypeError{Stored: st.ContentType, Got: resp.ContentType, URL: resp.URL}
	}
	if !known && req.URL != "" && resp.URL != "" && pathOf(resp.URL) != pathOf(req.URL) && !NamesPage(req.URL) {
		return &ContentTypeError{Got: resp.ContentType, URL: resp.URL, Asked: req.URL}
	}
	return nil
}

func isHTMLType(mt string) bool { return mt == "text/html" || mt == "application/xhtml+xml" }

// NamesPage reports whether a URL names an HTML page: its path ends in
// "/" (a directory's index) or in .html, .htm, .xhtml or .shtml. Other
// URLs name files, and an HTML page in answer to them is a sign-in or
// error page.
func NamesPage(u string) bool {
	p := strings.ToLower(pathOf(u))
	if p == "" || strings.HasSuffix(p, "/") {
		return true
	}
	for _, ext := range []string{".html", ".htm", ".xhtml", ".shtml"} {
		if strings.HasSuffix(p, ext) {
			return true
		}
	}
	return false
}

// MediaType returns the media type of a Content-Type value, lower case,
// without parameters: "text/html; charset=utf-8" gives "text/html".
func MediaType(contentType string) string {
	mt, _, _ := strings.Cut(contentType, ";")
	return strings.ToLower(strings.Trim(mt, " \t"))
}

func unknownLength() Reason {
	return Reason{ReasonUnknownLength, "the server did not say how long the file is"}
}

func partialReason(resp Response) Reason {
	ok, r := resp.Validators.Resumable()
	if !ok && resp.CrossOrigin {
		return hiddenReason()
	}
	return r
}

// adopt builds an Adopt decision for a body that starts at byte 0: it
// establishes a generation, the stored one's bytes discarded first.
func adopt(st Stored, resp Response, body Body, total int64, changed bool, reason Reason) Decision {
	if reason.None() && total == UnknownSize {
		reason = unknownLength()
	}
	mode := ModeRanged
	switch {
	case st.Mode == ModeSingle || !reason.None():
		mode = ModeSingle
	case st.Mode == ModeRangedPlain:
		mode = ModeRangedPlain
	}
	body.Start, body.Skip = 0, 0
	if mode == ModeSingle && body.Length != UnknownSize && body.Length != total {
		// A 206 from byte 0 that cannot be continued: only one whole
		// answer makes a download that is not resumable.
		body = Body{}
	}
	return Decision{Action: Adopt, Mode: mode, NewGen: st.Established() || st.Bytes > 0, Establish: true,
		Total: total, Validators: resp.Validators, Changed: changed, Resumable: mode.Ranged(), Reason: reason, Body: body}
}

func decideFull(req Request, st Stored, resp Response) Decision {
	length := ParseContentLength(resp.ContentLength)
	framed := length != UnknownSize
	reason := Reason{}
	switch {
	case req.Whole && resp.CrossOrigin && length != UnknownSize:
		// Without Range the browser asks for compression, and a
		// cross-origin script cannot see Content-Encoding unless the
		// server exposes it: Content-Length may count compressed bytes of
		// a body fetch() hands over decompressed. Read it to its end.
		length, framed = UnknownSize, false
		reason = unknownLength()
	case encoded(resp):
		// Content-Length counts encoded bytes; Fetch hands over decoded ones.
		length, framed = UnknownSize, false
		reason = Reason{ReasonEncoded, "the server compressed the file (Content-Encoding: " + resp.ContentEncoding + "), so byte offsets cannot be resumed"}
	case length == UnknownSize:
		reason = unknownLength()
	default:
		if ok, r := resp.Validators.Resumable(); !ok {
			reason = r
			if resp.CrossOrigin {
				reason = hiddenReason()
			}
		} else if !req.Whole {
			// A 200 to a Range request: the server ignores ranges, or
			// If-Range found the file changed. Ranges are only proven by a
			// 206 (RFC 9110 §14.3), so a download whose every answer is a
			// 200 is not resumable.
			reason = Reason{ReasonNoRanges, "the server answered a range request with the whole file (200), so it does not support byte ranges"}
		}
	}
	body := Body{Keep: true, Start: 0, Length: length, Framed: framed}
	if st.Established() && st.Mode.Ranged() && !req.Whole {
		changed := !st.Validators.SameVersion(resp.Validators) ||
			(length != UnknownSize && st.Total != UnknownSize && length != st.Total)
		switch {
		case changed:
			// The file changed and If-Range did its job: the server
			// supports ranges as far as anyone knows.
			if reason.Code == ReasonNoRanges {
				reason = Reason{}
			}
			d := adopt(st, resp, body, length, true, reason)
			d.Restart = true
			return d
		case provesSameVersion(st.Validators, resp.Validators) && length == st.Total && !resp.CrossOrigin:
			// The same version, whole: a server or a CDN edge may ignore
			// a Range (RFC 9110 §14.2), this once or always. The stored
			// bytes stay, and so does the mode: of this body, only the
			// range asked for is kept, the bytes before it skipped.
			end := req.End
			if end == UnknownSize || end > st.Total {
				end = st.Total
			}
			if end <= req.Start {
				return Decision{Action: Reject, Err: badResponse("a 200 in answer to a range past the end")}
			}
			return Decision{Action: Append, Total: st.Total, Validators: resp.Validators,
				Body:   Body{Keep: true, Skip: req.Start, Start: req.Start, Length: end - req.Start, Framed: req.Start == 0 && end == length},
				Notice: "the server answered a range request with the whole file (200); the stored bytes are kept and the bytes before " + strconv.FormatInt(req.Start, 10) + " skipped"}
		default:
			// No proof either way (no strong validator on the 200, or a
			// cross-origin body whose coding may be hidden): the stored
			// bytes are not thrown away for it. Ask again.
			return Decision{Action: Reject, Err: badResponse("a 200 in answer to a resume proves neither the same version nor a new one")}
		}
	}
	changed := false
	if st.Established() && st.Bytes > 0 {
		changed = !st.Validators.SameVersion(resp.Validators) ||
			(length != UnknownSize && st.Total != UnknownSize && length != st.Total)
	}
	d := adopt(st, resp, body, length, changed, reason)
	d.Restart = changed
	return d
}

func decideUnsatisfiable(req Request, st Stored, resp Response) Decision {
	cr, err := ParseContentRange(resp.ContentRange)
	if err != nil || !cr.Unsatisfied() {
		if st.Established() && st.Bytes > 0 {
			// A 416 without its "bytes */length" states nothing about the
			// stored bytes: back off and ask again (RFC 9110 §15.5.17).
			return Decision{Action: Reject, Err: &StatusError{Status: 416}}
		}
		return whole(st, Reason{ReasonNoRanges, "the server refused a range request from byte 0"}, &StatusError{Status: 416})
	}
	if !st.Established() {
		if cr.Total == 0 && req.Start == 0 {
			// "bytes=0-" of an empty file cannot be satisfied (§14.1.2),
			// and there is nothing to fetch.
			ok, r := resp.Validators.Resumable()
			d := Decision{Action: Finish, Establish: true, Mode: ModeRanged, Total: 0, Validators: resp.Validators, Resumable: ok, Reason: r}
			if !ok {
				d.Mode = ModeSingle
			}
			return d
		}
		return Decision{Action: Reject, Err: badResponse("416 for a range inside the file (Content-Range " + resp.ContentRange + ")")}
	}
	if st.Total != UnknownSize && cr.Total != st.Total {
		return Decision{Action: Restart, Mode: restartMode(st), NewGen: true, Changed: true, Restart: true, Total: cr.Total,
			Err: badResponse("the file is now " + strconv.FormatInt(cr.Total, 10) + " bytes long")}
	}
	if st.Total != UnknownSize && req.Start >= cr.Total {
		return Decision{Action: Finish, Total: cr.Total}
	}
	return Decision{Action: Reject, Err: badResponse("416 for a range inside the file (Content-Range " + resp.ContentRange + ")")}
}

// established completes a decision that establishes a generation: what the
// download records of the answer, the digest it must meet, the proof of
// its mode, and the limits of the app.
func established(req Request, st Stored, resp Response, d Decision) Decision {
	d.URL = Bounded(resp.URL)
	d.ContentType = Bounded(resp.ContentType)
	d.Resumable = d.Mode.Ranged()
	// Why it is not resumable, and the exchange that proves it: what made
	// the download single, when an earlier answer did (the answer to a
	// request without Range shows nothing about ranges), or else this
	// answer.
	earlier := !d.Mode.Ranged() && st.Mode == ModeSingle && !st.Reason.None()
	switch {
	case d.Mode.Ranged():
		d.Reason = Reason{}
	case earlier:
		d.Reason = st.Reason
	case d.Reason.None():
		d.Reason = Reason{Code: ReasonNoRanges, Text: "the server does not support byte ranges"}
	}
	if !earlier || !st.HasProof {
		d.Decided = NewExchange(req, resp)
	}
	server, field, ok := resp.FileDigest()
	switch {
	case !st.App.Integrity.Empty():
		if ok && server.Alg == st.App.Integrity.Alg && !server.Equal(st.App.Integrity) {
			// Said before a byte is stored: the server serves another
			// file than the app expects.
			return Decision{Action: Fail, Err: &DigestError{Field: field, Got: server, Want: st.App.Integrity}}
		}
		d.Digest, d.DigestFrom = st.App.Integrity, DigestIntegrity
	case ok && st.App.CanHash:
		d.Digest, d.DigestFrom = server, field
	}
	if st.App.MaxBytes > 0 && d.Total > st.App.MaxBytes {
		return Decision{Action: Fail, Err: &TooLargeError{Size: d.Total, Max: st.App.MaxBytes}}
	}
	return d
}

// Bounded cuts a header value a server controls (a final URL, a media
// type) to what is worth storing: nothing, past MaxHeaderLen.
func Bounded(s string) string {
	if len(s) > MaxHeaderLen {
		return ""
	}
	return s
}

// maxRetryAfter caps a server's Retry-After so that a typo on the server
// cannot park a download for days.
const maxRetryAfter = MaxRetryDelay

// ParseRetryAfter parses Retry-After (RFC 9110 §10.2.3): delay-seconds or an
// HTTP-date. A date is measured against the response's own Date when there is
// one, which makes it immune to a wrong client clock. It returns 0 for an
// absent or invalid value, and caps the delay at 10 minutes.
func ParseRetryAfter(value, date string, now time.Time) time.Duration {
	value = strings.Trim(value, " \t")
	if value == "" {
		return 0
	}
	var d time.Duration
	if secs, err := parseDigits(value); err == nil || errors.Is(err, strconv.ErrRange) {
		// Digits too many for an int64 still ask for a long wait.
		if err != nil || secs > int64(maxRetryAfter/time.Second) {
			return maxRetryAfter
		}
		d = time.Duration(secs) * time.Second
	} else if at, err := ParseHTTPDate(value); err == nil {
		ref := now
		if t, err := ParseHTTPDate(date); err == nil {
			ref = t
		}
		d = at.Sub(ref)
	}
	if d < 0 {
		return 0
	}
	return min(d, maxRetryAfter)
}
