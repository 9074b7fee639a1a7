package filestore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/batonmq/baton/internal/broker"
	"github.com/batonmq/baton/internal/clock"
	"github.com/batonmq/baton/internal/vfs"
)

var epoch = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// rig is a broker over a filestore on an in-memory FS, both on a fake clock.
type rig struct {
	t   *testing.T
	fs  vfs.FS
	cfg Config
	clk *clock.Fake
	s   *Store
	b   *broker.Broker
	ctx context.Context
}

func newRig(t *testing.T, fs vfs.FS, cfg Config) *rig {
	t.Helper()
	r := &rig{t: t, fs: fs, cfg: cfg, clk: clock.NewFake(epoch), ctx: t.Context()}
	r.cfg.Clock = r.clk
	r.open()
	t.Cleanup(r.close)
	return r
}

func (r *rig) open() {
	r.t.Helper()
	s, err := Open(r.fs, "/data", r.cfg)
	if err != nil {
		r.t.Fatalf("Open: %v", err)
	}
	b, err := broker.New(broker.Config{Store: s, Clock: r.clk})
	if err != nil {
		r.t.Fatal(err)
	}
	if err := b.Open(r.ctx); err != nil {
		r.t.Fatal(err)
	}
	r.s, r.b = s, b
}

func (r *rig) close() {
	if r.b != nil {
		r.verify()
		r.b.Close()
		r.s.Close()
		r.b, r.s = nil, nil
	}
}

// verify checks the store's index against a recomputation.
func (r *rig) verify() {
	r.t.Helper()
	r.s.mu.Lock()
	err := r.s.idx.verify()
	r.s.mu.Unlock()
	if err != nil {
		r.t.Errorf("index: %v", err)
	}
}

func (r *rig) restart() {
	r.t.Helper()
	r.close()
	r.open()
}

func (r *rig) send(q string, n int, body []byte) []int64 {
	r.t.Helper()
	var seqs []int64
	for i := 0; i < n; i++ {
		s, err := r.b.Send(r.ctx, q, []*broker.Message{{Body: body, MessageID: fmt.Sprint(i)}})
		if err != nil {
			r.t.Fatalf("send: %v", err)
		}
		seqs = append(seqs, s...)
	}
	return seqs
}

func (r *rig) receive(q string, max int) []*broker.Message {
	r.t.Helper()
	msgs, err := r.b.Receive(r.ctx, q, broker.ReceiveOptions{MaxMessages: max})
	if err != nil {
		r.t.Fatalf("receive: %v", err)
	}
	return msgs
}

func (r *rig) settle(q string, m *broker.Message, d broker.Disposition) {
	r.t.Helper()
	if err := r.b.Settle(r.ctx, q, m.LockToken, broker.Settlement{Disposition: d}); err != nil {
		r.t.Fatalf("settle: %v", err)
	}
}

// settleGC lets the removed-body grace pass and runs maintenance.
func (r *rig) settleGC() {
	r.clk.Advance(r.s.cfg.RemovedBodyGrace)
	r.s.maintainOnce()
}

func TestGCRemovesSettledSegments(t *testing.T) {
	r := newRig(t, vfs.NewMem(), Config{SegmentSize: 64 << 10})
	if _, err := r.b.CreateQueue(r.ctx, "q", broker.QueueProperties{}); err != nil {
		t.Fatal(err)
	}
	body := make([]byte, 1024)
	r.send("q", 1000, body)
	if n := r.s.Stats().Segments; n < 10 {
		t.Fatalf("%d segments after 1 MB of sends", n)
	}
	for {
		msgs := r.receive("q", 100)
		if len(msgs) == 0 {
			break
		}
		for _, m := range msgs {
			if len(m.Body) != 1024 {
				t.Fatalf("body of %d bytes", len(m.Body))
			}
			r.settle("q", m, broker.Complete)
		}
	}
	r.settleGC()
	if n := r.s.Stats().Segments; n > 2 {
		t.Fatalf("%d segments left after everything was completed", n)
	}
	r.restart()
	if seqs := r.send("q", 1, body); seqs[0] != 1001 {
		t.Fatalf("sequence number after GC and restart = %d; want 1001", seqs[0])
	}
}

