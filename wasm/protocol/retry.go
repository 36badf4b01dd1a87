package protocol

import "time"

// RetryPolicy says how often and how fast a download tries again after a
// network error, an early end of body, or a 408/429/5xx answer; and how
// often and how fast its integrity check reads stored bytes again that it
// could not read (counted apart, a failure after the hash's progress
// starting a new count). The zero value means DefaultRetryPolicy.
type RetryPolicy struct {
	// Base is the delay before the first retry.
	Base time.Duration
	// Max caps the delay between two attempts.
	Max time.Duration
	// Attempts is how many failures in a row, with no byte stored between
	// them, end the download. A failure after progress starts a new count.
	Attempts int
	// Jitter is the fraction of each delay that is randomised, so that many
	// clients cut off at once do not come back at once. 0 means 0.5; use a
	// negative value for none.
	Jitter float64
}

// DefaultRetryPolicy: 0.5 s, 1 s, 2 s, … capped at 30 s, ten failures in a
// row (about two and a half minutes of trying) before giving up.
var DefaultRetryPolicy = RetryPolicy{Base: 500 * time.Millisecond, Max: 30 * time.Second, Attempts: 10, Jitter: 0.5}

// Bounds on any policy, whatever the settings: a delay is never shorter
// than MinRetryDelay (a policy that retries at once is a request storm)
// and never longer than MaxRetryDelay (a typo must not park a download
// for days).
const (
	MinRetryDelay = 10 * time.Millisecond
	MaxRetryDelay = 10 * time.Minute
)

// withDefaults fills the zero fields of p and brings every field inside
// its bounds.
func (p RetryPolicy) withDefaults() RetryPolicy {
	d := DefaultRetryPolicy
	if p.Base > 0 {
		d.Base = p.Base
	}
	if p.Max > 0 {
		d.Max = p.Max
	}
	d.Base = min(max(d.Base, MinRetryDelay), MaxRetryDelay)
	d.Max = min(max(d.Max, d.Base), MaxRetryDelay)
	if p.Attempts != 0 {
		d.Attempts = p.Attempts
	}
	switch {
	case p.Jitter < 0:
		d.Jitter = 0
	case p.Jitter > 0:
		d.Jitter = min(p.Jitter, 1)
	}
	return d
}

// GiveUp reports whether the attempt-th failure in a row is one too many.
func (p RetryPolicy) GiveUp(attempt int) bool {
	p = p.withDefaults()
	return p.Attempts > 0 && attempt >= p.Attempts
}

// Delay returns how long to wait before the next attempt after the
// attempt-th failure in a row (1-based). rnd is a uniform number in [0, 1)
// that drives the jitter. A server's Retry-After (asked) wins when it is
// longer, because a 429 or 503 that says when to come back means it. The
// result is always within [MinRetryDelay, MaxRetryDelay].
func (p RetryPolicy) Delay(attempt int, asked time.Duration, rnd float64) time.Duration {
	p = p.withDefaults()
	d := p.Base
	for i := 1; i < attempt && d < p.Max; i++ {
		d *= 2 // Max ≤ MaxRetryDelay: no overflow
	}
	d = min(d, p.Max)
	if rnd > 0 && rnd < 1 {
		d -= time.Duration(float64(d) * p.Jitter * rnd)
	}
	return min(max(d, asked, MinRetryDelay), MaxRetryDelay)
}
