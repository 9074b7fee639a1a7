package filestore

import (
	"bytes"
	"fmt"
	"maps"
	"math/rand/v2"
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

// TestStorageQueueCrash: in fsync mode, everything a storage queue
// operation acknowledged survives a power cut (torn unsynced writes
// included) — texts, dequeue counts and the current receipts — with
// maintenance running between steps.
func TestStorageQueueCrash(t *testing.T) {
	type want struct {
		text, receipt string
		count         int64
	}
	for seed := range uint64(8) {
		rnd := rand.New(rand.NewPCG(seed, 0x5c))
		fs := vfs.NewMem()
		r := newRig(t, fs, Config{SegmentSize: 16 << 10, compactChunk: 8 << 10})
		sq := r.b.StorageQueues()
		if _, err := sq.Create(r.ctx, "acct/q", map[string]string{"seed": fmt.Sprint(seed)}); err != nil {
			t.Fatal(err)
		}
		model := map[string]*want{}
		var ids []string
		pick := func() (string, *want) {
			for len(ids) > 0 {
				i := rnd.IntN(len(ids))
				if w := model[ids[i]]; w != nil {
					return ids[i], w
				}
				ids[i] = ids[len(ids)-1]
				ids = ids[:len(ids)-1]
			}
			return "", nil
		}
		for step := range 100 + rnd.IntN(300) {
			switch p := rnd.IntN(10); {
			case p < 4:
				text := fmt.Sprintf("%d-%d-%s", seed, step, bytes.Repeat([]byte("x"), rnd.IntN(300)))
				m, err := sq.Put(r.ctx, "acct/q", []byte(text), time.Duration(rnd.IntN(2))*time.Minute, -1)
				if err != nil {
					t.Fatal(err)
				}
				model[m.ID] = &want{text: text, receipt: m.Receipt}
				ids = append(ids, m.ID)
			case p < 6:
				ms, err := sq.Get(r.ctx, "acct/q", 1+rnd.IntN(4), time.Minute)
				if err != nil {
					t.Fatal(err)
				}
				for _, m := range ms {
					w := model[m.ID]
					w.receipt, w.count = m.Receipt, w.count+1
				}
			case p < 8:
				id, w := pick()
				if w == nil {
					continue
				}
				var text []byte
				if rnd.IntN(2) == 0 {
					text = fmt.Appendf(nil, "updated %d", step)
				}
				u, err := sq.Update(r.ctx, "acct/q", id, w.receipt, time.Duration(rnd.IntN(2))*time.Minute, text)
				if err != nil {
					t.Fatalf("seed %d step %d: %v", seed, step, err)
				}
				w.receipt = u.Receipt
				if text != nil {
					w.text = string(text)
				}
			case p < 9:
				id, w := pick()
				if w == nil {
					continue
				}
				if err := sq.Delete(r.ctx, "acct/q", id, w.receipt); err != nil {
					t.Fatalf("seed %d step %d: %v", seed, step, err)
				}
				delete(model, id)
			default:
				r.clk.Advance(time.Duration(rnd.IntN(90)) * time.Second)
				r.s.maintainOnce()
			}
		}
		clone := fs.CrashClone(vfs.CrashOptions{Rand: rnd, TornWrites: true})
		s, err := Open(clone, "/data", Config{SegmentSize: 16 << 10, Clock: r.clk})
		if err != nil {
			t.Fatalf("seed %d: recovery: %v", seed, err)
		}
		b, err := broker.New(broker.Config{Store: s, Clock: r.clk})
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Open(r.ctx); err != nil {
			t.Fatal(err)
		}
		sq = b.StorageQueues()
		info, err := b.GetEntity("acct/q")
		if err != nil || info.Active != int64(len(model)) || info.Metadata["seed"] != fmt.Sprint(seed) {
			t.Fatalf("seed %d: after the crash %+v, %v; want %d messages", seed, info, err, len(model))
		}
		for id, w := range model { // every acknowledged receipt is current
			u, err := sq.Update(r.ctx, "acct/q", id, w.receipt, 0, nil)
			if err != nil {
				t.Fatalf("seed %d: message %s after the crash: %v", seed, id, err)
			}
			w.receipt = u.Receipt
		}
		ms, err := sq.Get(r.ctx, "acct/q", 5000, time.Minute)
		if err != nil || len(ms) != len(model) {
			t.Fatalf("seed %d: Get after the crash: %d, %v; want %d", seed, len(ms), err, len(model))
		}
		for _, m := range ms {
			if w := model[m.ID]; string(m.Text) != w.text || m.DequeueCount != w.count+1 {
				t.Fatalf("seed %d: message %s after the crash: %q count %d; want %q count %d", seed, m.ID, m.Text, m.DequeueCount, w.text, w.count+1)
			}
		}
		b.Close()
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
