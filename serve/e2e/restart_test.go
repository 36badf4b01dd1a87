//go:build !js && !wasip1

package e2e

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-resumer/resumer/serve/drive"
)

// TestBrowserRestartResumes closes the whole browser in the middle of a
// download and starts it again on the same profile: the download continues
// from the bytes IndexedDB kept.
func TestBrowserRestartResumes(t *testing.T) {
	forEngines(t, func(t *testing.T, e drive.Engine) {
		// WebKit under automation keeps website data in memory (an
		// ephemeral session, like Safari's private browsing): nothing
		// outlives its process. Safari itself keeps IndexedDB on disk.
		onlyIn(t, e, "an automated WebKit session is ephemeral: no data survives a restart", drive.Chromium, drive.Firefox)
		profile := filepath.Join(t.TempDir(), "profile")
		u := fileURL(t, medium, rate)
		open := func() (*page, drive.Browser) {
			b, err := startBrowser(context.Background(), e, profile, nil)
			if err != nil {
				t.Fatal(err)
			}
			return openIn(t, e, b, env.base+"/blank.html", "restart"), b
		}

		p, b := open()
		p.start(u, slowOpts)
		seen := p.waitStored(u, mediumSize*4/10)
		b.Close() // the browser process ends

		p, b = open()
		defer b.Close()
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
	})
}
