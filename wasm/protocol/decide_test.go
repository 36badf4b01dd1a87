package protocol

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

var (
	now   = time.Date(2026, 11, 3, 12, 0, 0, 0, time.UTC)
	v1    = Validators{ETag: `"e1"`, LastModified: lm, Date: dateOld}
	fresh = Stored{Total: UnknownSize}
	// asFetch is fresh for an app that wants fetch()'s answer first.
	asFetch = Stored{Total: UnknownSize, App: App{FirstAnswer: true}}
	est     = Stored{Mode: ModeRanged, Validators: v1, Total: 1000, Bytes: 400}

	reqFresh  = Request{Start: 0, End: UnknownSize}
	reqResume = Request{Start: 400, End: 1000, IfRange: `"e1"`}
	reqPlain  = Request{Start: 400, End: 1000} // cross-origin fallback: Range without If-Range
	reqWhole  = Request{Whole: true, End: UnknownSize}
	reqProbe  = ProbeRequest()

	// estAt is est with the final URL and Content-Type of its first response.
	estAt    = Stored{Mode: ModeRanged, Validators: v1, Total: 1000, Bytes: 400, URL: "https://cdn/f", ContentType: "application/octet-stream"}
	longETag = `"` + strings.Repeat("x", MaxValidatorLen) + `"`

	// sum1 is a SHA-256 of the stored file, sum2 of another.
	sum1 = Digest{Alg: AlgSHA256, Sum: bytes.Repeat([]byte{1}, 32)}
	sum2 = Digest{Alg: AlgSHA256, Sum: bytes.Repeat([]byte{2}, 32)}
)

// keep is the Body of an answer whose bytes [start, start+n) are kept.
func keep(start, n int64) Body { return Body{Keep: true, Start: start, Length: n} }

// framed is keep with a Content-Length that frames exactly those bytes.
func framed(start, n int64) Body { b := keep(start, n); b.Framed = true; return b }

type want struct {
	action    Action
	mode      Mode
	newGen    bool
	changed   bool
	restart   bool
	body      Body
	total     int64
	resumable bool
	reason    string
	retry     time.Duration
	status    int  // for a *StatusError
	notice    bool // a notice is given
	digest    Digest
	err       any // a pointer to the error type Err must be (errors.As)
}

