package filestore

// In-process crash tests: random workloads through a real broker on the
// in-memory FS, a crash clone at a random point (with and without torn
// writes and flipped bits), recovery, and checks against what the workload
// was told.

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/batonmq/baton/internal/broker"
	"github.com/batonmq/baton/internal/vfs"
	"github.com/batonmq/baton/internal/wal"
)

type evKind uint8

const (
	evSent       evKind = iota + 1 // seq acknowledged as sent, with body
	evRemoveFrom                   // a removal of seq starts (complete)
	evRADStart                     // a receive-and-delete starts (victims in evRemoved of the same op)
	evRemoved                      // seq removal acknowledged
	evDeferred                     // seq defer acknowledged
	evDead                         // seq dead-letter acknowledged
)

type event struct {
	kind evKind
	seq  int64
	body string
	op   int // receive-and-delete: the op id linking start and end
}

// journal is what the workload was told, in the order it was told.
type journal struct {
	mu     sync.Mutex
	ev     []event
	target int
	reach  chan struct{}
}

func (j *journal) add(e ...event) {
	j.mu.Lock()
	j.ev = append(j.ev, e...)
	if len(j.ev) >= j.target && j.reach != nil {
		close(j.reach)
		j.reach = nil
	}
	j.mu.Unlock()
}

type crashMode struct {
	name string
	sync wal.SyncMode
	opts func(r *rand.Rand) vfs.CrashOptions
	// mayCorrupt: recovery may fail, but only with a located corruption
	// error.
	mayCorrupt bool
}

func TestCrashRecovery(t *testing.T) {
	modes := []crashMode{
		{name: "fsync", sync: wal.SyncAlways, opts: func(*rand.Rand) vfs.CrashOptions { return vfs.CrashOptions{} }},
		{name: "fsync-torn", sync: wal.SyncAlways, opts: func(r *rand.Rand) vfs.CrashOptions { return vfs.CrashOptions{Rand: r, TornWrites: true} }},
		{name: "fsync-torn-flips", sync: wal.SyncAlways, mayCorrupt: true, opts: func(r *rand.Rand) vfs.CrashOptions {
			return vfs.CrashOptions{Rand: r, TornWrites: true, FlipBits: 2}
		}},
		{name: "fsync-media-flip", sync: wal.SyncAlways, mayCorrupt: true, opts: func(r *rand.Rand) vfs.CrashOptions {
			return vfs.CrashOptions{Rand: r, FlipDurableBits: 1}
		}},
		{name: "buffered-torn", sync: wal.SyncInterval, opts: func(r *rand.Rand) vfs.CrashOptions { return vfs.CrashOptions{Rand: r, TornWrites: true} }},
	}
	seeds := 12
	if testing.Short() {
		seeds = 3
	}
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			corrupt := 0
			for seed := 1; seed <= seeds; seed++ {
				if crashRun(t, m, uint64(seed)) {
					corrupt++
				}
			}
			t.Logf("%d of %d crashes reported corruption", corrupt, seeds)
		})
	}
}

