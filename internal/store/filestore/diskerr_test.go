package filestore

import (
	"errors"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/batonmq/baton/internal/broker"
	"github.com/batonmq/baton/internal/vfs"
)

// TestDiskErrors: with the disk full (or failing), sends and settlements
// fail with "storage unavailable", nothing acknowledged is lost, and the
// store works again once the disk does, without a restart.
func TestDiskErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		err   error
		errno syscall.Errno
		ops   []vfs.Op
	}{
		{"full", vfs.ErrInjectedNoSpace, syscall.ENOSPC, []vfs.Op{vfs.OpWrite, vfs.OpCreate, vfs.OpPreallocate}},
		{"eio-sync", vfs.ErrInjectedIO, syscall.EIO, []vfs.Op{vfs.OpSync}},
		{"eio-all", vfs.ErrInjectedIO, syscall.EIO, []vfs.Op{vfs.OpWrite, vfs.OpSync, vfs.OpCreate}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mem := vfs.NewMem()
			efs := vfs.NewErrorFS(mem)
			r := newRig(t, efs, Config{SegmentSize: 16 << 10})
			if _, err := r.b.CreateQueue(r.ctx, "q", broker.QueueProperties{}); err != nil {
				t.Fatal(err)
			}
			body := make([]byte, 500)
			acked := r.send("q", 20, body)
			locked := r.receive("q", 2)

			efs.SetInjector(vfs.FailOn(tc.err, tc.ops...))
			for i := 0; i < 5; i++ {
				_, err := r.b.Send(r.ctx, "q", []*broker.Message{{Body: body}})
				if broker.CodeOf(err) != broker.CodeStoreUnavailable || !strings.Contains(err.Error(), "storage unavailable") || !errors.Is(err, tc.errno) {
					t.Fatalf("send on a failing disk: %v", err)
				}
			}
			err := r.b.Settle(r.ctx, "q", locked[0].LockToken, broker.Settlement{Disposition: broker.Complete})
			if broker.CodeOf(err) != broker.CodeStoreUnavailable {
				t.Fatalf("complete on a failing disk: %v", err)
			}

			efs.SetInjector(nil) // space returns
			acked = append(acked, r.send("q", 20, body)...)
			r.settle("q", locked[1], broker.Complete)
			if info, _ := r.b.GetEntity("q"); info.Active != 39 {
				t.Fatalf("%d active messages; want 39", info.Active)
			}

			// Crash now and recover: everything acknowledged is there,
			// nothing that failed is.
			clone := mem.CrashClone(vfs.CrashOptions{})
			r.close()
			s, err := Open(clone, "/data", Config{SegmentSize: 16 << 10})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			snap, err := s.Load(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			got := map[int64]bool{}
			for _, m := range snap.Entities[0].Messages {
				got[m.SequenceNumber] = true
			}
			for _, seq := range acked {
				if seq == locked[1].SequenceNumber {
					if got[seq] {
						t.Fatalf("completed message %d came back", seq)
					}
					continue
				}
				if !got[seq] {
					t.Fatalf("acknowledged message %d lost", seq)
				}
			}
			if len(got) != len(acked)-1 {
				t.Fatalf("%d messages recovered; want %d", len(got), len(acked)-1)
			}
		})
	}
}

// TestDiskErrorsDuringCompaction injects disk-full errors while traffic,
// GC and compaction run: failed operations change nothing, and once space
// returns the store goes on, and a restart finds the broker's state.
func TestDiskErrorsDuringCompaction(t *testing.T) {
	mem := vfs.NewMem()
	efs := vfs.NewErrorFS(mem)
	r := newRig(t, efs, Config{SegmentSize: 16 << 10, compactChunk: 2 << 10, RemovedBodyGrace: time.Second})
	if _, err := r.b.CreateQueue(r.ctx, "q", broker.QueueProperties{MaxDeliveryCount: 1000}); err != nil {
		t.Fatal(err)
	}
	body := make([]byte, 400)
	failures := 0
	for round := 0; round < 30; round++ {
		if round%3 == 1 {
			efs.SetInjector(vfs.FailAfter(int64(round%7), vfs.ErrInjectedNoSpace, vfs.OpWrite, vfs.OpCreate, vfs.OpSync, vfs.OpRemove))
		}
		for i := 0; i < 20; i++ {
			if _, err := r.b.Send(r.ctx, "q", []*broker.Message{{Body: body}}); err != nil {
				if broker.CodeOf(err) != broker.CodeStoreUnavailable {
					t.Fatal(err)
				}
				failures++
			}
		}
		msgs, err := r.b.Receive(r.ctx, "q", broker.ReceiveOptions{MaxMessages: 20})
		if err != nil {
			t.Fatal(err)
		}
		for i, m := range msgs {
			d := broker.Complete
			if i == 0 {
				d = broker.Defer
			}
			if err := r.b.Settle(r.ctx, "q", m.LockToken, broker.Settlement{Disposition: d}); err != nil {
				if broker.CodeOf(err) != broker.CodeStoreUnavailable {
					t.Fatal(err)
				}
				failures++
				// The lock is kept; abandon it so the message is
				// available again (Release writes nothing).
				_ = r.b.Settle(r.ctx, "q", m.LockToken, broker.Settlement{Disposition: broker.Release})
			}
		}
		r.settleGC()
		efs.SetInjector(nil)
	}
	if failures == 0 {
		t.Fatal("no operation failed")
	}
	r.settleGC()
	st := r.s.Stats()
	before := peekAll(t, r)
	clone := mem.CrashClone(vfs.CrashOptions{})
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
	// A power loss instead of a clean restart finds the same messages.
	s, err := Open(clone, "/data", Config{SegmentSize: 16 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	snap, err := s.Load(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if n := len(snap.Entities[0].Messages); n != len(before) {
		t.Fatalf("%d messages after a crash; want %d", n, len(before))
	}
	for _, m := range snap.Entities[0].Messages {
		if _, ok := before[m.SequenceNumber]; !ok {
			t.Fatalf("message %d back after a crash", m.SequenceNumber)
		}
	}
	t.Logf("%d failed operations; %d messages, %d segments, %d records copied", failures, len(after), st.Segments, st.Copied)
}
