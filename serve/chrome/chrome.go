//go:build !js && !wasip1

// Package chrome starts the headless Chromium the browser tests and the
// benchmarks run in, with the flags this project needs on a machine without
// outside network, and gives a couple of helpers to evaluate JavaScript.
package chrome

import (
	"context"
	"errors"
	"os"
	"os/exec"

	"github.com/chromedp/chromedp"
)

// ExecPath returns the Chromium to run: $CHROME if set, else Debian's
// chromium, else whatever chromedp finds.
func ExecPath() (string, error) {
	if p := os.Getenv("CHROME"); p != "" {
		return p, nil
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("no Chromium found: install Debian's chromium (make deps) or set CHROME")
}

// Start launches a headless Chromium with a fresh profile in userDataDir and
// returns a context for chromedp actions in its first tab. extra adds flags.
func Start(parent context.Context, userDataDir string, extra ...chromedp.ExecAllocatorOption) (context.Context, context.CancelFunc, error) {
	path, err := ExecPath()
	if err != nil {
		return nil, nil, err
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.UserDataDir(userDataDir),
		// Without these, Chromium keeps trying to reach the outside, which
		// this machine refuses.
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
	)
	opts = append(opts, extra...)
	actx, cancelAlloc := chromedp.NewExecAllocator(parent, opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	if err := chromedp.Do(ctx); err != nil {
		cancelCtx()
		cancelAlloc()
		return nil, nil, err
	}
	return ctx, func() { cancelCtx(); cancelAlloc() }, nil
}

// Eval evaluates a JavaScript expression in the page, awaiting it if it is
// a Promise, and decodes its JSON value.
func Eval[T any](ctx context.Context, expr string) (T, error) {
	return chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
}
