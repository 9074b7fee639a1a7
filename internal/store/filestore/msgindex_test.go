package filestore

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestSeqIndex compares the paged index with a map under random changes.
func TestSeqIndex(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	x := newSeqIndex[int]()
	want := map[int64]int{}
	for i := 0; i < 20000; i++ {
		seq := int64(r.IntN(3000))
		switch r.IntN(3) {
		case 0, 1:
			x.set(seq, i)
			want[seq] = i
		case 2:
			x.del(seq)
			delete(want, seq)
		}
		if got, ok := x.get(seq); ok != (want[seq] != 0 || hasKey(want, seq)) || (ok && got != want[seq]) {
			t.Fatalf("step %d: get(%d) = %d, %v; want %d", i, seq, got, ok, want[seq])
		}
	}
	if x.len() != len(want) {
		t.Fatalf("len %d; want %d", x.len(), len(want))
	}
	var seqs []int64
	x.eachInOrder(func(seq int64, v int) bool {
		if want[seq] != v {
			t.Fatalf("eachInOrder: %d = %d; want %d", seq, v, want[seq])
		}
		seqs = append(seqs, seq)
		return true
	})
	if !slices.IsSorted(seqs) || len(seqs) != len(want) {
		t.Fatalf("eachInOrder gave %d entries, sorted %v", len(seqs), slices.IsSorted(seqs))
	}
	n := 0
	x.eachIn(x.bases(), func(seq int64, v int) { n++ })
	x.each(func(int64, int) bool { n++; return true })
	if n != 2*len(want) {
		t.Fatalf("each/eachIn visited %d; want %d", n, 2*len(want))
	}
	for seq := range want {
		x.del(seq)
	}
	if x.len() != 0 || len(x.pages) != 0 {
		t.Fatalf("%d entries, %d pages left", x.len(), len(x.pages))
	}
}

func hasKey(m map[int64]int, k int64) bool { _, ok := m[k]; return ok }
