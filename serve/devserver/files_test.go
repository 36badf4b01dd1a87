//go:build !js && !wasip1

package devserver

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// wantLog is what the log entry of a request must say.
type wantLog struct {
	start, sent  int64
	cut          bool
	contentRange string // placeholders expanded
	etag         string // placeholders expanded
	fault        string // substring of Fault; "" = Fault must be empty
	notFault     string // substring Fault must not have; "" = not checked
}

// fileCase is one request to /files/a.bin and everything checked about it.
// Header values may use the placeholders {etag}, {lm} (Last-Modified of
// the file) and {size}.
type fileCase struct {
	name    string
	aged    bool   // a.bin last changed an hour ago (see age)
	method  string // "" = GET
	query   string
	hdr     map[string]string
	status  int
	headers map[string]string                    // "" = must be absent
	body    func(file []byte) []byte             // nil = not checked
	cutBody bool                                 // reading the body must fail (cut connection)
	check   func(t *testing.T, r *http.Response) // extra checks
	log     *wantLog                             // nil = not checked
}

// overrunBody is what overrun=n sends after bytes [a, b) of the file:
// those bytes, then n junk bytes, each the complement of the file byte at
// its offset (so never that byte), 0xEE past the end of the file.
func overrunBody(a, b, n int) func([]byte) []byte {
	return func(f []byte) []byte {
		out := append([]byte(nil), f[a:b]...)
		for i := b; i < b+n; i++ {
			if i < len(f) {
				out = append(out, ^f[i])
			} else {
				out = append(out, 0xEE)
			}
		}
		return out
	}
}

// chunked checks that a response came with no Content-Length, in chunks.
func chunked(t *testing.T, r *http.Response) {
	t.Helper()
	if r.ContentLength != -1 || len(r.TransferEncoding) != 1 || r.TransferEncoding[0] != "chunked" {
		t.Errorf("ContentLength %d, Transfer-Encoding %q: want -1, chunked", r.ContentLength, r.TransferEncoding)
	}
}

func full(f []byte) []byte { return f }
func empty([]byte) []byte  { return []byte{} }
func part(a, b int) func([]byte) []byte {
	return func(f []byte) []byte { return f[a:b] }
}

const sizeStr = "65536"

