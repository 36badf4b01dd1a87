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