// TestCompactionBoundsDisk keeps a few long-lived messages (deferred and
// dead-lettered) from every round of traffic and checks that disk use stays
// bounded by the live data while they survive restarts.
func TestCompactionBoundsDisk(t *testing.T) {
	const segSize = 64 << 10
	r := newRig(t, vfs.NewMem(), Config{SegmentSize: segSize, compactChunk: 16 << 10})
	if _, err := r.b.CreateQueue(r.ctx, "q", broker.QueueProperties{RequiresDuplicateDetection: true, DuplicateDetectionHistoryTimeWindow: time.Hour}); err != nil {
		t.Fatal(err)
	}
	body := make([]byte, 1000)
	var deferred []int64
	dead := 0
	maxSegs := 0
	for round := 0; round < 40; round++ {
		for i := 0; i < 100; i++ {
			if _, err := r.b.Send(r.ctx, "q", []*broker.Message{{Body: body, MessageID: fmt.Sprintf("r%d-%d", round, i)}}); err != nil {
				t.Fatal(err)
			}
		}
		for i := 0; ; i++ {
			msgs := r.receive("q", 10)
			if len(msgs) == 0 {
				break
			}
			for j, m := range msgs {
				switch {
				case i == 0 && j == 0:
					r.settle("q", m, broker.Defer)
					deferred = append(deferred, m.SequenceNumber)
				case i == 1 && j == 0:
					r.settle("q", m, broker.DeadLetter)
					dead++
				default:
					r.settle("q", m, broker.Complete)
				}
			}
		}
		r.settleGC()
		st := r.s.Stats()
		bound := int(float64(st.LiveBytes)*DefaultCompactRatio/segSize) + 4
		if st.Segments > bound {
			t.Fatalf("round %d: %d segments for %d live bytes; bound %d", round, st.Segments, st.LiveBytes, bound)
		}
		maxSegs = max(maxSegs, st.Segments)
		if round == 39 && st.Copied == 0 {
			t.Fatal("compaction never ran")
		}
		if round%10 == 9 {
			r.restart()
		}
	}
	// Traffic written: ~40 rounds × 100 KB = 4 MB = 64 segments.
	if maxSegs > 20 {
		t.Fatalf("up to %d segments on disk", maxSegs)
	}
	// The first segments held round 0's duplicate-detection entries (still
	// in their window): they were copied forward, not kept.
	if first := r.s.log.Segments()[0]; first < 10 {
		t.Fatalf("oldest segment %s still on disk", first)
	}
	r.restart()
	r.restart()
	info, err := r.b.GetEntity("q")
	if err != nil {
		t.Fatal(err)
	}
	if info.Deferred != int64(len(deferred)) || info.DeadLettered != int64(dead) || info.Active != 0 {
		t.Fatalf("counts %+v; want %d deferred, %d dead-lettered", info.Counts, len(deferred), dead)
	}
	got, err := r.b.ReceiveDeferred(r.ctx, "q", deferred, broker.PeekLock, nil)
	if err != nil || len(got) != len(deferred) {
		t.Fatalf("ReceiveDeferred: %d, %v", len(got), err)
	}
	for _, m := range got {
		if len(m.Body) != len(body) || m.State != broker.StateDeferred {
			t.Fatalf("deferred message %d: %d bytes, state %v", m.SequenceNumber, len(m.Body), m.State)
		}
	}
	dl, err := r.b.Receive(r.ctx, "q/$DeadLetterQueue", broker.ReceiveOptions{MaxMessages: 100})
	if err != nil || len(dl) != dead {
		t.Fatalf("dead-letter receive: %d, %v", len(dl), err)
	}
	// Duplicate detection survived compaction: a resend of an id from the
	// first round is dropped.
	seqs, err := r.b.Send(r.ctx, "q", []*broker.Message{{Body: body, MessageID: "r0-5"}})
	if err != nil || seqs[0] != 0 {
		t.Fatalf("duplicate resend = %v, %v; want dropped", seqs, err)
	}
}