var fileCases = []fileCase{
	{
		name:   "200 full with validators",
		status: 200,
		headers: map[string]string{
			"ETag": "{etag}", "Last-Modified": "{lm}", "Accept-Ranges": "bytes",
			"Content-Type": "application/octet-stream", "Cache-Control": "no-cache",
			"Content-Length": sizeStr, "Content-Encoding": "", "Content-Range": "",
		},
		body: full,
		log:  &wantLog{start: 0, sent: aSize, etag: "{etag}"},
	},
	{
		name:    "206 for bytes=10-19",
		hdr:     map[string]string{"Range": "bytes=10-19"},
		status:  206,
		headers: map[string]string{"Content-Range": "bytes 10-19/{size}", "Content-Length": "10", "ETag": "{etag}"},
		body:    part(10, 20),
		log:     &wantLog{start: 10, sent: 10, contentRange: "bytes 10-19/{size}", etag: "{etag}"},
	},
	{
		name:    "206 for an open range",
		hdr:     map[string]string{"Range": "bytes=65000-"},
		status:  206,
		headers: map[string]string{"Content-Range": "bytes 65000-65535/{size}"},
		body:    part(65000, aSize),
		log:     &wantLog{start: 65000, sent: aSize - 65000, contentRange: "bytes 65000-65535/{size}", etag: "{etag}"},
	},
	{
		name:    "If-Range with the ETag: 206",
		hdr:     map[string]string{"Range": "bytes=100-199", "If-Range": "{etag}"},
		status:  206,
		headers: map[string]string{"Content-Range": "bytes 100-199/{size}"},
		body:    part(100, 200),
		log:     &wantLog{start: 100, sent: 100, contentRange: "bytes 100-199/{size}", etag: "{etag}"},
	},
	{
		name:   "If-Range with the Last-Modified date: 206",
		aged:   true,
		hdr:    map[string]string{"Range": "bytes=100-199", "If-Range": "{lm}"},
		status: 206,
		body:   part(100, 200),
	},
	{
		name:    "If-Range with another ETag: 200 full body",
		hdr:     map[string]string{"Range": "bytes=100-199", "If-Range": `"stale"`},
		status:  200,
		headers: map[string]string{"Content-Range": "", "Content-Length": sizeStr},
		body:    full,
		log:     &wantLog{start: 0, sent: aSize, etag: "{etag}"},
	},
	{
		name:   "If-Range with an old date: 200",
		hdr:    map[string]string{"Range": "bytes=100-199", "If-Range": "Mon, 02 Jan 2006 15:04:05 GMT"},
		status: 200,
		body:   full,
	},
	{
		name:   "If-Match with another ETag: 412",
		hdr:    map[string]string{"Range": "bytes=0-9", "If-Match": `"stale"`},
		status: 412,
		body:   empty,
		log:    &wantLog{start: -1, sent: 0, etag: "{etag}"},
	},
	{
		name:   "If-Match with the ETag: 206",
		hdr:    map[string]string{"Range": "bytes=0-9", "If-Match": "{etag}"},
		status: 206,
		body:   part(0, 10),
	},
	{
		name:    "416 past the end, with bytes */size",
		hdr:     map[string]string{"Range": "bytes=70000-"},
		status:  416,
		headers: map[string]string{"Content-Range": "bytes */{size}"},
		log:     &wantLog{start: -1, sent: -1, contentRange: "bytes */{size}"},
	},
	{
		name:    "HEAD: headers, no body",
		method:  http.MethodHead,
		status:  200,
		headers: map[string]string{"Content-Length": sizeStr, "ETag": "{etag}", "Accept-Ranges": "bytes"},
		body:    empty,
		log:     &wantLog{start: -1, sent: 0, etag: "{etag}"},
	},
	{
		name:    "validators=none: no ETag, no Last-Modified",
		query:   "validators=none",
		status:  200,
		headers: map[string]string{"ETag": "", "Last-Modified": "", "Accept-Ranges": "bytes"},
		body:    full,
		log:     &wantLog{start: 0, sent: aSize, fault: "validators=none"},
	},
	{
		name:   "validators=none: If-Range cannot match",
		query:  "validators=none",
		hdr:    map[string]string{"Range": "bytes=0-9", "If-Range": "{etag}"},
		status: 200,
		body:   full,
	},
	{
		name:    "validators=etag: ETag only",
		query:   "validators=etag",
		status:  200,
		headers: map[string]string{"ETag": "{etag}", "Last-Modified": ""},
	},
	{
		name:    "validators=lm: Last-Modified only, If-Range date works",
		aged:    true,
		query:   "validators=lm",
		hdr:     map[string]string{"Range": "bytes=0-9", "If-Range": "{lm}"},
		status:  206,
		headers: map[string]string{"ETag": "", "Last-Modified": "{lm}"},
		body:    part(0, 10),
	},
	{
		name:    "validators=weak: W/ ETag never matches If-Range",
		query:   "validators=weak",
		hdr:     map[string]string{"Range": "bytes=0-9", "If-Range": "W/{etag}"},
		status:  200,
		headers: map[string]string{"ETag": "W/{etag}", "Last-Modified": ""},
		body:    full,
		log:     &wantLog{start: 0, sent: aSize, etag: "W/{etag}", fault: "validators=weak"},
	},
	{
		name:   "lm=now: Last-Modified equals Date",
		query:  "lm=now",
		status: 200,
		check: func(t *testing.T, r *http.Response) {
			lm, date := r.Header.Get("Last-Modified"), r.Header.Get("Date")
			if lm == "" || lm != date {
				t.Errorf("Last-Modified %q, Date %q: want equal and present", lm, date)
			}
		},
	},
	{
		name:    "etag=: forced value used by If-Range",
		query:   "etag=%22forced%22",
		hdr:     map[string]string{"Range": "bytes=0-9", "If-Range": `"forced"`},
		status:  206,
		headers: map[string]string{"ETag": `"forced"`},
		body:    part(0, 10),
		log:     &wantLog{start: 0, sent: 10, contentRange: "bytes 0-9/{size}", etag: `"forced"`, fault: `etag="forced"`},
	},
	{
		name:   "etag=: forced value used by If-Match",
		query:  "etag=%22forced%22",
		hdr:    map[string]string{"If-Match": "{etag}"},
		status: 412,
	},
	{
		name:    "ranges=none: 200 full and Accept-Ranges none",
		query:   "ranges=none",
		hdr:     map[string]string{"Range": "bytes=10-19", "If-Range": "{etag}"},
		status:  200,
		headers: map[string]string{"Accept-Ranges": "none", "Content-Range": "", "Content-Length": sizeStr},
		body:    full,
		log:     &wantLog{start: 0, sent: aSize, etag: "{etag}", fault: "ranges=none"},
	},
	{
		name:    "ifrange=ignore: stale If-Range still gets the range",
		query:   "ifrange=ignore",
		hdr:     map[string]string{"Range": "bytes=10-19", "If-Range": `"stale"`},
		status:  206,
		headers: map[string]string{"Content-Range": "bytes 10-19/{size}"},
		body:    part(10, 20),
		log:     &wantLog{start: 10, sent: 10, contentRange: "bytes 10-19/{size}", etag: "{etag}", fault: "ifrange=ignore"},
	},
	{
		name:    "cr=shift: Content-Range off by one, body unchanged",
		query:   "cr=shift",
		hdr:     map[string]string{"Range": "bytes=10-19"},
		status:  206,
		headers: map[string]string{"Content-Range": "bytes 11-20/{size}"},
		body:    part(10, 20),
		log:     &wantLog{start: 10, sent: 10, contentRange: "bytes 11-20/{size}", etag: "{etag}", fault: "cr=shift"},
	},
	{
		name:    "cr=total: wrong total",
		query:   "cr=total",
		hdr:     map[string]string{"Range": "bytes=10-19"},
		status:  206,
		headers: map[string]string{"Content-Range": "bytes 10-19/65537"},
		body:    part(10, 20),
	},
	{
		name:    "cr=missing: 206 without Content-Range",
		query:   "cr=missing",
		hdr:     map[string]string{"Range": "bytes=10-19"},
		status:  206,
		headers: map[string]string{"Content-Range": ""},
		body:    part(10, 20),
		log:     &wantLog{start: 10, sent: 10, etag: "{etag}", fault: "cr=missing"},
	},
	{
		name:    "cr= leaves a 200 alone",
		query:   "cr=shift",
		status:  200,
		headers: map[string]string{"Content-Range": ""},
		body:    full,
	},
	{
		name:    "cut=1000: 1000 bytes then the connection drops",
		query:   "cut=1000",
		status:  200,
		body:    part(0, 1000),
		cutBody: true,
		log:     &wantLog{start: 0, sent: 1000, cut: true, etag: "{etag}", fault: "cut=1000"},
	},
	{
		name:    "cut=50 on a range",
		query:   "cut=50",
		hdr:     map[string]string{"Range": "bytes=100-"},
		status:  206,
		body:    part(100, 150),
		cutBody: true,
		log:     &wantLog{start: 100, sent: 50, cut: true, contentRange: "bytes 100-65535/{size}", etag: "{etag}", fault: "cut=50"},
	},
	{
		name:    "cut=0: headers, then nothing",
		query:   "cut=0",
		status:  200,
		body:    empty,
		cutBody: true,
		log:     &wantLog{start: 0, sent: 0, cut: true, etag: "{etag}", fault: "cut=0"},
	},
	{
		name:   "cut past the end: no cut",
		query:  "cut=100000",
		status: 200,
		body:   full,
		log:    &wantLog{start: 0, sent: aSize, etag: "{etag}", fault: "cut=100000"},
	},
	{
		name:    "status=503 with retry-after",
		query:   "status=503&retry-after=7",
		hdr:     map[string]string{"Range": "bytes=0-9"},
		status:  503,
		headers: map[string]string{"Retry-After": "7", "ETag": "", "Content-Range": ""},
		check: func(t *testing.T, r *http.Response) {
			if !strings.Contains(r.Header.Get("Access-Control-Expose-Headers"), "Retry-After") {
				t.Errorf("Retry-After not exposed to cross-origin scripts")
			}
		},
		log: &wantLog{start: -1, sent: -1, fault: "status=503"},
	},
	{
		name:   "bad fault value: 400",
		query:  "rate=fast",
		status: 400,
	},
	{
		name:   "fail= without status: 400",
		query:  "fail=1",
		status: 400,
	},
	{
		name:   "unknown keys are ignored (cache busters)",
		query:  "t=12345",
		status: 200,
		body:   full,
		log:    &wantLog{start: 0, sent: aSize, etag: "{etag}"},
	},
	{
		name:    "overrun=100: junk after a 200, no Content-Length",
		query:   "overrun=100",
		status:  200,
		headers: map[string]string{"Content-Length": "", "Content-Range": "", "ETag": "{etag}", "Accept-Ranges": "bytes"},
		body:    overrunBody(0, aSize, 100),
		check:   chunked,
		log:     &wantLog{start: 0, sent: aSize + 100, etag: "{etag}", fault: "overrun: 100 junk bytes after the 65536 of the body"},
	},
	{
		name:    "overrun=5 on a 206: Content-Range as served, junk that is not the next file bytes",
		query:   "overrun=5",
		hdr:     map[string]string{"Range": "bytes=10-19"},
		status:  206,
		headers: map[string]string{"Content-Range": "bytes 10-19/{size}", "Content-Length": ""},
		body:    overrunBody(10, 20, 5),
		check:   chunked,
		log:     &wantLog{start: 10, sent: 15, contentRange: "bytes 10-19/{size}", etag: "{etag}", fault: "overrun: 5 junk bytes"},
	},
	{
		name:    "overrun on HEAD: no Content-Length, no body, no junk",
		method:  http.MethodHead,
		query:   "overrun=7",
		status:  200,
		headers: map[string]string{"Content-Length": "", "ETag": "{etag}"},
		body:    empty,
		log:     &wantLog{start: -1, sent: 0, etag: "{etag}", fault: "overrun=7", notFault: "junk"},
	},
	{
		name:    "overrun with cut= inside the junk",
		query:   "overrun=1000&cut=65546",
		status:  200,
		body:    overrunBody(0, aSize, 10),
		cutBody: true,
		log:     &wantLog{start: 0, sent: aSize + 10, cut: true, etag: "{etag}", fault: "cut after 65546 bytes"},
	},
	{
		name:   "overrun with rate=: the junk is paced too",
		query:  "overrun=300&rate=4000000",
		hdr:    map[string]string{"Range": "bytes=60000-"},
		status: 206,
		body:   overrunBody(60000, aSize, 300),
		check:  chunked,
		log:    &wantLog{start: 60000, sent: aSize - 60000 + 300, contentRange: "bytes 60000-65535/{size}", etag: "{etag}", fault: "overrun: 300 junk bytes"},
	},
	{
		name:   "overrun: a 416 gets no junk",
		query:  "overrun=5",
		hdr:    map[string]string{"Range": "bytes=70000-"},
		status: 416,
		log:    &wantLog{start: -1, sent: -1, contentRange: "bytes */{size}", fault: "overrun=5", notFault: "junk"},
	},
	{name: "overrun=0: 400", query: "overrun=0", status: 400},
	{name: "overrun=lots: 400", query: "overrun=lots", status: 400},
	{
		name:    "cap=100: an open range is served as 100 bytes",
		query:   "cap=100",
		hdr:     map[string]string{"Range": "bytes=0-"},
		status:  206,
		headers: map[string]string{"Content-Range": "bytes 0-99/{size}", "Content-Length": "100"},
		body:    part(0, 100),
		log:     &wantLog{start: 0, sent: 100, contentRange: "bytes 0-99/{size}", etag: "{etag}", fault: "range capped: served bytes=0-99"},
	},
	{
		name:    "cap=100: a longer closed range is cut short",
		query:   "cap=100",
		hdr:     map[string]string{"Range": "bytes=1000-1999"},
		status:  206,
		headers: map[string]string{"Content-Range": "bytes 1000-1099/{size}", "Content-Length": "100"},
		body:    part(1000, 1100),
		log:     &wantLog{start: 1000, sent: 100, contentRange: "bytes 1000-1099/{size}", etag: "{etag}", fault: "range capped: served bytes=1000-1099"},
	},
	{
		name:    "cap=100: a range of 100 bytes or fewer is left alone",
		query:   "cap=100",
		hdr:     map[string]string{"Range": "bytes=10-109"},
		status:  206,
		headers: map[string]string{"Content-Range": "bytes 10-109/{size}", "Content-Length": "100"},
		body:    part(10, 110),
		log:     &wantLog{start: 10, sent: 100, contentRange: "bytes 10-109/{size}", etag: "{etag}", fault: "cap=100", notFault: "capped"},
	},
	{
		name:    "cap=100: a range that ends past the file counts what the file has",
		query:   "cap=100",
		hdr:     map[string]string{"Range": "bytes=65500-70000"},
		status:  206,
		headers: map[string]string{"Content-Range": "bytes 65500-65535/{size}", "Content-Length": "36"},
		body:    part(65500, aSize),
		log:     &wantLog{start: 65500, sent: 36, contentRange: "bytes 65500-65535/{size}", etag: "{etag}", fault: "cap=100", notFault: "capped"},
	},
	{
		name:    "cap=100: no Range, the whole 200",
		query:   "cap=100",
		status:  200,
		headers: map[string]string{"Content-Length": sizeStr, "Content-Range": ""},
		body:    full,
		log:     &wantLog{start: 0, sent: aSize, etag: "{etag}", fault: "cap=100", notFault: "capped"},
	},
	{
		name:    "cap=100: a suffix range is left alone",
		query:   "cap=100",
		hdr:     map[string]string{"Range": "bytes=-500"},
		status:  206,
		headers: map[string]string{"Content-Range": "bytes 65036-65535/{size}", "Content-Length": "500"},
		body:    part(65036, aSize),
		log:     &wantLog{start: 65036, sent: 500, contentRange: "bytes 65036-65535/{size}", etag: "{etag}", fault: "cap=100", notFault: "capped"},
	},
	{
		// Several ranges get the whole file (RFC 9110 §14.2: a server MAY
		// ignore Range), never multipart/byteranges, cap= or not.
		name:    "cap=100: multiple ranges get the whole 200",
		query:   "cap=100",
		hdr:     map[string]string{"Range": "bytes=0-199,300-499"},
		status:  200,
		headers: map[string]string{"Content-Range": "", "Content-Length": sizeStr, "Content-Type": "application/octet-stream"},
		body:    full,
		log:     &wantLog{start: 0, sent: aSize, etag: "{etag}", fault: "cap=100", notFault: "capped"},
	},
	{
		name:    "cap=100: a stale If-Range still gets the whole 200",
		query:   "cap=100",
		hdr:     map[string]string{"Range": "bytes=0-", "If-Range": `"stale"`},
		status:  200,
		headers: map[string]string{"Content-Length": sizeStr, "Content-Range": ""},
		body:    full,
		log:     &wantLog{start: 0, sent: aSize, etag: "{etag}", fault: "cap=100", notFault: "capped"},
	},
	{name: "cap=0: 400", query: "cap=0", status: 400},
	{
		name:    "cr=unknown: complete length *",
		query:   "cr=unknown",
		hdr:     map[string]string{"Range": "bytes=10-19"},
		status:  206,
		headers: map[string]string{"Content-Range": "bytes 10-19/*", "Content-Length": "10"},
		body:    part(10, 20),
		log: &wantLog{start: 10, sent: 10, contentRange: "bytes 10-19/*", etag: "{etag}",
			fault: `Content-Range "bytes 10-19/*" instead of "bytes 10-19/65536"`},
	},
	{
		name:    "cr=overflow from 0: last-pos MaxInt64, a length past int64",
		query:   "cr=overflow",
		hdr:     map[string]string{"Range": "bytes=0-9"},
		status:  206,
		headers: map[string]string{"Content-Range": "bytes 0-9223372036854775807/*", "Content-Length": "10"},
		body:    part(0, 10),
		log:     &wantLog{start: 0, sent: 10, contentRange: "bytes 0-9223372036854775807/*", etag: "{etag}", fault: "cr=overflow"},
	},
	{
		name:    "cr=overflow from 10: far past what was asked",
		query:   "cr=overflow",
		hdr:     map[string]string{"Range": "bytes=10-19"},
		status:  206,
		headers: map[string]string{"Content-Range": "bytes 10-9223372036854775807/*", "Content-Length": "10"},
		body:    part(10, 20),
	},
	{
		name:    "cr=hugetotal: a total that does not fit int64",
		query:   "cr=hugetotal",
		hdr:     map[string]string{"Range": "bytes=10-19"},
		status:  206,
		headers: map[string]string{"Content-Range": "bytes 10-19/99999999999999999999", "Content-Length": "10"},
		body:    part(10, 20),
		log:     &wantLog{start: 10, sent: 10, contentRange: "bytes 10-19/99999999999999999999", etag: "{etag}", fault: "cr=hugetotal"},
	},
	{
		name:    "cr=unknown leaves a 200 alone",
		query:   "cr=unknown",
		status:  200,
		headers: map[string]string{"Content-Range": "", "Content-Length": sizeStr},
		body:    full,
		log:     &wantLog{start: 0, sent: aSize, etag: "{etag}", fault: "cr=unknown", notFault: "instead"},
	},
	{name: "cr=star: 400", query: "cr=star", status: 400},
	{
		name:    "length=none: a chunked 200",
		query:   "length=none",
		status:  200,
		headers: map[string]string{"Content-Length": "", "ETag": "{etag}", "Accept-Ranges": "bytes"},
		body:    full,
		check:   chunked,
		log:     &wantLog{start: 0, sent: aSize, etag: "{etag}", fault: "Content-Length 65536 removed"},
	},
	{
		name:    "length=none: a small 206 is chunked too",
		query:   "length=none",
		hdr:     map[string]string{"Range": "bytes=10-19"},
		status:  206,
		headers: map[string]string{"Content-Length": "", "Content-Range": "bytes 10-19/{size}"},
		body:    part(10, 20),
		check:   chunked,
		log:     &wantLog{start: 10, sent: 10, contentRange: "bytes 10-19/{size}", etag: "{etag}", fault: "Content-Length 10 removed"},
	},
	{
		name:    "ranges=none&length=none: a 200 of unknown length",
		query:   "ranges=none&length=none",
		hdr:     map[string]string{"Range": "bytes=10-19"},
		status:  200,
		headers: map[string]string{"Content-Length": "", "Content-Range": "", "Accept-Ranges": "none"},
		body:    full,
		check:   chunked,
		log:     &wantLog{start: 0, sent: aSize, etag: "{etag}", fault: "Content-Length 65536 removed"},
	},
	{
		name:    "length=none on HEAD",
		method:  http.MethodHead,
		query:   "length=none",
		status:  200,
		headers: map[string]string{"Content-Length": "", "ETag": "{etag}"},
		body:    empty,
		log:     &wantLog{start: -1, sent: 0, etag: "{etag}", fault: "Content-Length 65536 removed"},
	},
	{name: "length=short: 400", query: "length=short", status: 400},
	{
		name:    "type=: a 200 with another Content-Type",
		query:   "type=text%2Fhtml%3B%20charset%3Dutf-8",
		status:  200,
		headers: map[string]string{"Content-Type": "text/html; charset=utf-8", "Content-Length": sizeStr},
		body:    full,
		log: &wantLog{start: 0, sent: aSize, etag: "{etag}",
			fault: `Content-Type "text/html; charset=utf-8" instead of "application/octet-stream"`},
	},
	{
		name:    "type=: a 206 too",
		query:   "type=text/html",
		hdr:     map[string]string{"Range": "bytes=10-19"},
		status:  206,
		headers: map[string]string{"Content-Type": "text/html", "Content-Range": "bytes 10-19/{size}"},
		body:    part(10, 20),
	},
	{
		name:    "type=: a 416 keeps its own",
		query:   "type=text/html",
		hdr:     map[string]string{"Range": "bytes=70000-"},
		status:  416,
		headers: map[string]string{"Content-Type": "text/plain; charset=utf-8"},
		log:     &wantLog{start: -1, sent: -1, contentRange: "bytes */{size}", fault: "type=text/html", notFault: "instead"},
	},
	{name: "type= empty: 400", query: "type=", status: 400},
	{name: "type= blank: 400", query: "type=%20", status: 400},
	{name: "type= with a line break: 400", query: "type=text/html%0d%0aX-Evil:%201", status: 400},
	{name: "stall=-1: 400", query: "stall=-1", status: 400},
	{name: "stall with cut: 400", query: "stall=10&cut=20", status: 400},
	{name: "redirect=elsewhere: 400", query: "redirect=elsewhere", status: 400},
	{name: "redirect=file: outside: 400", query: "redirect=file:../secret.txt", status: 400},
	{name: "redirect=file: empty name: 400", query: "redirect=file:", status: 400},
	{name: "redirect with status: 400", query: "redirect=same&status=503", status: 400},
	{
		name:   "redirected=1 is a cache buster, not a fault",
		query:  "redirected=1",
		status: 200,
		body:   full,
		log:    &wantLog{start: 0, sent: aSize, etag: "{etag}"},
	},
	{
		name:   "POST: 405",
		method: http.MethodPost,
		status: 405,
	},
}

