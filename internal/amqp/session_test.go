package amqp

import (
	"errors"
	"testing"
	"time"

	goamqp "github.com/Azure/go-amqp"

	"github.com/batonmq/baton/internal/amqp/encoding"
	"github.com/batonmq/baton/internal/broker"
)

const sessionFilterCode = 0x0000_0137_0000_000C

func sessionOpts(id any, timeoutMS uint32) *goamqp.ReceiverOptions {
	o := peekLockOpts()
	o.Filters = []goamqp.LinkFilter{goamqp.NewLinkFilter(sessionFilterKey, sessionFilterCode, id)}
	if timeoutMS > 0 {
		o.Properties = map[string]any{propTimeout: timeoutMS}
	}
	return o
}

func TestSessionReceivers(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, envOptions{})
	env.queue("sq", broker.QueueProperties{RequiresSession: true, LockDuration: 30 * time.Second})
	c := env.dial(nil)
	s := env.session(c)
	snd, err := s.NewSender(env.tctx(), "sq", nil)
	if err != nil {
		t.Fatal(err)
	}
	send := func(sid, body string) {
		t.Helper()
		err := snd.Send(env.tctx(), &goamqp.Message{Data: [][]byte{[]byte(body)}, Properties: &goamqp.MessageProperties{GroupID: &sid}}, nil)
		if err != nil {
			t.Fatal(err)
		}
	}
	send("a", "a1")
	send("b", "b1")
	send("a", "a2")

	// A message without a session id is refused with amqp:not-allowed.
	err = snd.Send(env.tctx(), goamqp.NewMessage([]byte("none")), nil)
	var ae *goamqp.Error
	if !errors.As(err, &ae) || ae.Condition != goamqp.ErrCondNotAllowed {
		t.Fatalf("send without session id: %v", err)
	}
	// A plain receiver is refused at attach.
	if _, err := s.NewReceiver(env.tctx(), "sq", peekLockOpts()); !errors.As(err, &ae) || ae.Condition != goamqp.ErrCondNotAllowed {
		t.Fatalf("plain receiver on a session queue: %v", err)
	}

	// A specific session: the filter comes back with the id, and the
	// locked-until property is a long of .NET ticks.
	ra, err := s.NewReceiver(env.tctx(), "sq", sessionOpts("a", 0))
	if err != nil {
		t.Fatal(err)
	}
	if got := ra.LinkSourceFilterValue(sessionFilterKey); got != "a" {
		t.Fatalf("echoed filter %v", got)
	}
	ticks, ok := ra.Properties()[propLockedUntil].(int64)
	if !ok || !encoding.TimeFromDotNetTicks(ticks).Equal(brokerTestNow(env).Add(30*time.Second)) {
		t.Fatalf("locked-until %v", ra.Properties())
	}
	for _, want := range []string{"a1", "a2"} {
		m, err := ra.Receive(env.tctx(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if string(m.GetData()) != want {
			t.Fatalf("got %q want %q", m.GetData(), want)
		}
		if err := ra.AcceptMessage(env.tctx(), m); err != nil {
			t.Fatal(err)
		}
	}
	// The same session cannot be locked twice.
	if _, err := s.NewReceiver(env.tctx(), "sq", sessionOpts("a", 0)); !errors.As(err, &ae) || ae.Condition != "com.microsoft:session-cannot-be-locked" {
		t.Fatalf("second lock of session a: %v", err)
	}
	// Next available: session b.
	rb, err := s.NewReceiver(env.tctx(), "sq", sessionOpts(nil, 5000))
	if err != nil {
		t.Fatal(err)
	}
	if got := rb.LinkSourceFilterValue(sessionFilterKey); got != "b" {
		t.Fatalf("next-available session %v", got)
	}
	m, err := rb.Receive(env.tctx(), nil)
	if err != nil || string(m.GetData()) != "b1" {
		t.Fatalf("%v %v", m, err)
	}
	// Closing the link releases the session and its unsettled message
	// without counting a delivery.
	if err := rb.Close(env.tctx()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		l, err := env.broker.AcceptSession(env.ctx, "sq", "b", 0)
		if err != nil {
			return false
		}
		got, err := env.broker.Receive(env.ctx, "sq", broker.ReceiveOptions{Session: l})
		if err != nil || len(got) != 1 || got[0].DeliveryCount != 0 {
			t.Fatalf("after release: %v %v", got, err)
		}
		return true
	})
	// Accept-next with nothing available times out with com.microsoft:timeout.
	done := make(chan error, 1)
	go func() {
		_, err := s.NewReceiver(env.tctx(), "sq", sessionOpts(nil, 1000))
		done <- err
	}()
	if err := advanceUntil(env, done, 500*time.Millisecond); !errors.As(err, &ae) || ae.Condition != "com.microsoft:timeout" {
		t.Fatalf("accept-next timeout: %v", err)
	}
	// A session lock that expires detaches the link with session-lock-lost.
	send("c", "c1")
	rc, err := s.NewReceiver(env.tctx(), "sq", sessionOpts("c", 0))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rc.Receive(env.tctx(), nil); err != nil {
		t.Fatal(err)
	}
	env.fake.Advance(31 * time.Second)
	_, err = rc.Receive(env.tctx(), nil)
	var le *goamqp.LinkError
	if !errors.As(err, &le) || le.RemoteErr == nil || le.RemoteErr.Condition != "com.microsoft:session-lock-lost" {
		t.Fatalf("after session lock expiry: %v", err)
	}
}

func brokerTestNow(env *testEnv) time.Time { return env.fake.Now() }

// advanceUntil moves the fake clock in steps until done delivers.
func advanceUntil(env *testEnv, done <-chan error, step time.Duration) error {
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			return err
		case <-tick.C:
			env.fake.Advance(step)
		}
	}
}
