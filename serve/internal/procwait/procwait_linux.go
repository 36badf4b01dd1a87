//go:build linux

package procwait

import (
	"context"
	"fmt"
	"os"
	"syscall"
	"time"
)

func until(ctx context.Context, dir string, start func() error, cond func() (bool, error)) error {
	fd, err := syscall.InotifyInit1(syscall.IN_CLOEXEC | syscall.IN_NONBLOCK)
	if err != nil {
		return fmt.Errorf("inotify: %w", err)
	}
	// Non-blocking, the file is pollable: reads honour deadlines.
	f := os.NewFile(uintptr(fd), "inotify")
	defer f.Close()
	const events = syscall.IN_CREATE | syscall.IN_CLOSE_WRITE | syscall.IN_MOVED_TO | syscall.IN_MODIFY
	if _, err := syscall.InotifyAddWatch(fd, dir, events); err != nil {
		return fmt.Errorf("watch %s: %w", dir, err)
	}
	// The watch is set before start: nothing it does can be missed.
	if start != nil {
		if err := start(); err != nil {
			return err
		}
	}
	stop := context.AfterFunc(ctx, func() { f.SetReadDeadline(time.Now()) })
	defer stop()
	buf := make([]byte, 64<<10)
	for {
		ok, err := cond()
		if err != nil || ok {
			return err
		}
		if _, err := f.Read(buf); err != nil {
			if ctx.Err() != nil {
				return context.Cause(ctx)
			}
			return fmt.Errorf("watch %s: %w", dir, err)
		}
	}
}
