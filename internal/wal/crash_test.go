package wal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/batonmq/baton/internal/clock"
	"github.com/batonmq/baton/internal/vfs"
)

// Crash tests: random concurrent workloads on the in-memory FS, a crash clone
// at a random moment (optionally with torn writes and flipped bits in the
// unsynced data), recovery, and a check against what was acknowledged:
//
//   - every group acknowledged before the crash is there, at its position,
//     byte for byte;
//   - every recovered record is one that was appended, its group is whole,
//     and positions increase;
//   - Open fails only when bits were flipped, and then with a
//     *CorruptionError located after the acknowledged data.

// crashModel tracks appended and acknowledged groups.
type crashModel struct {
	mu        sync.Mutex
	submitted map[string][]string // record → the records of its group, in order
	acked     map[Pos]string      // position → record, for acknowledged groups
}

func newCrashModel() *crashModel {
	return &crashModel{submitted: make(map[string][]string), acked: make(map[Pos]string)}
}

// crashAppender appends random groups until stop is closed.
func crashAppender(l *Log, m *crashModel, id int, seed uint64, stop <-chan struct{}, acks chan<- struct{}, wg *sync.WaitGroup) {
	defer wg.Done()
	rng := rand.New(rand.NewPCG(seed, uint64(id)))
	for n := 0; ; n++ {
		select {
		case <-stop:
			return
		default:
		}
		size := 1 + rng.IntN(4)
		recs := make([][]byte, size)
		names := make([]string, size)
		for i := range recs {
			pad := bytes.Repeat([]byte{byte('a' + rng.IntN(26))}, rng.IntN(300))
			recs[i] = append([]byte(fmt.Sprintf("s%d-a%d-g%d-r%d|", seed, id, n, i)), pad...)
			names[i] = string(recs[i])
		}
		m.mu.Lock()
		for _, name := range names {
			m.submitted[name] = names
		}
		m.mu.Unlock()
		ps, err := l.AppendBatch(context.Background(), recs)
		if err != nil {
			return // the log was closed under us
		}
		m.mu.Lock()
		for i, p := range ps {
			m.acked[p] = names[i]
		}
		m.mu.Unlock()
		select {
		case acks <- struct{}{}:
		case <-stop:
			return
		}
	}
}

func TestCrashRecovery(t *testing.T) {
	t.Parallel()
	seeds := 40
	if testing.Short() || raceEnabled {
		seeds = 10
	}
	for seed := 0; seed < seeds; seed++ {
		for _, mode := range []string{"clean", "torn", "torn+flips", "interval"} {
			t.Run(fmt.Sprintf("seed=%d/%s", seed, mode), func(t *testing.T) {
				t.Parallel()
				crashRun(t, uint64(seed), mode)
			})
		}
	}
}

func crashRun(t *testing.T, seed uint64, mode string) {
	rng := rand.New(rand.NewPCG(seed, 0xba70))
	sizes := []int64{4096, 8192, 65536}
	cfg := Config{SegmentSize: sizes[rng.IntN(len(sizes))]}
	if rng.IntN(3) == 0 {
		cfg.MaxWriteBytes = 1024 // several writes per group commit
	}
	cfg.ZeroAhead = []int{-1, 512, 4096, 0}[rng.IntN(4)] // zeros written ahead of the appends
	if mode == "interval" {
		// Buffered appends; durability comes only from explicit Syncs (the
		// fake clock never moves, so the timer never fires).
		cfg.SyncMode = SyncInterval
		cfg.Clock = clock.NewFake(time.Unix(0, 0))
	}
	fsys := vfs.NewMem()
	m := newCrashModel()
	for round := 0; round < 4; round++ {
		l, err := Open(fsys, testDir, cfg)
		if err != nil {
			t.Fatalf("round %d: Open: %v", round, err)
		}
		stop := make(chan struct{})
		acks := make(chan struct{})
		var wg sync.WaitGroup
		appenders := 1 + rng.IntN(8)
		for a := 0; a < appenders; a++ {
			wg.Add(1)
			go crashAppender(l, m, a, seed*100+uint64(round), stop, acks, &wg)
		}
		want := 1 + rng.IntN(60)
		for i := 0; i < want; i++ {
			<-acks
		}
		m.mu.Lock()
		acked := make(map[Pos]string, len(m.acked))
		var lastAcked Pos
		var lastAckedEnd int64
		for p, name := range m.acked {
			acked[p] = name
			if p.Compare(lastAcked) > 0 {
				lastAcked = p
				lastAckedEnd = p.Offset + int64(frameSize(len(name)))
			}
		}
		m.mu.Unlock()
		if mode == "interval" {
			// What was acknowledged before Sync is durable once it returns.
			if err := l.Sync(); err != nil {
				t.Fatal(err)
			}
		}
		opts := vfs.CrashOptions{Rand: rand.New(rand.NewPCG(seed, uint64(round)))}
		switch mode {
		case "interval":
			opts.TornWrites = true
		case "torn":
			opts.TornWrites = true
		case "torn+flips":
			opts.TornWrites = true
			opts.FlipBits = 1 + rng.IntN(3)
		}
		clone := fsys.CrashClone(opts)
		close(stop)
		wg.Wait()
		_ = l.Close()

		fsys = clone
		l2, err := Open(fsys, testDir, cfg)
		var recovered []posRec
		if err == nil {
			recovered, err = replayErr(l2)
			_ = l2.Close()
		}
		if err != nil {
			var ce *CorruptionError
			if mode != "torn+flips" || !errors.As(err, &ce) {
				t.Fatalf("round %d: recovery failed: %v", round, err)
			}
			if ce.Segment < lastAcked.Segment || (ce.Segment == lastAcked.Segment && ce.Offset < lastAckedEnd) {
				t.Fatalf("round %d: corruption %v inside acknowledged data (last acknowledged record %v)", round, err, lastAcked)
			}
			return // a damaged unsynced tail with valid data after it: refusing is right
		}
		checkRecovered(t, round, m, acked, recovered)
		// What was recovered is durable now: it is the model for the next round.
		m.mu.Lock()
		m.acked = make(map[Pos]string, len(recovered))
		for _, r := range recovered {
			m.acked[r.pos] = string(r.rec)
		}
		m.mu.Unlock()
	}
}

