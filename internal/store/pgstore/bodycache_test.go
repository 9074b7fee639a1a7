package pgstore

import "testing"

func TestBodyCache(t *testing.T) {
	c := newBodyCache(40)
	for i := range 5 {
		c.put(msgKey{"q", int64(i)}, make([]byte, 10))
	}
	// 50 bytes over a budget of 40: the oldest went.
	if _, ok := c.get(msgKey{"q", 0}); ok {
		t.Fatal("oldest entry kept over budget")
	}
	if b, ok := c.get(msgKey{"q", 4}); !ok || len(b) != 10 {
		t.Fatal("newest entry missing")
	}
	c.put(msgKey{"q", 4}, []byte("x")) // replaced, size adjusted
	if c.size != 31 {
		t.Fatalf("size %d after a replacement; want 31", c.size)
	}
	c.put(msgKey{"r", 1}, make([]byte, 11)) // over a quarter of the budget: not kept
	if _, ok := c.get(msgKey{"r", 1}); ok {
		t.Fatal("body over a quarter of the budget cached")
	}
	c.dropEntities(map[string]bool{"q": true})
	if len(c.byKey) != 0 || c.size != 0 || c.order.Len() != 0 {
		t.Fatalf("after dropping q: %d entries, %d bytes", len(c.byKey), c.size)
	}
	if h, m := c.stats(); h != 1 || m != 2 {
		t.Fatalf("hits %d misses %d", h, m)
	}
}
