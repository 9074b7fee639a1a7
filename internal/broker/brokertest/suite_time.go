package brokertest

import (
	"slices"
	"testing"
	"time"

	"github.com/batonmq/baton/internal/broker"
)

func testPeek(t *testing.T, f Factory) {
	env := NewEnv(t, f)
	env.Queue("q", broker.QueueProperties{})
	env.Send("q", "a", "b", "c", "d")
	locked := env.Receive("q", 1, broker.PeekLock)[0]
	got, err := env.Broker.Peek(env.Ctx, "q", 1, 10, "")
	if err != nil || !slices.Equal(Bodies(got), []string{"a", "b", "c", "d"}) {
		t.Fatalf("peek = %v, %v", Bodies(got), err)
	}
	for _, m := range got {
		if !m.LockToken.IsZero() || !m.LockedUntil.IsZero() {
			t.Fatalf("peek exposed a lock: %+v", m)
		}
	}
	env.Settle("q", locked, broker.Settlement{Disposition: broker.Complete})
	got, _ = env.Broker.Peek(env.Ctx, "q", 3, 1, "")
	if len(got) != 1 || got[0].SequenceNumber != 3 {
		t.Fatalf("peek from 3 = %+v", got)
	}
	got, _ = env.Broker.Peek(env.Ctx, "q", 1, 2, "")
	if len(got) != 2 || got[0].SequenceNumber != 2 || got[1].SequenceNumber != 3 {
		t.Fatalf("peek after complete = %v", Bodies(got))
	}
	if got, _ := env.Broker.Peek(env.Ctx, "q", 5, 10, ""); len(got) != 0 {
		t.Fatalf("peek past the end = %v", Bodies(got))
	}
	if got, _ := env.Broker.Peek(env.Ctx, "q/$DeadLetterQueue", 1, 10, ""); len(got) != 0 {
		t.Fatalf("peek of empty DLQ = %v", Bodies(got))
	}
	_, err = env.Broker.Peek(env.Ctx, "q", 1, env.Broker.Limits().MaxPeekBatch+1, "")
	WantCode(t, err, broker.CodeInvalidArgument)
	// Peek does not change anything.
	env.WantCounts("q", 3, 0, 0, 0)
	if m := env.Receive("q", 1, broker.PeekLock)[0]; m.DeliveryCount != 0 || m.SequenceNumber != 2 {
		t.Fatalf("receive after peek = %+v", m)
	}
}

func testScheduleAndCancel(t *testing.T, f Factory) {
	env := NewEnv(t, f)
	env.Queue("q", broker.QueueProperties{})
	at := Epoch.Add(time.Hour)
	seqs, err := env.Broker.Schedule(env.Ctx, "q", []*broker.Message{{Body: []byte("later")}, {Body: []byte("cancel me")}}, at)
	if err != nil || !slices.Equal(seqs, []int64{1, 2}) {
		t.Fatalf("Schedule = %v, %v", seqs, err)
	}
	env.Send("q", "now")
	env.WantCounts("q", 1, 2, 0, 0)
	p, _ := env.Broker.Peek(env.Ctx, "q", 1, 10, "")
	if len(p) != 3 || p[0].State != broker.StateScheduled || !p[0].ScheduledEnqueueTime.Equal(at) {
		t.Fatalf("peek = %+v", p)
	}
	if err := env.Broker.CancelScheduled(env.Ctx, "q", []int64{2}); err != nil {
		t.Fatal(err)
	}
	WantCode(t, env.Broker.CancelScheduled(env.Ctx, "q", []int64{2}), broker.CodeMessageNotFound)
	WantCode(t, env.Broker.CancelScheduled(env.Ctx, "q", []int64{3}), broker.CodeMessageNotFound)
	env.WantCounts("q", 1, 1, 0, 0)
	if got := env.Receive("q", 10, broker.ReceiveAndDelete); !slices.Equal(Bodies(got), []string{"now"}) {
		t.Fatalf("before time: %v", Bodies(got))
	}
	env.Restart()
	env.Advance(time.Hour - time.Millisecond)
	if got := env.Receive("q", 10, broker.PeekLock); len(got) != 0 {
		t.Fatalf("scheduled message early: %v", Bodies(got))
	}
	env.Advance(time.Millisecond)
	got := env.Receive("q", 10, broker.PeekLock)
	if !slices.Equal(Bodies(got), []string{"later"}) || got[0].State != broker.StateActive || !got[0].EnqueuedTime.Equal(at) {
		t.Fatalf("at time: %+v", got)
	}
	env.WantCounts("q", 1, 0, 0, 0)
	// Scheduling in the past enqueues at once.
	seqs, _ = env.Broker.Schedule(env.Ctx, "q", []*broker.Message{{Body: []byte("past")}}, Epoch)
	if got := env.Receive("q", 1, broker.PeekLock); len(got) != 1 || got[0].SequenceNumber != seqs[0] {
		t.Fatalf("past schedule: %v", Bodies(got))
	}
}

