package protocol

import (
	"strconv"
	"unicode/utf8"
)

// Field is one header line: its name as RFC 9110 spells it, and its value
// as sent (cut to MaxShownValue bytes for showing).
type Field struct {
	Name, Value string
}

// Exchange is one request and its answer, reduced to what decides whether a
// download can resume: the Range and If-Range that were sent, the status,
// and the response headers Decide reads. It is the proof a person is shown
// next to a verdict (the demo's details panel; the doctor's report), so it
// holds the lines as they were, not what was concluded from them.
type Exchange struct {
	// Request holds the Range and If-Range fields sent, in that order;
	// empty for a request without Range.
	Request []Field
	// Status is the response's status code; 0 in an Exchange that holds
	// nothing.
	Status int
	// Response holds the deciding headers present in the answer, in the
	// order of ExchangeHeaders.
	Response []Field
	// Missing names the headers of ExchangeHeaders the answer did not
	// carry (or, cross-origin, did not let the page read).
	Missing []string
	// URL is where the answer came from, after redirects ("" if unknown).
	URL string
	// CrossOrigin is true for a CORS answer: a missing header may be one
	// the server did not expose (Access-Control-Expose-Headers).
	CrossOrigin bool
}

// ExchangeHeaders are the response headers an Exchange keeps, in the order
// it shows them: whether ranges work (Accept-Ranges, RFC 9110 §14.3), which
// bytes came (Content-Range §14.4, Content-Length §8.6, Content-Encoding
// §8.4), what they are (Content-Type §8.3), which version (ETag §8.8.3,
// Last-Modified §8.8.2 with the Date §6.6.1 that makes it strong or weak),
// and what the whole must hash to (Repr-Digest, Content-Digest: RFC 9530).
var ExchangeHeaders = []string{
	"Accept-Ranges", "Content-Range", "Content-Length", "Content-Encoding", "Content-Type",
	"ETag", "Last-Modified", "Date", "Repr-Digest", "Content-Digest",
}

// MaxShownValue is the longest header value an Exchange keeps whole. A
// longer one (an 8 KiB ETag from a broken server) is cut, and says how long
// it was, so the proof stays small enough to store with every download.
const MaxShownValue = 256

// Empty reports whether x holds no exchange.
func (x Exchange) Empty() bool { return x.Status == 0 }

// Get returns the value of the response header name, "" if absent.
func (x Exchange) Get(name string) string {
	for _, f := range x.Response {
		if f.Name == name {
			return f.Value
		}
	}
	return ""
}

// NewExchange returns the Exchange of req and the answer resp: the lines that
// decided what Decide concluded from them.
func NewExchange(req Request, resp Response) Exchange {
	x := Exchange{Status: resp.Status, URL: shown(resp.URL), CrossOrigin: resp.CrossOrigin}
	if r := req.RangeHeader(); r != "" {
		x.Request = append(x.Request, Field{"Range", r})
	}
	if req.IfRange != "" {
		x.Request = append(x.Request, Field{"If-Range", shown(req.IfRange)})
	}
	values := []string{
		resp.AcceptRanges, resp.ContentRange, resp.ContentLength, resp.ContentEncoding, resp.ContentType,
		resp.Validators.ETag, resp.Validators.LastModified, resp.Validators.Date, resp.ReprDigest, resp.ContentDigest,
	}
	for i, name := range ExchangeHeaders {
		if values[i] == "" {
			x.Missing = append(x.Missing, name)
			continue
		}
		x.Response = append(x.Response, Field{name, shown(values[i])})
	}
	return x
}

// shown cuts v to MaxShownValue bytes, at a character boundary, and notes
// its real length.
func shown(v string) string {
	if len(v) <= MaxShownValue {
		return v
	}
	cut := MaxShownValue
	for cut > 0 && !utf8.RuneStart(v[cut]) {
		cut--
	}
	return v[:cut] + "… (" + strconv.Itoa(len(v)) + " bytes)"
}
