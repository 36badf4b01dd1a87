package protocol

import (
	"errors"
	"testing"
	"time"
)

func TestRetryDelay(t *testing.T) {
	p := RetryPolicy{Base: time.Second, Max: 8 * time.Second, Attempts: 5, Jitter: -1}
	for attempt, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 4: 8 * time.Second, 9: 8 * time.Second} {
		if got := p.Delay(attempt, 0, 0.9); got != want {
			t.Errorf("Delay(%d) = %v, want %v", attempt, got, want)
		}
	}
	if got := p.Delay(1, 20*time.Second, 0); got != 20*time.Second {
		t.Errorf("Retry-After not honoured: %v", got)
	}
	j := RetryPolicy{Base: time.Second, Max: time.Minute, Jitter: 0.5}
	if lo, hi := j.Delay(1, 0, 0.999), j.Delay(1, 0, 0); lo < 500*time.Millisecond || hi != time.Second || lo >= hi {
		t.Errorf("jitter range [%v, %v], want within [0.5s, 1s]", lo, hi)
	}
	if p.GiveUp(4) || !p.GiveUp(5) {
		t.Error("GiveUp does not stop at Attempts")
	}
	if (RetryPolicy{}).GiveUp(DefaultRetryPolicy.Attempts-1) || !(RetryPolicy{}).GiveUp(DefaultRetryPolicy.Attempts) {
		t.Error("zero policy does not use the defaults")
	}
	if (RetryPolicy{Attempts: -1}).GiveUp(1 << 20) {
		t.Error("a negative Attempts must retry for ever")
	}
}

func TestStateMachine(t *testing.T) {
	tests := []struct {
		from State
		ev   Event
		to   State
		ok   bool
	}{
		{Idle, EvStart, Running, true},
		{Running, EvPause, Paused, true},
		{Paused, EvResume, Running, true},
		{Running, EvFinish, Done, true},
		{Running, EvFail, Failed, true},
		{Failed, EvResume, Running, true},
		{Paused, EvCancel, Canceled, true},
		{Done, EvCancel, Canceled, true},
		{Done, EvStart, Done, false},
		{Done, EvPause, Done, false},
		{Idle, EvFinish, Idle, false},
		{Paused, EvFinish, Paused, false},
		{Canceled, EvStart, Canceled, false},
		{Running, EvStart, Running, false},
		{Idle, EvWait, LockedElsewhere, true},
		{Paused, EvWait, LockedElsewhere, true},
		{LockedElsewhere, EvStart, Running, true},
		{LockedElsewhere, EvPause, Paused, true},
		{LockedElsewhere, EvCancel, Canceled, true},
		{LockedElsewhere, EvFinish, LockedElsewhere, false},
		{Running, EvWait, Running, false},
		{Paused, EvStart, Paused, false},
		{Idle, EvQueue, Queued, true},
		{Paused, EvQueue, Queued, true},
		{Failed, EvQueue, Queued, true},
		{LockedElsewhere, EvQueue, Queued, true},
		{Queued, EvStart, Running, true},
		{Queued, EvPause, Paused, true},
		{Queued, EvCancel, Canceled, true},
		{Queued, EvFinish, Queued, false},
		{Queued, EvResume, Queued, false},
		{Running, EvQueue, Queued, true}, // stopped and resumed before it settled, and its slot was taken
		{Done, EvQueue, Done, false},
	}
	for _, tt := range tests {
		got, err := tt.from.Next(tt.ev)
		if got != tt.to || (err == nil) != tt.ok {
			t.Errorf("%s --%s--> %s, %v; want %s, ok=%v", tt.from, tt.ev, got, err, tt.to, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrTransition) {
			t.Errorf("error %v is not ErrTransition", err)
		}
	}
	if !Done.Terminal() || Paused.Terminal() || !Failed.Valid() || !LockedElsewhere.Valid() || State("zombie").Valid() {
		t.Error("Terminal or Valid wrong")
	}
}
