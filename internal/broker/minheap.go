package broker

// minHeap is a binary min-heap whose items carry their int64 key, so that
// sifting compares integers in the heap's own array instead of following
// pointers (a backlog's heap is far larger than the caches), with no
// interface boxing (container/heap boxes every pushed and popped item).
// Items learn their index through setIndex, for heaps that remove from the
// middle (the available entries); the timer heap's events ignore it.
type minHeap[T heapIndexed] []keyed[T]

type keyed[T heapIndexed] struct {
	key int64
	v   T
}

// heapIndexed is told its item's position after every move.
type heapIndexed interface{ setIndex(i int) }

func (h minHeap[T]) swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].v.setIndex(i)
	h[j].v.setIndex(j)
}

// up moves item j towards the root while it is lower than its parent.
func (h minHeap[T]) up(j int) {
	for j > 0 {
		i := (j - 1) / 2
		if h[j].key >= h[i].key {
			break
		}
		h.swap(i, j)
		j = i
	}
}

// down moves item i0 towards the leaves while a child is lower; it
// reports whether the item moved.
func (h minHeap[T]) down(i0 int) bool {
	i, n := i0, len(h)
	for {
		j := 2*i + 1
		if j >= n {
			break
		}
		if j2 := j + 1; j2 < n && h[j2].key < h[j].key {
			j = j2
		}
		if h[j].key >= h[i].key {
			break
		}
		h.swap(i, j)
		i = j
	}
	return i > i0
}

func (h *minHeap[T]) push(key int64, v T) {
	v.setIndex(len(*h))
	*h = append(*h, keyed[T]{key: key, v: v})
	h.up(len(*h) - 1)
}

// remove takes out the item at index i and returns it.
func (h *minHeap[T]) remove(i int) T {
	s := *h
	n := len(s) - 1
	if i != n {
		s.swap(i, n)
	}
	v := s[n].v
	s[n] = keyed[T]{}
	*h = s[:n]
	if i != n && !h.down(i) {
		h.up(i)
	}
	return v
}
