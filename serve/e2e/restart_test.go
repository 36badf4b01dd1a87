//go:build !js && !wasip1

package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/go-resumer/resumer/serve/chrome"
)

// TestBrowserRestartResumes closes the whole browser in the middle of a
// download and starts it again on the same profile: the download continues
// from the bytes IndexedDB kept.
func TestBrowserRestartResumes(t *testing.T) {
	profile := t.TempDir()
	u := fileURL(t, medium, rate)
	open := func() (*page, context.CancelFunc) {
		bctx, stop, err := chrome.Start(context.Background(), profile)
		if err != nil {
			t.Fatal(err)
		}
		p := &page{t: t, ctx: bctx, db: "restart"}
		if err := chromedp.Do(bctx, chromedp.Navigate(env.base+"/blank.html")); err != nil {
			stop()
			t.Fatal(err)
		}
		p.init()
		return p, stop
	}

	p, stop := open()
	p.start(u, slowOpts)
	seen := p.waitStored(u, mediumSize*4/10)
	stop() // the browser process ends

	p, stop = open()
	defer stop()
	l := p.list()
	if len(l) != 1 || l[0].Received < seen.Stored || l[0].State != "interrupted" {
		t.Fatalf("after the restart, list() = %+v; want the interrupted download with at least %d bytes", l, seen.Stored)
	}
	t0 := time.Now()
	p.start(u, slowOpts)
	r := p.finish(u)
	if r.Error != nil || r.SHA != fileSHA(t, medium) {
		t.Fatalf("result %+v, want sha %s", r, fileSHA(t, medium))
	}
	after := since(devReqs(gets(t, u, 2)), t0)
	if len(after) == 0 || after[0].Start != l[0].Received || after[0].IfRange == "" {
		t.Fatalf("resumed with %+v, want from %d with If-Range", after, l[0].Received)
	}
}
