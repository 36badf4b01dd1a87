package protocol

// ProbeSize is how much the first request of a download asks for
// (Range: bytes=0-65535). Its answer tells whether the server proves
// versions and serves ranges; if it does not, these bytes are the only ones
// thrown away, because no later response can be proven to belong with them.
const ProbeSize int64 = 64 << 10

// FirstCell is where the second cell of the grid ends: after the probe, a
// request of less than 1 MiB measures the link before the large ones, so
// that whether they are taken whole or streamed is decided on a real
// measure. Wrong either way, it costs little: 960 KiB take half a second
// at 2 MiB/s.
const FirstCell int64 = 1 << 20

// ProbeRequest is the first request of a download.
func ProbeRequest() Request { return Request{Start: 0, End: ProbeSize} }

// CellEnd returns where the cell of the grid that holds byte pos ends. The
// grid is the same for every download of a given chunk size: [0, 64 KiB)
// (the probe), [64 KiB, 1 MiB), then [k·chunk, (k+1)·chunk); the two first
// boundaries only where they fall inside the first chunk.
func CellEnd(pos, chunk int64) int64 {
	for _, b := range [...]int64{ProbeSize, FirstCell} {
		if pos < b && b < chunk {
			return b
		}
	}
	return (pos/chunk + 1) * chunk
}

// NextSpan plans the next range request of a download of total bytes:
// the first byte that is neither stored nor busy (being fetched, or stored
// but not yet committed), up to the end of its cell of the grid (CellEnd),
// and not into a busy span. The grid makes the requests the same in every
// run, whatever the timing of the connections: a file is asked for as
// its cells, minus what is stored. ok is false when nothing is left.
func NextSpan(stored *Extents, busy []Span, total, chunk int64) (s Span, ok bool) {
	if total == UnknownSize || chunk <= 0 {
		return Span{}, false
	}
	free := Subtract(stored.Missing(total), busy)
	if len(free) == 0 {
		return Span{}, false
	}
	s = free[0]
	cellEnd := CellEnd(s.Start, chunk)
	if cellEnd > s.Start && cellEnd < s.End { // cellEnd ≤ Start only on overflow
		s.End = cellEnd
	}
	return s, true
}
