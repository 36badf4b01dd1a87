package resumer

import (
	"math"
	"time"

	"github.com/go-resumer/resumer/wasm/protocol"
)

// pace is what the link showed: the one value that decides, before each
// request goes out, whether its body is taken whole or streamed, and, on
// one connection, when the next request may go out before the last body
// ends.
type pace struct {
	// speed is what one connection gets, in bytes/s, estimated; 0 unknown.
	speed float64
	// measured: a body (not the probe) measured the link in this session.
	measured bool
	// ttfb is how long answers take to come, of late (a moving average).
	ttfb time.Duration
}

// answer counts the time an answer took to come.
func (p *pace) answer(took time.Duration) {
	if p.ttfb == 0 {
		p.ttfb = took
	} else {
		p.ttfb = (3*p.ttfb + took) / 4
	}
}

// probe takes the probe's first piece, read by its flight as soon as the
// headers came. 64 KiB are too few to measure a fast link (the time is
// mostly the page's), but they tell a slow one: they take 16 ms at 4 MiB/s.
// The request after the probe, up to 1 MiB (protocol.FirstCell), is read as
// this says; it measures the link for the ones after it.
func (p *pace) probe(e earlyPiece) {
	if e.size > 0 {
		p.speed = float64(e.size) / max(e.took, time.Millisecond).Seconds()
	}
}

// measure updates the speed from a flight that ended.
//   - A whole body gives its size over its time: the network's pace
//     (Response.blob() keeps up with any link).
//   - A streamed body gives a lower bound: reading a stream in pieces
//     costs the page more than the network on a fast link, so its rate is
//     doubled. A link that got faster is then taken whole again, and a
//     slow one, far below the threshold, stays streamed.
//   - A body that failed says nothing good: stream until one measures the
//     link again.
//
// A body's time counts from its headers: bytes that arrive while the
// session decides wait in the platform and are read at once after it, and
// counted from later they would make the link look faster than it is. A
// link measured too fast gets its next bodies taken whole, which a cut then
// loses entirely; measured too slow, they are only streamed.
func (p *pace) measure(f *flight, ev evEnd) {
	failed := ev.outcome != protocol.EndOK
	switch {
	case failed && f.reading:
		p.speed = 0
	case f.eager || failed || ev.got == 0 || ev.took <= 0:
	case f.readWhole:
		p.speed, p.measured = float64(ev.got)/ev.took.Seconds(), true
	default:
		p.speed, p.measured = 2*float64(ev.got)/ev.took.Seconds(), true
	}
}

// takeWhole decides, before a request goes out, how its body will be read:
// a body expected to arrive within FlushInterval (and well within
// StallTimeout: a whole body shows no progress until its end) is taken
// whole; a longer one, or one of unknown length, is streamed. The probe is
// eager: the start of its body is read before the session decides.
func (p *pace) takeWhole(req protocol.Request, o Options) (whole, eager bool) {
	if req == protocol.ProbeRequest() {
		return false, true
	}
	if req.Whole || req.End == protocol.UnknownSize {
		return false, false
	}
	budget := min(o.FlushInterval, o.StallTimeout/2).Seconds()
	return p.speed > 0 && float64(req.End-req.Start) <= p.speed*budget, false
}

// expectEnd is when a body of n bytes taken whole from now should have
// arrived, at the speed measured (zero when it cannot tell).
func (p *pace) expectEnd(now time.Time, n int64) time.Time {
	if p.speed <= 0 || math.IsInf(p.speed, 1) {
		return time.Time{}
	}
	return now.Add(time.Duration(float64(n) / p.speed * float64(time.Second)))
}

// endingBy reports whether the body of f, taken whole, will have arrived
// by the time a request sent at now is answered: on one connection, the
// connection is then as good as free, and the next request goes out now
// rather than a round trip after its end. The requests are the same; only
// the gap between them goes (on loopback, 10-20 ms per request). (With
// several connections the others keep the link busy meanwhile, and two
// bodies at once on each would only slow every one of them.)
//
// A body later than that (by another round trip) holds its connection
// again: the link got slower than measured, and requests must not pile up
// behind it.
func (p *pace) endingBy(f *flight, now time.Time) bool {
	return f.readWhole && !f.expectEnd.IsZero() &&
		!now.Before(f.expectEnd.Add(-p.ttfb)) && now.Before(f.expectEnd.Add(p.ttfb))
}

// nextAhead returns when the next whole body will be ending (endingBy),
// zero if none will.
func (p *pace) nextAhead(flights []*flight, now time.Time) time.Time {
	var at time.Time
	for _, f := range flights {
		if f.readWhole && !f.expectEnd.IsZero() && !f.received {
			t := f.expectEnd.Add(-p.ttfb)
			if t.After(now) && (at.IsZero() || t.Before(at)) {
				at = t
			}
		}
	}
	return at
}

// onWire counts the flights of the current generation that hold one of
// conns connections: all but those whose whole body is in hand, and, on
// one connection, the one flight there is when its body is ending
// (endingBy). A body that ends later than measured thus lets at most one
// request go out beside it: requests never pile up behind a slow link.
func (s *session) onWire(conns int) int {
	all := s.current()
	n := 0
	for _, f := range all {
		if !f.received {
			n++
		}
	}
	if conns == 1 && len(all) == 1 && n == 1 && s.pace.endingBy(all[0], s.now) {
		return 0
	}
	return n
}