// TestReadBodyAfterRemove: the broker reads ReceiveAndDelete bodies after
// the removal is durable; the grace keeps them readable even when GC runs
// in between.
func TestReadBodyAfterRemove(t *testing.T) {
	r := newRig(t, vfs.NewMem(), Config{SegmentSize: 16 << 10})
	if _, err := r.b.CreateQueue(r.ctx, "q", broker.QueueProperties{}); err != nil {
		t.Fatal(err)
	}
	body := make([]byte, 1000)
	r.send("q", 100, body)
	msgs, err := r.b.Receive(r.ctx, "q", broker.ReceiveOptions{MaxMessages: 100, Mode: broker.ReceiveAndDelete})
	if err != nil || len(msgs) != 100 {
		t.Fatalf("receive and delete: %d, %v", len(msgs), err)
	}
	for _, m := range msgs {
		if len(m.Body) != len(body) {
			t.Fatalf("message %d body %d bytes", m.SequenceNumber, len(m.Body))
		}
	}
	r.s.maintainOnce()
	if _, err := r.s.ReadBody(r.ctx, "q", 1); err != nil {
		t.Fatalf("body within the grace: %v", err)
	}
	r.settleGC()
	if n := r.s.Stats().Segments; n > 2 {
		t.Fatalf("%d segments after the grace", n)
	}
	if _, err := r.s.ReadBody(r.ctx, "q", 1); err == nil {
		t.Fatal("body of a removed message readable after the grace")
	}
}

