package filestore

import (
	"bytes"
	"fmt"
	"maps"
	"testing"
	"time"

	"github.com/batonmq/baton/internal/broker"
	"github.com/batonmq/baton/internal/vfs"
)

// TestStorageQueueCompaction: compaction copies storage queue messages
// forward with their current state — visibility, dequeue count, pop
// receipt and replaced text — and the queue's metadata with its
// definition, so a restart after the original records are gone finds
// everything as it was.
func TestStorageQueueCompaction(t *testing.T) {
	r := newRig(t, vfs.NewMem(), Config{SegmentSize: 16 << 10})
	sq := r.b.StorageQueues()
	md := map[string]string{"owner": "ops"}
	if _, err := sq.Create(r.ctx, "acct/q", md); err != nil {
		t.Fatal(err)
	}
	if _, err := r.b.CreateQueue(r.ctx, "busy", broker.QueueProperties{}); err != nil {
		t.Fatal(err)
	}
	text := bytes.Repeat([]byte("t"), 500)
	var kept []*broker.SQMessage // the state each message should have
	for i := range 6 {
		m, err := sq.Put(r.ctx, "acct/q", append([]byte(fmt.Sprint(i)), text...), 0, -1)
		if err != nil {
			t.Fatal(err)
		}
		kept = append(kept, m)
	}
	got, err := sq.Get(r.ctx, "acct/q", 4, time.Hour) // 0–3 hidden, count 1
	if err != nil || len(got) != 4 {
		t.Fatalf("Get: %d, %v", len(got), err)
	}
	copy(kept, got)
	for i := range 2 { // 0 and 1 get new text
		u, err := sq.Update(r.ctx, "acct/q", got[i].ID, got[i].Receipt, 2*time.Hour, []byte(fmt.Sprintf("new %d", i)))
		if err != nil {
			t.Fatal(err)
		}
		kept[i].Receipt, kept[i].VisibleAt, kept[i].Text = u.Receipt, u.VisibleAt, u.Text
	}
	body := make([]byte, 1000)
	for range 10 {
		r.send("busy", 50, body)
		for _, m := range r.receive("busy", 50) {
			r.settle("busy", m, broker.Complete)
		}
		r.settleGC()
	}
	if st := r.s.Stats(); st.Segments > 3 || st.Copied == 0 {
		t.Fatalf("%d segments, %d records copied: compaction did not run", st.Segments, st.Copied)
	}
	r.restart()
	sq = r.b.StorageQueues()
	info, err := r.b.GetEntity("acct/q")
	if err != nil || !maps.Equal(info.Metadata, md) || info.Kind != broker.KindStorageQueue || info.Active != 6 {
		t.Fatalf("after compaction and restart: %+v, %v", info, err)
	}
	// Receipts are current: Update each (without text) with its receipt.
	for i, k := range kept[:4] {
		u, err := sq.Update(r.ctx, "acct/q", k.ID, k.Receipt, 0, nil)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		kept[i].Receipt = u.Receipt
	}
	all, err := sq.Get(r.ctx, "acct/q", 32, time.Minute)
	if err != nil || len(all) != 6 {
		t.Fatalf("Get after restart: %d, %v", len(all), err)
	}
	byID := map[string]*broker.SQMessage{}
	for _, m := range all {
		byID[m.ID] = m
	}
	for i, k := range kept {
		m := byID[k.ID]
		wantText := append([]byte(fmt.Sprint(i)), text...)
		wantCount := int64(2)
		if i < 2 {
			wantText = []byte(fmt.Sprintf("new %d", i))
		}
		if i >= 4 {
			wantCount = 1
		}
		if m == nil || !bytes.Equal(m.Text, wantText) || m.DequeueCount != wantCount || !m.InsertedAt.Equal(k.InsertedAt) {
			t.Fatalf("message %d after compaction: %+v; want text %q count %d", i, m, wantText, wantCount)
		}
	}
}
