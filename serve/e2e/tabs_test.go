//go:build !js && !wasip1

package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/go-resumer/resumer/serve/drive"
)

// TestTwoTabs opens the same download in two tabs: one writes, the other
// waits in state locked-elsewhere showing the writer's progress, and takes
// over from the stored bytes when the first tab closes. (Every engine the
// suite runs has the Web Locks API; without it, each tab would download on
// its own, which wasm/resumer's TestTwoTabsWithoutLocks holds to never
// joining the other's bytes.)
func TestTwoTabs(t *testing.T) {
	forEngines(t, func(t *testing.T, e drive.Engine) {
		a := newPage(t, e, "/blank.html")
		b := newPage(t, e, "/blank.html")
		if !eval[bool](a, "'locks' in navigator") {
			t.Fatalf("%s has no Web Locks API; the suite expects it in every engine it runs", e)
		}
		// Both tabs use the same database, as two tabs of one app would.
		eval[bool](b, fmt.Sprintf("T.load(%q)", a.db))
		b.db = a.db
		u := fileURL(t, medium, rate)
		a.start(u, slowOpts)
		a.waitStored(u, 1<<20)
		b.start(u, slowOpts)

		// Tab B waits, and shows tab A's progress as it moves on.
		first := b.until(u, `s.state === "locked-elsewhere" && s.elsewhere === "running" && s.received > 0`)
		later := b.until(u, fmt.Sprintf(`s.received > %d || s.state !== "locked-elsewhere"`, first.Received+256<<10))
		if later.State != "locked-elsewhere" {
			t.Fatalf("tab B does not wait for tab A: %+v then %+v", first, later)
		}
		if l := b.list(); len(l) != 1 || l[0].State != "locked-elsewhere" {
			t.Fatalf("tab B lists %+v", l)
		}

		// Tab A closes: its lock goes with it, and tab B takes over.
		if err := a.tab.Close(a.ctx); err != nil {
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
	})
}

// TestPausedTab: a download paused in one tab holds no lock: another tab
// takes it up from the stored bytes at once, and the paused tab cannot
// delete what the other writes (remove() is refused with locked-elsewhere,
// changing nothing).
func TestPausedTab(t *testing.T) {
	forEngines(t, func(t *testing.T, e drive.Engine) {
		a := newPage(t, e, "/blank.html")
		b := newPage(t, e, "/blank.html")
		eval[bool](b, fmt.Sprintf("T.load(%q)", a.db))
		b.db = a.db
		u := fileURL(t, medium, rate)
		a.start(u, slowOpts)
		a.waitStored(u, 1<<20)
		eval[bool](a, fmt.Sprintf("T.D[%q].pause(), true", u))
		paused := a.until(u, `s.state === "paused"`)
		started := time.Now()
		b.start(u, slowOpts)
		if s := b.until(u, `s.state !== "idle" && s.state !== "queued"`); s.State != "running" {
			t.Fatalf("tab B is %q while tab A is paused; want running: %+v", s.State, s)
		}
		b.waitStored(u, paused.Stored+256<<10)
		code := eval[string](a, fmt.Sprintf(`R.remove(%q).then(() => "removed", (e) => e.code || String(e))`, u))
		if code != "locked-elsewhere" {
			t.Fatalf("remove() in the paused tab while tab B writes: %q, want locked-elsewhere", code)
		}
		r := b.finish(u)
		mustSHA(t, r)
		mine := since(devReqs(gets(t, u, 2)), started)
		if len(mine) == 0 || mine[0].Start < paused.Stored || mine[0].IfRange == "" {
			t.Fatalf("tab B did not resume tab A's %d bytes:\n%+v", paused.Stored, mine)
		}
	})
}

// TestFetchWaitingForAnotherTab: a resumer.fetch of a file another tab is
// writing waits for that tab's lock, and follows its AbortSignal while it
// waits: it rejects with the signal's AbortError at once, and the other
// tab's download goes on.
func TestFetchWaitingForAnotherTab(t *testing.T) {
	forEngines(t, func(t *testing.T, e drive.Engine) {
		a := newPage(t, e, "/blank.html")
		b := fetchPage(t, e)
		eval[bool](b, fmt.Sprintf("T.load(%q)", a.db))
		b.db = a.db
		u := fileURL(t, medium, rate)
		a.start(u, slowOpts)
		a.waitStored(u, 1<<20)
		type waited struct {
			State string `json:"state"` // what the fetch's download was when aborted
			Name  string `json:"name"`  // the error the fetch rejected with
			MS    int    `json:"ms"`    // how long after the abort
		}
		got := eval[waited](b, fmt.Sprintf(`(async (u) => {
		  const ctl = new AbortController();
		  let state = "";
		  const onprogress = (ev) => { state = ev.state; if (ev.state === "locked-elsewhere") ctl.abort(); };
		  const t0 = { at: 0 };
		  ctl.signal.addEventListener("abort", () => { t0.at = performance.now(); });
		  try {
		    await F.within(R.fetch(u, {signal: ctl.signal, resumer: {onprogress}}), 30000, "the fetch to settle");
		    return { state, name: "resolved", ms: 0 };
		  } catch (e) {
		    return { state, name: e && e.name, ms: Math.round(performance.now() - t0.at) };
		  }
		})(%q)`, u))
		if got.State != "locked-elsewhere" || got.Name != "AbortError" || got.MS > 5000 {
			t.Fatalf("a fetch waiting for another tab, aborted: %+v; want AbortError at once", got)
		}
		r := a.finish(u)
		mustSHA(t, r)
	})
}