func testTTL(t *testing.T, f Factory) {
	env := NewEnv(t, f)
	env.Queue("drop", broker.QueueProperties{DefaultMessageTimeToLive: time.Minute, LockDuration: 2 * time.Minute})
	env.Queue("dlq", broker.QueueProperties{DeadLetteringOnMessageExpiration: true})
	env.SendMsgs("drop", &broker.Message{Body: []byte("default ttl")}, &broker.Message{Body: []byte("long ttl"), TimeToLive: time.Hour},
		&broker.Message{Body: []byte("short"), TimeToLive: time.Second})
	env.SendMsgs("dlq", &broker.Message{Body: []byte("x"), TimeToLive: 30 * time.Second}, &broker.Message{Body: []byte("forever")})
	got := env.Receive("drop", 1, broker.PeekLock) // lock "default ttl"
	env.Advance(time.Second)
	env.WantCounts("drop", 2, 0, 0, 0)
	env.Advance(59 * time.Second)
	// "long ttl" is capped by the default and gone; the locked message
	// expired while locked: it stays until its lock ends.
	env.WantCounts("drop", 1, 0, 0, 0)
	env.Settle("drop", got[0], broker.Settlement{Disposition: broker.Abandon})
	env.WantCounts("drop", 0, 0, 0, 0)
	env.WantCounts("dlq", 1, 0, 0, 1)
	d := env.Receive("dlq/$DeadLetterQueue", 1, broker.PeekLock)
	if len(d) != 1 || d[0].DeadLetterReason != "TTLExpiredException" || string(d[0].Body) != "x" {
		t.Fatalf("expired DLQ message = %+v", d)
	}
	// Messages in the dead-letter queue do not expire.
	env.Advance(24 * time.Hour)
	env.WantCounts("dlq", 1, 0, 0, 1)
	// TTL survives a restart.
	env.SendMsgs("drop", &broker.Message{Body: []byte("r"), TimeToLive: 10 * time.Second})
	env.Restart()
	env.Advance(10 * time.Second)
	env.WantCounts("drop", 0, 0, 0, 0)
}