func TestFiles(t *testing.T) {
	t.Parallel()
	for _, tc := range fileCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			if tc.aged {
				e.age(t, "a.bin", time.Hour)
			}
			etag, lm := e.validators(t, "a.bin")
			expand := strings.NewReplacer("{etag}", etag, "{lm}", lm, "{size}", sizeStr).Replace
			hdr := map[string]string{}
			for k, v := range tc.hdr {
				hdr[k] = expand(v)
			}
			target := "/files/a.bin"
			if tc.query != "" {
				target += "?" + tc.query
			}
			method := tc.method
			if method == "" {
				method = http.MethodGet
			}
			resp, body, readErr := e.do(t, method, target, hdr)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d (body %.200q)", resp.StatusCode, tc.status, body)
			}
			want := map[string]string{}
			for k, v := range tc.headers {
				want[k] = expand(v)
			}
			checkHeaders(t, resp.Header, want)
			if tc.cutBody != (readErr != nil) {
				t.Errorf("reading body: error %v, want an error: %v", readErr, tc.cutBody)
			}
			if tc.body != nil {
				if w := tc.body(e.file(t, "a.bin")); !bytes.Equal(body, w) {
					t.Errorf("body: %d bytes, want %d bytes of the file", len(body), len(w))
				}
			}
			if tc.check != nil {
				tc.check(t, resp)
			}
			if tc.log != nil {
				checkEntry(t, e.entries(t, 1)[0], method, target, hdr, tc.status, int64(len(body)), tc.log, expand)
			}
		})
	}
}