// crashRun runs one workload, crashes, recovers and checks. It reports
// whether recovery failed with (an allowed) corruption error.
func crashRun(t *testing.T, mode crashMode, seed uint64) bool {
	rnd := rand.New(rand.NewPCG(seed, 0x5eed))
	fs := vfs.NewMem()
	r := newRig(t, fs, Config{SegmentSize: 16 << 10, Sync: mode.sync, compactChunk: 8 << 10})
	if _, err := r.b.CreateQueue(r.ctx, "q", broker.QueueProperties{MaxDeliveryCount: 100}); err != nil {
		t.Fatal(err)
	}
	j := &journal{target: 20 + rnd.IntN(600), reach: make(chan struct{})}
	reached := j.reach
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var opID sync.Mutex
	nextOp := 0
	const workers = 4
	for w := range workers {
		wr := rand.New(rand.NewPCG(seed, uint64(w)))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				if err := crashOp(r, j, wr, w, n, &opID, &nextOp); err != nil {
					t.Errorf("worker %d: %v", w, err)
					return
				}
			}
		}()
	}
	<-reached
	j.mu.Lock()
	cut := len(j.ev)
	j.mu.Unlock()
	if mode.sync != wal.SyncAlways {
		if err := r.s.Sync(); err != nil {
			t.Fatal(err)
		}
	}
	if rnd.IntN(3) == 0 {
		r.s.maintainOnce() // crash around a GC/compaction too
	}
	// Freeze the journal while cloning: events before cloneAt may have
	// reached the disk; in fsync mode they all did.
	j.mu.Lock()
	cloneAt := len(j.ev)
	if mode.sync == wal.SyncAlways {
		cut = cloneAt
	}
	clone := fs.CrashClone(mode.opts(rnd))
	j.mu.Unlock()
	close(stop)
	wg.Wait()
	r.close()

	j.mu.Lock()
	events := j.ev
	j.mu.Unlock()

	s, err := Open(clone, "/data", Config{SegmentSize: 16 << 10})
	if err != nil {
		var ce *wal.CorruptionError
		var re *RecordError
		switch {
		case mode.mayCorrupt && errors.As(err, &ce):
			if !strings.Contains(err.Error(), "segment") || !strings.Contains(err.Error(), "offset") {
				t.Fatalf("seed %d: corruption error without its location: %v", seed, err)
			}
			return true
		case mode.mayCorrupt && errors.As(err, &re):
			return true
		}
		t.Fatalf("seed %d (%s): recovery failed: %v", seed, mode.name, err)
	}
	where := fmt.Sprintf("seed %d (%s), crash after %d (synced %d) of %d events", seed, mode.name, cloneAt, cut, len(events))
	checkRecovered(t, where, s, events, cut, cloneAt)
	if err := VerifyIndex(s); err != nil {
		t.Fatalf("%s: index after recovery: %v", where, err)
	}
	// Recovery is repeatable and leaves a usable store.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(clone, "/data", Config{SegmentSize: 16 << 10})
	if err != nil {
		t.Fatalf("%s: second recovery: %v", where, err)
	}
	defer s.Close()
	checkRecovered(t, where+", reopened", s, events, cut, cloneAt)
	done := make(chan error, 1)
	s.Submit([]broker.Record{{Kind: broker.RecRemove, Entity: "q", Seq: 1}}, func(err error) { done <- err })
	if err := <-done; err != nil {
		t.Fatalf("%s: submit after recovery: %v", where, err)
	}
	return false
}

// crashOp performs one random operation and journals what it was told.
func crashOp(r *rig, j *journal, rnd *rand.Rand, w, n int, opMu *sync.Mutex, next *int) error {
	switch p := rnd.IntN(100); {
	case p < 45:
		k := 1 + rnd.IntN(3)
		msgs := make([]*broker.Message, k)
		for i := range msgs {
			body := fmt.Sprintf("w%d-n%d-%d-%s", w, n, i, strings.Repeat("x", rnd.IntN(600)))
			msgs[i] = &broker.Message{Body: []byte(body)}
		}
		seqs, err := r.b.Send(r.ctx, "q", msgs)
		if err != nil {
			return fmt.Errorf("send: %w", err)
		}
		ev := make([]event, k)
		for i := range seqs {
			ev[i] = event{kind: evSent, seq: seqs[i], body: string(msgs[i].Body)}
		}
		j.add(ev...)
	case p < 85:
		msgs, err := r.b.Receive(r.ctx, "q", broker.ReceiveOptions{MaxMessages: 1 + rnd.IntN(3)})
		if err != nil {
			return fmt.Errorf("receive: %w", err)
		}
		for _, m := range msgs {
			var d broker.Disposition
			switch q := rnd.IntN(10); {
			case q < 6:
				d = broker.Complete
				j.add(event{kind: evRemoveFrom, seq: m.SequenceNumber})
			case q < 8:
				d = broker.Abandon
			case q < 9:
				d = broker.Defer
			default:
				d = broker.DeadLetter
			}
			if err := r.b.Settle(r.ctx, "q", m.LockToken, broker.Settlement{Disposition: d}); err != nil {
				return fmt.Errorf("settle %v: %w", d, err)
			}
			switch d {
			case broker.Complete:
				j.add(event{kind: evRemoved, seq: m.SequenceNumber})
			case broker.Defer:
				j.add(event{kind: evDeferred, seq: m.SequenceNumber})
			case broker.DeadLetter:
				j.add(event{kind: evDead, seq: m.SequenceNumber})
			}
		}
	default:
		opMu.Lock()
		*next++
		id := *next
		opMu.Unlock()
		j.add(event{kind: evRADStart, op: id})
		msgs, err := r.b.Receive(r.ctx, "q", broker.ReceiveOptions{MaxMessages: 1 + rnd.IntN(2), Mode: broker.ReceiveAndDelete})
		if err != nil {
			return fmt.Errorf("receive and delete: %w", err)
		}
		ev := make([]event, len(msgs))
		for i, m := range msgs {
			ev[i] = event{kind: evRemoved, seq: m.SequenceNumber, op: id}
		}
		j.add(ev...)
	}
	return nil
}

