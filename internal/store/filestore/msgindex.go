package filestore

import (
	"math/bits"
	"slices"
)

// seqIndex maps sequence numbers to values (message locations). Sequence numbers
// are dense and mostly touched in order, so they are kept in pages of
// pageSize consecutive numbers: a replay or a stream of sends touches one
// page after the other instead of a random slot of a map holding every
// message (which costs a cache miss per message at a million messages).
type seqIndex[T any] struct {
	pages map[int64]*seqPage[T]
	last  *seqPage[T] // the page touched last
	n     int
}

const (
	pageBits = 5
	pageSize = 1 << pageBits
)

type seqPage[T any] struct {
	base    int64  // first sequence number of the page
	present uint32 // bit i: locs[i] is set
	locs    [pageSize]T
}

// msgIndex is the index of live messages.
type msgIndex = seqIndex[msgLoc]

func newSeqIndex[T any]() seqIndex[T] { return seqIndex[T]{pages: make(map[int64]*seqPage[T])} }

func newMsgIndex() msgIndex { return newSeqIndex[msgLoc]() }

func (x *seqIndex[T]) page(seq int64, create bool) *seqPage[T] {
	base := seq &^ (pageSize - 1)
	if x.last != nil && x.last.base == base {
		return x.last
	}
	p := x.pages[base]
	if p == nil {
		if !create {
			return nil
		}
		p = &seqPage[T]{base: base}
		x.pages[base] = p
	}
	x.last = p
	return p
}

func (x *seqIndex[T]) len() int { return x.n }

func (x *seqIndex[T]) get(seq int64) (T, bool) {
	var zero T
	p := x.page(seq, false)
	if p == nil {
		return zero, false
	}
	i := seq & (pageSize - 1)
	if p.present&(1<<i) == 0 {
		return zero, false
	}
	return p.locs[i], true
}

func (x *seqIndex[T]) set(seq int64, l T) {
	p := x.page(seq, true)
	i := seq & (pageSize - 1)
	if p.present&(1<<i) == 0 {
		p.present |= 1 << i
		x.n++
	}
	p.locs[i] = l
}

func (x *seqIndex[T]) del(seq int64) {
	p := x.page(seq, false)
	if p == nil {
		return
	}
	i := seq & (pageSize - 1)
	if p.present&(1<<i) == 0 {
		return
	}
	p.present &^= 1 << i
	var zero T
	p.locs[i] = zero
	x.n--
	if p.present == 0 {
		delete(x.pages, p.base)
		if x.last == p {
			x.last = nil
		}
	}
}

// each calls fn for every message until fn returns false. fn must not
// change the index.
func (x *seqIndex[T]) each(fn func(seq int64, l T) bool) {
	for _, p := range x.pages {
		for b := p.present; b != 0; b &= b - 1 {
			i := bits.TrailingZeros32(b)
			if !fn(p.base+int64(i), p.locs[i]) {
				return
			}
		}
	}
}

// eachInOrder is each in sequence-number order.
func (x *seqIndex[T]) eachInOrder(fn func(seq int64, l T) bool) {
	bases := x.bases()
	slices.Sort(bases)
	for _, base := range bases {
		p := x.pages[base]
		for b := p.present; b != 0; b &= b - 1 {
			i := bits.TrailingZeros32(b)
			if !fn(p.base+int64(i), p.locs[i]) {
				return
			}
		}
	}
}

// bases returns the first sequence number of every page.
func (x *seqIndex[T]) bases() []int64 {
	out := make([]int64, 0, len(x.pages))
	for b := range x.pages {
		out = append(out, b)
	}
	return out
}

// eachIn calls fn for every entry of the pages starting at bases (pages
// gone since are skipped).
func (x *seqIndex[T]) eachIn(bases []int64, fn func(seq int64, l T)) {
	for _, base := range bases {
		p := x.pages[base]
		if p == nil {
			continue
		}
		for b := p.present; b != 0; b &= b - 1 {
			i := bits.TrailingZeros32(b)
			fn(p.base+int64(i), p.locs[i])
		}
	}
}
