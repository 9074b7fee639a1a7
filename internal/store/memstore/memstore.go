// Package memstore is the in-memory broker.Store: nothing touches the disk.
// It backs `baton serve --memory` and the engine's tests. A broker reopened
// on the same Store finds what the previous one left, which lets the
// conformance suite test restart semantics without a disk.
package memstore

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/batonmq/baton/internal/broker"
)

// Store is an in-memory broker.Store. The zero value is not usable; use New.
type Store struct {
	mu       sync.Mutex
	entities map[string]*entityState
	closed   bool
}

type entityState struct {
	def      broker.Entity
	lastSeq  int64
	msgs     map[int64]*broker.Message
	sessions map[string]broker.SessionSnapshot
	dedup    map[string]time.Time
}

// New returns an empty store.
func New() *Store { return &Store{entities: make(map[string]*entityState)} }

// Load returns a copy of the stored state.
func (s *Store) Load(ctx context.Context) (*broker.Snapshot, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, fmt.Errorf("memstore: closed")
	}
	snap := &broker.Snapshot{}
	for _, es := range s.entities {
		out := &broker.EntitySnapshot{Def: es.def, LastSeq: es.lastSeq, Dedup: make(map[string]time.Time, len(es.dedup))}
		for _, m := range es.msgs {
			c := *m
			out.Messages = append(out.Messages, &c)
		}
		sort.Slice(out.Messages, func(i, j int) bool { return out.Messages[i].SequenceNumber < out.Messages[j].SequenceNumber })
		for _, ss := range es.sessions {
			out.Sessions = append(out.Sessions, ss)
		}
		for id, t := range es.dedup {
			out.Dedup[id] = t
		}
		snap.Entities = append(snap.Entities, out)
	}
	return snap, nil
}

// Submit applies the group at once and calls done before returning.
func (s *Store) Submit(recs []broker.Record, done func(error)) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		done(fmt.Errorf("memstore: closed"))
		return
	}
	for i := range recs {
		s.applyLocked(&recs[i])
	}
	s.mu.Unlock()
	done(nil)
}

func (s *Store) applyLocked(r *broker.Record) {
	switch r.Kind {
	case broker.RecEntityPut:
		es := s.entities[r.Entity]
		if es == nil {
			es = &entityState{
				msgs:     make(map[int64]*broker.Message),
				sessions: make(map[string]broker.SessionSnapshot),
				dedup:    make(map[string]time.Time),
			}
			s.entities[r.Entity] = es
		}
		es.def = *r.Def
		return
	case broker.RecEntityDelete:
		delete(s.entities, r.Entity)
		return
	}
	es := s.entities[r.Entity]
	if es == nil {
		return
	}
	switch r.Kind {
	case broker.RecEnqueue:
		c := *r.Msg
		c.LockToken, c.LockedUntil = broker.LockToken{}, time.Time{}
		es.msgs[c.SequenceNumber] = &c
		if c.SequenceNumber > es.lastSeq {
			es.lastSeq = c.SequenceNumber
		}
		if !r.DedupUntil.IsZero() {
			es.dedup[c.MessageID] = r.DedupUntil
		}
	case broker.RecUpdate:
		if m := es.msgs[r.Update.Seq]; m != nil {
			r.Update.Apply(m)
		}
	case broker.RecRemove:
		delete(es.msgs, r.Seq)
	case broker.RecSessionState:
		if r.SessionState == nil {
			delete(es.sessions, r.SessionID)
		} else {
			es.sessions[r.SessionID] = broker.SessionSnapshot{ID: r.SessionID, State: r.SessionState, UpdatedAt: r.SessionTime}
		}
	}
}

// ReadBody is never needed: the broker keeps bodies of this store in memory.
func (s *Store) ReadBody(ctx context.Context, entity string, ref uint64) ([]byte, error) {
	return nil, fmt.Errorf("memstore: no body reference %d in %q: bodies are kept in memory", ref, entity)
}

// Close marks the store closed; later Submits fail.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}

// Reopen makes a closed store usable again, as a process restart would see
// a durable store (for tests).
func (s *Store) Reopen() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = false
}
