package broker

// Hot bodies. A store that keeps bodies itself (it sets Message.BodyRef)
// lets the broker drop a body from memory once it is stored; a delivery then
// reads it back (Store.ReadBody: for filestore one or two preads of the log,
// for pgstore a query). When receivers keep up with senders that read is
// pure overhead — the body was in memory a moment ago. So the broker keeps
// the bodies of stored queue and subscription messages in memory while their
// total stays under Config.HotBodyBytes, and drops the rest; a message that
// leaves the entity (completed, expired, deleted with its entity) gives its
// bytes back. Bodies are immutable, so deliveries share the slice.

// DefaultHotBodyBytes is Config.HotBodyBytes's default.
const DefaultHotBodyBytes = 64 << 20

// keepHotLocked decides whether en, just stored, keeps its body in memory,
// and accounts for it. REQUIRES: e.mu.
func (e *entity) keepHotLocked(en *entry) bool {
	n := int64(len(en.msg.Body))
	b := e.b
	if n == 0 || b.hotMax <= 0 {
		return false
	}
	if b.hot.Add(n) > b.hotMax {
		b.hot.Add(-n)
		return false
	}
	en.hot = true
	e.hotBytes += n
	return true
}

// releaseHotLocked gives back en's body bytes, if it kept its body.
// REQUIRES: e.mu.
func (e *entity) releaseHotLocked(en *entry) {
	if !en.hot {
		return
	}
	n := int64(len(en.msg.Body))
	en.hot = false
	e.hotBytes -= n
	e.b.hot.Add(-n)
}

// releaseAllHotLocked gives back the bytes of every body e keeps, when e
// goes away. REQUIRES: e.mu.
func (e *entity) releaseAllHotLocked() {
	e.b.hot.Add(-e.hotBytes)
	e.hotBytes = 0
}

// HotBodyBytes returns the bytes of stored bodies the broker keeps in
// memory (see Config.HotBodyBytes).
func (b *Broker) HotBodyBytes() int64 { return b.hot.Load() }
