package broker

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// TestSeqHeapModel: random adds and deletes (of the minimum and of any
// entry, and moves between heaps) keep every heap's minimum, size and
// item indexes right, checked against a plain set.
func TestSeqHeapModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var hs [2]seqHeap
	model := [2]map[*entry]bool{{}, {}}
	var all []*entry
	for i := range 5000 {
		switch op := rng.IntN(10); {
		case op < 5 || len(all) == 0: // a new entry, or a known one moved into a heap
			var e *entry
			if len(all) > 0 && op == 0 {
				e = all[rng.IntN(len(all))]
			} else {
				e = &entry{msg: &Message{SequenceNumber: rng.Int64N(1 << 20)}}
				all = append(all, e)
			}
			k := rng.IntN(2)
			for j := range model {
				delete(model[j], e)
			}
			hs[k].add(e)
			model[k][e] = true
		case op < 8: // take the minimum
			k := rng.IntN(2)
			if e := hs[k].peekMin(); e != nil {
				hs[k].del(e)
				delete(model[k], e)
			}
		default: // delete any entry that is in a heap
			e := all[rng.IntN(len(all))]
			for k := range hs {
				if model[k][e] {
					hs[k].del(e)
					delete(model[k], e)
				}
			}
		}
		for k := range hs {
			if hs[k].Len() != len(model[k]) {
				t.Fatalf("step %d: heap %d holds %d; want %d", i, k, hs[k].Len(), len(model[k]))
			}
			var seqs []int64
			for e := range model[k] {
				seqs = append(seqs, e.msg.SequenceNumber)
				if e.heap != &hs[k] || hs[k].h[e.hidx].v != e {
					t.Fatalf("step %d: entry %d not at its index in heap %d", i, e.msg.SequenceNumber, k)
				}
			}
			if len(seqs) > 0 && hs[k].peekMin().msg.SequenceNumber != slices.Min(seqs) {
				t.Fatalf("step %d: heap %d minimum %d; want %d", i, k, hs[k].peekMin().msg.SequenceNumber, slices.Min(seqs))
			}
		}
	}
}

// BenchmarkSeqHeapTakeMin: a backlog of 1,000,000 available entries, each
// iteration taking the minimum and adding an entry at the end (a queue
// drained while it is filled).
func BenchmarkSeqHeapTakeMin(b *testing.B) {
	const n = 1_000_000
	var h seqHeap
	es := make([]*entry, n)
	for i := range es {
		es[i] = &entry{msg: &Message{SequenceNumber: int64(i)}}
		h.add(es[i])
	}
	next := int64(n)
	b.ResetTimer()
	for i := range b.N {
		e := h.peekMin()
		h.del(e)
		e.msg.SequenceNumber = next
		next++
		h.add(e)
		_ = i
	}
}

// TestEventHeapOrder: the timer heap pops events in time order, through
// random pushes and pops, with far-future times (beyond int64 nanoseconds)
// last.
func TestEventHeapOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	base := time.Unix(1_800_000_000, 0)
	far := base.AddDate(500, 0, 0) // past 2262: no int64 nanoseconds
	var h eventHeap
	var model []time.Time
	for i := range 20000 {
		if rng.IntN(3) > 0 || len(model) == 0 {
			when := base.Add(time.Duration(rng.Int64N(int64(time.Hour))))
			if rng.IntN(50) == 0 {
				when = far.Add(time.Duration(rng.IntN(1000)) * time.Hour)
			}
			h.push(timeKey(when), timerEvent{when: when, seq: int64(i)})
			model = append(model, when)
			continue
		}
		i0 := 0
		for j, w := range model {
			if w.Before(model[i0]) {
				i0 = j
			}
		}
		want := model[i0]
		model = slices.Delete(model, i0, i0+1)
		got := h.remove(0)
		if !got.when.Equal(want) && !(got.when.After(maxKeyTime) && want.After(maxKeyTime)) {
			t.Fatalf("step %d: popped %v; want %v", i, got.when, want)
		}
		if len(h) != len(model) {
			t.Fatalf("step %d: %d events; want %d", i, len(h), len(model))
		}
	}
}
