package brokertest

import (
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/batonmq/baton/internal/broker"
)

// RunModel drives random operation sequences against a broker over stores
// from f and against a small reference model, comparing every result. The
// seed is logged; BATON_MODEL_SEED replays one, BATON_MODEL_STEPS sets the
// number of operations per run.
func RunModel(t *testing.T, f Factory) {
	RunModelSeeds(t, f, []uint64{1, 2, 3, 4, 5, 6, 7, 8})
}

// RunModelSeeds is RunModel with the given default seeds (a store whose
// tests are slow under the race detector runs fewer).
func RunModelSeeds(t *testing.T, f Factory, seeds []uint64) {
	if s := os.Getenv("BATON_MODEL_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("BATON_MODEL_SEED: %v", err)
		}
		seeds = []uint64{n}
	}
	steps := 400
	if s := os.Getenv("BATON_MODEL_STEPS"); s != "" {
		steps, _ = strconv.Atoi(s)
	}
	for _, seed := range seeds {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			runModel(t, f, seed, steps)
		})
	}
}

// Model settings of the queue under test.
const (
	modelLock     = 10 * time.Second
	modelMaxDeliv = 3
	modelDedup    = time.Minute
)

type modelMsg struct {
	seq       int64
	body      string
	count     int32
	state     broker.MessageState
	dlq       bool
	locked    bool
	token     broker.LockToken
	until     time.Time
	scheduled time.Time
	expires   time.Time
	reason    string
}

type model struct {
	now   time.Time
	seq   int64
	msgs  map[int64]*modelMsg
	dedup map[string]time.Time
}

func (m *model) sorted(dlq bool) []*modelMsg {
	var out []*modelMsg
	for _, x := range m.msgs {
		if x.dlq == dlq {
			out = append(out, x)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].seq < out[j].seq })
	return out
}

// tick applies everything time does, as the broker's timers do.
func (m *model) tick() {
	for _, x := range m.sorted(false) {
		if x.state == broker.StateScheduled && !m.now.Before(x.scheduled) {
			x.state = broker.StateActive
		}
	}
	for _, x := range m.msgs {
		if x.locked && !m.now.Before(x.until) {
			m.fail(x)
		}
	}
	for _, x := range m.msgs {
		m.expire(x)
	}
}

func (m *model) fail(x *modelMsg) {
	x.locked = false
	if !x.dlq {
		x.count++
		if x.count >= modelMaxDeliv {
			x.dlq, x.state, x.reason = true, broker.StateActive, "MaxDeliveryCountExceeded"
		}
	}
	m.expire(x)
}

func (m *model) expire(x *modelMsg) {
	if !x.dlq && !x.locked && x.state != broker.StateScheduled && !x.expires.IsZero() && !m.now.Before(x.expires) {
		x.dlq, x.state, x.reason = true, broker.StateActive, "TTLExpiredException"
	}
}

func (m *model) counts() broker.Counts {
	var c broker.Counts
	for _, x := range m.msgs {
		switch {
		case x.dlq:
			c.DeadLettered++
		case x.state == broker.StateScheduled:
			c.Scheduled++
		case x.state == broker.StateDeferred:
			c.Deferred++
		default:
			c.Active++
		}
		c.SizeBytes += int64(len(x.body))
	}
	return c
}

