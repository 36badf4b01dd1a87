package protocol

import (
	"testing"
	"time"
)

func TestLinkExpiry(t *testing.T) {
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, c := range []struct {
		name, url string
		want      time.Time // zero: none
	}{
		{"S3 presigned (SigV4)", "https://b.s3.amazonaws.com/m.onnx?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AK%2F20261207%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20261207T101500Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host&X-Amz-Signature=ab12", at("2026-12-07T11:15:00Z")},
		{"SigV4 names in lower case", "https://cdn/x?x-amz-date=20261207T101500Z&x-amz-expires=60", at("2026-12-07T10:16:00Z")},
		{"GCS V4", "https://storage.googleapis.com/b/o?X-Goog-Algorithm=GOOG4-RSA-SHA256&X-Goog-Date=20261207T101500Z&X-Goog-Expires=900&X-Goog-Signature=ff", at("2026-12-07T10:30:00Z")},
		{"CloudFront canned policy", "https://d111.cloudfront.net/m.bin?Expires=1796637600&Signature=abc~&Key-Pair-Id=K2", time.Unix(1796637600, 0).UTC()},
		{"Azure SAS", "https://a.blob.core.windows.net/c/m.bin?sv=2024-11-04&se=2026-12-07T12%3A00%3A00Z&sr=b&sp=r&sig=xyz%3D", at("2026-12-07T12:00:00Z")},
		{"Azure SAS, a date alone", "https://a.blob.core.windows.net/c/m.bin?se=2026-12-08&sig=xyz", at("2026-12-08T00:00:00Z")},
		{"a fragment is not the query", "https://cdn/m.bin?Expires=1796637600&Signature=s#x=1", time.Unix(1796637600, 0).UTC()},
		{"a query in the fragment is none", "https://cdn/m.bin#?Expires=1796637600&Signature=s", time.Time{}},
		{"Expires without a signature", "https://cdn/m.bin?Expires=1796637600", time.Time{}},
		{"expires that is a lifetime", "https://cdn/m.bin?expires=3600&signature=s", time.Time{}},
		{"Azure SAS without seconds", "https://a.blob.core.windows.net/c/m.bin?se=2026-12-07T10:15Z&sig=x", at("2026-12-07T10:15:00Z")},
		{"Google Cloud CDN", "https://cdn.example/m.bin?Expires=1796637600&KeyName=k&Signature=s", time.Unix(1796637600, 0).UTC()},
		{"no query", "https://cdn/m.bin", time.Time{}},
		{"an unrelated query", "https://cdn/m.bin?v=3&se=2026-12-07", time.Time{}},
		{"SigV4 without its date", "https://cdn/m.bin?X-Amz-Expires=3600", time.Time{}},
		{"a broken date", "https://cdn/m.bin?X-Amz-Date=yesterday&X-Amz-Expires=3600", time.Time{}},
		{"a negative lifetime", "https://cdn/m.bin?X-Amz-Date=20261207T101500Z&X-Amz-Expires=-1", time.Time{}},
		{"Expires that is not a number", "https://cdn/m.bin?Expires=Mon", time.Time{}},
		{"a broken escape stays", "https://cdn/m.bin?se=2026-12-07T12%3A00%3Z&sig=1", time.Time{}},
	} {
		got, ok := LinkExpiry(c.url)
		if ok != !c.want.IsZero() || !got.Equal(c.want) {
			t.Errorf("%s: %v %v, want %v", c.name, got, ok, c.want)
		}
	}
}

func FuzzLinkExpiry(f *testing.F) {
	f.Add("https://b/m?X-Amz-Date=20261207T101500Z&X-Amz-Expires=3600")
	f.Add("https://b/m?Expires=1796637600")
	f.Add("https://b/m?se=2026-12-07T12%3A00%3A00Z&sig=%")
	f.Fuzz(func(t *testing.T, url string) {
		// Never a panic; a time only with ok, and the same each time.
		at, ok := LinkExpiry(url)
		if !ok && !at.IsZero() {
			t.Fatalf("%q: a time without ok", url)
		}
		if again, _ := LinkExpiry(url); !again.Equal(at) {
			t.Fatalf("%q: %v, then %v", url, at, again)
		}
	})
}
