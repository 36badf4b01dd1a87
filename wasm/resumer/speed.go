package resumer

import "time"

// speedMeter estimates the transfer rate over the last few seconds.
type speedMeter struct {
	buckets [8]int64 // bytes per 500 ms slot, ring
	slot    int64    // index of the current slot since the epoch
}

const speedSlot = 500 * time.Millisecond

func (s *speedMeter) advance(now time.Time) {
	cur := now.UnixNano() / int64(speedSlot)
	if cur-s.slot >= int64(len(s.buckets)) {
		s.buckets = [8]int64{}
	} else {
		for i := s.slot + 1; i <= cur; i++ {
			s.buckets[i%int64(len(s.buckets))] = 0
		}
	}
	if cur > s.slot {
		s.slot = cur
	}
}

func (s *speedMeter) add(now time.Time, n int64) {
	s.advance(now)
	s.buckets[s.slot%int64(len(s.buckets))] += n
}

// rate returns bytes per second over the full slots of the window.
func (s *speedMeter) rate(now time.Time) float64 {
	s.advance(now)
	var sum int64
	for i, b := range s.buckets {
		if int64(i) != s.slot%int64(len(s.buckets)) {
			sum += b
		}
	}
	return float64(sum) / (float64(len(s.buckets)-1) * speedSlot.Seconds())
}