func testDuplicateDetection(t *testing.T, f Factory) {
	env := NewEnv(t, f)
	env.Queue("q", broker.QueueProperties{RequiresDuplicateDetection: true, DuplicateDetectionHistoryTimeWindow: time.Minute})
	env.Queue("plain", broker.QueueProperties{})
	seqs := env.SendMsgs("q", &broker.Message{MessageID: "a", Body: []byte("1")}, &broker.Message{MessageID: "a", Body: []byte("2")})
	if !slices.Equal(seqs, []int64{1, 0}) {
		t.Fatalf("seqs = %v", seqs)
	}
	env.Receive("q", 1, broker.ReceiveAndDelete)
	if seqs := env.SendMsgs("q", &broker.Message{MessageID: "a", Body: []byte("3")}); seqs[0] != 0 {
		t.Fatalf("duplicate after the original was consumed was accepted: %v", seqs)
	}
	env.Restart()
	if seqs := env.SendMsgs("q", &broker.Message{MessageID: "a", Body: []byte("4")}); seqs[0] != 0 {
		t.Fatalf("duplicate after restart was accepted: %v", seqs)
	}
	env.WantCounts("q", 0, 0, 0, 0)
	env.Advance(time.Minute)
	if seqs := env.SendMsgs("q", &broker.Message{MessageID: "a", Body: []byte("5")}); seqs[0] != 2 {
		t.Fatalf("after the window: %v", seqs)
	}
	env.SendMsgs("plain", &broker.Message{MessageID: "a"}, &broker.Message{MessageID: "a"})
	env.WantCounts("plain", 2, 0, 0, 0)
}

func testLimits(t *testing.T, f Factory) {
	env := NewEnv(t, f)
	env.Queue("q", broker.QueueProperties{MaxMessageSizeInKilobytes: 1, MaxSizeInMegabytes: 1})
	b := env.Broker
	_, err := b.Send(env.Ctx, "q", []*broker.Message{{Body: make([]byte, 1024)}, {Body: make([]byte, 1025)}})
	WantCode(t, err, broker.CodeMessageTooLarge)
	env.WantCounts("q", 0, 0, 0, 0)
	long := make([]byte, 129)
	for i := range long {
		long[i] = 'x'
	}
	_, err = b.Send(env.Ctx, "q", []*broker.Message{{MessageID: string(long)}})
	WantCode(t, err, broker.CodeInvalidArgument)
	_, err = b.Send(env.Ctx, "q", []*broker.Message{{Properties: map[string]any{"k": []int{1}}}})
	WantCode(t, err, broker.CodeInvalidArgument)
	_, err = b.Send(env.Ctx, "q", []*broker.Message{{TimeToLive: -time.Second}})
	WantCode(t, err, broker.CodeInvalidArgument)
	batch := make([]*broker.Message, 1024)
	for i := range batch {
		batch[i] = &broker.Message{Body: make([]byte, 1024)}
	}
	if _, err := b.Send(env.Ctx, "q", batch); err != nil {
		t.Fatal(err)
	}
	_, err = b.Send(env.Ctx, "q", []*broker.Message{{Body: []byte("x")}})
	WantCode(t, err, broker.CodeQuotaExceeded)
	env.WantCounts("q", 1024, 0, 0, 0)
	_, err = b.Receive(env.Ctx, "q", broker.ReceiveOptions{MaxMessages: b.Limits().MaxReceiveBatch + 1})
	WantCode(t, err, broker.CodeInvalidArgument)
	_, err = b.Receive(env.Ctx, "missing", broker.ReceiveOptions{})
	WantCode(t, err, broker.CodeNotFound)
}

func testStatus(t *testing.T, f Factory) {
	env := NewEnv(t, f)
	env.Queue("q", broker.QueueProperties{Status: broker.StatusSendDisabled})
	b := env.Broker
	_, err := b.Send(env.Ctx, "q", []*broker.Message{{}})
	WantCode(t, err, broker.CodeEntityDisabled)
	if _, err := b.UpdateQueue(env.Ctx, "q", broker.QueueProperties{Status: broker.StatusReceiveDisabled}); err != nil {
		t.Fatal(err)
	}
	env.Send("q", "a")
	_, err = b.Receive(env.Ctx, "q", broker.ReceiveOptions{})
	WantCode(t, err, broker.CodeEntityDisabled)
	if _, err := b.UpdateQueue(env.Ctx, "q", broker.QueueProperties{Status: broker.StatusDisabled}); err != nil {
		t.Fatal(err)
	}
	_, err = b.Send(env.Ctx, "q", []*broker.Message{{}})
	WantCode(t, err, broker.CodeEntityDisabled)
	if _, err := b.UpdateQueue(env.Ctx, "q", broker.QueueProperties{}); err != nil {
		t.Fatal(err)
	}
	if got := env.Receive("q", 1, broker.PeekLock); len(got) != 1 {
		t.Fatal("message lost while the queue was disabled")
	}
}

