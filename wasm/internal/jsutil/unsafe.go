//go:build js && wasm

package jsutil

import (
	"syscall/js"

	"github.com/hack-pad/safejs"
)

// Value returns the JS value of b for code that talks syscall/js.
func (b Blob) Value() js.Value { return safejs.Unsafe(b.V) }