// checkEntry compares a log entry with what the request was and got.
// A wantLog.sent of -1 means "the body length the client received".
func checkEntry(t *testing.T, got LogEntry, method, target string, hdr map[string]string, status int, received int64, w *wantLog, expand func(string) string) {
	t.Helper()
	path, query, _ := strings.Cut(target, "?")
	sent := w.sent
	if sent < 0 {
		sent = received
	}
	if got.Method != method || got.Path != path || got.Query != query {
		t.Errorf("log request %s %s ? %s, want %s %s ? %s", got.Method, got.Path, got.Query, method, path, query)
	}
	if got.Range != hdr["Range"] || got.IfRange != hdr["If-Range"] || got.IfMatch != hdr["If-Match"] {
		t.Errorf("log request headers Range %q If-Range %q If-Match %q, want %q %q %q",
			got.Range, got.IfRange, got.IfMatch, hdr["Range"], hdr["If-Range"], hdr["If-Match"])
	}
	if got.Status != status || got.Start != w.start || got.Sent != sent || got.Cut != w.cut || got.ClientGone {
		t.Errorf("log status %d start %d sent %d cut %v clientGone %v, want %d %d %d %v false",
			got.Status, got.Start, got.Sent, got.Cut, got.ClientGone, status, w.start, sent, w.cut)
	}
	if cr := expand(w.contentRange); got.ContentRange != cr {
		t.Errorf("log Content-Range %q, want %q", got.ContentRange, cr)
	}
	if et := expand(w.etag); got.ETag != et {
		t.Errorf("log ETag %q, want %q", got.ETag, et)
	}
	if (w.fault == "") != (got.Fault == "") || !strings.Contains(got.Fault, w.fault) {
		t.Errorf("log Fault %q, want it to contain %q", got.Fault, w.fault)
	}
	if w.notFault != "" && strings.Contains(got.Fault, w.notFault) {
		t.Errorf("log Fault %q, want no %q", got.Fault, w.notFault)
	}
	if got.Time.IsZero() {
		t.Errorf("log Time is zero")
	}
}

