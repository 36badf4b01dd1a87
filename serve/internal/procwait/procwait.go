// Package procwait waits for what another process does to files (a pid
// file written once it listens, a log line per request), by the kernel's
// word (inotify) rather than by looking again and again: tests that start
// real servers wait for the event, with a deadline.
package procwait

import (
	"context"
	"os"
)

// NonEmpty reports whether path exists and holds at least a byte: a pid
// file, once written.
func NonEmpty(path string) func() (bool, error) {
	return func() (bool, error) {
		st, err := os.Stat(path)
		if os.IsNotExist(err) {
			return false, nil
		}
		return err == nil && st.Size() > 0, err
	}
}

// Until runs start (if not nil), then waits until cond holds, checking it
// at once and again at each change in the folder dir (a file created,
// written or moved in), until ctx ends. cond's error ends the wait.
func Until(ctx context.Context, dir string, start func() error, cond func() (bool, error)) error {
	return until(ctx, dir, start, cond)
}