// checkRecovered checks the recovered store against the journal: events
// before cut were acknowledged before the last sync before the crash, events
// before cloneAt before the crash.
func checkRecovered(t *testing.T, where string, s *Store, events []event, cut, cloneAt int) {
	t.Helper()
	snap, err := s.Load(t.Context())
	if err != nil {
		t.Fatalf("%s: Load: %v", where, err)
	}
	var es *broker.EntitySnapshot
	for _, e := range snap.Entities {
		if e.Def.Name == "q" {
			es = e
		}
	}
	if es == nil {
		t.Fatalf("%s: queue lost", where)
	}
	got := make(map[int64]*broker.Message)
	for _, m := range es.Messages {
		got[m.SequenceNumber] = m
	}
	body := map[int64]string{}
	sentBefore := map[int64]bool{}
	removedBefore := map[int64]bool{}
	attempted := map[int64]bool{} // a removal started before the crash
	radBefore := map[int]bool{}
	state := map[int64]evKind{} // deferred/dead acknowledged before the crash
	var maxSeq int64
	for i, e := range events {
		before, started := i < cut, i < cloneAt
		switch e.kind {
		case evSent:
			body[e.seq] = e.body
			sentBefore[e.seq] = sentBefore[e.seq] || before
			if before {
				maxSeq = max(maxSeq, e.seq)
			}
		case evRemoveFrom:
			if started {
				attempted[e.seq] = true
			}
		case evRADStart:
			if started {
				radBefore[e.op] = true
			}
		case evRemoved:
			if (e.op != 0 && radBefore[e.op]) || started {
				attempted[e.seq] = true
			}
			if before {
				removedBefore[e.seq] = true
			}
		case evDeferred, evDead:
			if before {
				state[e.seq] = e.kind
			}
		}
	}
	if es.LastSeq < maxSeq {
		t.Fatalf("%s: LastSeq %d below acknowledged sequence number %d", where, es.LastSeq, maxSeq)
	}
	for seq := range removedBefore {
		if _, ok := got[seq]; ok {
			t.Fatalf("%s: message %d came back after its removal was acknowledged", where, seq)
		}
	}
	for seq := range sentBefore {
		if !sentBefore[seq] || attempted[seq] {
			continue
		}
		m, ok := got[seq]
		if !ok {
			for i, e := range events {
				if e.seq == seq {
					t.Logf("event %d: %+v", i, e)
				}
			}
			t.Fatalf("%s: acknowledged message %d lost", where, seq)
		}
		switch state[seq] {
		case evDeferred:
			if m.State != broker.StateDeferred && !m.DeadLettered {
				t.Fatalf("%s: message %d: deferral lost", where, seq)
			}
		case evDead:
			if !m.DeadLettered {
				t.Fatalf("%s: message %d: dead-lettering lost", where, seq)
			}
		}
	}
	for seq, m := range got {
		want, ok := body[seq]
		if !ok {
			t.Fatalf("%s: unknown message %d recovered", where, seq)
		}
		b, err := s.ReadBody(t.Context(), "q", m.BodyRef)
		if err != nil || string(b) != want {
			t.Fatalf("%s: body of %d = %.20q, %v; want %.20q", where, seq, b, err, want)
		}
	}
}

// TestCorruptionReported damages a record in the middle of the log: Open
// must fail with a corruption error naming the segment and offset.
func TestCorruptionReported(t *testing.T) {
	fs := vfs.NewMem()
	r := newRig(t, fs, Config{SegmentSize: 16 << 10})
	if _, err := r.b.CreateQueue(r.ctx, "q", broker.QueueProperties{}); err != nil {
		t.Fatal(err)
	}
	r.send("q", 60, make([]byte, 700)) // several segments
	r.close()
	names, err := fs.List("/data/wal")
	if err != nil || len(names) < 3 {
		t.Fatalf("segments %v, %v", names, err)
	}
	f, err := fs.OpenReadWrite("/data/wal/" + names[1])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte{0xff}, 1000); err != nil {
		t.Fatal(err)
	}
	f.Close()
	_, err = Open(fs, "/data", Config{SegmentSize: 16 << 10})
	var ce *wal.CorruptionError
	if !errors.As(err, &ce) || !wal.IsCorruption(err) || ce.Segment != 2 || ce.Offset > 1000 {
		t.Fatalf("Open of a damaged log: %v", err)
	}
	if !strings.HasPrefix(err.Error(), "filestore: ") {
		t.Fatalf("error %q lacks the package prefix", err)
	}
}
