//go:build !linux

package procwait

import (
	"context"
	"errors"
	"fmt"
)

func until(context.Context, string, func() error, func() (bool, error)) error {
	return fmt.Errorf("procwait needs inotify (Linux): %w", errors.ErrUnsupported)
}