func TestDecide(t *testing.T) {
	e1 := Validators{ETag: `"e1"`}
	e2 := Validators{ETag: `"e2"`}
	var (
		bad  *BadResponseError
		ctE  *ContentTypeError
		dgE  *DigestError
		tooE *TooLargeError
	)
	tests := []struct {
		name string
		req  Request
		st   Stored
		resp Response
		want want
	}{
		// First response of a download (bytes=0-).
		{"first 206 with strong ETag", reqFresh, fresh,
			Response{Status: 206, ContentRange: "bytes 0-999/1000", ContentLength: "1000", Validators: v1},
			want{action: Append, mode: ModeRanged, body: framed(0, 1000), total: 1000, resumable: true}},
		{"first 206 without validators holds the whole file", reqFresh, fresh,
			Response{Status: 206, ContentRange: "bytes 0-999/1000"},
			want{action: Append, mode: ModeSingle, body: keep(0, 1000), total: 1000, reason: ReasonNoValidators, notice: true}},
		{"first 206 with weak ETag", reqFresh, fresh,
			Response{Status: 206, ContentRange: "bytes 0-999/1000", Validators: Validators{ETag: `W/"e1"`}},
			want{action: Append, mode: ModeSingle, body: keep(0, 1000), total: 1000, reason: ReasonWeakETag, notice: true}},
		{"first 206 with Last-Modified equal to Date", reqFresh, fresh,
			Response{Status: 206, ContentRange: "bytes 0-999/1000", Validators: Validators{LastModified: lm, Date: dateEq}},
			want{action: Append, mode: ModeSingle, body: keep(0, 1000), total: 1000, reason: ReasonWeakLastModified, notice: true}},
		{"first 206 with strong Last-Modified", reqFresh, fresh,
			Response{Status: 206, ContentRange: "bytes 0-999/1000", Validators: Validators{LastModified: lm, Date: dateOld}},
			want{action: Append, mode: ModeRanged, body: keep(0, 1000), total: 1000, resumable: true}},
		{"first 206 of unknown length: one whole request instead", reqFresh, fresh,
			Response{Status: 206, ContentRange: "bytes 0-999/*", Validators: e1},
			want{action: Whole, mode: ModeSingle, reason: ReasonUnknownLength, notice: true, err: &bad}},
		{"first 206 whose length overflows int64", reqFresh, fresh,
			Response{Status: 206, ContentRange: "bytes 0-9223372036854775807/*", Validators: e1},
			want{action: Reject, mode: ModeNew, err: &bad}},
		{"first 206 whose total overflows int64", reqFresh, fresh,
			Response{Status: 206, ContentRange: "bytes 0-999/99999999999999999999", Validators: e1},
			want{action: Reject, mode: ModeNew, err: &bad}},
		{"first 206 with an ETag over 8 KiB", reqFresh, fresh,
			Response{Status: 206, ContentRange: "bytes 0-999/1000", Validators: Validators{ETag: longETag}},
			want{action: Append, mode: ModeSingle, body: keep(0, 1000), total: 1000, reason: ReasonLongValidator, notice: true}},

		// The probe: bytes=0-65535.
		{"probe of a big file", reqProbe, fresh,
			Response{Status: 206, ContentRange: "bytes 0-65535/1000000", ContentLength: "65536", Validators: e1},
			want{action: Append, mode: ModeRanged, body: framed(0, 65536), total: 1000000, resumable: true}},
		{"probe of a big file without validators: its bytes join nothing", reqProbe, fresh,
			Response{Status: 206, ContentRange: "bytes 0-65535/1000000", ContentLength: "65536"},
			want{action: Append, mode: ModeSingle, total: 1000000, reason: ReasonNoValidators, notice: true}},
		{"probe of a file smaller than the probe", reqProbe, fresh,
			Response{Status: 206, ContentRange: "bytes 0-999/1000", ContentLength: "1000", Validators: e1},
			want{action: Append, mode: ModeRanged, body: framed(0, 1000), total: 1000, resumable: true}},
		{"probe answered with more than asked", reqProbe, fresh,
			Response{Status: 206, ContentRange: "bytes 0-65536/1000000", Validators: e1},
			want{action: Reject, mode: ModeNew, err: &bad}},
		{"probe answered with less than asked", reqProbe, fresh,
			Response{Status: 206, ContentRange: "bytes 0-99/1000000", Validators: e1},
			want{action: Append, mode: ModeRanged, body: keep(0, 100), total: 1000000, resumable: true}},
		{"first 206 cross-origin without exposed Content-Range", reqFresh, fresh,
			Response{Status: 206, ContentLength: "1000", CrossOrigin: true},
			want{action: Whole, mode: ModeSingle, reason: ReasonHiddenHeaders, notice: true, err: &bad}},
		{"first 206 same-origin without Content-Range", reqFresh, fresh,
			Response{Status: 206, ContentLength: "1000"},
			want{action: Reject, mode: ModeNew, err: &bad}},
		{"first 206 cross-origin without exposed ETag", reqFresh, fresh,
			Response{Status: 206, ContentRange: "bytes 0-999/1000", CrossOrigin: true, Validators: Validators{LastModified: lm}},
			want{action: Append, mode: ModeSingle, body: Body{Keep: true, Length: 1000, Exact: true}, total: 1000, reason: ReasonHiddenHeaders, notice: true}},
		{"first 206 gzip-encoded", reqFresh, fresh,
			Response{Status: 206, ContentRange: "bytes 0-999/1000", ContentEncoding: "gzip", Validators: e1},
			want{action: Whole, mode: ModeSingle, reason: ReasonEncoded, notice: true, err: &bad}},
		{"first 206 identity encoding is fine", reqFresh, fresh,
			Response{Status: 206, ContentRange: "bytes 0-999/1000", ContentEncoding: "identity", Validators: e1},
			want{action: Append, mode: ModeRanged, body: keep(0, 1000), total: 1000, resumable: true}},
		{"first 206 multipart", reqFresh, fresh,
			Response{Status: 206, ContentType: "multipart/byteranges; boundary=x", Validators: e1},
			want{action: Whole, mode: ModeSingle, reason: ReasonEncoded, notice: true, err: &bad}},
		{"first 206 not from 0", reqFresh, fresh,
			Response{Status: 206, ContentRange: "bytes 5-999/1000", Validators: e1},
			want{action: Reject, mode: ModeNew, err: &bad}},
		{"416 to the probe of an empty file", reqProbe, fresh,
			Response{Status: 416, ContentRange: "bytes */0", Validators: e1},
			want{action: Finish, mode: ModeRanged, resumable: true}},
		{"416 to the probe of an empty file without validators", reqProbe, fresh,
			Response{Status: 416, ContentRange: "bytes */0"},
			want{action: Finish, mode: ModeSingle, reason: ReasonNoValidators}},

		// Resuming with If-Range.
		{"206 that matches", reqResume, est,
			Response{Status: 206, ContentRange: "bytes 400-999/1000", ContentLength: "600", Validators: e1},
			want{action: Append, mode: ModeRanged, body: framed(400, 600), total: 1000}},
		{"206 that repeats no validator", reqResume, est,
			Response{Status: 206, ContentRange: "bytes 400-999/1000"},
			want{action: Append, mode: ModeRanged, body: keep(400, 600), total: 1000}},
		// A hostile-server rule: a server whose every 206 body runs on past
		// its Content-Range (junk after the range, chunked, no
		// Content-Length). The validators prove the bytes the range names;
		// a same-origin body is cut there (not Exact), so such a server's
		// download finishes instead of backing off for minutes.
		{"206 of a server whose bodies run past their Content-Range: cut at its end", reqResume, est,
			Response{Status: 206, ContentRange: "bytes 400-999/1000", Validators: e1},
			want{action: Append, mode: ModeRanged, body: keep(400, 600), total: 1000}},
		{"206 to another origin counts once its body ended exactly there", reqResume, est,
			Response{Status: 206, ContentRange: "bytes 400-999/1000", ContentLength: "600", Validators: e1, CrossOrigin: true},
			want{action: Append, mode: ModeRanged, body: Body{Keep: true, Start: 400, Length: 600, Exact: true, Framed: true}, total: 1000}},
		{"206 shorter than asked", reqResume, est,
			Response{Status: 206, ContentRange: "bytes 400-499/1000", Validators: e1},
			want{action: Append, mode: ModeRanged, body: keep(400, 100), total: 1000}},
		{"206 with * total keeps stored total", reqResume, est,
			Response{Status: 206, ContentRange: "bytes 400-999/*", Validators: e1},
			want{action: Append, mode: ModeRanged, body: keep(400, 600), total: 1000}},
		{"206 with another ETag: server ignored If-Range", reqResume, est,
			Response{Status: 206, ContentRange: "bytes 400-999/1000", Validators: e2},
			want{action: Restart, mode: ModeNew, newGen: true, changed: true, restart: true, err: &bad}},
		{"206 with another Last-Modified", reqResume, est,
			Response{Status: 206, ContentRange: "bytes 400-999/1000", Validators: Validators{LastModified: lm2}},
			want{action: Restart, mode: ModeNew, newGen: true, changed: true, restart: true, err: &bad}},
		{"206 with another total", reqResume, est,
			Response{Status: 206, ContentRange: "bytes 400-999/1100", Validators: e1},
			want{action: Restart, mode: ModeNew, newGen: true, changed: true, restart: true, err: &bad}},
		{"206 from 0 of a new version is adopted", reqResume, est,
			Response{Status: 206, ContentRange: "bytes 0-1099/1100", Validators: e2},
			want{action: Adopt, mode: ModeRanged, newGen: true, body: keep(0, 1100), total: 1100, changed: true, restart: true, resumable: true}},
		{"206 from 0 of a new version of unknown length", reqResume, est,
			Response{Status: 206, ContentRange: "bytes 0-1099/*", Validators: e2},
			want{action: Adopt, mode: ModeSingle, newGen: true, total: UnknownSize, changed: true, restart: true, reason: ReasonUnknownLength}},
		{"206 starting after the offset asked", reqResume, est,
			Response{Status: 206, ContentRange: "bytes 401-999/1000", Validators: e1},
			want{action: Reject, mode: ModeRanged, err: &bad}},
		{"206 starting before the offset asked", reqResume, est,
			Response{Status: 206, ContentRange: "bytes 399-999/1000", Validators: e1},
			want{action: Reject, mode: ModeRanged, err: &bad}},
		{"206 ending past the range asked", Request{Start: 400, End: 500, IfRange: `"e1"`}, est,
			Response{Status: 206, ContentRange: "bytes 400-599/1000", Validators: e1},
			want{action: Reject, mode: ModeRanged, err: &bad}},
		{"206 whose Content-Length contradicts Content-Range", reqResume, est,
			Response{Status: 206, ContentRange: "bytes 400-999/1000", ContentLength: "599", Validators: e1},
			want{action: Reject, mode: ModeRanged, err: &bad}},
		{"206 with unreadable Content-Range", reqResume, est,
			Response{Status: 206, ContentRange: "bytes 400-999", Validators: e1},
			want{action: Reject, mode: ModeRanged, err: &bad}},
		{"206 with unsatisfied-range form", reqResume, est,
			Response{Status: 206, ContentRange: "bytes */1000", Validators: e1},
			want{action: Reject, mode: ModeRanged, err: &bad}},
		{"206 gzip-encoded with stored bytes", reqResume, est,
			Response{Status: 206, ContentRange: "bytes 400-999/1000", ContentEncoding: "gzip", Validators: e1},
			want{action: Reject, mode: ModeRanged, err: &bad}},

		// Redirects: the stored download came from https://cdn/f.
		{"206 from the same final URL", reqResume, estAt,
			Response{Status: 206, ContentRange: "bytes 400-999/1000", URL: "https://cdn/f"},
			want{action: Append, mode: ModeRanged, body: keep(400, 600), total: 1000}},
		{"206 from the same path with another query: a renewed link", reqResume, estAt,
			Response{Status: 206, ContentRange: "bytes 400-999/1000", URL: "https://cdn/f?sig=2", Validators: e1},
			want{action: Append, mode: ModeRanged, body: keep(400, 600), total: 1000}},
		{"206 from the same path on another host", reqResume, estAt,
			Response{Status: 206, ContentRange: "bytes 400-999/1000", URL: "https://mirror/f", Validators: e1},
			want{action: Append, mode: ModeRanged, body: keep(400, 600), total: 1000}},
		{"206 from another path with the stored strong ETag: ask the stored URL", reqResume, estAt,
			Response{Status: 206, ContentRange: "bytes 400-999/1000", URL: "https://cdn/v2.bin", Validators: v1},
			want{action: Elsewhere, mode: ModeRanged, notice: true, err: &bad}},
		{"206 from another path with the stored Last-Modified alone", reqResume,
			Stored{Mode: ModeRanged, Validators: Validators{LastModified: lm, Date: dateOld}, Total: 1000, Bytes: 400, URL: "https://cdn/v1.bin"},
			Response{Status: 206, ContentRange: "bytes 400-999/1000", URL: "https://cdn/v2.bin", Validators: Validators{LastModified: lm, Date: dateOld}},
			want{action: Elsewhere, mode: ModeRanged, notice: true, err: &bad}},
		{"206 from another path stating the stored digest", reqResume,
			Stored{Mode: ModeRanged, Validators: v1, Total: 1000, Bytes: 400, URL: "https://cdn/f", Digest: sum1},
			Response{Status: 206, ContentRange: "bytes 400-999/1000", URL: "https://mirror/other", Validators: v1, ReprDigest: sum1.Field()},
			want{action: Append, mode: ModeRanged, body: keep(400, 600), total: 1000}},
		{"206 from another path stating another digest", reqResume,
			Stored{Mode: ModeRanged, Validators: v1, Total: 1000, Bytes: 400, URL: "https://cdn/f", Digest: sum1},
			Response{Status: 206, ContentRange: "bytes 400-999/1000", URL: "https://mirror/other", Validators: v1, ReprDigest: sum2.Field()},
			want{action: Elsewhere, mode: ModeRanged, notice: true, err: &bad}},
		{"206 to a request aimed at the stored URL", Request{Start: 400, End: 1000, IfRange: `"e1"`, URL: "https://cdn/f", Aimed: true}, estAt,
			Response{Status: 206, ContentRange: "bytes 400-999/1000", URL: "https://cdn/f", Validators: e1},
			want{action: Append, mode: ModeRanged, body: keep(400, 600), total: 1000}},
		{"the stored URL now redirects to another path: start over", Request{Start: 400, End: 1000, IfRange: `"e1"`, URL: "https://cdn/f", Aimed: true}, estAt,
			Response{Status: 206, ContentRange: "bytes 400-999/1000", URL: "https://cdn/v3.bin", Validators: e1},
			want{action: Restart, mode: ModeNew, newGen: true, changed: true, restart: true, notice: true, err: &bad}},
		{"the stored URL is gone: start over", Request{Start: 400, End: 1000, IfRange: `"e1"`, URL: "https://cdn/f", Aimed: true}, estAt,
			Response{Status: 404, URL: "https://cdn/f"},
			want{action: Restart, mode: ModeNew, newGen: true, changed: true, restart: true, notice: true, status: 404}},
		{"the stored URL is busy: later", Request{Start: 400, End: 1000, IfRange: `"e1"`, URL: "https://cdn/f", Aimed: true}, estAt,
			Response{Status: 503, URL: "https://cdn/f"},
			want{action: Retry, mode: ModeRanged, status: 503}},
		{"416 from another path says nothing of the stored length", reqResume, estAt,
			Response{Status: 416, ContentRange: "bytes */35", URL: "https://cdn/login.html"},
			want{action: Reject, mode: ModeRanged, err: &bad}},

		// HTML where a file is expected.
		{"206 HTML page to the probe after a restart", reqProbe, Stored{Total: UnknownSize, ContentType: "application/zip"},
			Response{Status: 206, ContentRange: "bytes 0-34/35", ContentType: "text/html", Validators: e1},
			want{action: Fail, mode: ModeNew, err: &ctE}},
		{"200 HTML page in answer to a resume", reqResume, estAt,
			Response{Status: 200, ContentLength: "26", ContentType: "text/html; charset=utf-8", URL: "https://cdn/login"},
			want{action: Fail, mode: ModeRanged, err: &ctE}},
		{"200 XHTML page in answer to a resume", reqResume, estAt,
			Response{Status: 200, ContentLength: "26", ContentType: "application/xhtml+xml"},
			want{action: Fail, mode: ModeRanged, err: &ctE}},
		{"200 HTML page to an established download with nothing stored yet", reqResume, Stored{Mode: ModeRanged, Validators: v1, Total: 1000, ContentType: "application/zip"},
			Response{Status: 200, ContentLength: "26", ContentType: "text/html"},
			want{action: Fail, mode: ModeRanged, err: &ctE}},
		{"200 HTML page to a download whose server sent no Content-Type", reqResume, Stored{Mode: ModeRanged, Validators: v1, Total: 1000, Bytes: 400},
			Response{Status: 200, ContentLength: "26", ContentType: "text/html"},
			want{action: Fail, mode: ModeRanged, err: &ctE}},
		{"a fresh download redirected to an HTML page (a login)", Request{Start: 0, End: ProbeSize, URL: "https://a/model.bin"}, fresh,
			Response{Status: 200, ContentLength: "26", ContentType: "text/html; charset=utf-8", URL: "https://a/_login"},
			want{action: Fail, mode: ModeNew, err: &ctE}},
		{"a fresh download redirected to an HTML page, as a 206", Request{Start: 0, End: ProbeSize, URL: "https://a/model.bin"}, fresh,
			Response{Status: 206, ContentRange: "bytes 0-25/26", ContentType: "text/html", URL: "https://a/_login", Validators: e1},
			want{action: Fail, mode: ModeNew, err: &ctE}},
		{"a page's URL redirected to a page", Request{Start: 0, End: ProbeSize, URL: "https://a/docs/"}, fresh,
			Response{Status: 200, ContentLength: "26", ContentType: "text/html", URL: "https://a/docs/index.html"},
			want{action: Adopt, mode: ModeSingle, body: framed(0, 26), total: 26, reason: ReasonNoValidators}},
		{"an HTML answer without a redirect", Request{Start: 0, End: ProbeSize, URL: "https://a/report"}, fresh,
			Response{Status: 200, ContentLength: "26", ContentType: "text/html", URL: "https://a/report"},
			want{action: Adopt, mode: ModeSingle, body: framed(0, 26), total: 26, reason: ReasonNoValidators}},
		// An app that wants fetch()'s answer until the download is under way
		// (App.FirstAnswer: resumer.fetch).
		{"a 404 to the probe of a fetch: handed over", reqProbe, asFetch,
			Response{Status: 404, ContentLength: "9", ContentType: "text/plain"},
			want{action: Hand, mode: ModeNew, status: 404}},
		{"a 503 to the probe of a fetch: handed over, not retried", reqProbe, asFetch,
			Response{Status: 503, RetryAfter: "5"},
			want{action: Hand, mode: ModeNew, status: 503}},
		{"a 304 to the probe of a fetch: handed over", reqProbe, asFetch,
			Response{Status: 304, Validators: e1},
			want{action: Hand, mode: ModeNew, status: 304}},
		{"a 204 to the probe of a fetch: no content, handed over", reqProbe, asFetch,
			Response{Status: 204},
			want{action: Hand, mode: ModeNew, status: 204}},
		{"a 416 to the probe of a fetch: an empty file, as for any download", reqProbe, asFetch,
			Response{Status: 416, ContentRange: "bytes */0"},
			want{action: Finish, mode: ModeSingle, total: 0, reason: ReasonNoValidators}},
		{"a 206 to the probe of a fetch: the rules as always", reqProbe, asFetch,
			Response{Status: 206, ContentRange: "bytes 0-65535/1000000", ContentLength: "65536", Validators: v1},
			want{action: Append, mode: ModeRanged, body: framed(0, ProbeSize), total: 1000000, resumable: true}},
		{"a 404 to a fetch's resume: the download is under way, as always", reqResume, Stored{Mode: ModeRanged, Validators: v1, Total: 1000, Bytes: 400, App: App{FirstAnswer: true}},
			Response{Status: 404},
			want{action: Fail, mode: ModeRanged, status: 404}},
		{"a 503 to a fetch's resume: retried, as always", reqResume, Stored{Mode: ModeRanged, Validators: v1, Total: 1000, Bytes: 400, App: App{FirstAnswer: true}},
			Response{Status: 503},
			want{action: Retry, mode: ModeRanged, status: 503}},
		{"a 503 to a fetch's first request after a Whole decision: nothing stored yet, but established", reqWhole, Stored{Mode: ModeSingle, Total: UnknownSize, App: App{FirstAnswer: true}},
			Response{Status: 503},
			want{action: Retry, mode: ModeSingle, status: 503}},
		// An app that can renew the link (App.CanRefresh: a signed URL).
		{"a 403 to a resume of an app that can renew the link: refresh", reqResume, Stored{Mode: ModeRanged, Validators: v1, Total: 1000, Bytes: 400, App: App{CanRefresh: true}},
			Response{Status: 403, ContentType: "application/xml"},
			want{action: Refresh, mode: ModeRanged, status: 403}},
		{"a 401 to the probe: refresh", reqProbe, Stored{Total: UnknownSize, App: App{CanRefresh: true}},
			Response{Status: 401},
			want{action: Refresh, mode: ModeNew, status: 401}},
		{"a 410 to a fetch's probe: refresh before handing it over", reqProbe, Stored{Total: UnknownSize, App: App{CanRefresh: true, FirstAnswer: true}},
			Response{Status: 410},
			want{action: Refresh, mode: ModeNew, status: 410}},
		{"a 403 after three fresh links in a row: it fails", reqResume, Stored{Mode: ModeRanged, Validators: v1, Total: 1000, Bytes: 400, App: App{CanRefresh: true}, Refreshes: MaxRefreshes},
			Response{Status: 403},
			want{action: Fail, mode: ModeRanged, status: 403}},
		{"a 404 to an app that can renew the link: no refresh", reqResume, Stored{Mode: ModeRanged, Validators: v1, Total: 1000, Bytes: 400, App: App{CanRefresh: true}},
			Response{Status: 404},
			want{action: Fail, mode: ModeRanged, status: 404}},
		{"a 403 without a way to renew the link: it fails", reqResume, est,
			Response{Status: 403},
			want{action: Fail, mode: ModeRanged, status: 403}},
		{"a redirect to an HTML page the app accepts", Request{Start: 0, End: ProbeSize, URL: "https://a/model.bin"}, Stored{Total: UnknownSize, App: App{AcceptHTML: true}},
			Response{Status: 200, ContentLength: "26", ContentType: "text/html", URL: "https://a/_login"},
			want{action: Adopt, mode: ModeSingle, body: framed(0, 26), total: 26, reason: ReasonNoValidators}},
		{"200 of another Content-Type in answer to a resume: a new version", reqResume, estAt,
			Response{Status: 200, ContentLength: "1100", ContentType: "application/zip", Validators: e2},
			want{action: Adopt, mode: ModeRanged, newGen: true, body: framed(0, 1100), total: 1100, changed: true, restart: true, resumable: true}},
		{"200 HTML page to a download of HTML is a new version", reqResume, Stored{Mode: ModeRanged, Validators: v1, Total: 1000, Bytes: 400, ContentType: "text/html"},
			Response{Status: 200, ContentLength: "26", ContentType: "text/html; charset=utf-8", Validators: e2},
			want{action: Adopt, mode: ModeRanged, newGen: true, body: framed(0, 26), total: 26, changed: true, restart: true, resumable: true}},
		{"200 with a type where the first answer had none: a new version", reqResume, Stored{Mode: ModeRanged, Validators: v1, Total: 1000, Bytes: 400},
			Response{Status: 200, ContentLength: "1100", ContentType: "application/zip", Validators: e2},
			want{action: Adopt, mode: ModeRanged, newGen: true, body: framed(0, 1100), total: 1100, changed: true, restart: true, resumable: true}},
		{"200 of the same media type, other parameters: a new version", reqResume, estAt,
			Response{Status: 200, ContentLength: "1100", ContentType: "Application/Octet-Stream; x=1", Validators: e2},
			want{action: Adopt, mode: ModeRanged, newGen: true, body: framed(0, 1100), total: 1100, changed: true, restart: true, resumable: true}},

		// Resuming with plain Range (If-Range refused by a CORS preflight).
		{"plain-Range 206 with matching strong ETag", reqPlain, est,
			Response{Status: 206, ContentRange: "bytes 400-999/1000", Validators: e1, CrossOrigin: true},
			want{action: Append, mode: ModeRanged, body: Body{Keep: true, Start: 400, Length: 600, Exact: true}, total: 1000}},
		{"plain-Range 206 with matching strong date", reqPlain, est,
			Response{Status: 206, ContentRange: "bytes 400-999/1000", Validators: Validators{LastModified: lm}, CrossOrigin: true},
			want{action: Append, mode: ModeRanged, body: Body{Keep: true, Start: 400, Length: 600, Exact: true}, total: 1000}},
		{"plain-Range 206 without readable validator, cross-origin", reqPlain, est,
			Response{Status: 206, ContentRange: "bytes 400-999/1000", CrossOrigin: true},
			want{action: Whole, mode: ModeSingle, newGen: true, reason: ReasonHiddenHeaders, notice: true, err: &bad}},
		{"plain-Range 206 without validator, same origin", reqPlain, est,
			Response{Status: 206, ContentRange: "bytes 400-999/1000"},
			want{action: Reject, mode: ModeRanged, err: &bad}},

		// 200: the whole body, from byte 0.
		{"200 to If-Range with another ETag: file changed", reqResume, est,
			Response{Status: 200, ContentLength: "1100", Validators: e2},
			want{action: Adopt, mode: ModeRanged, newGen: true, body: framed(0, 1100), total: 1100, changed: true, restart: true, resumable: true}},
		{"200 with the same ETag: keep the stored bytes, skip to the range asked", reqResume, est,
			Response{Status: 200, ContentLength: "1000", Validators: e1},
			want{action: Append, mode: ModeRanged, body: Body{Keep: true, Skip: 400, Start: 400, Length: 600}, total: 1000, notice: true}},
		{"200 with the same ETag to a bounded range", Request{Start: 400, End: 500, IfRange: `"e1"`}, est,
			Response{Status: 200, ContentLength: "1000", Validators: e1},
			want{action: Append, mode: ModeRanged, body: Body{Keep: true, Skip: 400, Start: 400, Length: 100}, total: 1000, notice: true}},
		{"200 with the same ETag to another origin: asked again", reqResume, est,
			Response{Status: 200, ContentLength: "1000", Validators: e1, CrossOrigin: true},
			want{action: Reject, mode: ModeRanged, err: &bad}},
		{"200 without validators to a resume proves nothing: asked again", reqResume, est,
			Response{Status: 200, ContentLength: "1000"},
			want{action: Reject, mode: ModeRanged, err: &bad}},
		{"200 with the same ETag but another length", reqResume, est,
			Response{Status: 200, ContentLength: "1001", Validators: e1},
			want{action: Adopt, mode: ModeRanged, newGen: true, body: framed(0, 1001), total: 1001, changed: true, restart: true, resumable: true}},
		{"200 to the first request", reqFresh, fresh,
			Response{Status: 200, ContentLength: "1000", Validators: v1},
			want{action: Adopt, mode: ModeSingle, body: framed(0, 1000), total: 1000, reason: ReasonNoRanges}},
		{"200 without validators", reqFresh, fresh,
			Response{Status: 200, ContentLength: "1000"},
			want{action: Adopt, mode: ModeSingle, body: framed(0, 1000), total: 1000, reason: ReasonNoValidators}},
		{"200 compressed", reqFresh, fresh,
			Response{Status: 200, ContentLength: "300", ContentEncoding: "br", Validators: e1},
			want{action: Adopt, mode: ModeSingle, body: keep(0, UnknownSize), total: UnknownSize, reason: ReasonEncoded}},
		{"200 without Content-Length", reqFresh, fresh,
			Response{Status: 200, Validators: e1},
			want{action: Adopt, mode: ModeSingle, body: keep(0, UnknownSize), total: UnknownSize, reason: ReasonUnknownLength}},
		{"200 to a request without Range", reqWhole, Stored{Mode: ModeSingle, Total: UnknownSize, Reason: Reason{ReasonNoRanges, "x"}, HasProof: true},
			Response{Status: 200, ContentLength: "1000", Validators: e1},
			want{action: Adopt, mode: ModeSingle, newGen: true, body: framed(0, 1000), total: 1000, reason: ReasonNoRanges}},
		{"206 to a request without Range", reqWhole, fresh,
			Response{Status: 206, ContentRange: "bytes 0-999/1000", Validators: e1},
			want{action: Reject, mode: ModeNew, err: &bad}},
		{"416 to a request without Range", reqWhole, fresh,
			Response{Status: 416, ContentRange: "bytes */0"},
			want{action: Reject, mode: ModeNew, err: &bad}},
		{"200 cross-origin to a request without Range: read to its end", reqWhole, Stored{Mode: ModeSingle, Total: UnknownSize, Reason: Reason{ReasonHiddenHeaders, "x"}},
			Response{Status: 200, ContentLength: "300", Validators: e1, CrossOrigin: true},
			want{action: Adopt, mode: ModeSingle, newGen: true, body: keep(0, UnknownSize), total: UnknownSize, reason: ReasonHiddenHeaders}},
		{"ranges unusable while already asking without them", reqWhole, Stored{Mode: ModeSingle, Total: UnknownSize, Reason: Reason{ReasonNoRanges, "x"}},
			Response{Status: 206, ContentType: "multipart/byteranges; boundary=x"},
			want{action: Reject, mode: ModeSingle, err: &bad}},

		// 416 and 412: resumer sends no If-Match.
		{"416 past the stored end: finished", Request{Start: 1000, End: UnknownSize, IfRange: `"e1"`}, est,
			Response{Status: 416, ContentRange: "bytes */1000"},
			want{action: Finish, mode: ModeRanged, total: 1000}},
		{"416 with another total: file changed", reqResume, est,
			Response{Status: 416, ContentRange: "bytes */300"},
			want{action: Restart, mode: ModeNew, newGen: true, changed: true, restart: true, total: 300, err: &bad}},
		{"416 for a range inside the file", reqResume, est,
			Response{Status: 416, ContentRange: "bytes */1000"},
			want{action: Reject, mode: ModeRanged, err: &bad}},
		{"416 without Content-Range with stored bytes proves nothing", reqResume, est,
			Response{Status: 416},
			want{action: Reject, mode: ModeRanged, status: 416}},
		{"416 to bytes=0- without Content-Range", reqFresh, fresh,
			Response{Status: 416},
			want{action: Whole, mode: ModeSingle, reason: ReasonNoRanges, notice: true, status: 416}},
		{"412 with stored bytes is a proxy's, not a change", reqResume, est,
			Response{Status: 412},
			want{action: Reject, mode: ModeRanged, err: &bad}},
		{"412 to a fresh request", reqFresh, fresh,
			Response{Status: 412},
			want{action: Reject, mode: ModeNew, err: &bad}},

		// What the app asks.
		{"integrity the server's digest contradicts", reqProbe, Stored{Total: UnknownSize, App: App{Integrity: sum1, CanHash: true}},
			Response{Status: 206, ContentRange: "bytes 0-65535/100000", Validators: e1, ReprDigest: sum2.Field()},
			want{action: Fail, mode: ModeNew, err: &dgE}},
		{"integrity the server's digest confirms", reqProbe, Stored{Total: UnknownSize, App: App{Integrity: sum1, CanHash: true}},
			Response{Status: 206, ContentRange: "bytes 0-65535/100000", Validators: e1, ReprDigest: sum1.Field()},
			want{action: Append, mode: ModeRanged, body: keep(0, 65536), total: 100000, resumable: true, digest: sum1}},
		{"the server's digest is checked where the platform can hash", reqProbe, Stored{Total: UnknownSize, App: App{CanHash: true}},
			Response{Status: 206, ContentRange: "bytes 0-65535/100000", Validators: e1, ReprDigest: sum2.Field()},
			want{action: Append, mode: ModeRanged, body: keep(0, 65536), total: 100000, resumable: true, digest: sum2}},
		{"the server's digest is not checked where it cannot", reqProbe, fresh,
			Response{Status: 206, ContentRange: "bytes 0-65535/100000", Validators: e1, ReprDigest: sum2.Field()},
			want{action: Append, mode: ModeRanged, body: keep(0, 65536), total: 100000, resumable: true}},
		{"a file longer than maxBytes", reqProbe, Stored{Total: UnknownSize, App: App{MaxBytes: 99999}},
			Response{Status: 206, ContentRange: "bytes 0-65535/100000", Validators: e1},
			want{action: Fail, mode: ModeNew, err: &tooE}},

		// Statuses that mean "later" or "never".
		{"503 with Retry-After", reqResume, est,
			Response{Status: 503, RetryAfter: "7"},
			want{action: Retry, mode: ModeRanged, retry: 7 * time.Second, status: 503}},
		{"429 with Retry-After date", reqResume, est,
			Response{Status: 429, RetryAfter: "Tue, 03 Nov 2026 12:00:30 GMT", Validators: Validators{Date: "Tue, 03 Nov 2026 12:00:00 GMT"}},
			want{action: Retry, mode: ModeRanged, retry: 30 * time.Second, status: 429}},
		{"408", reqResume, est, Response{Status: 408}, want{action: Retry, mode: ModeRanged, status: 408}},
		{"500", reqResume, est, Response{Status: 500}, want{action: Retry, mode: ModeRanged, status: 500}},
		{"502", reqResume, est, Response{Status: 502}, want{action: Retry, mode: ModeRanged, status: 502}},
		{"501 is not retried", reqResume, est, Response{Status: 501}, want{action: Fail, mode: ModeRanged, status: 501}},
		{"505 is not retried", reqResume, est, Response{Status: 505}, want{action: Fail, mode: ModeRanged, status: 505}},
		{"404", reqFresh, fresh, Response{Status: 404}, want{action: Fail, mode: ModeNew, status: 404}},
		{"403", reqResume, est, Response{Status: 403}, want{action: Fail, mode: ModeRanged, status: 403}},
		{"redirect not followed", reqFresh, fresh, Response{Status: 302}, want{action: Fail, mode: ModeNew, status: 302}},
		{"204", reqFresh, fresh, Response{Status: 204}, want{action: Reject, mode: ModeNew, err: &bad}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Decide(tt.req, tt.st, tt.resp, now)
			w := tt.want
			if d.Action != w.action {
				t.Fatalf("action = %v (err %v), want %v", d.Action, d.Err, w.action)
			}
			if d.Mode != w.mode {
				t.Errorf("mode = %s, want %s", d.Mode, w.mode)
			}
			if d.NewGen != w.newGen || d.Changed != w.changed || d.Restart != w.restart {
				t.Errorf("newGen, changed, restart = %v, %v, %v; want %v, %v, %v", d.NewGen, d.Changed, d.Restart, w.newGen, w.changed, w.restart)
			}
			if d.Body != w.body {
				t.Errorf("body = %+v, want %+v", d.Body, w.body)
			}
			if (d.Notice != "") != w.notice {
				t.Errorf("notice = %q, want one: %v", d.Notice, w.notice)
			}
			switch d.Action {
			case Append, Adopt, Finish, Restart:
				if d.Total != w.total && (w.total != 0 || d.Action == Append || d.Action == Adopt) {
					t.Errorf("total = %d, want %d", d.Total, w.total)
				}
			case Retry:
				if d.RetryAfter != w.retry {
					t.Errorf("retry after %v, want %v", d.RetryAfter, w.retry)
				}
			}
			if d.Establish || d.Action == Whole {
				if d.Resumable != w.resumable || d.Reason.Code != w.reason {
					t.Errorf("resumable, reason = %v, %q; want %v, %q", d.Resumable, d.Reason.Code, w.resumable, w.reason)
				}
				if !d.Reason.None() && d.Reason.Text == "" {
					t.Error("reason without text")
				}
			}
			if d.Establish {
				if d.Decided.Empty() && !(tt.st.Mode == ModeSingle && tt.st.HasProof) {
					t.Error("an answer that establishes records no exchange")
				}
				if !d.Digest.Equal(w.digest) {
					t.Errorf("digest = %v, want %v", d.Digest, w.digest)
				}
			}
			if w.status != 0 {
				var se *StatusError
				if !errors.As(d.Err, &se) || se.Status != w.status {
					t.Errorf("err = %v, want status %d", d.Err, w.status)
				}
			}
			if w.err != nil && !errors.As(d.Err, w.err) {
				t.Errorf("err = %v (%T), want a %T", d.Err, d.Err, w.err)
			}
			if d.Action == Reject || d.Action == Fail || d.Action == Retry {
				if d.Err == nil || d.Err.Error() == "" {
					t.Errorf("%v without an error", d.Action)
				}
				if d.Body.Keep || d.NewGen {
					t.Errorf("%v keeps a body or discards bytes", d.Action)
				}
			}
			for _, v := range []string{d.Validators.ETag, d.Validators.LastModified, d.Validators.Date} {
				if len(v) > MaxValidatorLen {
					t.Errorf("decision keeps a validator of %d bytes", len(v))
				}
			}
		})
	}
}