func runModel(t *testing.T, f Factory, seed uint64, steps int) {
	t.Logf("seed %d, %d steps (replay with BATON_MODEL_SEED=%d)", seed, steps, seed)
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	env := NewEnv(t, f)
	env.Queue("m", broker.QueueProperties{
		LockDuration: modelLock, MaxDeliveryCount: modelMaxDeliv, DeadLetteringOnMessageExpiration: true,
		RequiresDuplicateDetection: true, DuplicateDetectionHistoryTimeWindow: modelDedup,
	})
	md := &model{now: Epoch, msgs: map[int64]*modelMsg{}, dedup: map[string]time.Time{}}
	var tokens []broker.LockToken // tokens handed out, some stale
	path := func(dlq bool) string {
		if dlq {
			return "m/$DeadLetterQueue"
		}
		return "m"
	}
	findTok := func(tok broker.LockToken) *modelMsg {
		for _, x := range md.msgs {
			if x.locked && x.token == tok {
				return x
			}
		}
		return nil
	}
	for step := range steps {
		op := r.IntN(100)
		where := fmt.Sprintf("step %d op %d", step, op)
		switch {
		case op < 22: // send
			n := 1 + r.IntN(3)
			batch := make([]*broker.Message, n)
			want := make([]int64, n)
			for i := range batch {
				msg := &broker.Message{Body: []byte(fmt.Sprintf("s%d-%d", step, i))}
				if r.IntN(3) == 0 {
					msg.MessageID = fmt.Sprintf("id%d", r.IntN(8))
				}
				if r.IntN(4) == 0 {
					msg.TimeToLive = time.Duration(5+r.IntN(30)) * time.Second
				}
				if r.IntN(5) == 0 {
					msg.ScheduledEnqueueTime = md.now.Add(time.Duration(r.IntN(20)) * time.Second)
				}
				batch[i] = msg
				if msg.MessageID != "" {
					if until, ok := md.dedup[msg.MessageID]; ok && md.now.Before(until) {
						continue
					}
					md.dedup[msg.MessageID] = md.now.Add(modelDedup)
				}
				md.seq++
				want[i] = md.seq
				x := &modelMsg{seq: md.seq, body: string(msg.Body), state: broker.StateActive}
				enq := md.now
				if msg.ScheduledEnqueueTime.After(md.now) {
					x.state, x.scheduled, enq = broker.StateScheduled, msg.ScheduledEnqueueTime, msg.ScheduledEnqueueTime
				}
				if msg.TimeToLive > 0 {
					x.expires = enq.Add(msg.TimeToLive)
				}
				md.msgs[x.seq] = x
			}
			got, err := env.Broker.Send(env.Ctx, "m", batch)
			if err != nil || !slices.Equal(got, want) {
				t.Fatalf("%s: Send = %v, %v; model %v", where, got, err, want)
			}
		case op < 44: // peek-lock receive
			dlq := r.IntN(4) == 0
			max := 1 + r.IntN(3)
			got, err := env.Broker.Receive(env.Ctx, path(dlq), broker.ReceiveOptions{MaxMessages: max})
			if err != nil {
				t.Fatalf("%s: Receive: %v", where, err)
			}
			var want []*modelMsg
			for _, x := range md.sorted(dlq) {
				if len(want) < max && !x.locked && x.state == broker.StateActive {
					want = append(want, x)
				}
			}
			if len(got) != len(want) {
				for _, x := range md.sorted(dlq) {
					t.Logf("model: %+v", *x)
				}
			}
			compareMsgs(t, where+" receive", got, want)
			for i, x := range want {
				x.locked, x.token, x.until = true, got[i].LockToken, md.now.Add(modelLock)
				if !got[i].LockedUntil.Equal(x.until) {
					t.Fatalf("%s: LockedUntil %v; model %v", where, got[i].LockedUntil, x.until)
				}
				tokens = append(tokens, got[i].LockToken)
			}
		case op < 50: // receive and delete
			dlq := r.IntN(3) == 0
			max := 1 + r.IntN(2)
			got, err := env.Broker.Receive(env.Ctx, path(dlq), broker.ReceiveOptions{MaxMessages: max, Mode: broker.ReceiveAndDelete})
			if err != nil {
				t.Fatalf("%s: Receive R&D: %v", where, err)
			}
			var want []*modelMsg
			for _, x := range md.sorted(dlq) {
				if len(want) < max && !x.locked && x.state == broker.StateActive {
					want = append(want, x)
				}
			}
			compareMsgs(t, where+" receive-and-delete", got, want)
			for _, x := range want {
				delete(md.msgs, x.seq)
			}
		case op < 72 && len(tokens) > 0: // settle
			tok := tokens[r.IntN(len(tokens))]
			dlq := r.IntN(4) == 0
			disp := broker.Disposition(r.IntN(5))
			err := env.Broker.Settle(env.Ctx, path(dlq), tok, broker.Settlement{Disposition: disp, DeadLetterReason: "app"})
			x := findTok(tok)
			switch {
			case x == nil || x.dlq != dlq:
				if broker.CodeOf(err) != broker.CodeLockLost {
					t.Fatalf("%s: settle %v of a stale token = %v; want LockLost", where, disp, err)
				}
			case disp == broker.DeadLetter && x.dlq:
				if broker.CodeOf(err) != broker.CodeInvalidArgument {
					t.Fatalf("%s: dead-letter in DLQ = %v", where, err)
				}
			default:
				if err != nil {
					t.Fatalf("%s: settle %v seq %d: %v", where, disp, x.seq, err)
				}
				x.locked = false
				switch disp {
				case broker.Complete:
					delete(md.msgs, x.seq)
				case broker.Abandon:
					x.locked = true
					md.fail(x)
				case broker.Release:
					md.expire(x)
				case broker.Defer:
					x.state = broker.StateDeferred
					md.expire(x)
				case broker.DeadLetter:
					x.dlq, x.state, x.reason = true, broker.StateActive, "app"
				}
			}
		case op < 78: // receive deferred
			seq := int64(1 + r.IntN(int(md.seq)+2))
			dlq := r.IntN(4) == 0
			got, err := env.Broker.ReceiveDeferred(env.Ctx, path(dlq), []int64{seq}, broker.PeekLock, nil)
			x := md.msgs[seq]
			if x == nil || x.dlq != dlq || x.locked || x.state != broker.StateDeferred {
				if broker.CodeOf(err) != broker.CodeMessageNotFound {
					t.Fatalf("%s: ReceiveDeferred(%d) = %v, %v; want MessageNotFound", where, seq, got, err)
				}
				break
			}
			if err != nil {
				t.Fatalf("%s: ReceiveDeferred(%d): %v", where, seq, err)
			}
			compareMsgs(t, where+" receive-deferred", got, []*modelMsg{x})
			x.locked, x.token, x.until = true, got[0].LockToken, md.now.Add(modelLock)
			tokens = append(tokens, got[0].LockToken)
		case op < 84: // peek
			dlq := r.IntN(3) == 0
			from := int64(r.IntN(int(md.seq) + 2))
			max := 1 + r.IntN(5)
			got, err := env.Broker.Peek(env.Ctx, path(dlq), from, max, "")
			if err != nil {
				t.Fatalf("%s: Peek: %v", where, err)
			}
			var want []*modelMsg
			for _, x := range md.sorted(dlq) {
				if x.seq >= from && len(want) < max {
					want = append(want, x)
				}
			}
			compareMsgs(t, where+" peek", got, want)
		case op < 87 && len(tokens) > 0: // renew
			tok := tokens[r.IntN(len(tokens))]
			_, err := env.Broker.RenewLock(env.Ctx, "m", []broker.LockToken{tok})
			if x := findTok(tok); x != nil && !x.dlq {
				if err != nil {
					t.Fatalf("%s: RenewLock: %v", where, err)
				}
				x.until = md.now.Add(modelLock)
			} else if broker.CodeOf(err) != broker.CodeLockLost {
				t.Fatalf("%s: RenewLock of stale token = %v", where, err)
			}
		case op < 90: // cancel scheduled
			seq := int64(1 + r.IntN(int(md.seq)+1))
			err := env.Broker.CancelScheduled(env.Ctx, "m", []int64{seq})
			if x := md.msgs[seq]; x != nil && !x.dlq && x.state == broker.StateScheduled {
				if err != nil {
					t.Fatalf("%s: CancelScheduled(%d): %v", where, seq, err)
				}
				delete(md.msgs, seq)
			} else if broker.CodeOf(err) != broker.CodeMessageNotFound {
				t.Fatalf("%s: CancelScheduled(%d) = %v; want MessageNotFound", where, seq, err)
			}
		case op < 97: // time passes
			d := time.Duration(1+r.IntN(15)) * time.Second
			env.Advance(d)
			md.now = md.now.Add(d)
			md.tick()
		default: // restart
			env.Restart()
			for _, x := range md.msgs {
				x.locked = false
			}
			for _, x := range md.msgs {
				md.expire(x)
			}
		}
		if got, want := env.Counts("m"), md.counts(); got != want {
			t.Fatalf("%s: counts %+v; model %+v", where, got, want)
		}
	}
}

func compareMsgs(t *testing.T, where string, got []*broker.Message, want []*modelMsg) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: got %d messages %v; model %d", where, len(got), seqsOf(got), len(want))
	}
	for i, x := range want {
		g := got[i]
		if g.SequenceNumber != x.seq || string(g.Body) != x.body || g.DeliveryCount != x.count || g.State != x.state ||
			g.DeadLettered != x.dlq || g.DeadLetterReason != x.reason {
			t.Fatalf("%s: message %d = seq %d body %q count %d state %v dlq %v reason %q; model seq %d body %q count %d state %v dlq %v reason %q",
				where, i, g.SequenceNumber, g.Body, g.DeliveryCount, g.State, g.DeadLettered, g.DeadLetterReason,
				x.seq, x.body, x.count, x.state, x.dlq, x.reason)
		}
	}
}

func seqsOf(msgs []*broker.Message) []int64 {
	out := make([]int64, len(msgs))
	for i, m := range msgs {
		out[i] = m.SequenceNumber
	}
	return out
}
