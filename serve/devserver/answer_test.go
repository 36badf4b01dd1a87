//go:build !js && !wasip1

package devserver

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// memFile is a file held in memory, as another test package would have
// it, and when it changed: an hour before memNow, so that its
// Last-Modified is a strong validator.
var (
	memNow     = time.Date(2026, 11, 3, 12, 0, 0, 0, time.UTC)
	memContent = bytes.Repeat([]byte("0123456789abcdef"), 64) // 1024 bytes
	memFile    = NewFile("m.bin", memContent, memNow.Add(-time.Hour))
)

// TestPlan: Plan's answer to each kind of request and fault, for a file in
// memory: status, the headers that matter, which bytes make the body and
// how it is shaped, and what the log would say.
func TestPlan(t *testing.T) {
	t.Parallel()
	etag := memFile.ETag
	lm := memFile.ModTime.UTC().Format(http.TimeFormat)
	date := memNow.Format(http.TimeFormat)
	digest := reprDigest(memFile.Digest)
	type want struct {
		status        int
		headers       map[string]string // "" = absent
		text          string            // prefix of Text; "" = Text is nil
		start, length int64             // file bytes; start -1 = none
		junk          int64
		cut, stall    int64
		rate          int64
		ofFile        bool
		fault         string // substring of Fault; "" = empty
	}
	file := func(status int, start, length int64, headers map[string]string) want {
		return want{status: status, headers: headers, start: start, length: length, cut: -1, stall: -1, ofFile: true}
	}
	with := func(w want, f func(*want)) want { f(&w); return w }
	for _, tc := range []struct {
		name   string
		method string
		query  string
		hdr    map[string]string
		want   want
	}{
		{"200", "GET", "", nil, file(200, 0, 1024, map[string]string{
			"ETag": etag, "Last-Modified": lm, "Date": date, "Content-Length": "1024", "Content-Type": "application/octet-stream",
			"Accept-Ranges": "bytes", "Cache-Control": "no-cache", "Repr-Digest": digest, "Access-Control-Allow-Origin": "*",
			"Content-Range": ""})},
		{"HEAD", "HEAD", "", nil, file(200, -1, 0, map[string]string{"Content-Length": "1024", "ETag": etag})},
		{"206", "GET", "", map[string]string{"Range": "bytes=10-19"}, file(206, 10, 10, map[string]string{
			"Content-Range": "bytes 10-19/1024", "Content-Length": "10", "Repr-Digest": digest})},
		{"If-Range by date", "GET", "", map[string]string{"Range": "bytes=10-", "If-Range": lm}, file(206, 10, 1014, nil)},
		{"If-Range stale: 200", "GET", "", map[string]string{"Range": "bytes=10-", "If-Range": `"old"`}, file(200, 0, 1024, nil)},
		{"HEAD ignores Range", "HEAD", "", map[string]string{"Range": "bytes=10-19"}, file(200, -1, 0, map[string]string{"Content-Length": "1024"})},
		{"several ranges: 200", "GET", "", map[string]string{"Range": "bytes=0-1,5-6"}, file(200, 0, 1024, nil)},
		{"416", "GET", "", map[string]string{"Range": "bytes=2000-"}, with(file(416, -1, 0, map[string]string{
			"Content-Range": "bytes */1024", "ETag": "", "Last-Modified": "", "Cache-Control": "", "Repr-Digest": "",
			"Content-Type": "text/plain; charset=utf-8", "X-Content-Type-Options": "nosniff"}), func(w *want) { w.text = "416 Range Not Satisfiable" })},
		{"412", "GET", "", map[string]string{"If-Match": `"old"`}, file(412, -1, 0, map[string]string{
			"Content-Length": "0", "ETag": etag, "Repr-Digest": ""})},
		{"304 by If-None-Match", "GET", "", map[string]string{"If-None-Match": etag}, file(304, -1, 0, map[string]string{
			"ETag": etag, "Last-Modified": "", "Content-Type": "", "Content-Length": "", "Repr-Digest": digest, "Cache-Control": "no-cache"})},
		{"304 without ETag keeps Last-Modified", "GET", "validators=lm", map[string]string{"If-Modified-Since": lm},
			with(file(304, -1, 0, map[string]string{"ETag": "", "Last-Modified": lm}), func(w *want) { w.fault = "validators=lm" })},

		{"validators=none", "GET", "validators=none", nil, with(file(200, 0, 1024, map[string]string{"ETag": "", "Last-Modified": ""}),
			func(w *want) { w.fault = "validators=none" })},
		{"validators=weak", "GET", "validators=weak", map[string]string{"Range": "bytes=0-9", "If-Range": "W/" + etag},
			with(file(200, 0, 1024, map[string]string{"ETag": "W/" + etag, "Last-Modified": ""}), func(w *want) { w.fault = "validators=weak" })},
		{"lm=now: a weak date, If-Range by it fails", "GET", "lm=now", map[string]string{"Range": "bytes=0-9", "If-Range": date},
			with(file(200, 0, 1024, map[string]string{"Last-Modified": date, "Date": date}), func(w *want) { w.fault = "lm=now" })},
		{"etag=", "GET", "etag=%22x%22", map[string]string{"Range": "bytes=0-9", "If-Range": `"x"`},
			with(file(206, 0, 10, map[string]string{"ETag": `"x"`}), func(w *want) { w.fault = `etag="x"` })},
		{"type=", "GET", "type=text/html", nil, with(file(200, 0, 1024, map[string]string{"Content-Type": "text/html"}),
			func(w *want) { w.fault = `Content-Type "text/html" instead of "application/octet-stream"` })},
		{"length=none", "GET", "length=none", map[string]string{"Range": "bytes=0-9"}, with(file(206, 0, 10, map[string]string{"Content-Length": ""}),
			func(w *want) { w.fault = "Content-Length 10 removed" })},
		{"ranges=none", "GET", "ranges=none", map[string]string{"Range": "bytes=0-9"}, with(file(200, 0, 1024, map[string]string{"Accept-Ranges": "none"}),
			func(w *want) { w.fault = "ranges=none" })},
		{"cap=", "GET", "cap=100", map[string]string{"Range": "bytes=10-"}, with(file(206, 10, 100, map[string]string{"Content-Range": "bytes 10-109/1024"}),
			func(w *want) { w.fault = "range capped: served bytes=10-109" })},
		{"ifrange=ignore", "GET", "ifrange=ignore", map[string]string{"Range": "bytes=0-9", "If-Range": `"old"`},
			with(file(206, 0, 10, nil), func(w *want) { w.fault = "ifrange=ignore" })},
		{"cr=shift", "GET", "cr=shift", map[string]string{"Range": "bytes=0-9"}, with(file(206, 0, 10, map[string]string{"Content-Range": "bytes 1-10/1024"}),
			func(w *want) { w.fault = `Content-Range "bytes 1-10/1024" instead of "bytes 0-9/1024"` })},
		{"digest=bad", "GET", "digest=bad", nil, with(file(200, 0, 1024, map[string]string{"Repr-Digest": reprDigest(badDigest(memFile.Digest))}),
			func(w *want) { w.fault = "instead of " + digest })},
		{"overrun=", "GET", "overrun=7", map[string]string{"Range": "bytes=1020-"}, with(file(206, 1020, 4, map[string]string{"Content-Length": ""}),
			func(w *want) { w.junk, w.fault = 7, "overrun=7" })},
		{"overrun= on HEAD: no junk", "HEAD", "overrun=7", nil, with(file(200, -1, 0, map[string]string{"Content-Length": ""}),
			func(w *want) { w.fault = "overrun=7" })},
		{"body faults", "GET", "rate=1000&stall=10", nil, with(file(200, 0, 1024, nil),
			func(w *want) { w.rate, w.stall, w.fault = 1000, 10, "rate=1000, stall=10" })},
		{"cut=", "GET", "cut=10", nil, with(file(200, 0, 1024, nil), func(w *want) { w.cut, w.fault = 10, "cut=10" })},

		{"status=", "GET", "status=503&retry-after=7&cut=3", nil, want{status: 503, start: -1, cut: 3, stall: -1,
			headers: map[string]string{"Retry-After": "7", "Cache-Control": "no-store", "ETag": "", "Access-Control-Allow-Origin": "*"},
			text:    "503 Service Unavailable (status=503", fault: "status=503"}},
		{"status= on HEAD", "HEAD", "status=500", nil, want{status: 500, start: -1, cut: -1, stall: -1,
			headers: map[string]string{"Content-Length": strconv.Itoa(len("500 Internal Server Error (status=500 fault of the resumer dev server)\n"))},
			fault:   "status=500"}},
		{"redirect=: no body fault on the 302", "GET", "redirect=same&stall=0&t=1", nil, want{status: 302, start: -1, cut: -1, stall: -1,
			headers: map[string]string{"Location": "/files/m.bin?stall=0&t=1&redirected=1"}, text: "302 Found: /files/m.bin?stall=0&t=1&redirected=1",
			fault: "302 to /files/m.bin?stall=0&t=1&redirected=1"}},
		{"auth= without the token", "GET", "auth=tok", nil, want{status: 401, start: -1, cut: -1, stall: -1,
			headers: map[string]string{"WWW-Authenticate": "Bearer"}, text: "401 Unauthorized", fault: "401: no Authorization"}},
		{"auth= with a wrong one", "GET", "auth=tok", map[string]string{"Authorization": "Bearer nope"}, want{status: 401, start: -1, cut: -1, stall: -1,
			headers: map[string]string{"WWW-Authenticate": `Bearer error="invalid_token"`}, text: "401", fault: "401: wrong Bearer token"}},
		{"auth= with it", "GET", "auth=tok", map[string]string{"Authorization": "Bearer tok"}, with(file(200, 0, 1024, nil),
			func(w *want) { w.fault = "auth=(hidden)" })},
		{"auth= before status=", "GET", "auth=tok&status=503", nil, want{status: 401, start: -1, cut: -1, stall: -1, text: "401", fault: "401"}},
		{"cors=none", "GET", "cors=none", nil, with(file(200, 0, 1024, map[string]string{"Access-Control-Allow-Origin": "", "Access-Control-Expose-Headers": ""}),
			func(w *want) { w.fault = "cors=none" })},
		{"preflight", "OPTIONS", "cors=noifrange", nil, want{status: 204, start: -1, cut: -1, stall: -1,
			headers: map[string]string{"Access-Control-Allow-Headers": "Range", "Allow": "GET, HEAD, OPTIONS"}, fault: "cors=noifrange"}},
		{"POST", "POST", "cut=1", nil, want{status: 405, start: -1, cut: -1, stall: -1,
			headers: map[string]string{"Allow": "GET, HEAD, OPTIONS"}, text: "method not allowed"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q, err := url.ParseQuery(tc.query)
			if err != nil {
				t.Fatal(err)
			}
			faults, err := ParseFaults(q)
			if err != nil {
				t.Fatal(err)
			}
			before := faults.String()
			r := httptest.NewRequest(tc.method, "/files/m.bin?"+tc.query, nil)
			for k, v := range tc.hdr {
				r.Header.Set(k, v)
			}
			sent := r.Header.Clone()
			a := Plan(r, memFile, faults, memNow)
			w := tc.want
			if a.Status != w.status || a.Start != w.start || a.Length != w.length || a.Junk != w.junk || a.Cut != w.cut ||
				a.Stall != w.stall || a.Rate != w.rate || a.OfFile != w.ofFile || a.Change != -1 {
				t.Errorf("%+v\nwant %+v", a, w)
			}
			if (w.text == "") != (a.Text == nil) || !strings.HasPrefix(string(a.Text), w.text) {
				t.Errorf("Text %q, want %q...", a.Text, w.text)
			}
			if a.Text != nil && a.Header.Get("Content-Length") != "" && a.Header.Get("Content-Length") != strconv.Itoa(len(a.Text)) {
				t.Errorf("Content-Length %s for a text of %d bytes", a.Header.Get("Content-Length"), len(a.Text))
			}
			checkHeaders(t, a.Header, w.headers)
			if (w.fault == "") != (a.Fault == "") || !strings.Contains(a.Fault, w.fault) {
				t.Errorf("Fault %q, want %q in it", a.Fault, w.fault)
			}
			// Pure: the same again, and nothing it was given changed.
			if again := Plan(r, memFile, faults, memNow); !reflect.DeepEqual(a, again) {
				t.Errorf("Plan again: %+v, was %+v", again, a)
			}
			if faults.String() != before || !reflect.DeepEqual(r.Header, sent) {
				t.Errorf("Plan changed its faults (%q, was %q) or the request", faults.String(), before)
			}
		})
	}
}
