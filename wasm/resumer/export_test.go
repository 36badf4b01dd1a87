package resumer

import "time"

// SetQuotaRecheck shortens the wait between checks for freed space.
func SetQuotaRecheck(d time.Duration) (restore func()) {
	old := quotaRecheck
	quotaRecheck = d
	return func() { quotaRecheck = old }
}
