package brokertest

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/batonmq/baton/internal/broker"
)

// The randomized model test of the storage queue section.

// sqModelMsg is the reference model's storage queue message.
type sqModelMsg struct {
	id, text, receipt string
	stale             []string // receipts superseded
	seq, count        int64
	inserted, visible time.Time
	expires           time.Time // zero: never
}

func (m *sqModelMsg) expired(now time.Time) bool {
	return !m.expires.IsZero() && !now.Before(m.expires)
}

// testSQModel drives random storage queue operations against the broker
// and a reference model, comparing every result.
func testSQModel(t *testing.T, f Factory) {
	for _, seed := range []uint64{1, 2, 3} {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) { runSQModel(t, f, seed, 300) })
	}
}

func runSQModel(t *testing.T, f Factory, seed uint64, steps int) {
	rng := rand.New(rand.NewPCG(seed, 7))
	s := newSQEnv(t, f)
	const q = "acct/model"
	s.create(q, nil)
	model := map[string]*sqModelMsg{}
	var seq int64
	secs := func(choices ...int) time.Duration {
		return time.Duration(choices[rng.IntN(len(choices))]) * time.Second
	}
	// live returns the model's unexpired messages in Get order.
	live := func(now time.Time) []*sqModelMsg {
		var out []*sqModelMsg
		for id, m := range model {
			if m.expired(now) {
				delete(model, id)
				continue
			}
			out = append(out, m)
		}
		slices.SortFunc(out, func(a, b *sqModelMsg) int {
			if c := a.visible.Compare(b.visible); c != 0 {
				return c
			}
			return int(a.seq - b.seq)
		})
		return out
	}
	visible := func(now time.Time, n int) []*sqModelMsg {
		var out []*sqModelMsg
		for _, m := range live(now) {
			if len(out) == n || now.Before(m.visible) {
				break
			}
			out = append(out, m)
		}
		return out
	}
	check := func(step int, op string, got []*broker.SQMessage, want []*sqModelMsg, receipts bool) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("step %d %s: %d messages; want %d", step, op, len(got), len(want))
		}
		for i, g := range got {
			w := want[i]
			if g.ID != w.id || string(g.Text) != w.text || g.DequeueCount != w.count || !g.InsertedAt.Equal(w.inserted) ||
				!g.ExpiresAt.Equal(w.expires) || (receipts && (g.Receipt == "" || !g.VisibleAt.Equal(w.visible))) || (!receipts && g.Receipt != "") {
				t.Fatalf("step %d %s: message %d = %+v; want %+v", step, op, i, g, *w)
			}
		}
	}
	pick := func(now time.Time) *sqModelMsg {
		ms := live(now)
		if len(ms) == 0 {
			return nil
		}
		return ms[rng.IntN(len(ms))]
	}
	// receiptFor returns m's current receipt, or a stale one, and whether
	// it is current.
	receiptFor := func(m *sqModelMsg) (string, bool) {
		if len(m.stale) > 0 && rng.IntN(4) == 0 {
			return m.stale[rng.IntN(len(m.stale))], false
		}
		return m.receipt, true
	}
	for step := range steps {
		now := s.Broker.Now()
		switch r := rng.IntN(100); {
		case r < 25:
			vis, ttl := secs(0, 0, 5, 60), secs(0, 30, 120, -1)
			if ttl < 0 {
				ttl = -1
			}
			if ttl > 0 && vis >= ttl {
				vis = 0
			}
			text := fmt.Sprintf("m%d", step)
			p := s.put(q, text, vis, ttl)
			seq++
			m := &sqModelMsg{id: p.ID, text: text, receipt: p.Receipt, seq: seq, inserted: now, visible: now.Add(vis)}
			switch {
			case ttl == 0:
				m.expires = now.Add(7 * 24 * time.Hour)
			case ttl > 0:
				m.expires = now.Add(ttl)
			}
			model[m.id] = m
		case r < 45:
			n, vis := 1+rng.IntN(5), secs(0, 10, 60)
			want := visible(now, n)
			got := s.get(q, n, vis)
			for _, m := range want {
				m.count++
				m.visible = now.Add(vis)
			}
			check(step, "Get", got, want, true)
			for i, m := range want {
				m.stale = append(m.stale, m.receipt)
				m.receipt = got[i].Receipt
			}
		case r < 55:
			n := 1 + rng.IntN(5)
			check(step, "Peek", s.peek(q, n), visible(now, n), false)
		case r < 67:
			m := pick(now)
			if m == nil {
				continue
			}
			rc, current := receiptFor(m)
			err := s.q.Delete(s.Ctx, q, m.id, rc)
			if !current {
				WantCode(t, err, broker.CodeMessageNotFound)
				continue
			}
			if err != nil {
				t.Fatalf("step %d Delete: %v", step, err)
			}
			delete(model, m.id)
		case r < 82:
			m := pick(now)
			if m == nil {
				continue
			}
			rc, current := receiptFor(m)
			vis := secs(0, 0, 10, 600)
			var text []byte
			if rng.IntN(2) == 0 {
				text = fmt.Appendf(nil, "u%d", step)
			}
			u, err := s.q.Update(s.Ctx, q, m.id, rc, vis, text)
			if !current {
				WantCode(t, err, broker.CodeMessageNotFound)
				continue
			}
			if err != nil {
				t.Fatalf("step %d Update: %v", step, err)
			}
			m.visible = now.Add(vis)
			if !m.expires.IsZero() && m.visible.After(m.expires) {
				m.visible = m.expires
			}
			if text != nil {
				m.text = string(text)
			}
			if !u.VisibleAt.Equal(m.visible) || u.DequeueCount != m.count || u.Receipt == m.receipt {
				t.Fatalf("step %d Update = %+v; want %+v", step, u, *m)
			}
			m.stale = append(m.stale, m.receipt)
			m.receipt = u.Receipt
		case r < 84:
			if err := s.q.Clear(s.Ctx, q); err != nil {
				t.Fatal(err)
			}
			clear(model)
		case r < 85: // rare: a restart on a real disk is slow
			s.restart()
		default:
			s.Advance(secs(1, 5, 10, 30, 70))
		}
		if c := s.Counts(q); c.Active != int64(len(live(s.Broker.Now()))) {
			t.Fatalf("step %d: approximate count %d; model %d", step, c.Active, len(live(s.Broker.Now())))
		}
	}
}
