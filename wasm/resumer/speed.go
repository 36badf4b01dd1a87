package resumer

import "time"

// speedMeter estimates the transfer rate over the last few seconds. Early
// on it divides by the time since the first byte rather than by the whole
// window, so that the chunk size can adapt within the first fraction of a
// second.
type speedMeter struct {
	buckets [8]int64 // bytes per speedSlot, a ring
	slot    int64    // index of the current slot since the epoch
	first   time.Time
}

const speedSlot = 250 * time.Millisecond

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
	if s.first.IsZero() {
		s.first = now
	}
	s.advance(now)
	s.buckets[s.slot%int64(len(s.buckets))] += n
}

// rate returns bytes per second, or 0 while less than 50 ms of transfer
// has been seen (enough to tell a link that takes whole bodies, 16 MiB/s
// and up, from one that must stream).
func (s *speedMeter) rate(now time.Time) float64 {
	if s.first.IsZero() {
		return 0
	}
	s.advance(now)
	var sum int64
	for _, b := range s.buckets {
		sum += b
	}
	window := time.Duration(len(s.buckets)) * speedSlot
	// The current slot is partly elapsed.
	elapsed := window - speedSlot + time.Duration(now.UnixNano()%int64(speedSlot))
	if since := now.Sub(s.first); since < elapsed {
		elapsed = since
	}
	if elapsed < 50*time.Millisecond {
		return 0
	}
	return float64(sum) / elapsed.Seconds()
}
