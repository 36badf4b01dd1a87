//go:build !js && !wasip1

package drive

import (
	"context"
	"encoding/json"

	"github.com/chromedp/cdproto/storage"
	cdptarget "github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"

	"github.com/go-resumer/resumer/serve/chrome"
)

// chromium is Debian's Chromium, headless, driven through the DevTools
// protocol by chromedp (serve/chrome starts it with this project's flags).
type chromium struct {
	ctx  context.Context // the browser's first tab, never handed out: it holds the browser
	stop context.CancelFunc
}

func startChromium(ctx context.Context, o Options) (Browser, error) {
	bctx, stop, err := chrome.Start(context.WithoutCancel(ctx), o.Profile)
	if err != nil {
		return nil, err
	}
	return &chromium{ctx: bctx, stop: stop}, nil
}

func (c *chromium) Engine() Engine { return Chromium }

func (c *chromium) NewTab(ctx context.Context) (Tab, error) {
	tctx, cancel := chromedp.NewContext(c.ctx)
	if err := chromedp.Do(tctx, chromedp.Navigate("about:blank")); err != nil {
		cancel()
		return nil, err
	}
	return &cdpTab{ctx: tctx, cancel: cancel}, nil
}

func (c *chromium) Close() error {
	c.stop()
	return nil
}

// cdpTab is one target. Its calls run in the target's context, bounded by
// the caller's.
type cdpTab struct {
	ctx    context.Context
	cancel context.CancelFunc
}

// within runs fn in the tab's context, ended when ctx ends too.
func (t *cdpTab) within(ctx context.Context, fn func(context.Context) error) error {
	tctx, cancel := context.WithCancel(t.ctx)
	defer cancel()
	stop := context.AfterFunc(ctx, cancel)
	defer stop()
	return fn(tctx)
}

func (t *cdpTab) Navigate(ctx context.Context, url string) error {
	return t.within(ctx, func(c context.Context) error { return chromedp.Do(c, chromedp.Navigate(url)) })
}

func (t *cdpTab) Reload(ctx context.Context) error {
	return t.within(ctx, func(c context.Context) error { return chromedp.Do(c, chromedp.Reload()) })
}

func (t *cdpTab) Eval(ctx context.Context, expr string) (json.RawMessage, error) {
	var s string
	err := t.within(ctx, func(c context.Context) error {
		var err error
		s, err = chrome.Eval[string](c, `(async () => { const v = await (`+expr+`); return JSON.stringify(v === undefined ? null : v); })()`)
		return err
	})
	if err != nil {
		return nil, err
	}
	return json.RawMessage(s), nil
}

// Screenshot captures the viewport (Page.captureScreenshot) as a PNG.
func (t *cdpTab) Screenshot(ctx context.Context) ([]byte, error) {
	var b []byte
	err := t.within(ctx, func(c context.Context) error {
		var err error
		b, err = chromedp.Run(c, chromedp.CaptureScreenshot())
		return err
	})
	return b, err
}

// SetViewport overrides the tab's device metrics
// (Emulation.setDeviceMetricsOverride): headless Chromium has no window
// to size.
func (t *cdpTab) SetViewport(ctx context.Context, width, height int) error {
	return t.within(ctx, func(c context.Context) error {
		return chromedp.Do(c, chromedp.EmulateViewport(int64(width), int64(height)))
	})
}

func (t *cdpTab) Close(ctx context.Context) error {
	err := t.within(ctx, func(c context.Context) error {
		_, err := chromedp.CallBrowser(c, cdptarget.CloseTarget, cdptarget.CloseTargetParams{TargetID: chromedp.FromContext(c).Target.TargetID})
		return err
	})
	t.cancel()
	return err
}

// SetQuota implements QuotaSetter with the DevTools protocol's quota
// override. (Chromium applies it only to an origin that has not stored
// anything yet.)
func (t *cdpTab) SetQuota(ctx context.Context, origin string, bytes int64) error {
	return t.within(ctx, func(c context.Context) error {
		params := storage.OverrideQuotaForOriginParams{Origin: origin}
		if bytes > 0 {
			q := float64(bytes)
			params.QuotaSize = &q
		}
		_, err := chromedp.Call(c, storage.OverrideQuotaForOrigin, params)
		return err
	})
}
