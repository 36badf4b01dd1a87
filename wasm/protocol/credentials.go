package protocol

import (
	"sort"
	"strings"
)

// Private files. A download made with request headers of the app's
// (Authorization, an API key) or with fetch()'s credentials mode "include"
// (cookies sent to another origin) may be a file only that user may read:
// a server that checks them answers another user otherwise. Its stored
// bytes are answered only to a request that brings the same credentials,
// and never where no credentials can be seen (a Service Worker, a cache
// lookup). The rule that says which requests carry credentials, and what of
// them identifies the caller, is here; the keyed hash that stores that
// identity without the credentials in clear is the engine's.

// credentialFree lists request headers that carry no credentials: sending
// them does not make a file private. They are the CORS-safelisted request
// headers that describe what the client accepts (Fetch standard, "CORS-
// safelisted request-header"), and headers libraries set on every request
// (User-Agent, the cache directives; RFC 9110 §10.1.5, RFC 9111 §5.2).
// Content-Type is not among them: a GET carries no content, and a server
// may read anything it is sent.
var credentialFree = map[string]bool{
	"accept":           true,
	"accept-language":  true,
	"content-language": true,
	"user-agent":       true,
	"cache-control":    true,
	"pragma":           true,
}

// CredentialsInclude is the fetch() credentials mode that sends cookies and
// HTTP authentication to any origin.
const CredentialsInclude = "include"

// Credentials returns what identifies the caller of a request sent with
// header and the fetch() credentials mode, in one canonical text, or ""
// when the request carries no credentials of its own: no header but those
// in credentialFree, and a mode other than "include". Header names compare
// case-insensitively (RFC 9110 §5.1) and their order does not matter; each
// value is taken as sent.
//
// The mode "same-origin" (fetch()'s default) is not counted: it sends
// cookies only to the page's own origin, where the app is in charge of
// storage too (clear() on logout).
func Credentials(header map[string]string, mode string) string {
	values := map[string][]string{}
	for k, v := range header {
		n := strings.ToLower(strings.TrimSpace(k))
		if n == "" || credentialFree[n] {
			continue
		}
		// Two spellings of one name are one header with both values,
		// as fetch() would send them (Headers.append), in a fixed order.
		values[n] = append(values[n], v)
	}
	include := strings.EqualFold(strings.TrimSpace(mode), CredentialsInclude)
	if len(values) == 0 && !include {
		return ""
	}
	names := make([]string, 0, len(values))
	for n, vs := range values {
		names = append(names, n)
		sort.Strings(vs)
	}
	sort.Strings(names)
	// The mode's line and the headers' lines begin differently ("m ",
	// "h "): no header can read as the mode.
	var b strings.Builder
	if include {
		b.WriteString("m include\n")
	}
	// A newline cannot be in a field name or value (RFC 9110 §5.1, §5.5);
	// escaped, it cannot make two different sets of headers read the same.
	esc := strings.NewReplacer("\\", "\\\\", "\n", "\\n", "\r", "\\r", ":", "\\:")
	for _, n := range names {
		b.WriteString("h ")
		b.WriteString(esc.Replace(n))
		b.WriteString(": ")
		b.WriteString(esc.Replace(strings.Join(values[n], ", ")))
		b.WriteString("\n")
	}
	return b.String()
}