// TestCompactionKeepsLastSeq: an idle queue whose last send, and a session
// state, sit in old segments keep their sequence numbers and the state
// after compaction, GC and a restart.
func TestCompactionKeepsLastSeq(t *testing.T) {
	r := newRig(t, vfs.NewMem(), Config{SegmentSize: 16 << 10})
	for _, q := range []string{"idle", "busy"} {
		if _, err := r.b.CreateQueue(r.ctx, q, broker.QueueProperties{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := r.b.CreateQueue(r.ctx, "sess", broker.QueueProperties{RequiresSession: true}); err != nil {
		t.Fatal(err)
	}
	sl, err := r.b.AcceptSession(r.ctx, "sess", "A", 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.b.SetSessionState(r.ctx, "sess", sl, []byte("state of A")); err != nil {
		t.Fatal(err)
	}
	if err := r.b.ReleaseSession(r.ctx, "sess", sl); err != nil {
		t.Fatal(err)
	}
	body := make([]byte, 1000)
	r.send("idle", 10, body)
	for _, m := range r.receive("idle", 10) {
		r.settle("idle", m, broker.Complete)
	}
	for round := 0; round < 10; round++ {
		r.send("busy", 50, body)
		for _, m := range r.receive("busy", 50) {
			r.settle("busy", m, broker.Complete)
		}
		r.settleGC()
	}
	if st := r.s.Stats(); st.Segments > 3 || st.Copied == 0 {
		t.Fatalf("%d segments, %d records copied", st.Segments, st.Copied)
	}
	r.restart()
	if seqs := r.send("idle", 1, body); seqs[0] != 11 {
		t.Fatalf("next sequence number of the idle queue = %d; want 11", seqs[0])
	}
	sl, err = r.b.AcceptSession(r.ctx, "sess", "A", 0)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := r.b.GetSessionState(r.ctx, "sess", sl); err != nil || string(st) != "state of A" {
		t.Fatalf("session state after compaction = %q, %v", st, err)
	}
}

// TestCompactionConcurrent runs compaction (tiny segments and chunks)
// under concurrent sends and settlements and checks that a restart finds
// exactly the state the broker had.
func TestCompactionConcurrent(t *testing.T) {
	r := newRig(t, vfs.NewMem(), Config{SegmentSize: 16 << 10, compactChunk: 2 << 10, RemovedBodyGrace: time.Second})
	if _, err := r.b.CreateQueue(r.ctx, "q", broker.QueueProperties{MaxDeliveryCount: 1000}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body := make([]byte, 300)
			for i := 0; i < 300; i++ {
				if w == 0 && i%20 == 0 {
					r.clk.Advance(time.Second) // let graveyard entries go
				}
				if _, err := r.b.Send(r.ctx, "q", []*broker.Message{{Body: body}}); err != nil {
					t.Error(err)
					return
				}
				msgs, err := r.b.Receive(r.ctx, "q", broker.ReceiveOptions{MaxMessages: 2})
				if err != nil {
					t.Error(err)
					return
				}
				for j, m := range msgs {
					d := broker.Complete
					switch (i*3 + j + w) % 17 {
					case 0:
						d = broker.Defer
					case 1:
						d = broker.DeadLetter
					case 2:
						d = broker.Abandon
					}
					if err := r.b.Settle(r.ctx, "q", m.LockToken, broker.Settlement{Disposition: d}); err != nil && broker.CodeOf(err) != broker.CodeLockLost {
						t.Error(err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	r.settleGC()
	before := peekAll(t, r)
	st := r.s.Stats()
	r.restart()
	after := peekAll(t, r)
	if len(before) != len(after) {
		t.Fatalf("%d messages before the restart, %d after", len(before), len(after))
	}
	for seq, want := range before {
		if got := after[seq]; got != want {
			t.Fatalf("message %d: %q before the restart, %q after", seq, want, got)
		}
	}
	if st.Copied == 0 {
		t.Fatal("compaction never ran")
	}
	t.Logf("%d messages, %d segments, %d live bytes, %d records copied", len(after), st.Segments, st.LiveBytes, st.Copied)
}

// peekAll describes every message of q and its dead-letter queue.
func peekAll(t *testing.T, r *rig) map[int64]string {
	t.Helper()
	out := map[int64]string{}
	for _, p := range []string{"q", "q/$DeadLetterQueue"} {
		msgs, err := r.b.Peek(r.ctx, p, 0, 5000, "")
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			out[m.SequenceNumber] = fmt.Sprintf("%v %v %d %d", m.State, m.DeadLettered, m.DeliveryCount, len(m.Body))
		}
	}
	return out
}

// TestClosed: after Close, Submit calls done with ErrClosed and the other
// methods fail; a second Close reports ErrClosed.
func TestClosed(t *testing.T) {
	s, err := Open(vfs.NewMem(), "/data", Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	s.Submit([]broker.Record{{Kind: broker.RecRemove, Entity: "q", Seq: 1}}, func(err error) { done <- err })
	if err := <-done; !errors.Is(err, ErrClosed) {
		t.Fatalf("Submit after Close: %v", err)
	}
	if _, err := s.Load(t.Context()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Load after Close: %v", err)
	}
	if _, err := s.ReadBody(t.Context(), "q", 1); !errors.Is(err, ErrClosed) {
		t.Fatalf("ReadBody after Close: %v", err)
	}
	if err := s.Close(); !errors.Is(err, ErrClosed) {
		t.Fatalf("second Close: %v", err)
	}
}

// TestEmptyAndNilBodies: a nil body and an empty body both read back
// empty, and a Load after Submit (a second broker on the same store) reads
// messages back from the log.
func TestEmptyAndNilBodies(t *testing.T) {
	r := newRig(t, vfs.NewMem(), Config{})
	if _, err := r.b.CreateQueue(r.ctx, "q", broker.QueueProperties{}); err != nil {
		t.Fatal(err)
	}
	seqs, err := r.b.Send(r.ctx, "q", []*broker.Message{{Body: nil}, {Body: []byte{}}, {Body: []byte("x"), Properties: map[string]any{"k": int16(3)}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, seq := range seqs[:2] {
		if b, err := r.s.ReadBody(r.ctx, "q", uint64(seq)); err != nil || len(b) != 0 {
			t.Fatalf("body of %d = %q, %v", seq, b, err)
		}
	}
	snap, err := r.s.Load(r.ctx)
	if err != nil {
		t.Fatal(err)
	}
	msgs := snap.Entities[0].Messages
	if len(msgs) != 3 || msgs[2].Properties["k"] != int16(3) || msgs[2].BodyRef != uint64(seqs[2]) || msgs[2].Body != nil {
		t.Fatalf("second Load: %+v", msgs)
	}
}
