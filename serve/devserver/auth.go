package devserver

import (
	"crypto/subtle"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// authHidden stands for the token of auth= in LogEntry.Query and
// LogEntry.Fault, in errors and in the answer of /_control/arm: the token
// is the secret a client sends in Authorization, and the log must not hold
// it (the request log shows only whether an Authorization header came).
const authHidden = "(hidden)"

// hideAuth returns the raw query q with the value of every auth= pair
// replaced by authHidden. A key counts once unescaped, as url.ParseQuery
// reads it (%61uth is auth too), and ";" separates pairs here as well as
// "&": ParseQuery drops a pair with a ";", but a token there is still a
// token the client meant to send.
func hideAuth(q string) string {
	if !strings.Contains(q, "auth") && !strings.Contains(q, "%") {
		return q // the common case: nothing to hide, nothing to copy
	}
	var b strings.Builder
	for q != "" {
		part, sep := q, ""
		if i := strings.IndexAny(q, "&;"); i >= 0 {
			part, sep, q = q[:i], q[i:i+1], q[i+1:]
		} else {
			q = ""
		}
		if k, _, ok := strings.Cut(part, "="); ok && isAuthKey(k) {
			part = k + "=" + authHidden
		}
		b.WriteString(part)
		b.WriteString(sep)
	}
	return b.String()
}

// isAuthKey reports whether the raw query key k means auth.
func isAuthKey(k string) bool {
	if k == "auth" {
		return true
	}
	if !strings.Contains(k, "%") {
		return false
	}
	u, err := url.QueryUnescape(k)
	return err == nil && u == "auth"
}

// checkToken checks the syntax of an auth= token: an RFC 6750 §2.1
// b64token, the only thing that can follow "Bearer " in an Authorization
// header, so that a fault that no request could ever satisfy is a 400.
func checkToken(v string) error {
	body := strings.TrimRight(v, "=")
	if body == "" {
		return fmt.Errorf("want a Bearer token (letters, digits, - . _ ~ + /, then = padding)")
	}
	for _, c := range body {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("-._~+/", c)
		if !ok {
			return fmt.Errorf("%q is not a Bearer token character (RFC 6750 §2.1)", c)
		}
	}
	return nil
}

// bearer returns the token of an Authorization header of the Bearer scheme
// (RFC 6750 §2.1), "" when there is none. The scheme name is
// case-insensitive (RFC 9110 §11.1).
func bearer(h http.Header) string {
	scheme, token, ok := strings.Cut(strings.TrimSpace(h.Get("Authorization")), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}

// authorize reports whether auth= refuses a request with header h, and
// then the challenge its 401 carries in WWW-Authenticate (RFC 6750 §3) and
// a note for the log. The challenge names the error only when a token came
// and was wrong (§3.1: a request without credentials gets no error code).
func (f *faults) authorize(h http.Header) (challenge, note string, refused bool) {
	if f.auth == "" {
		return "", "", false
	}
	got := bearer(h)
	if got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(f.auth)) == 1 {
		return "", "", false
	}
	switch {
	case got != "":
		return `Bearer error="invalid_token"`, "401: wrong Bearer token", true
	case h.Get("Authorization") != "":
		return "Bearer", "401: an Authorization without a Bearer token", true
	}
	return "Bearer", "401: no Authorization", true
}
