package protocol

import (
	"errors"
	"strings"
	"testing"
	"time"
)

var (
	now   = time.Date(2026, 11, 3, 12, 0, 0, 0, time.UTC)
	v1    = Validators{ETag: `"e1"`, LastModified: lm, Date: dateOld}
	fresh = Stored{Total: UnknownSize}
	est   = Stored{Established: true, Validators: v1, Total: 1000, Bytes: 400}

	reqFresh  = Request{Start: 0, End: UnknownSize}
	reqResume = Request{Start: 400, End: 1000, IfRange: `"e1"`}
	reqPlain  = Request{Start: 400, End: 1000} // cross-origin fallback: Range without If-Range
	reqWhole  = Request{Whole: true}
	reqProbe  = ProbeRequest()

	// estAt is est with the final URL and Content-Type of its first response.
	estAt    = Stored{Established: true, Validators: v1, Total: 1000, Bytes: 400, URL: "https://cdn/f", ContentType: "application/octet-stream"}
	longETag = `"` + strings.Repeat("x", MaxValidatorLen) + `"`
)

type want struct {
	action    Action
	start     int64
	length    int64
	total     int64
	changed   bool
	resumable bool
	reason    string
	retry     time.Duration
	status    int // for a *StatusError
}

func TestDecide(t *testing.T) {
	e1 := Validators{ETag: `"e1"`}
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
			want{action: Append, length: 1000, total: 1000, resumable: true}},
		{"first 206 without validators", reqFresh, fresh,
			Response{Status: 206, ContentRange: "bytes 0-999/1000"},
			want{action: Append, length: 1000, total: 1000, reason: ReasonNoValidators}},
		{"first 206 with weak ETag", reqFresh, fresh,
			Response{Status: 206, ContentRange: "bytes 0-999/1000", Validators: Validators{ETag: `W/"e1"`}},
			want{action: Append, length: 1000, total: 1000, reason: ReasonWeakETag}},
		{"first 206 with Last-Modified equal to Date", reqFresh, fresh,
			Response{Status: 206, ContentRange: "bytes 0-999/1000", Validators: Validators{LastModified: lm, Date: dateEq}},
			want{action: Append, length: 1000, total: 1000, reason: ReasonWeakLastModified}},
		{"first 206 with strong Last-Modified", reqFresh, fresh,
			Response{Status: 206, ContentRange: "bytes 0-999/1000", Validators: Validators{LastModified: lm, Date: dateOld}},
			want{action: Append, length: 1000, total: 1000, resumable: true}},
		{"first 206 of unknown length: one whole request instead", reqFresh, fresh,
			Response{Status: 206, ContentRange: "bytes 0-999/*", Validators: e1},
			want{action: Whole, reason: ReasonUnknownLength}},
		{"first 206 whose length overflows int64", reqFresh, fresh,
			Response{Status: 206, ContentRange: "bytes 0-9223372036854775807/*", Validators: e1},
			want{action: Reject}},
		{"first 206 whose total overflows int64", reqFresh, fresh,
			Response{Status: 206, ContentRange: "bytes 0-999/99999999999999999999", Validators: e1},
			want{action: Reject}},
		{"first 206 with an ETag over 8 KiB", reqFresh, fresh,
			Response{Status: 206, ContentRange: "bytes 0-999/1000", Validators: Validators{ETag: longETag}},
			want{action: Append, length: 1000, total: 1000, reason: ReasonLongValidator}},

		// The probe: bytes=0-65535.
		{"probe of a big file", reqProbe, fresh,
			Response{Status: 206, ContentRange: "bytes 0-65535/1000000", ContentLength: "65536", Validators: e1},
			want{action: Append, length: 65536, total: 1000000, resumable: true}},
		{"probe of a file smaller than the probe", reqProbe, fresh,
			Response{Status: 206, ContentRange: "bytes 0-999/1000", ContentLength: "1000", Validators: e1},
			want{action: Append, length: 1000, total: 1000, resumable: true}},
		{"probe answered with more than asked", reqProbe, fresh,
			Response{Status: 206, ContentRange: "bytes 0-65536/1000000", Validators: e1},
			want{action: Reject}},
		{"probe answered with less than asked", reqProbe, fresh,
			Response{Status: 206, ContentRange: "bytes 0-99/1000000", Validators: e1},
			want{action: Append, length: 100, total: 1000000, resumable: true}},
		{"first 206 cross-origin without exposed Content-Range", reqFresh, fresh,
			Response{Status: 206, ContentLength: "1000", CrossOrigin: true},
			want{action: Whole, reason: ReasonHiddenHeaders}},
		{"first 206 same-origin without Content-Range", reqFresh, fresh,
			Response{Status: 206, ContentLength: "1000"},
			want{action: Reject}},
		{"first 206 cross-origin without exposed ETag", reqFresh, fresh,
			Response{Status: 206, ContentRange: "bytes 0-999/1000", CrossOrigin: true, Validators: Validators{LastModified: lm}},
			want{action: Append, length: 1000, total: 1000, reason: ReasonHiddenHeaders}},
		{"first 206 gzip-encoded", reqFresh, fresh,
			Response{Status: 206, ContentRange: "bytes 0-999/1000", ContentEncoding: "gzip", Validators: e1},
			want{action: Whole, reason: ReasonEncoded}},
		{"first 206 identity encoding is fine", reqFresh, fresh,
			Response{Status: 206, ContentRange: "bytes 0-999/1000", ContentEncoding: "identity", Validators: e1},
			want{action: Append, length: 1000, total: 1000, resumable: true}},
		{"first 206 multipart", reqFresh, fresh,
			Response{Status: 206, ContentType: "multipart/byteranges; boundary=x", Validators: e1},
			want{action: Whole, reason: ReasonEncoded}},
		{"first 206 not from 0", reqFresh, fresh,
			Response{Status: 206, ContentRange: "bytes 5-999/1000", Validators: e1},
			want{action: Reject}},

		// Resuming with If-Range.
		{"206 that matches", reqResume, est,
			Response{Status: 206, ContentRange: "bytes 400-999/1000", ContentLength: "600", Validators: e1},
			want{action: Append, start: 400, length: 600, total: 1000}},
		{"206 that repeats no validator", reqResume, est,
			Response{Status: 206, ContentRange: "bytes 400-999/1000"},
			want{action: Append, start: 400, length: 600, total: 1000}},
		{"206 shorter than asked", reqResume, est,
			Response{Status: 206, ContentRange: "bytes 400-499/1000", Validators: e1},
			want{action: Append, start: 400, length: 100, total: 1000}},
		{"206 with * total keeps stored total", reqResume, est,
			Response{Status: 206, ContentRange: "bytes 400-999/*", Validators: e1},
			want{action: Append, start: 400, length: 600, total: 1000}},
		{"206 with another ETag: server ignored If-Range", reqResume, est,
			Response{Status: 206, ContentRange: "bytes 400-999/1000", Validators: Validators{ETag: `"e2"`}},
			want{action: Restart, changed: true}},
		{"206 with another Last-Modified", reqResume, est,
			Response{Status: 206, ContentRange: "bytes 400-999/1000", Validators: Validators{LastModified: lm2}},
			want{action: Restart, changed: true}},
		{"206 with another total", reqResume, est,
			Response{Status: 206, ContentRange: "bytes 400-999/1100", Validators: e1},
			want{action: Restart, changed: true}},
		{"206 from 0 of a new version is adopted", reqResume, est,
			Response{Status: 206, ContentRange: "bytes 0-1099/1100", Validators: Validators{ETag: `"e2"`}},
			want{action: Adopt, length: 1100, total: 1100, changed: true, resumable: true}},
		{"206 from 0 of a new version of unknown length", reqResume, est,
			Response{Status: 206, ContentRange: "bytes 0-1099/*", Validators: Validators{ETag: `"e2"`}},
			want{action: Adopt, length: 1100, total: UnknownSize, changed: true, reason: ReasonUnknownLength}},
		{"206 starting after the offset asked", reqResume, est,
			Response{Status: 206, ContentRange: "bytes 401-999/1000", Validators: e1},
			want{action: Reject}},
		{"206 starting before the offset asked", reqResume, est,
			Response{Status: 206, ContentRange: "bytes 399-999/1000", Validators: e1},
			want{action: Reject}},
		{"206 ending past the range asked", Request{Start: 400, End: 500, IfRange: `"e1"`}, est,
			Response{Status: 206, ContentRange: "bytes 400-599/1000", Validators: e1},
			want{action: Reject}},
		{"206 whose Content-Length contradicts Content-Range", reqResume, est,
			Response{Status: 206, ContentRange: "bytes 400-999/1000", ContentLength: "599", Validators: e1},
			want{action: Reject}},
		{"206 with unreadable Content-Range", reqResume, est,
			Response{Status: 206, ContentRange: "bytes 400-999", Validators: e1},
			want{action: Reject}},
		{"206 with unsatisfied-range form", reqResume, est,
			Response{Status: 206, ContentRange: "bytes */1000", Validators: e1},
			want{action: Reject}},
		{"206 gzip-encoded with stored bytes", reqResume, est,
			Response{Status: 206, ContentRange: "bytes 400-999/1000", ContentEncoding: "gzip", Validators: e1},
			want{action: Reject}},

		// Redirects: the stored download came from https://cdn/f.
		{"206 from the same final URL", reqResume, estAt,
			Response{Status: 206, ContentRange: "bytes 400-999/1000", URL: "https://cdn/f"},
			want{action: Append, start: 400, length: 600, total: 1000}},
		{"206 from elsewhere with the stored strong ETag", reqResume, estAt,
			Response{Status: 206, ContentRange: "bytes 400-999/1000", URL: "https://mirror/f", Validators: e1},
			want{action: Append, start: 400, length: 600, total: 1000}},
		{"206 from elsewhere without a validator proves nothing", reqResume, estAt,
			Response{Status: 206, ContentRange: "bytes 400-999/1000", URL: "https://mirror/f"},
			want{action: Reject}},
		{"206 from elsewhere with only a weak ETag proves nothing", reqResume, estAt,
			Response{Status: 206, ContentRange: "bytes 400-999/1000", URL: "https://mirror/f", Validators: Validators{ETag: `W/"e1"`}},
			want{action: Reject}},
		{"416 from elsewhere says nothing of the stored length", reqResume, estAt,
			Response{Status: 416, ContentRange: "bytes */35", URL: "https://cdn/login.html"},
			want{action: Reject}},
		{"206 HTML page to the probe after a restart", reqProbe, Stored{Total: UnknownSize, ContentType: "application/zip"},
			Response{Status: 206, ContentRange: "bytes 0-34/35", ContentType: "text/html", Validators: e1},
			want{action: Fail}},
		{"200 HTML page in answer to a resume", reqResume, estAt,
			Response{Status: 200, ContentLength: "26", ContentType: "text/html; charset=utf-8", URL: "https://cdn/login"},
			want{action: Fail}},
		{"200 of another Content-Type in answer to a resume: a new version", reqResume, estAt,
			Response{Status: 200, ContentLength: "1100", ContentType: "application/zip", Validators: Validators{ETag: `"e2"`}},
			want{action: Adopt, length: 1100, total: 1100, changed: true, resumable: true}},
		{"200 XHTML page in answer to a resume", reqResume, estAt,
			Response{Status: 200, ContentLength: "26", ContentType: "application/xhtml+xml"},
			want{action: Fail}},
		{"200 HTML page to a download of HTML is a new version", reqResume, Stored{Established: true, Validators: v1, Total: 1000, Bytes: 400, ContentType: "text/html"},
			Response{Status: 200, ContentLength: "26", ContentType: "text/html; charset=utf-8", Validators: Validators{ETag: `"e2"`}},
			want{action: Adopt, length: 26, total: 26, changed: true, resumable: true}},
		{"200 HTML page to an established download with nothing stored yet", reqResume, Stored{Established: true, Validators: v1, Total: 1000, ContentType: "application/zip"},
			Response{Status: 200, ContentLength: "26", ContentType: "text/html"},
			want{action: Fail}},
		{"200 HTML page to a download whose server sent no Content-Type", reqResume, Stored{Established: true, Validators: v1, Total: 1000, Bytes: 400},
			Response{Status: 200, ContentLength: "26", ContentType: "text/html"},
			want{action: Fail}},
		{"200 with a type where the first answer had none: a new version", reqResume, Stored{Established: true, Validators: v1, Total: 1000, Bytes: 400},
			Response{Status: 200, ContentLength: "1100", ContentType: "application/zip", Validators: Validators{ETag: `"e2"`}},
			want{action: Adopt, length: 1100, total: 1100, changed: true, resumable: true}},
		{"200 of the same media type, other parameters: a new version", reqResume, estAt,
			Response{Status: 200, ContentLength: "1100", ContentType: "Application/Octet-Stream; x=1", Validators: Validators{ETag: `"e2"`}},
			want{action: Adopt, length: 1100, total: 1100, changed: true, resumable: true}},

		// Resuming with plain Range (If-Range refused by a CORS preflight).
		{"plain-Range 206 with matching strong ETag", reqPlain, est,
			Response{Status: 206, ContentRange: "bytes 400-999/1000", Validators: e1, CrossOrigin: true},
			want{action: Append, start: 400, length: 600, total: 1000}},
		{"plain-Range 206 with matching strong date", reqPlain, est,
			Response{Status: 206, ContentRange: "bytes 400-999/1000", Validators: Validators{LastModified: lm}, CrossOrigin: true},
			want{action: Append, start: 400, length: 600, total: 1000}},
		{"plain-Range 206 without readable validator, cross-origin", reqPlain, est,
			Response{Status: 206, ContentRange: "bytes 400-999/1000", CrossOrigin: true},
			want{action: Whole, reason: ReasonHiddenHeaders}},
		{"plain-Range 206 without validator, same origin", reqPlain, est,
			Response{Status: 206, ContentRange: "bytes 400-999/1000"},
			want{action: Reject}},

		// 200: the whole body, from byte 0.
		{"200 to If-Range with another ETag: file changed", reqResume, est,
			Response{Status: 200, ContentLength: "1100", Validators: Validators{ETag: `"e2"`}},
			want{action: Adopt, length: 1100, total: 1100, changed: true, resumable: true}},
		{"200 with the same ETag: server ignores ranges", reqResume, est,
			Response{Status: 200, ContentLength: "1000", Validators: e1},
			want{action: Adopt, length: 1000, total: 1000, reason: ReasonNoRanges}},
		{"200 with the same ETag but another length", reqResume, est,
			Response{Status: 200, ContentLength: "1001", Validators: e1},
			want{action: Adopt, length: 1001, total: 1001, changed: true, resumable: true}},
		{"200 to the first request", reqFresh, fresh,
			Response{Status: 200, ContentLength: "1000", Validators: v1},
			want{action: Adopt, length: 1000, total: 1000, reason: ReasonNoRanges}},
		{"200 without validators", reqFresh, fresh,
			Response{Status: 200, ContentLength: "1000"},
			want{action: Adopt, length: 1000, total: 1000, reason: ReasonNoValidators}},
		{"200 compressed", reqFresh, fresh,
			Response{Status: 200, ContentLength: "300", ContentEncoding: "br", Validators: e1},
			want{action: Adopt, length: UnknownSize, total: UnknownSize, reason: ReasonEncoded}},
		{"200 without Content-Length", reqFresh, fresh,
			Response{Status: 200, Validators: e1},
			want{action: Adopt, length: UnknownSize, total: UnknownSize, reason: ReasonUnknownLength}},
		{"200 to a request without Range", reqWhole, fresh,
			Response{Status: 200, ContentLength: "1000", Validators: e1},
			want{action: Adopt, length: 1000, total: 1000, resumable: true}},
		{"206 to a request without Range", reqWhole, fresh,
			Response{Status: 206, ContentRange: "bytes 0-999/1000", Validators: e1},
			want{action: Reject}},
		{"416 to a request without Range", reqWhole, fresh,
			Response{Status: 416, ContentRange: "bytes */0"},
			want{action: Reject}},
		{"200 cross-origin to a request without Range: read to its end", reqWhole, fresh,
			Response{Status: 200, ContentLength: "300", Validators: e1, CrossOrigin: true},
			want{action: Adopt, length: UnknownSize, total: UnknownSize, reason: ReasonUnknownLength}},

		// 416 and 412.
		{"416 past the stored end: finished", Request{Start: 1000, End: UnknownSize, IfRange: `"e1"`}, est,
			Response{Status: 416, ContentRange: "bytes */1000"},
			want{action: Finish, total: 1000}},
		{"416 with another total: file changed", reqResume, est,
			Response{Status: 416, ContentRange: "bytes */300"},
			want{action: Restart, changed: true, total: 300}},
		{"416 for a range inside the file", reqResume, est,
			Response{Status: 416, ContentRange: "bytes */1000"},
			want{action: Reject}},
		{"416 without Content-Range with stored bytes", reqResume, est,
			Response{Status: 416},
			want{action: Restart, status: 416}},
		{"416 to bytes=0- of an empty file", reqFresh, fresh,
			Response{Status: 416, ContentRange: "bytes */0", Validators: e1},
			want{action: Finish, total: 0, resumable: true}},
		{"416 to bytes=0- without Content-Range", reqFresh, fresh,
			Response{Status: 416},
			want{action: Whole, reason: ReasonNoRanges, status: 416}},
		{"412: version changed", reqResume, est,
			Response{Status: 412},
			want{action: Restart, changed: true, status: 412}},
		{"412 to a fresh request", reqFresh, fresh,
			Response{Status: 412},
			want{action: Reject}},

		// Statuses that mean "later" or "never".
		{"503 with Retry-After", reqResume, est,
			Response{Status: 503, RetryAfter: "7"},
			want{action: Retry, retry: 7 * time.Second, status: 503}},
		{"429 with Retry-After date", reqResume, est,
			Response{Status: 429, RetryAfter: "Tue, 03 Nov 2026 12:00:30 GMT", Validators: Validators{Date: "Tue, 03 Nov 2026 12:00:00 GMT"}},
			want{action: Retry, retry: 30 * time.Second, status: 429}},
		{"408", reqResume, est, Response{Status: 408}, want{action: Retry, status: 408}},
		{"500", reqResume, est, Response{Status: 500}, want{action: Retry, status: 500}},
		{"502", reqResume, est, Response{Status: 502}, want{action: Retry, status: 502}},
		{"501 is not retried", reqResume, est, Response{Status: 501}, want{action: Fail, status: 501}},
		{"505 is not retried", reqResume, est, Response{Status: 505}, want{action: Fail, status: 505}},
		{"404", reqFresh, fresh, Response{Status: 404}, want{action: Fail, status: 404}},
		{"403", reqResume, est, Response{Status: 403}, want{action: Fail, status: 403}},
		{"redirect not followed", reqFresh, fresh, Response{Status: 302}, want{action: Fail, status: 302}},
		{"204", reqFresh, fresh, Response{Status: 204}, want{action: Reject}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Decide(tt.req, tt.st, tt.resp, now)
			w := tt.want
			if d.Action != w.action {
				t.Fatalf("action = %v (err %v), want %v", d.Action, d.Err, w.action)
			}
			if d.Changed != w.changed {
				t.Errorf("changed = %v, want %v", d.Changed, w.changed)
			}
			switch d.Action {
			case Append, Adopt:
				if d.Start != w.start || d.Length != w.length || d.Total != w.total {
					t.Errorf("start, length, total = %d, %d, %d; want %d, %d, %d", d.Start, d.Length, d.Total, w.start, w.length, w.total)
				}
			case Finish, Restart:
				if d.Total != w.total && w.total != 0 {
					t.Errorf("total = %d, want %d", d.Total, w.total)
				}
			case Retry:
				if d.RetryAfter != w.retry {
					t.Errorf("retry after %v, want %v", d.RetryAfter, w.retry)
				}
			}
			establishes := (d.Action == Append && !tt.st.Established) || d.Action == Adopt || d.Action == Whole
			if establishes {
				if d.Resumable != w.resumable || d.Reason.Code != w.reason {
					t.Errorf("resumable, reason = %v, %q; want %v, %q", d.Resumable, d.Reason.Code, w.resumable, w.reason)
				}
				if !d.Reason.None() && d.Reason.Text == "" {
					t.Error("reason without text")
				}
			}
			if w.status != 0 {
				var se *StatusError
				if !errors.As(d.Err, &se) || se.Status != w.status {
					t.Errorf("err = %v, want status %d", d.Err, w.status)
				}
			}
			if d.Action == Reject {
				var be *BadResponseError
				if !errors.As(d.Err, &be) || be.Detail == "" {
					t.Errorf("reject without a BadResponseError: %v", d.Err)
				}
			}
			if d.Action == Fail && w.status == 0 {
				var ce *ContentTypeError
				if !errors.As(d.Err, &ce) || !strings.Contains(ce.Error(), "instead of") {
					t.Errorf("fail without a ContentTypeError: %v", d.Err)
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
