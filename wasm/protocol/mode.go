package protocol

// Mode says how the rest of a download is fetched: what the responses
// accepted so far proved about the server. It is stored with the download,
// so that a resume after a reload asks the way that worked.
//
//	new ──206 resumable, length known──▶ ranged ──CORS refuses If-Range──▶ ranged-plain
//	 │                                     │
//	 │ 200, 206 not resumable,             │ file changed (Restart) ──▶ new
//	 │ ranges unusable (Whole)             │ ranges unusable (Whole) ──▶ single
//	 ▼                                     ▼
//	single ◀──────────────────────────────┘
//
// A new generation of the stored bytes that the file's change caused starts
// again at new; single is kept for good, because what made ranges unusable
// is the server's, not the file's. Decision.Mode and EndDecision.Mode say
// where each answer and each end of a request lead.
type Mode string

// The modes of a download.
const (
	// ModeNew: no response has been accepted for the stored generation.
	// The next request is the probe: a small bounded range from byte 0
	// that shows whether the server proves versions and serves ranges,
	// without much lost if it does not.
	ModeNew Mode = "new"
	// ModeRanged: resumable. The missing bytes are asked for in bounded
	// ranges with If-Range, and every 206 is checked against the stored
	// validators and length.
	ModeRanged Mode = "ranged"
	// ModeRangedPlain: resumable, on another origin whose CORS preflight
	// refuses If-Range: bounded plain ranges, each of whose 206s must carry
	// a strong validator equal to the stored one.
	ModeRangedPlain Mode = "ranged-plain"
	// ModeSingle: not resumable (the download's Reason says why). One
	// request without Range takes the whole file from byte 0; after an
	// interruption it starts over from byte 0.
	ModeSingle Mode = "single"
)

// Valid reports whether m is one of the modes.
func (m Mode) Valid() bool {
	switch m {
	case ModeNew, ModeRanged, ModeRangedPlain, ModeSingle:
		return true
	}
	return false
}

// Ranged reports whether the download is fetched in checked ranges: it is
// resumable.
func (m Mode) Ranged() bool { return m == ModeRanged || m == ModeRangedPlain }
