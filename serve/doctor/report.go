//go:build !js

package doctor

import (
	"fmt"
	"io"
	"strings"

	"github.com/go-resumer/resumer/wasm/protocol"
)

// Exit statuses of the check command.
const (
	ExitResumable    = 0
	ExitNotResumable = 1
	ExitNotChecked   = 2
)

// Exit returns the check command's exit status for r: 0 when a browser
// download resumes (from the origin asked about, with Options.Origin), 1
// when it does not, 2 when it could not be checked.
func (r Result) Exit() int {
	switch r.Browser {
	case protocol.Resumable:
		return ExitResumable
	case protocol.NotChecked:
		return ExitNotChecked
	}
	return ExitNotResumable
}

// WriteText writes r for people: each finding with its verdict, the lines
// that prove it and the fixes, then the verdict for browsers and, on a line
// of its own, the one for iOS URLSession.
func (r Result) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "resumer check %s\n", r.URL)
	if len(r.Redirects) > 0 {
		fmt.Fprintf(&b, "  redirected: %s\n", strings.Join(append([]string{r.URL}, r.Redirects...), " → "))
	}
	b.WriteString("\n")
	for _, f := range r.Findings {
		fmt.Fprintf(&b, "%-8s %-15s %s\n", f.Verdict, f.ID, f.Text)
		for _, p := range f.Proof {
			fmt.Fprintf(&b, "%26s%s\n", "", p)
		}
		// The fixes for the server that answered (and for any server);
		// the others by name, a --server away. Without a known server,
		// all of them.
		var others []string
		for _, x := range f.Fix {
			if r.Server == "" || x.Server == r.Server || x.Server == protocol.ServerAny {
				fmt.Fprintf(&b, "%26sfix (%s): %s\n", "", x.Server, x.Text)
			} else {
				others = append(others, x.Server)
			}
		}
		if len(others) > 0 {
			fmt.Fprintf(&b, "%26s(fixes for %s too: --server NAME)\n", "", strings.Join(others, ", "))
		}
	}
	fmt.Fprintf(&b, "\nbrowsers: %s: %s\n", r.Browser, r.BrowserText)
	fmt.Fprintf(&b, "iOS URLSession resume data: %s\n", r.IOSText)
	_, err := io.WriteString(w, b.String())
	return err
}
