package protocol

import (
	"encoding/base64"
	"strconv"
)

// StatusError reports a response status that ends or delays a download.
type StatusError struct {
	Status int
}

func (e *StatusError) Error() string {
	return "server answered HTTP " + strconv.Itoa(e.Status)
}

// BadResponseError reports a response that contradicts the request or what is
// stored, so its body must not be appended.
type BadResponseError struct {
	Detail string
}

func (e *BadResponseError) Error() string { return "bad response: " + e.Detail }

func badResponse(detail string) *BadResponseError { return &BadResponseError{Detail: detail} }

// ContentTypeError reports an answer that is an HTML page where a file is
// expected: in answer to a resume of a download of another type, or, for
// any download, where a redirect led from a URL that does not name a page.
// It is most often a login, error or captive-portal page. The stored bytes
// are kept, and nothing of the page is stored.
type ContentTypeError struct {
	// Stored is the Content-Type of the stored download ("" for a download
	// not started), Got the answer's.
	Stored, Got string
	// URL is where the answer came from, after redirects.
	URL string
	// Asked is the URL asked for, when a redirect from it led to the page
	// of a download not started.
	Asked string
}

func (e *ContentTypeError) Error() string {
	var s string
	if e.Asked != "" {
		s = "a request for " + e.Asked + " was redirected to " + e.URL + ", which answered with " + quoteOrNone(e.Got) + " instead of the file"
	} else {
		s = "the server answered with " + quoteOrNone(e.Got) + " instead of " + quoteOrNone(e.Stored)
		if e.URL != "" {
			s += " (from " + e.URL + ")"
		}
	}
	if MediaType(e.Got) == "text/html" {
		s += "; an HTML page in answer to a download is most often a login, error or captive-portal page"
	}
	return s
}

func quoteOrNone(ct string) string {
	if ct == "" {
		return "no Content-Type"
	}
	return strconv.Quote(ct)
}

// DigestError reports a server that states a digest of the file (Field:
// Repr-Digest or Content-Digest) other than the one the app gave: it
// serves another file than the app expects.
type DigestError struct {
	Field     string
	Got, Want Digest
}

func (e *DigestError) Error() string {
	return "the server's " + e.Field + " says the file's " + e.Got.Alg + " is " + base64.StdEncoding.EncodeToString(e.Got.Sum) +
		"; integrity wants " + base64.StdEncoding.EncodeToString(e.Want.Sum)
}

// TooLargeError reports a file longer than the app accepts.
type TooLargeError struct {
	// Size is the file's length, or the bytes a body of unknown length
	// ran to; Max the app's limit.
	Size, Max int64
}

func (e *TooLargeError) Error() string {
	return "the file is " + strconv.FormatInt(e.Size, 10) + " bytes long, more than maxBytes (" + strconv.FormatInt(e.Max, 10) + ")"
}