// TestDecideKeepsTheEarlierReason: a download that is single because an
// earlier answer showed ranges do not work keeps that answer as its proof:
// the answer to a request without Range shows nothing about ranges.
func TestDecideKeepsTheEarlierReason(t *testing.T) {
	noRanges := Reason{ReasonNoRanges, "the server answered a range request with the whole file (200), so it does not support byte ranges"}
	st := Stored{Mode: ModeSingle, Total: UnknownSize, Reason: noRanges, HasProof: true}
	d := Decide(reqWhole, st, Response{Status: 200, ContentLength: "1000", Validators: Validators{ETag: `"e1"`}}, now)
	if d.Reason != noRanges || !d.Decided.Empty() {
		t.Fatalf("reason %+v, decided %+v; want the earlier reason and no new proof", d.Reason, d.Decided)
	}
	st.HasProof = false
	if d := Decide(reqWhole, st, Response{Status: 200, ContentLength: "1000"}, now); d.Decided.Empty() {
		t.Fatal("no proof recorded where none was")
	}
}

func TestNamesPage(t *testing.T) {
	for u, want := range map[string]bool{
		"https://a/":                  true,
		"https://a/docs/":             true,
		"https://a/index.html":        true,
		"https://a/INDEX.HTM":         true,
		"https://a/x.xhtml?q=1":       true,
		"https://a/model.bin":         false,
		"https://a/download?f=a.html": false,
		"https://a/report":            false,
	} {
		if got := NamesPage(u); got != want {
			t.Errorf("NamesPage(%q) = %v, want %v", u, got, want)
		}
	}
}

func TestRangeHeader(t *testing.T) {
	for _, tt := range []struct {
		r    Request
		want string
	}{
		{Request{Start: 0, End: UnknownSize}, "bytes=0-"},
		{Request{Start: 400, End: 1000}, "bytes=400-999"},
		{Request{Start: 5, End: 6}, "bytes=5-5"},
		{Request{Whole: true}, ""},
	} {
		if got := tt.r.RangeHeader(); got != tt.want {
			t.Errorf("%+v: RangeHeader() = %q, want %q", tt.r, got, tt.want)
		}
	}
}

func TestPathOf(t *testing.T) {
	for u, want := range map[string]string{
		"https://a/f.bin":             "/f.bin",
		"https://a/f.bin?sig=1":       "/f.bin",
		"https://a:8443/d/f.bin#x":    "/d/f.bin",
		"https://a":                   "/",
		"https://a?x=1":               "/",
		"https://user@a/p%20q?x":      "/p%20q",
		"http://[::1]:80/v1.bin?q=/x": "/v1.bin",
	} {
		if got := pathOf(u); got != want {
			t.Errorf("pathOf(%q) = %q, want %q", u, got, want)
		}
	}
}
