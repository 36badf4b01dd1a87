//go:build !js && !wasip1

package drive

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"
)

// startXvfb starts a virtual X display for WebKitGTK, which needs one even
// to run unseen. Xvfb picks a free display number itself and writes it to
// the pipe of -displayfd once it accepts clients: no guessing, no race.
func startXvfb(ctx context.Context, log func(string, ...any)) (*process, string, error) {
	path, err := exec.LookPath("Xvfb")
	if err != nil {
		return nil, "", fmt.Errorf("drive: no Xvfb: install Debian's xvfb (make deps): %w", err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, "", err
	}
	defer r.Close()
	cmd := exec.Command(path, "-displayfd", "3", "-screen", "0", "1280x1024x24", "-nolisten", "tcp")
	cmd.ExtraFiles = []*os.File{w}
	cmd.Stdout, cmd.Stderr = logWriter{log, "Xvfb"}, logWriter{log, "Xvfb"}
	setGroup(cmd)
	if err := cmd.Start(); err != nil {
		w.Close()
		return nil, "", fmt.Errorf("drive: start Xvfb: %w", err)
	}
	w.Close()
	p := &process{cmd: cmd, exited: make(chan struct{})}
	go func() {
		cmd.Wait()
		close(p.exited)
	}()
	got := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(r).ReadString('\n')
		got <- strings.TrimSpace(line)
	}()
	select {
	case n := <-got:
		if n == "" {
			p.stop()
			return nil, "", fmt.Errorf("drive: Xvfb gave no display")
		}
		return p, ":" + n, nil
	case <-ctx.Done():
		p.stop()
		return nil, "", ctx.Err()
	case <-time.After(30 * time.Second):
		p.stop()
		return nil, "", fmt.Errorf("drive: Xvfb did not start in 30 s")
	}
}
