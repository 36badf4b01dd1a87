//go:build js && wasm

package jsutil

import (
	"github.com/hack-pad/safejs"

	"github.com/go-resumer/resumer/wasm/protocol"
)

// ExchangeValue converts x into the structured-clonable object that both
// IndexedDB and the JS API hold: {status, url, crossOrigin, request,
// response, missing}, with request and response as [{name, value}]; null
// for an empty Exchange. ExchangeOf reads it back.
func ExchangeValue(x protocol.Exchange) any {
	if x.Empty() {
		return nil
	}
	fields := func(fs []protocol.Field) []any {
		out := make([]any, len(fs))
		for i, f := range fs {
			out[i] = map[string]any{"name": f.Name, "value": f.Value}
		}
		return out
	}
	missing := make([]any, len(x.Missing))
	for i, m := range x.Missing {
		missing[i] = m
	}
	return map[string]any{
		"status": x.Status, "url": x.URL, "crossOrigin": x.CrossOrigin,
		"request": fields(x.Request), "response": fields(x.Response), "missing": missing,
	}
}

// ExchangeOf reads what ExchangeValue wrote, defensively: anything missing
// or mistyped reads as zero (a stored proof is shown, never trusted), and
// an empty list reads as nil.
func ExchangeOf(v safejs.Value) protocol.Exchange {
	if v.Type() != safejs.TypeObject {
		return protocol.Exchange{}
	}
	x := protocol.Exchange{
		Status: int(GetNumber(v, "status")), URL: GetString(v, "url"), CrossOrigin: GetBool(v, "crossOrigin"),
	}
	each(v, "request", func(e safejs.Value) {
		x.Request = append(x.Request, protocol.Field{Name: GetString(e, "name"), Value: GetString(e, "value")})
	})
	each(v, "response", func(e safejs.Value) {
		x.Response = append(x.Response, protocol.Field{Name: GetString(e, "name"), Value: GetString(e, "value")})
	})
	each(v, "missing", func(e safejs.Value) {
		if e.Type() == safejs.TypeString {
			s, _ := e.String()
			x.Missing = append(x.Missing, s)
		}
	})
	return x
}

// each calls fn for each element of the array v[k], if it is one.
func each(v safejs.Value, k string, fn func(safejs.Value)) {
	a, err := v.Get(k)
	if err != nil || a.Type() != safejs.TypeObject {
		return
	}
	n, err := a.Length()
	if err != nil {
		return
	}
	for i := 0; i < n; i++ {
		if e, err := a.Index(i); err == nil {
			fn(e)
		}
	}
}

// GetString returns v[k] if it is a string, else "".
func GetString(v safejs.Value, k string) string {
	f, err := v.Get(k)
	if err != nil || f.Type() != safejs.TypeString {
		return ""
	}
	s, _ := f.String()
	return s
}

// GetNumber returns v[k] if it is a number, else 0.
func GetNumber(v safejs.Value, k string) float64 {
	f, err := v.Get(k)
	if err != nil || f.Type() != safejs.TypeNumber {
		return 0
	}
	n, _ := f.Float()
	return n
}

// GetBool returns v[k] if it is a boolean, else false.
func GetBool(v safejs.Value, k string) bool {
	f, err := v.Get(k)
	if err != nil || f.Type() != safejs.TypeBoolean {
		return false
	}
	b, _ := f.Bool()
	return b
}
