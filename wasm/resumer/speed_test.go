package resumer

import (
	"math"
	"testing"
	"time"
)

func TestSpeedMeter(t *testing.T) {
	const mib = 1 << 20
	epoch := time.Unix(1_700_000_000, 0) // on a slot boundary
	type add struct {
		at time.Duration // after epoch
		n  int64
	}
	tests := []struct {
		name string
		adds []add
		at   time.Duration
		want float64 // bytes per second; 0: not known yet
	}{
		{"nothing seen", nil, time.Second, 0},
		{"under 50 ms of transfer is not a speed", []add{{0, mib}, {40 * time.Millisecond, mib}}, 45 * time.Millisecond, 0},
		{"from 50 ms on, bytes over the time since the first", []add{{0, mib}, {50 * time.Millisecond, mib}}, 50 * time.Millisecond, 40 * mib},
		{"a steady 8 MiB/s", []add{{0, mib}, {125 * time.Millisecond, mib}, {250 * time.Millisecond, mib}, {375 * time.Millisecond, mib}}, 500 * time.Millisecond, 8 * mib},
		{"a link that stopped slows down", []add{{0, 4 * mib}}, 1 * time.Second, 4 * mib},
		// The window is 8 slots of 250 ms: bytes older than 2 s are forgotten.
		{"old bytes leave the window", []add{{0, 64 * mib}, {2250 * time.Millisecond, 2 * mib}, {2400 * time.Millisecond, 0}}, 2500 * time.Millisecond, float64(2*mib) / 1.75},
		{"a long silence forgets everything", []add{{0, 64 * mib}}, 10 * time.Second, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s speedMeter
			for _, a := range tt.adds {
				s.add(epoch.Add(a.at), a.n)
			}
			got := s.rate(epoch.Add(tt.at))
			if math.Abs(got-tt.want) > tt.want*0.01+1 {
				t.Fatalf("rate %.0f B/s, want %.0f", got, tt.want)
			}
		})
	}
}
