package protocol

import "time"

// RetryPolicy says how often and how fast a download tries again after a
// network error, an early end of body, or a 408/429/5xx answer. The zero
// value means DefaultRetryPolicy.
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

// withDefaults fills the zero fields of p.
func (p RetryPolicy) withDefaults() RetryPolicy {
	d := DefaultRetryPolicy
	if p.Base > 0 {
		d.Base = p.Base
	}
	if p.Max > 0 {
		d.Max = p.Max
	}
	if p.Attempts != 0 {
		d.Attempts = p.Attempts
	}
	if p.Jitter < 0 {
		d.Jitter = 0
	} else if p.Jitter > 0 {
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
// longer, because a 429 or 503 that says when to come back means it.
func (p RetryPolicy) Delay(attempt int, asked time.Duration, rnd float64) time.Duration {
	p = p.withDefaults()
	d := p.Base
	for i := 1; i < attempt && d < p.Max; i++ {
		d *= 2
	}
	d = min(d, p.Max)
	d -= time.Duration(float64(d) * p.Jitter * rnd)
	return max(d, asked)
}
