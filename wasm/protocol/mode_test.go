package protocol

import (
	"testing"
	"time"
)

func TestModeValid(t *testing.T) {
	for _, m := range []Mode{ModeNew, ModeRanged, ModeRangedPlain, ModeSingle} {
		if !m.Valid() {
			t.Errorf("%s not valid", m)
		}
	}
	if Mode("").Valid() || Mode("ranged ").Valid() || ModeNew.Ranged() || ModeSingle.Ranged() || !ModeRangedPlain.Ranged() {
		t.Error("Valid or Ranged wrong")
	}
}

func TestNextSpan(t *testing.T) {
	const mib = 1 << 20
	ext := func(spans ...Span) *Extents {
		var e Extents
		for _, s := range spans {
			e.Add(s.Start, s.End)
		}
		return &e
	}
	tests := []struct {
		name   string
		stored *Extents
		busy   []Span
		total  int64
		chunk  int64
		want   Span
		ok     bool
	}{
		{"after the probe: the small cell that measures the link", ext(Span{0, ProbeSize}), nil, 100 * mib, 8 * mib, Span{ProbeSize, FirstCell}, true},
		{"the probe is busy", ext(), []Span{{0, ProbeSize}}, 100 * mib, 8 * mib, Span{ProbeSize, FirstCell}, true},
		{"then the rest of the first chunk", ext(Span{0, FirstCell}), nil, 100 * mib, 8 * mib, Span{FirstCell, 8 * mib}, true},
		{"chunks of 512 KiB: probe, then the grid", ext(Span{0, ProbeSize}), nil, 100 * mib, 512 << 10, Span{ProbeSize, 512 << 10}, true},
		{"chunks of 64 KiB: the probe is the first cell", ext(Span{0, ProbeSize}), nil, 100 * mib, 64 << 10, Span{ProbeSize, 128 << 10}, true},
		{"a file smaller than the first cell", ext(Span{0, ProbeSize}), nil, 100_000, 8 * mib, Span{ProbeSize, 100_000}, true},
		{"next cell", ext(Span{0, 8 * mib}), nil, 100 * mib, 8 * mib, Span{8 * mib, 16 * mib}, true},
		{"last cell is short", ext(Span{0, 96 * mib}), nil, 100 * mib, 8 * mib, Span{96 * mib, 100 * mib}, true},
		{"skips busy cells", ext(Span{0, 8 * mib}), []Span{{8 * mib, 16 * mib}, {16 * mib, 24 * mib}}, 100 * mib, 8 * mib, Span{24 * mib, 32 * mib}, true},
		{"a short answer leaves the rest of its cell", ext(Span{0, 8*mib + 256<<10}), nil, 100 * mib, 8 * mib, Span{8*mib + 256<<10, 16 * mib}, true},
		{"a hole stops at the stored bytes", ext(Span{0, 1 * mib}, Span{3 * mib, 100 * mib}), nil, 100 * mib, 8 * mib, Span{1 * mib, 3 * mib}, true},
		{"a busy span inside a cell", ext(Span{0, FirstCell}), []Span{{2 * mib, 3 * mib}}, 100 * mib, 8 * mib, Span{FirstCell, 2 * mib}, true},
		{"everything stored", ext(Span{0, 100 * mib}), nil, 100 * mib, 8 * mib, Span{}, false},
		{"everything busy", ext(Span{0, 50 * mib}), []Span{{50 * mib, 100 * mib}}, 100 * mib, 8 * mib, Span{}, false},
		{"unknown total", ext(), nil, UnknownSize, 8 * mib, Span{}, false},
		{"empty file", ext(), nil, 0, 8 * mib, Span{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := NextSpan(tt.stored, tt.busy, tt.total, tt.chunk)
			if got != tt.want || ok != tt.ok {
				t.Fatalf("NextSpan = %v, %v; want %v, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestRetryBounds(t *testing.T) {
	tests := []struct {
		name string
		p    RetryPolicy
		att  int
		ask  time.Duration
		rnd  float64
		want time.Duration
	}{
		{"tiny base", RetryPolicy{Base: time.Nanosecond, Jitter: -1}, 1, 0, 0, MinRetryDelay},
		{"full jitter never reaches 0", RetryPolicy{Base: 20 * time.Millisecond, Jitter: 1}, 1, 0, 0.9999999, MinRetryDelay},
		{"huge max is capped", RetryPolicy{Base: time.Second, Max: 1 << 62, Jitter: -1}, 200, 0, 0, MaxRetryDelay},
		{"huge base is capped", RetryPolicy{Base: 1 << 62, Jitter: -1}, 1, 0, 0, MaxRetryDelay},
		{"huge attempt count", RetryPolicy{Jitter: -1}, 1 << 30, 0, 0, DefaultRetryPolicy.Max},
		{"huge Retry-After is capped", RetryPolicy{Jitter: -1}, 1, 1 << 62, 0, MaxRetryDelay},
		{"negative Retry-After is ignored", RetryPolicy{Jitter: -1}, 1, -time.Hour, 0, DefaultRetryPolicy.Base},
		{"jitter above 1 counts as 1", RetryPolicy{Base: time.Second, Jitter: 7}, 1, 0, 0.5, 500 * time.Millisecond},
		{"rnd out of range is no jitter", RetryPolicy{Base: time.Second, Jitter: 1}, 1, 0, 3, time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.p.Delay(tt.att, tt.ask, tt.rnd); got != tt.want {
				t.Fatalf("Delay = %v, want %v", got, tt.want)
			}
		})
	}
}
