package protocol

import "strconv"

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

// ContentTypeError reports a 200 in answer to a resume whose Content-Type
// is not the one the stored bytes came with: most often an HTML page (a
// login, an error, a captive portal) that a redirect led to. The stored
// bytes are kept.
type ContentTypeError struct {
	// Stored is the Content-Type of the stored download, Got the answer's.
	Stored, Got string
	// URL is where the answer came from, after redirects.
	URL string
}

func (e *ContentTypeError) Error() string {
	s := "the server answered with " + quoteOrNone(e.Got) + " instead of " + quoteOrNone(e.Stored)
	if e.URL != "" {
		s += " (from " + e.URL + ")"
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