// TestETagFormat pins the nginx-style strong ETag: "<size hex>-<mtime ns hex>".
func TestETagFormat(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	resp, _ := e.get(t, "/files/a.bin", nil)
	if !regexp.MustCompile(`^"10000-[0-9a-f]+"$`).MatchString(resp.Header.Get("ETag")) {
		t.Errorf("ETag %q, want \"10000-<hex>\"", resp.Header.Get("ETag"))
	}
}

func TestFailCounter(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const u = "/files/a.bin?status=500&fail=2"
	for i, want := range []int{500, 500, 200} {
		if resp, _ := e.get(t, u, nil); resp.StatusCode != want {
			t.Fatalf("request %d: status %d, want %d", i+1, resp.StatusCode, want)
		}
	}
	// Another URL (other query) has its own counter.
	if resp, _ := e.get(t, u+"&n=1", nil); resp.StatusCode != 500 {
		t.Errorf("other URL: status %d, want 500", resp.StatusCode)
	}
	log := e.entries(t, 4)
	if log[2].Status != 200 || log[2].Start != 0 || log[2].Sent != aSize || !strings.Contains(log[2].Fault, "no longer applied") {
		t.Errorf("third entry %+v: want a full 200 noting the spent status", log[2])
	}
	e.s.ResetLog()
	if resp, _ := e.get(t, u, nil); resp.StatusCode != 500 {
		t.Errorf("after ResetLog: status %d, want 500 again", resp.StatusCode)
	}
}

