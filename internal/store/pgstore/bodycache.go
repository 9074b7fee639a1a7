package pgstore

import (
	"container/list"
	"sync"
)

// bodyCache keeps the bodies of the most recently written messages, up to a
// byte budget, oldest out first, so that a receiver that keeps up with the
// senders gets its bodies without a query (ReadBody). The writer fills it
// after each commit, so it only ever holds committed bodies; a wipe of an
// entity drops that entity's entries.
type bodyCache struct {
	mu     sync.Mutex
	max    int
	size   int
	order  *list.List // of *bodyEntry, oldest first
	byKey  map[msgKey]*list.Element
	hits   uint64
	misses uint64
}

type bodyEntry struct {
	key  msgKey
	body []byte
}

func newBodyCache(max int) *bodyCache {
	return &bodyCache{max: max, order: list.New(), byKey: map[msgKey]*list.Element{}}
}

// put stores (or replaces) the body of key.
func (c *bodyCache) put(key msgKey, body []byte) {
	if c.max <= 0 || len(body) > c.max/4 {
		c.mu.Lock()
		c.removeLocked(key)
		c.mu.Unlock()
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.removeLocked(key)
	c.byKey[key] = c.order.PushBack(&bodyEntry{key: key, body: body})
	c.size += len(body)
	for c.size > c.max {
		c.removeLocked(c.order.Front().Value.(*bodyEntry).key)
	}
}

func (c *bodyCache) removeLocked(key msgKey) {
	if el, ok := c.byKey[key]; ok {
		c.size -= len(el.Value.(*bodyEntry).body)
		c.order.Remove(el)
		delete(c.byKey, key)
	}
}

// get returns the cached body of key.
func (c *bodyCache) get(key msgKey) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byKey[key]
	if !ok {
		c.misses++
		return nil, false
	}
	c.hits++
	return el.Value.(*bodyEntry).body, true
}

// dropEntities forgets every entry of the entities.
func (c *bodyCache) dropEntities(wiped map[string]bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k := range c.byKey {
		if wiped[k.entity] {
			c.removeLocked(k)
		}
	}
}

// stats returns hits and misses.
func (c *bodyCache) stats() (hits, misses uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.hits, c.misses
}
