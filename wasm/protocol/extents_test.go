package protocol

import (
	"fmt"
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
	f.Add([]byte{1, 0, 10, 1, 10, 20, 1, 5, 6})
	f.Add([]byte{1, 200, 255, 1, 0, 1, 1, 3, 2})
	f.Add([]byte{1, 0, 100, 0, 10, 20, 0, 50, 50, 1, 15, 16})
	f.Fuzz(func(t *testing.T, ops []byte) {
		// Triples: an operation (a multiple of 3 removes, the rest add)
		// and the span it applies to.
		var e Extents
		var covered [256]bool
		for i := 0; i+2 < len(ops); i += 3 {
			rm, s, en := ops[i]%3 == 0, int64(ops[i+1]), int64(ops[i+2])
			if rm {
				e.Remove(s, en)
			} else {
				e.Add(s, en)
			}
			for b := s; b < en; b++ {
				covered[b] = !rm
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

func TestExtentsRemove(t *testing.T) {
	tests := []struct {
		name       string
		have       []Span
		start, end int64
		want       []Span
	}{
		{"middle of a span", []Span{{0, 100}}, 10, 20, []Span{{0, 10}, {20, 100}}},
		{"a whole span", []Span{{0, 10}, {20, 30}}, 20, 30, []Span{{0, 10}}},
		{"across spans", []Span{{0, 10}, {20, 30}, {40, 50}}, 5, 45, []Span{{0, 5}, {45, 50}}},
		{"nothing there", []Span{{0, 10}}, 10, 20, []Span{{0, 10}}},
		{"empty span", []Span{{0, 10}}, 5, 5, []Span{{0, 10}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var e Extents
			for _, s := range tt.have {
				e.Add(s.Start, s.End)
			}
			e.Remove(tt.start, tt.end)
			if got := e.Spans(); fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Fatalf("Remove(%d, %d) of %v = %v, want %v", tt.start, tt.end, tt.have, got, tt.want)
			}
		})
	}
}

func TestSubtract(t *testing.T) {
	tests := []struct {
		spans, minus, want []Span
	}{
		{[]Span{{0, 100}}, nil, []Span{{0, 100}}},
		{[]Span{{0, 100}}, []Span{{10, 20}}, []Span{{0, 10}, {20, 100}}},
		{[]Span{{0, 100}}, []Span{{0, 100}}, nil},
		{[]Span{{0, 100}}, []Span{{50, 200}, {0, 10}}, []Span{{10, 50}}},
		{[]Span{{0, 10}, {20, 30}}, []Span{{5, 25}}, []Span{{0, 5}, {25, 30}}},
		{[]Span{{40, UnknownSize}}, []Span{{40, 50}}, []Span{{50, UnknownSize}}},
		{[]Span{{0, 10}}, []Span{{10, 20}}, []Span{{0, 10}}},
	}
	for _, tt := range tests {
		if got := Subtract(tt.spans, tt.minus); !reflect.DeepEqual(got, tt.want) && !(len(got) == 0 && len(tt.want) == 0) {
			t.Errorf("Subtract(%v, %v) = %v, want %v", tt.spans, tt.minus, got, tt.want)
		}
	}
}

func FuzzSubtract(f *testing.F) {
	f.Add([]byte{0, 100, 20, 30}, []byte{10, 25, 90, 200})
	f.Fuzz(func(t *testing.T, a, b []byte) {
		var have Extents
		for i := 0; i+1 < len(a); i += 2 {
			have.Add(int64(a[i]), int64(a[i+1]))
		}
		var minus []Span
		var cut [256]bool
		for i := 0; i+1 < len(b); i += 2 {
			minus = append(minus, Span{int64(b[i]), int64(b[i+1])})
			for x := int(b[i]); x < int(b[i+1]); x++ {
				cut[x] = true
			}
		}
		var got Extents
		for _, s := range Subtract(have.Spans(), minus) {
			if s.Len() <= 0 {
				t.Fatalf("empty span %v", s)
			}
			got.Add(s.Start, s.End)
		}
		for x := range int64(256) {
			want := have.Contains(x, x+1) && !cut[x]
			if got.Contains(x, x+1) != want {
				t.Fatalf("byte %d: got %v, want %v", x, !want, want)
			}
		}
	})
}
