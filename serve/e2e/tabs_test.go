//go:build !js && !wasip1

package e2e

import (
	"fmt"
	"testing"
	"time"

	cdptarget "github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
)

// TestTwoTabs opens the same download in two tabs: one writes, the other
// waits in state locked-elsewhere showing the writer's progress, and takes
// over from the stored bytes when the first tab closes.
func TestTwoTabs(t *testing.T) {
	a := newPage(t, "/blank.html")
	b := newPage(t, "/blank.html")
	// Both tabs use the same database, as two tabs of one app would.
	eval[bool](b, fmt.Sprintf("T.load(%q)", a.db))
	b.db = a.db
	u := fileURL(t, medium, rate)
	a.start(u, slowOpts)
	a.waitStored(u, 1<<20)
	b.start(u, slowOpts)

	deadline := time.Now().Add(20 * time.Second)
	var first, later progress
	for first = b.progressOf(u); first.State != "locked-elsewhere" || first.Received == 0; first = b.progressOf(u) {
		if time.Now().After(deadline) {
			t.Fatalf("tab B: %+v; want locked-elsewhere with tab A's progress", first)
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	later = b.progressOf(u)
	if later.State != "locked-elsewhere" || later.Received <= first.Received {
		t.Fatalf("tab B does not follow tab A's progress: %+v then %+v", first, later)
	}
	if l := b.list(); len(l) != 1 || l[0].State != "locked-elsewhere" {
		t.Fatalf("tab B lists %+v", l)
	}

	// Tab A closes: its lock goes with it, and tab B takes over.
	if _, err := chromedp.CallBrowser(a.ctx, cdptarget.CloseTarget, cdptarget.CloseTargetParams{TargetID: chromedp.FromContext(a.ctx).Target.TargetID}); err != nil {
		t.Fatal(err)
	}
	closed := time.Now()
	r := b.finish(u)
	mustSHA(t, r)
	g := devReqs(gets(t, u, 2))
	mine := since(g, closed)
	if len(mine) == 0 || len(mine) == len(g) || mine[0].Start == 0 || mine[0].IfRange == "" {
		t.Fatalf("want tab A's requests, then tab B's resume from what A stored:\n%+v", g)
	}
	if pr := b.progressOf(u); pr.States[0] != "locked-elsewhere" {
		t.Fatalf("tab B's states %v", pr.States)
	}
}