// TestExpireFault: expire=K serves the file to the first K requests of
// a URL, then 403 as a signed link that expired; the log says why; a fresh
// link (another query) has its own count.
func TestExpireFault(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const u = "/files/a.bin?expire=2&sig=1"
	for i, want := range []int{200, 206, 403, 403} {
		var h map[string]string
		if i == 1 {
			h = map[string]string{"Range": "bytes=10-19"}
		}
		if resp, _ := e.get(t, u, h); resp.StatusCode != want {
			t.Fatalf("request %d: status %d, want %d", i+1, resp.StatusCode, want)
		}
	}
	if resp, _ := e.get(t, "/files/a.bin?expire=2&sig=2", nil); resp.StatusCode != 200 {
		t.Errorf("a fresh link: status %d, want 200", resp.StatusCode)
	}
	log := e.entries(t, 5)
	if log[2].Status != 403 || !strings.Contains(log[2].Fault, "the link expired after 2") || log[1].Status != 206 {
		t.Errorf("entries %+v, %+v: want a 206, then a 403 noting the expired link", log[1], log[2])
	}
	if _, err := ParseFaults(url.Values{"expire": {"1"}, "status": {"500"}}); err == nil {
		t.Errorf("expire= with status= parsed")
	}
}

func TestChangeFault(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	old := e.file(t, "a.bin")
	oldTag, oldLM := e.validators(t, "a.bin")
	// From a URL, change= is refused: a GET any page can make must not
	// rewrite a file.
	if resp, _ := e.get(t, "/files/a.bin?change=100", nil); resp.StatusCode != 400 {
		t.Fatalf("change= in a URL: status %d, want 400", resp.StatusCode)
	}
	if tag, _ := e.validators(t, "a.bin"); tag != oldTag {
		t.Fatalf("change= in a URL changed the file")
	}
	e.s.ResetLog()
	if err := e.s.Arm("a.bin", 1, url.Values{"change": {"100"}}); err != nil {
		t.Fatal(err)
	}
	resp, body := e.get(t, "/files/a.bin", nil)
	if resp.StatusCode != 200 || !bytes.Equal(body, old) {
		t.Fatalf("status %d, %d bytes: want the whole old file", resp.StatusCode, len(body))
	}
	if resp.Header.Get("ETag") != oldTag {
		t.Errorf("ETag %q, want the old %q", resp.Header.Get("ETag"), oldTag)
	}
	if got := e.entries(t, 1)[0]; !strings.Contains(got.Fault, "file changed after 100 bytes") || got.Sent != aSize {
		t.Errorf("log %+v: want the change noted and the whole body sent", got)
	}
	resp, body = e.get(t, "/files/a.bin", nil)
	newTag, newLM := e.validators(t, "a.bin")
	if resp.Header.Get("ETag") != newTag || newTag == oldTag {
		t.Errorf("next ETag %q (file %q), want a new one, not %q", resp.Header.Get("ETag"), newTag, oldTag)
	}
	if resp.Header.Get("Last-Modified") == oldLM || newLM == oldLM {
		t.Errorf("next Last-Modified %q, want other than %q", resp.Header.Get("Last-Modified"), oldLM)
	}
	if len(body) != len(old) || bytes.Equal(body, old) || !bytes.Equal(body, e.file(t, "a.bin")) {
		t.Errorf("next body: want the new content, same size")
	}
	// A resume with the old validator must now get the whole new body.
	resp, body = e.get(t, "/files/a.bin", map[string]string{"Range": "bytes=100-", "If-Range": oldTag})
	if resp.StatusCode != 200 || !bytes.Equal(body, e.file(t, "a.bin")) {
		t.Errorf("resume with old ETag: status %d, want 200 with the new body", resp.StatusCode)
	}
}

