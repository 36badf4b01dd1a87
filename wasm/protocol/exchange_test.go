package protocol

import (
	"reflect"
	"strings"
	"testing"
)

func TestNewExchange(t *testing.T) {
	long := `"` + strings.Repeat("é", 200) + `"` // 402 bytes, cut inside no character
	tests := []struct {
		name string
		req  Request
		resp Response
		want Exchange
	}{{
		name: "probe answered 206 with validators",
		req:  ProbeRequest(),
		resp: Response{Status: 206, AcceptRanges: "bytes", ContentRange: "bytes 0-65535/1048576", ContentLength: "65536",
			ContentType: "application/octet-stream", Validators: Validators{ETag: `"v1"`, Date: "Tue, 01 Dec 2026 10:00:00 GMT"},
			URL: "http://x/f"},
		want: Exchange{
			Request: []Field{{"Range", "bytes=0-65535"}},
			Status:  206,
			Response: []Field{{"Accept-Ranges", "bytes"}, {"Content-Range", "bytes 0-65535/1048576"}, {"Content-Length", "65536"},
				{"Content-Type", "application/octet-stream"}, {"ETag", `"v1"`}, {"Date", "Tue, 01 Dec 2026 10:00:00 GMT"}},
			Missing: []string{"Content-Encoding", "Last-Modified", "Repr-Digest", "Content-Digest"},
			URL:     "http://x/f",
		},
	}, {
		name: "resume with If-Range answered 200, cross-origin",
		req:  Request{Start: 100, End: UnknownSize, IfRange: `"v1"`},
		resp: Response{Status: 200, ContentLength: "9", CrossOrigin: true},
		want: Exchange{
			Request:     []Field{{"Range", "bytes=100-"}, {"If-Range", `"v1"`}},
			Status:      200,
			Response:    []Field{{"Content-Length", "9"}},
			Missing:     []string{"Accept-Ranges", "Content-Range", "Content-Encoding", "Content-Type", "ETag", "Last-Modified", "Date", "Repr-Digest", "Content-Digest"},
			CrossOrigin: true,
		},
	}, {
		name: "whole request, overlong ETag cut",
		req:  Request{Whole: true},
		resp: Response{Status: 200, Validators: Validators{ETag: long}},
		want: Exchange{
			Status:   200,
			Response: []Field{{"ETag", long[:255] + "… (402 bytes)"}},
			Missing:  []string{"Accept-Ranges", "Content-Range", "Content-Length", "Content-Encoding", "Content-Type", "Last-Modified", "Date", "Repr-Digest", "Content-Digest"},
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := NewExchange(tt.req, tt.resp)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("NewExchange:\n got %+v\nwant %+v", got, tt.want)
			}
			if got.Empty() {
				t.Error("Empty() of an exchange with a status")
			}
			for _, f := range got.Response {
				if got.Get(f.Name) != f.Value {
					t.Errorf("Get(%q) = %q, want %q", f.Name, got.Get(f.Name), f.Value)
				}
				if len(f.Value) > MaxShownValue+32 {
					t.Errorf("%s kept %d bytes", f.Name, len(f.Value))
				}
			}
			if len(got.Response)+len(got.Missing) != len(ExchangeHeaders) {
				t.Errorf("%d shown + %d missing, want %d headers", len(got.Response), len(got.Missing), len(ExchangeHeaders))
			}
		})
	}
	if !(Exchange{}).Empty() {
		t.Error("zero Exchange is not Empty")
	}
}
