package procwait

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestUntil(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.pid")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// Written by start, after the watch is set: seen.
	err := Until(ctx, dir, func() error {
		go func() {
			os.WriteFile(path+".tmp", []byte("42\n"), 0o644)
			os.Rename(path+".tmp", path)
		}()
		return nil
	}, NonEmpty(path))
	if err != nil {
		t.Fatal(err)
	}
	// Never written: the deadline ends the wait, with its cause.
	short, cancel2 := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel2()
	if err := Until(short, dir, nil, NonEmpty(filepath.Join(dir, "never"))); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("wait for a file never written: %v", err)
	}
	// An error of cond ends the wait.
	boom := errors.New("boom")
	if err := Until(ctx, dir, nil, func() (bool, error) { return false, boom }); !errors.Is(err, boom) {
		t.Fatalf("cond's error: %v", err)
	}
}
