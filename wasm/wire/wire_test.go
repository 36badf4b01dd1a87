package wire

import (
	"fmt"
	"math"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/go-resumer/resumer/wasm/protocol"
	"github.com/go-resumer/resumer/wasm/resumer"
)

// member is one member of an interface of resumer.d.ts, with the comment
// above it.
type member struct {
	name, doc string
	optional  bool
}

// declarations reads the interfaces of web/resumer.d.ts: for each, its
// members in order, and the interfaces it extends.
func declarations(t *testing.T) (map[string][]member, map[string][]string) {
	t.Helper()
	src, err := os.ReadFile("../../web/resumer.d.ts")
	if err != nil {
		t.Fatal(err)
	}
	var (
		head   = regexp.MustCompile(`^export interface (\w+)(?: extends ([\w, ]+))? \{$`)
		field  = regexp.MustCompile(`^  (?:readonly )?([A-Za-z_$][\w$]*)(\??): .+;$`)
		ifaces = map[string][]member{}
		bases  = map[string][]string{}
		cur    string
		doc    []string
	)
	for _, line := range strings.Split(string(src), "\n") {
		if g := head.FindStringSubmatch(line); g != nil {
			cur, doc = g[1], nil
			ifaces[cur] = nil
			for _, b := range strings.Split(g[2], ",") {
				if b = strings.TrimSpace(b); b != "" {
					bases[cur] = append(bases[cur], b)
				}
			}
			continue
		}
		if cur == "" {
			continue
		}
		switch trimmed := strings.TrimSpace(line); {
		case line == "}":
			cur = ""
		case strings.HasPrefix(trimmed, "/**"), strings.HasPrefix(trimmed, "*"):
			doc = append(doc, strings.TrimSpace(strings.TrimLeft(strings.TrimSuffix(trimmed, "*/"), "/* ")))
		default:
			if g := field.FindStringSubmatch(line); g != nil {
				ifaces[cur] = append(ifaces[cur], member{name: g[1], optional: g[2] == "?", doc: strings.Join(doc, " ")})
			}
			doc = nil
		}
	}
	return ifaces, bases
}

// names returns the member names of iface and of the interfaces it
// extends, sorted.
func names(ifaces map[string][]member, bases map[string][]string, iface string) []string {
	var out []string
	for _, m := range ifaces[iface] {
		out = append(out, m.name)
	}
	for _, b := range bases[iface] {
		out = append(out, names(ifaces, bases, b)...)
	}
	sort.Strings(out)
	return out
}

