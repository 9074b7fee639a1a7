package broker

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestSQReceipts(t *testing.T) {
	var src tokenSource
	src.prefix = 0xfedcba9876543210
	for range 100 {
		tok := src.newToken()
		s := formatReceipt(tok)
		if len(s) != 22 {
			t.Fatalf("receipt %q: %d characters", s, len(s))
		}
		got, err := parseReceipt(s)
		if err != nil || got != tok {
			t.Fatalf("parseReceipt(%q) = %v, %v; want %v", s, got, err, tok)
		}
	}
	for _, bad := range []string{"", "a", "AAAAAAAAAAAAAAAAAAAAAA", "AAAAAAAAAAAAAAAAAAAAAB", "/////////////////////w", "AAAAAAAAAAAAAAAAAAAAAAA", "AAAAAAAAAAAAAAAAAAAAAA=="} {
		if _, err := parseReceipt(bad); CodeOf(err) != CodeInvalidArgument {
			t.Errorf("parseReceipt(%q) = %v; want InvalidArgument", bad, err)
		}
	}
}

func TestSQExpiry(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, c := range []struct {
		ttl  time.Duration
		want time.Time
	}{
		{time.Second, now.Add(time.Second)},
		{SQDefaultTTL, now.Add(SQDefaultTTL)},
		{-1, time.Time{}},
		{-time.Second, time.Time{}},
		{MaxDuration, time.Time{}},
		{MaxDuration / 2, time.Time{}},
		{100 * 365 * 24 * time.Hour, now.Add(100 * 365 * 24 * time.Hour)},
	} {
		if got := sqExpiry(now, c.ttl); !got.Equal(c.want) {
			t.Errorf("sqExpiry(%v) = %v; want %v", c.ttl, got, c.want)
		}
	}
	late := time.Date(9999, 12, 1, 0, 0, 0, 0, time.UTC)
	if got := sqExpiry(late, 365*24*time.Hour); !got.IsZero() {
		t.Errorf("an expiry past 9999-12-31 = %v; want never", got)
	}
}

// TestSQHeap checks the indexed heaps and firstVisible against a sorted
// reference under random adds and removals.
func TestSQHeap(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	base := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var vis sqHeap
	exp := sqHeap{byExpiry: true}
	var live []*sqEntry
	seq := int64(0)
	for step := range 3000 {
		if len(live) > 0 && rng.IntN(3) == 0 {
			i := rng.IntN(len(live))
			en := live[i]
			vis.del(en)
			exp.del(en)
			if en.vidx != -1 || en.xidx != -1 {
				t.Fatalf("step %d: removed entry still indexed (%d, %d)", step, en.vidx, en.xidx)
			}
			live = slices.Delete(live, i, i+1)
		} else {
			seq++
			m := &Message{SequenceNumber: seq, VisibleAt: base.Add(time.Duration(rng.IntN(20)) * time.Second)}
			if rng.IntN(2) == 0 {
				m.ExpiresAt = base.Add(time.Duration(rng.IntN(40)) * time.Second)
			}
			en := &sqEntry{msg: m, vidx: -1, xidx: -1}
			vis.add(en)
			if !m.ExpiresAt.IsZero() {
				exp.add(en)
			}
			live = append(live, en)
		}
		for i, en := range vis.items {
			if en.vidx != i {
				t.Fatalf("step %d: visible[%d] has vidx %d", step, i, en.vidx)
			}
		}
		for i, en := range exp.items {
			if en.xidx != i {
				t.Fatalf("step %d: expiry[%d] has xidx %d", step, i, en.xidx)
			}
		}
		if step%10 != 0 {
			continue
		}
		now := base.Add(time.Duration(rng.IntN(25)) * time.Second)
		n := 1 + rng.IntN(40)
		sorted := slices.Clone(live)
		slices.SortFunc(sorted, func(a, b *sqEntry) int {
			if c := a.msg.VisibleAt.Compare(b.msg.VisibleAt); c != 0 {
				return c
			}
			return int(a.msg.SequenceNumber - b.msg.SequenceNumber)
		})
		var want, wantExpired []*sqEntry
		for _, en := range sorted {
			if len(want) == n || now.Before(en.msg.VisibleAt) {
				break
			}
			if en.expired(now) {
				wantExpired = append(wantExpired, en)
			} else {
				want = append(want, en)
			}
		}
		got, gotExpired := vis.firstVisible(n, now)
		if !slices.Equal(got, want) {
			t.Fatalf("step %d: firstVisible(%d) = %v; want %v", step, n, seqs(got), seqs(want))
		}
		// Expired entries met on the way: those before the n-th visible
		// one (the walk order is the sorted order).
		if !slices.Equal(seqs(gotExpired), seqs(wantExpired)) {
			t.Fatalf("step %d: expired = %v; want %v", step, seqs(gotExpired), seqs(wantExpired))
		}
		if first := exp.min(); first != nil {
			for _, en := range live {
				if !en.msg.ExpiresAt.IsZero() && en.msg.ExpiresAt.Before(first.msg.ExpiresAt) {
					t.Fatalf("step %d: expiry heap min is not the earliest", step)
				}
			}
		}
	}
}

func seqs(ens []*sqEntry) []int64 {
	out := make([]int64, len(ens))
	for i, en := range ens {
		out[i] = en.msg.SequenceNumber
	}
	return out
}
