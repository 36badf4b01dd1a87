package protocol

import "sort"

// Span is a half-open byte range [Start, End).
type Span struct {
	Start, End int64
}

// Len returns the number of bytes in s.
func (s Span) Len() int64 { return s.End - s.Start }

// Extents is a set of byte offsets kept as sorted, disjoint, non-adjacent
// spans: the bytes of a download that are stored. The zero value is empty.
type Extents struct {
	spans []Span
}

// Add inserts [start, end) and merges it with overlapping or adjacent spans.
// Empty or inverted spans are ignored.
func (e *Extents) Add(start, end int64) {
	if end <= start {
		return
	}
	// First span that ends at or after start (could merge with it).
	i := sort.Search(len(e.spans), func(i int) bool { return e.spans[i].End >= start })
	j := i
	for j < len(e.spans) && e.spans[j].Start <= end {
		start = min(start, e.spans[j].Start)
		end = max(end, e.spans[j].End)
		j++
	}
	e.spans = append(e.spans[:i], append([]Span{{start, end}}, e.spans[j:]...)...)
}

// Remove takes [start, end) out of the set. Empty or inverted spans are
// ignored.
func (e *Extents) Remove(start, end int64) {
	if end <= start {
		return
	}
	var out []Span
	for _, s := range e.spans {
		if s.End <= start || s.Start >= end {
			out = append(out, s)
			continue
		}
		if s.Start < start {
			out = append(out, Span{s.Start, start})
		}
		if s.End > end {
			out = append(out, Span{end, s.End})
		}
	}
	e.spans = out
}

// Spans returns a copy of the spans, in order.
func (e *Extents) Spans() []Span { return append([]Span(nil), e.spans...) }

// Len returns the number of bytes covered.
func (e *Extents) Len() int64 {
	var n int64
	for _, s := range e.spans {
		n += s.Len()
	}
	return n
}

// Contains reports whether every byte of [start, end) is covered.
func (e *Extents) Contains(start, end int64) bool {
	if end <= start {
		return true
	}
	i := sort.Search(len(e.spans), func(i int) bool { return e.spans[i].End > start })
	return i < len(e.spans) && e.spans[i].Start <= start && e.spans[i].End >= end
}

// Prefix returns the length of the covered run that starts at byte 0.
func (e *Extents) Prefix() int64 {
	if len(e.spans) == 0 || e.spans[0].Start != 0 {
		return 0
	}
	return e.spans[0].End
}

// Missing returns the spans of [0, total) that are not covered. With an
// unknown total it returns the holes before the last covered byte and an
// open span [end, UnknownSize) after it.
func (e *Extents) Missing(total int64) []Span {
	var out []Span
	var at int64
	for _, s := range e.spans {
		if total != UnknownSize && s.Start >= total {
			break
		}
		if s.Start > at {
			out = append(out, Span{at, s.Start})
		}
		at = max(at, s.End) // spans below byte 0 cover nothing of the file
	}
	switch {
	case total == UnknownSize:
		out = append(out, Span{at, UnknownSize})
	case at < total:
		out = append(out, Span{at, total})
	}
	return out
}

// Subtract returns the parts of spans (sorted, disjoint) not covered by any
// of minus (in any order, possibly overlapping), in order.
func Subtract(spans []Span, minus []Span) []Span {
	var cut Extents
	for _, m := range minus {
		cut.Add(m.Start, m.End)
	}
	var out []Span
	for _, s := range spans {
		at := s.Start
		for _, c := range cut.spans {
			if c.End <= at || (s.End != UnknownSize && c.Start >= s.End) {
				continue
			}
			if c.Start > at {
				out = append(out, Span{at, c.Start})
			}
			at = max(at, c.End)
		}
		if s.End == UnknownSize || at < s.End {
			out = append(out, Span{at, s.End})
		}
	}
	return out
}
