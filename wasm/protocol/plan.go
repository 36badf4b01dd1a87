package protocol

// ProbeSize is how much the first request of a download asks for
// (Range: bytes=0-65535). Its answer tells whether the server proves
// versions and serves ranges; if it does not, these bytes are the only ones
// thrown away, because no later response can be proven to belong with them.
const ProbeSize int64 = 64 << 10

// ProbeRequest is the first request of a download.
func ProbeRequest() Request { return Request{Start: 0, End: ProbeSize} }

// NextSpan plans the next range request of a download of total bytes:
// the first byte that is neither stored nor busy (being fetched, or stored
// but not yet committed), up to the end of the chunk-sized cell of a fixed
// grid it falls in, and not into a busy span. The grid makes the requests
// the same in every run, whatever the timing of the connections: a file
// is asked for as [0, chunk), [chunk, 2·chunk), …, minus what is stored.
// ok is false when nothing is left to ask for.
func NextSpan(stored *Extents, busy []Span, total, chunk int64) (s Span, ok bool) {
	if total == UnknownSize || chunk <= 0 {
		return Span{}, false
	}
	free := Subtract(stored.Missing(total), busy)
	if len(free) == 0 {
		return Span{}, false
	}
	s = free[0]
	cellEnd := (s.Start/chunk + 1) * chunk
	if cellEnd > s.Start && cellEnd < s.End { // cellEnd ≤ Start only on overflow
		s.End = cellEnd
	}
	return s, true
}