func keys(m map[string]any, plus ...string) []string {
	out := append([]string(nil), plus...)
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestOptionsDeclared: the options resumer.d.ts declares are the ones
// listed here, in the same order, and each comment states the default and
// bounds the engine's constants set.
func TestOptionsDeclared(t *testing.T) {
	ifaces, _ := declarations(t)
	for _, c := range []struct {
		iface string
		opts  []Option
	}{{"DownloadOptions", DownloadOptions}, {"RetryOptions", RetryOptions}, {"LoadOptions", LoadOptions}} {
		got := ifaces[c.iface]
		var want, have []string
		for _, o := range c.opts {
			want = append(want, o.Name)
		}
		for _, m := range got {
			have = append(have, m.name)
			if !m.optional {
				t.Errorf("%s.%s is not optional", c.iface, m.name)
			}
		}
		if !slices.Equal(have, want) {
			t.Fatalf("resumer.d.ts %s has %v; wire lists %v", c.iface, have, want)
		}
		for i, o := range c.opts {
			for _, s := range o.States {
				if !strings.Contains(got[i].doc, s) {
					t.Errorf("the comment of %s.%s does not say %q (the engine's value): %q", c.iface, o.Name, s, got[i].doc)
				}
			}
		}
	}
}

// recorder is an Object that answers from values and records every name
// asked for.
type recorder struct {
	values map[string]any
	asked  *[]string
	prefix string
}

func (r recorder) ask(name string) any {
	*r.asked = append(*r.asked, r.prefix+name)
	return r.values[name]
}

func (r recorder) Number(name string) (float64, bool) {
	v, ok := r.ask(name).(float64)
	return v, ok
}

func (r recorder) String(name string) (string, bool) {
	v, ok := r.ask(name).(string)
	return v, ok
}

func (r recorder) Bool(name string) bool {
	v, _ := r.ask(name).(bool)
	return v
}

func (r recorder) Object(name string) (Object, bool) {
	v, ok := r.ask(name).(map[string]any)
	return recorder{values: v, asked: r.asked, prefix: r.prefix + name + "."}, ok
}

func (r recorder) Headers(name string) map[string]string {
	v, _ := r.ask(name).(map[string]string)
	return v
}

// TestOptionsRead: Options reads every option the declarations give but
// those JavaScript keeps (refresh, signal), and resumer.fetch's own
// firstAnswer and waiting; each lands in its field, in the engine's units.
func TestOptionsRead(t *testing.T) {
	var asked []string
	in := map[string]any{
		"key": "k", "headers": map[string]string{"Authorization": "Bearer x"}, "credentials": "include", "integrity": "sha256-x",
		"chunkSize": float64(1 << 20), "connections": float64(4), "flushIntervalMs": float64(250), "stallTimeoutMs": 1e4,
		"maxBytes": float64(5e9), "firstAnswer": true, "waiting": true,
		"retry": map[string]any{"baseMs": float64(100), "maxMs": float64(2000), "attempts": float64(3), "jitter": 0.25},
	}
	got := Options(recorder{values: in, asked: &asked})
	want := resumer.Options{
		Key: "k", Header: map[string]string{"Authorization": "Bearer x"}, Credentials: "include", Integrity: "sha256-x",
		ChunkSize: 1 << 20, Connections: 4, FlushInterval: 250 * time.Millisecond, StallTimeout: 10 * time.Second,
		MaxBytes: 5e9, FirstAnswer: true, Waiting: true,
		Retry: protocol.RetryPolicy{Base: 100 * time.Millisecond, Max: 2 * time.Second, Attempts: 3, Jitter: 0.25},
	}
	if got.Key != want.Key || got.Header["Authorization"] != "Bearer x" || got.Credentials != want.Credentials || got.Integrity != want.Integrity ||
		got.ChunkSize != want.ChunkSize || got.Connections != want.Connections || got.FlushInterval != want.FlushInterval ||
		got.StallTimeout != want.StallTimeout || got.MaxBytes != want.MaxBytes || got.FirstAnswer != want.FirstAnswer || got.Waiting != want.Waiting || got.Retry != want.Retry {
		t.Fatalf("Options read\n %+v\nwant\n %+v", got, want)
	}
	var declared []string
	for _, o := range DownloadOptions {
		if o.Name != "refresh" && o.Name != "signal" && o.Name != "retry" {
			declared = append(declared, o.Name)
		}
	}
	for _, o := range RetryOptions {
		declared = append(declared, "retry."+o.Name)
	}
	declared = append(declared, "retry", "firstAnswer", "waiting")
	sort.Strings(declared)
	sort.Strings(asked)
	if !slices.Equal(slices.Compact(asked), declared) {
		t.Fatalf("Options reads %v; the declarations (and firstAnswer, waiting) are %v", asked, declared)
	}
	// Numbers a JS caller may pass that Go cannot convert as they are.
	for _, n := range []float64{1e300, -1e300, nan()} {
		o := Options(recorder{values: map[string]any{"chunkSize": n, "stallTimeoutMs": n}, asked: new([]string)})
		if (n > 0) != (o.ChunkSize > 0) || (n > 0) != (o.StallTimeout > 0) || n != n && (o.ChunkSize != 0 || o.StallTimeout != 0) {
			t.Errorf("%g read as chunkSize %d, stallTimeout %v", n, o.ChunkSize, o.StallTimeout)
		}
	}
}

func nan() float64 { var z float64; return z / z }

// TestOutputsDeclared: the objects Go hands to JavaScript have exactly the
// members resumer.d.ts declares for them.
func TestOutputsDeclared(t *testing.T) {
	ifaces, bases := declarations(t)
	r := Result(resumer.Result{})
	for _, c := range []struct {
		iface string
		got   []string
	}{
		// elsewhere only while another tab writes the download.
		{"Progress", keys(Progress(resumer.Progress{Elsewhere: protocol.Running}, nil))},
		// blob is added by the caller: a JS Blob, never copied into Go.
		{"Result", keys(r, "blob")},
		{"DownloadStats", keys(r["stats"].(map[string]any))},
		{"Entry", keys(Entry(resumer.Info{}, nil))},
		// usage and quota are the browser's estimate, asked in JavaScript.
		{"Usage", keys(Usage(resumer.Usage{}), "usage", "quota")},
		{"CheckReport", keys(Report(protocol.Report{}))},
		{"Finding", keys(Finding(protocol.Finding{}))},
		{"Fix", keys(Finding(protocol.Finding{Fix: []protocol.Fix{{}}})["fix"].([]any)[0].(map[string]any))},
	} {
		if want := names(ifaces, bases, c.iface); !slices.Equal(c.got, want) {
			t.Errorf("%s: Go writes %v;\nresumer.d.ts declares %v", c.iface, c.got, want)
		}
	}
}

// TestDefaultMaxConcurrent: resumer.js exports, and resumer.d.ts declares,
// the default of maxConcurrent that DefaultMaxConcurrent says.
func TestDefaultMaxConcurrent(t *testing.T) {
	for file, line := range map[string]string{
		"../../web/resumer.js":   fmt.Sprintf("export const DEFAULT_MAX_CONCURRENT = %d;", DefaultMaxConcurrent),
		"../../web/resumer.d.ts": fmt.Sprintf("export const DEFAULT_MAX_CONCURRENT: %d;", DefaultMaxConcurrent),
	} {
		src, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(strings.Split(string(src), "\n"), line) {
			t.Errorf("%s does not say %q", file, line)
		}
	}
}

// TestMaxConcurrent: what a page sets as maxConcurrent, as the engine takes it.
func TestMaxConcurrent(t *testing.T) {
	for _, c := range []struct {
		n        float64
		isNumber bool
		want     int
	}{
		{3, true, 3}, {1, true, 1}, {2.9, true, 2},
		{0, true, 0}, {0.5, true, 0}, {-1, true, 0}, {nan(), true, 0}, {math.Inf(-1), true, 0},
		{math.Inf(1), true, 0}, {1e300, true, 1 << 20}, {5, false, 0},
	} {
		if got := MaxConcurrent(c.n, c.isNumber); got != c.want {
			t.Errorf("MaxConcurrent(%g, %v) = %d, want %d", c.n, c.isNumber, got, c.want)
		}
	}
}