func checkRecovered(t *testing.T, round int, m *crashModel, acked map[Pos]string, recovered []posRec) {
	t.Helper()
	byPos := make(map[Pos]string, len(recovered))
	for i, r := range recovered {
		if i > 0 && recovered[i-1].pos.Compare(r.pos) >= 0 {
			t.Fatalf("round %d: positions not increasing: %v then %v", round, recovered[i-1].pos, r.pos)
		}
		byPos[r.pos] = string(r.rec)
	}
	for p, name := range acked {
		got, ok := byPos[p]
		if !ok {
			t.Fatalf("round %d: acknowledged record %q at %v lost (%d acknowledged, %d recovered)", round, name, p, len(acked), len(recovered))
		}
		if got != name {
			t.Fatalf("round %d: at %v got %q, want %q", round, p, got, name)
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := 0; i < len(recovered); {
		name := string(recovered[i].rec)
		group, ok := m.submitted[name]
		if !ok {
			t.Fatalf("round %d: recovered a record never appended: %q", round, name)
		}
		if group[0] != name {
			t.Fatalf("round %d: group recovered from its middle: %q", round, name)
		}
		for j, g := range group {
			if i+j >= len(recovered) || string(recovered[i+j].rec) != g {
				t.Fatalf("round %d: group of %q recovered partially", round, name)
			}
		}
		i += len(group)
	}
}

func TestCrashDurableBitFlips(t *testing.T) {
	t.Parallel()
	// Media damage to synced data: the log either reports corruption or
	// recovers a prefix of what was acknowledged that lacks at most the last
	// group (damage to the last record reads as a torn write). It never
	// returns a damaged or foreign record.
	reported := 0
	for seed := uint64(0); seed < 60; seed++ {
		fsys := vfs.NewMem()
		cfg := Config{SegmentSize: 4096}
		ps := fill(t, fsys, cfg, 40+int(seed))
		clone := fsys.CrashClone(vfs.CrashOptions{Rand: rand.New(rand.NewPCG(seed, 9)), FlipDurableBits: 1})
		l, err := Open(clone, testDir, cfg)
		var got []posRec
		if err == nil {
			got, err = replayErr(l)
			_ = l.Close()
		}
		if err != nil {
			if !IsCorruption(err) {
				t.Fatalf("seed %d: %v", seed, err)
			}
			reported++
			continue
		}
		if len(got) < len(ps)-1 {
			t.Fatalf("seed %d: recovered %d of %d records without reporting corruption", seed, len(got), len(ps))
		}
		for i, r := range got {
			if r.pos != ps[i] || !bytes.Equal(r.rec, rec(i)) {
				t.Fatalf("seed %d: record %d is %v %q", seed, i, r.pos, r.rec)
			}
		}
	}
	if reported == 0 {
		t.Fatal("no flip was ever reported as corruption")
	}
}