func TestListing(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Sample{Name: "64mib.bin", Size: 1000, Desc: "stand-in"})
	for _, p := range []string{"/files/", "/api/samples"} {
		resp, body := e.get(t, p, nil)
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
			t.Fatalf("%s: status %d, type %q", p, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		var items []listItem
		if err := json.Unmarshal(body, &items); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		want := []listItem{
			{Name: "a.bin", URL: "/files/a.bin", Size: aSize, Desc: "test sample"},
			{Name: "64mib.bin", URL: "/files/64mib.bin", Size: 1000, Desc: "stand-in"},
			{Name: "64mib.bin", URL: "/files/64mib.bin?validators=none", Size: 1000, Desc: "no ETag or Last-Modified: the iOS case, not resumable"},
			{Name: "64mib.bin", URL: "/files/64mib.bin?rate=1048576", Size: 1000, Desc: "throttled to 1 MiB/s: reload while it runs"},
		}
		if len(items) != len(want) {
			t.Fatalf("%s: %d items, want %d: %+v", p, len(items), len(want), items)
		}
		for i := range want {
			if items[i] != want[i] {
				t.Errorf("%s item %d: %+v, want %+v", p, i, items[i], want[i])
			}
		}
	}
}

func TestMissingFile(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	resp, _ := e.get(t, "/files/nope.bin", nil)
	if resp.StatusCode != 404 {
		t.Errorf("status %d, want 404", resp.StatusCode)
	}
	if got := e.entries(t, 1)[0]; got.Status != 404 || got.Start != -1 {
		t.Errorf("log %+v: want status 404, start -1", got)
	}
}
