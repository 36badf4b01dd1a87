//go:build !js && !wasip1

package main

import (
	"cmp"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/profiler"
	"github.com/chromedp/chromedp"

	"github.com/go-resumer/resumer/serve/chrome"
)

// cpuProfile records the renderer main thread during one resumer download
// and splits its time: Go code in the wasm, the JS glue, browser work on
// the main thread, garbage collection, idle. The network and IndexedDB run
// in other processes; they show as idle here.
func (b *bench) cpuProfile(url, sz string) error {
	ctx, stop, err := b.page()
	if err != nil {
		return err
	}
	defer stop()
	if _, err := chrome.Eval[bool](ctx, `B.open("bench-profile").then(() => true)`); err != nil {
		return err
	}
	if _, err := chromedp.Call(ctx, profiler.Enable, cdp.Empty{}); err != nil {
		return err
	}
	if _, err := chromedp.Call(ctx, profiler.SetSamplingInterval, profiler.SetSamplingIntervalParams{Interval: 500}); err != nil {
		return err
	}
	if _, err := chromedp.Call(ctx, profiler.Start, cdp.Empty{}); err != nil {
		return err
	}
	t0 := time.Now()
	if _, err := chrome.Eval[float64](ctx, fmt.Sprintf(`R.download(%q).done.then((r) => r.size)`, url)); err != nil {
		return err
	}
	wall := time.Since(t0)
	res, err := chromedp.Call(ctx, profiler.Stop, cdp.Empty{})
	if err != nil {
		return err
	}
	chrome.Eval[any](ctx, fmt.Sprintf(`R.remove(%q)`, url))
	p := res.Profile
	cat := map[int64]string{}
	for _, n := range p.Nodes {
		cat[n.ID] = category(n.CallFrame.FunctionName, n.CallFrame.URL)
		if debugProfile && cat[n.ID] == "other JS" {
			fmt.Printf("  other JS: %q %q\n", n.CallFrame.FunctionName, n.CallFrame.URL)
		}
	}
	ms := map[string]float64{}
	for i, id := range p.Samples {
		if i < len(p.TimeDeltas) {
			ms[cat[id]] += float64(p.TimeDeltas[i]) / 1000
		}
	}
	keys := make([]string, 0, len(ms))
	for k := range ms {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, c string) int { return cmp.Compare(ms[c], ms[a]) })
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %.0f ms", k, ms[k]))
	}
	b.logf("C main-thread profile, %s (%.0f ms wall): %s", sz, float64(wall.Milliseconds()), strings.Join(parts, ", "))
	b.out["profile_"+sz+"_go_ms"] = round2(ms["Go (wasm)"])
	b.out["profile_"+sz+"_wall_ms"] = wall.Milliseconds()
	return nil
}

func category(fn, url string) string {
	switch {
	case strings.HasPrefix(url, "wasm://") || strings.HasSuffix(url, ".wasm"):
		return "Go (wasm)"
	case fn == "(idle)":
		return "idle"
	case fn == "(garbage collector)":
		return "GC"
	case fn == "(program)", fn == "(root)", url == "":
		return "browser (native)"
	case strings.HasSuffix(url, "wasm_exec.js"), strings.HasSuffix(url, "resumer-go.js"):
		return "Go glue"
	case strings.HasSuffix(url, "resumer.js"):
		return "resumer.js"
	}
	return "other JS"
}

// debugProfile (RESUMER_BENCH_DEBUG=1) prints what the summary leaves out:
// the profile's unattributed JS, the timeline of each resume, and the
// requests of each resumer run.
var debugProfile = os.Getenv("RESUMER_BENCH_DEBUG") != ""
