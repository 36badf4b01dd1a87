package protocol

import (
	"reflect"
	"testing"
)

func TestExtentsAdd(t *testing.T) {
	tests := []struct {
		name string
		adds [][2]int64
		want []Span
	}{
		{"empty", nil, nil},
		{"one", [][2]int64{{0, 10}}, []Span{{0, 10}}},
		{"adjacent merge", [][2]int64{{0, 10}, {10, 20}}, []Span{{0, 20}}},
		{"gap kept", [][2]int64{{0, 10}, {11, 20}}, []Span{{0, 10}, {11, 20}}},
		{"out of order", [][2]int64{{20, 30}, {0, 10}}, []Span{{0, 10}, {20, 30}}},
		{"fills a hole", [][2]int64{{0, 10}, {20, 30}, {10, 20}}, []Span{{0, 30}}},
		{"overlap", [][2]int64{{0, 15}, {10, 20}}, []Span{{0, 20}}},
		{"covers several", [][2]int64{{5, 6}, {8, 9}, {11, 12}, {0, 20}}, []Span{{0, 20}}},
		{"inside existing", [][2]int64{{0, 20}, {5, 6}}, []Span{{0, 20}}},
		{"empty span ignored", [][2]int64{{5, 5}, {7, 3}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var e Extents
			for _, a := range tt.adds {
				e.Add(a[0], a[1])
			}
			if got := e.Spans(); !reflect.DeepEqual(got, tt.want) && !(len(got) == 0 && len(tt.want) == 0) {
				t.Fatalf("spans = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestExtentsMissing(t *testing.T) {
	var e Extents
	e.Add(10, 20)
	e.Add(30, 40)
	if got, want := e.Missing(50), []Span{{0, 10}, {20, 30}, {40, 50}}; !reflect.DeepEqual(got, want) {
		t.Fatalf("Missing(50) = %v, want %v", got, want)
	}
	if got, want := e.Missing(40), []Span{{0, 10}, {20, 30}}; !reflect.DeepEqual(got, want) {
		t.Fatalf("Missing(40) = %v, want %v", got, want)
	}
	if got, want := e.Missing(UnknownSize), []Span{{0, 10}, {20, 30}, {40, UnknownSize}}; !reflect.DeepEqual(got, want) {
		t.Fatalf("Missing(unknown) = %v, want %v", got, want)
	}
	if e.Len() != 20 || e.Prefix() != 0 {
		t.Fatalf("Len, Prefix = %d, %d", e.Len(), e.Prefix())
	}
	e.Add(0, 10)
	if e.Prefix() != 20 || !e.Contains(0, 20) || e.Contains(0, 21) || !e.Contains(35, 40) || e.Contains(25, 26) {
		t.Fatalf("after filling: %v", e.Spans())
	}
}

func FuzzExtents(f *testing.F) {
	f.Add([]byte{0, 10, 10, 20, 5, 6})
	f.Add([]byte{200, 255, 0, 1, 3, 2})
	f.Fuzz(func(t *testing.T, ops []byte) {
		var e Extents
		var covered [256]bool
		for i := 0; i+1 < len(ops); i += 2 {
			s, en := int64(ops[i]), int64(ops[i+1])
			e.Add(s, en)
			for b := s; b < en; b++ {
				covered[b] = true
			}
		}
		spans := e.Spans()
		for i, s := range spans {
			if s.Len() <= 0 {
				t.Fatalf("empty span %v in %v", s, spans)
			}
			if i > 0 && spans[i-1].End >= s.Start {
				t.Fatalf("spans not sorted, disjoint and non-adjacent: %v", spans)
			}
		}
		var n int64
		for b := range int64(256) {
			if covered[b] {
				n++
			}
			if e.Contains(b, b+1) != covered[b] {
				t.Fatalf("byte %d: Contains = %v, want %v (%v)", b, !covered[b], covered[b], spans)
			}
		}
		if e.Len() != n {
			t.Fatalf("Len = %d, want %d", e.Len(), n)
		}
		// Missing and spans together tile [0, 256) exactly.
		var m Extents
		for _, s := range e.Missing(256) {
			for b := s.Start; b < s.End; b++ {
				if covered[b] {
					t.Fatalf("missing span %v holds covered byte %d", s, b)
				}
			}
			m.Add(s.Start, s.End)
		}
		if m.Len()+n != 256 {
			t.Fatalf("missing %d + covered %d != 256", m.Len(), n)
		}
	})
}