func testReceiveWait(t *testing.T, f Factory) {
	env := NewEnv(t, f)
	env.Queue("q", broker.QueueProperties{})
	b := env.Broker
	type result struct {
		msgs []*broker.Message
		err  error
	}
	res := make(chan result, 1)
	go func() {
		msgs, err := b.Receive(env.Ctx, "q", broker.ReceiveOptions{Wait: time.Hour, MaxMessages: 10, Mode: broker.ReceiveAndDelete})
		res <- result{msgs, err}
	}()
	env.Clock.BlockUntil(2) // the broker's timer goroutine and the receiver
	env.Send("q", "woken")
	r := <-res
	if r.err != nil || !slices.Equal(Bodies(r.msgs), []string{"woken"}) {
		t.Fatalf("waiting receive = %v, %v", Bodies(r.msgs), r.err)
	}
	go func() {
		msgs, err := b.Receive(env.Ctx, "q", broker.ReceiveOptions{Wait: time.Minute})
		res <- result{msgs, err}
	}()
	env.Clock.BlockUntil(2)
	env.Advance(time.Minute)
	r = <-res
	if r.err != nil || len(r.msgs) != 0 {
		t.Fatalf("receive that timed out = %v, %v", Bodies(r.msgs), r.err)
	}
	// Closing the broker ends a wait.
	go func() {
		msgs, err := b.Receive(env.Ctx, "q", broker.ReceiveOptions{Wait: time.Hour})
		res <- result{msgs, err}
	}()
	env.Clock.BlockUntil(2)
	b.Close()
	r = <-res
	WantCode(t, r.err, broker.CodeClosed)
}

func testAutoDeleteOnIdle(t *testing.T, f Factory) {
	env := NewEnv(t, f)
	env.Queue("idle", broker.QueueProperties{AutoDeleteOnIdle: 5 * time.Minute})
	env.Queue("kept", broker.QueueProperties{})
	env.Advance(4 * time.Minute)
	env.Send("idle", "x") // activity
	env.Advance(4 * time.Minute)
	if _, err := env.Broker.GetEntity("idle"); err != nil {
		t.Fatalf("deleted while active: %v", err)
	}
	env.Advance(time.Minute)
	_, err := env.Broker.GetEntity("idle")
	WantCode(t, err, broker.CodeNotFound)
	env.Restart()
	_, err = env.Broker.GetEntity("idle")
	WantCode(t, err, broker.CodeNotFound)
	if _, err := env.Broker.GetEntity("kept"); err != nil {
		t.Fatal(err)
	}
}

func testCounts(t *testing.T, f Factory) {
	env := NewEnv(t, f)
	env.Queue("q", broker.QueueProperties{})
	env.Send("q", "aa", "bbb", "c", "dddd")
	env.Broker.Schedule(env.Ctx, "q", []*broker.Message{{Body: []byte("eeeee")}}, Epoch.Add(time.Hour))
	ms := env.Receive("q", 3, broker.PeekLock)
	env.Settle("q", ms[0], broker.Settlement{Disposition: broker.Defer})
	env.Settle("q", ms[1], broker.Settlement{Disposition: broker.DeadLetter})
	env.Settle("q", ms[2], broker.Settlement{Disposition: broker.Complete})
	env.WantCounts("q", 1, 1, 1, 1)
	if c := env.Counts("q"); c.SizeBytes != 2+3+4+5 || c.Total() != 4 {
		t.Fatalf("counts = %+v", c)
	}
	env.Restart()
	env.WantCounts("q", 1, 1, 1, 1)
	if c := env.Counts("q"); c.SizeBytes != 2+3+4+5 {
		t.Fatalf("SizeBytes after restart = %d", c.SizeBytes)
	}
}
