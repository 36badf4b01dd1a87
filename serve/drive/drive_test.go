//go:build !js && !wasip1

package drive

import (
	"encoding/json"
	"errors"
	"testing"
)

func TestParseEngines(t *testing.T) {
	for in, want := range map[string]int{"": 3, "all": 3, "chromium": 1, "firefox, webkit": 2} {
		got, err := ParseEngines(in)
		if err != nil || len(got) != want {
			t.Errorf("ParseEngines(%q) = %v, %v; want %d engines", in, got, err, want)
		}
	}
	if _, err := ParseEngines("chromium,safari"); err == nil {
		t.Error("ParseEngines accepted safari")
	}
}

// TestAsyncResult: what asyncScript sends back decodes to the value's
// JSON, "null" for undefined, or a ScriptError with the page's message.
func TestAsyncResult(t *testing.T) {
	for _, tc := range []struct {
		raw, want string
		err       bool
	}{
		{`{"ok":true,"v":"{\"a\":1}"}`, `{"a":1}`, false},
		{`{"ok":true,"v":"null"}`, `null`, false},
		{`{"ok":true}`, `null`, false},
		{`{"ok":false,"e":"TypeError: x is undefined"}`, "", true},
		{`"not an object"`, "", true},
	} {
		got, err := asyncResult(json.RawMessage(tc.raw))
		if (err != nil) != tc.err || string(got) != tc.want {
			t.Errorf("asyncResult(%s) = %s, %v", tc.raw, got, err)
		}
	}
	_, err := asyncResult(json.RawMessage(`{"ok":false,"e":"boom"}`))
	var se *ScriptError
	if !errors.As(err, &se) || se.Message != "boom" {
		t.Errorf("error %v, want a ScriptError saying boom", err)
	}
}
