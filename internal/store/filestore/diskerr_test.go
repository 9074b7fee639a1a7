package filestore

import (
	"errors"
	"strings"
	"syscall"
	"testing"

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
