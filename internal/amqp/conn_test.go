package amqp

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	goamqp "github.com/Azure/go-amqp"

	"github.com/batonmq/baton/internal/amqp/encoding"
	"github.com/batonmq/baton/internal/amqp/frames"
	"github.com/batonmq/baton/internal/broker"
)

func TestBadProtocolHeader(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, envOptions{})
	for _, in := range []string{"GET / HTTP/1.1\r\n\r\n", "AMQP\x00\x02\x00\x00", "AMQX\x00\x01\x00\x00", "AMQP\x02\x01\x00\x00"} {
		c := dialRaw(t, env.addr)
		c.write([]byte(in))
		if got := c.readHeader(); got != frames.HeaderAMQP.Bytes() {
			t.Fatalf("%q: got header %q", in, got)
		}
		c.expectEOF()
	}
}

func TestMalformedFrameDecodeError(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, envOptions{})
	c := dialRaw(t, env.addr)
	c.open(nil)
	// A frame whose body claims a begin (0x11) with a list of garbage.
	c.write([]byte{0, 0, 0, 16, 2, 0, 0, 0, 0x00, 0x53, 0x11, 0xc0, 0x05, 0x09, 0xff, 0xff})
	cl := c.expectClose(frames.ErrCondDecodeError)
	if cl.Error.Description == "" {
		t.Fatal("decode-error without description")
	}
	c.expectEOF()
}

func TestMalformedTypeBeforeOpen(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, envOptions{})
	c := dialRaw(t, env.addr)
	c.writeHeader(frames.HeaderAMQP)
	c.readHeader()
	c.write([]byte{0, 0, 0, 12, 2, 0, 0, 0, 0x00, 0x53, 0x10, 0xee}) // open with an invalid constructor
	if _, ok := c.next().(*frames.Open); !ok {
		t.Fatal("the server must send open before close")
	}
	c.expectClose(frames.ErrCondDecodeError)
	c.expectEOF()
}

func TestFrameTooLarge(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, envOptions{cfg: func(c *Config) { c.MaxFrameSize = 4096 }})
	c := dialRaw(t, env.addr)
	so := c.open(nil)
	if so.MaxFrameSize != 4096 {
		t.Fatalf("advertised max-frame-size %d", so.MaxFrameSize)
	}
	c.write([]byte{0, 0, 0x20, 0, 2, 0, 0, 0}) // 8192-byte frame
	c.expectClose(frames.ErrCondFramingError)
	c.expectEOF()
}

func TestAttachNotFoundRaw(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, envOptions{})
	c := dialRaw(t, env.addr)
	c.open(nil)
	c.begin()
	r := c.attach(&frames.Attach{Name: "l", Handle: 3, Role: frames.RoleReceiver, Source: &frames.Source{Address: "missing"}})
	if r.Source != nil || r.Target != nil {
		t.Fatalf("rejecting attach must have null terminuses: %+v", r)
	}
	d, ok := c.next().(*frames.Detach)
	if !ok || !d.Closed || d.Error == nil || d.Error.Condition != frames.ErrCondNotFound {
		t.Fatalf("detach %+v", d)
	}
	c.send(0, &frames.Detach{Handle: 3, Closed: true}, nil)
	// The session still works.
	c.send(0, &frames.End{}, nil)
	if _, ok := c.next().(*frames.End); !ok {
		t.Fatal("no end")
	}
	c.send(0, &frames.Close{}, nil)
	c.expectClose("")
	c.expectEOF()
}

func TestHeartbeatsFakeClock(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, envOptions{})
	c := dialRaw(t, env.addr)
	so := c.open(&frames.Open{ContainerID: "raw", IdleTimeOut: 2000})
	if so.IdleTimeOut != 60000 {
		t.Fatalf("server idle-time-out %d", so.IdleTimeOut)
	}
	// The server sends empty frames at most every second (half of 2 s).
	got := make(chan frames.Frame, 1)
	go func() {
		f, err := c.tryReadFrame()
		if err == nil {
			got <- f
		}
		close(got)
	}()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case f, ok := <-got:
			if !ok || f.Body != nil {
				t.Fatalf("expected a heartbeat, got %+v", f)
			}
			return
		case <-tick.C:
			env.fake.Advance(250 * time.Millisecond)
		}
	}
}

func TestIdleTimeoutClosesConnection(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, envOptions{cfg: func(c *Config) { c.IdleTimeout = 10 * time.Second }})
	c := dialRaw(t, env.addr)
	c.open(nil)
	done := make(chan *frames.Close, 1)
	go func() {
		for {
			f, err := c.tryReadFrame()
			if err != nil {
				close(done)
				return
			}
			if cl, ok := f.Body.(*frames.Close); ok {
				done <- cl
				return
			}
		}
	}()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case cl, ok := <-done:
			if !ok || cl.Error == nil || cl.Error.Condition != frames.ErrCondConnectionForced {
				t.Fatalf("close %+v", cl)
			}
			c.expectEOF()
			return
		case <-tick.C:
			env.fake.Advance(time.Second)
		}
	}
}

// TestHeartbeatsKeepGoAMQPConnected: a go-amqp client with a short idle
// timeout stays connected while idle because the server sends empty frames.
func TestHeartbeatsKeepGoAMQPConnected(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, envOptions{realClock: true})
	env.queue("q", broker.QueueProperties{})
	c := env.dial(&goamqp.ConnOptions{SASLType: goamqp.SASLTypeAnonymous(), IdleTimeout: time.Second})
	s := env.session(c)
	idle := time.NewTimer(3 * time.Second)
	select {
	case <-c.Done():
		t.Fatalf("connection dropped while idle: %v", c.Err())
	case <-idle.C:
	}
	snd, err := s.NewSender(env.tctx(), "q", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := snd.Send(env.tctx(), goamqp.NewMessage([]byte("still here")), nil); err != nil {
		t.Fatal(err)
	}
}

func TestDrainWithCreditRaw(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, envOptions{})
	env.queue("q", broker.QueueProperties{})
	if _, err := env.broker.Send(env.ctx, "q", []*broker.Message{{Body: []byte("a")}, {Body: []byte("b")}}); err != nil {
		t.Fatal(err)
	}
	c := dialRaw(t, env.addr)
	c.open(nil)
	c.begin()
	r := c.attach(&frames.Attach{Name: "r", Handle: 0, Role: frames.RoleReceiver, Source: &frames.Source{Address: "q"}, Target: &frames.Target{}})
	if r.InitialDeliveryCount == nil || *r.InitialDeliveryCount != 0 {
		t.Fatalf("attach reply %+v", r)
	}
	c.send(0, &frames.Flow{NextIncomingID: 0, HasNextIncomingID: true, IncomingWindow: 5000, NextOutgoingID: 0, OutgoingWindow: 5000,
		Handle: 0, HasHandle: true, DeliveryCount: 0, HasDeliveryCount: true, LinkCredit: 5, HasLinkCredit: true, Drain: true}, nil)
	transfers := 0
	for {
		switch b := c.next().(type) {
		case *frames.Transfer:
			transfers++
			if b.Settled {
				t.Fatal("peek-lock delivery must be unsettled")
			}
			if len(b.DeliveryTag) != 16 {
				t.Fatalf("tag %x", b.DeliveryTag)
			}
		case *frames.Flow:
			if !b.Drain || b.LinkCredit != 0 || b.DeliveryCount != 5 || !b.HasNextIncomingID {
				t.Fatalf("drain answer %+v", b)
			}
			if transfers != 2 {
				t.Fatalf("%d transfers before the drain answer", transfers)
			}
			return
		default:
			t.Fatalf("unexpected %T", b)
		}
	}
}

// TestPeerDisappearsMidTransfer: a client that vanishes in the middle of a
// multi-frame transfer loses nothing it was told was stored, and the
// partial message is not stored.
func TestPeerDisappearsMidTransfer(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, envOptions{})
	env.queue("q", broker.QueueProperties{})
	c := dialRaw(t, env.addr)
	c.open(nil)
	c.begin()
	c.attach(&frames.Attach{Name: "s", Handle: 1, Role: frames.RoleSender, Target: &frames.Target{Address: "q"}, Source: &frames.Source{}})
	if f, ok := c.next().(*frames.Flow); !ok || f.LinkCredit == 0 {
		t.Fatalf("no credit after attach: %+v", f)
	}
	msg, _ := encoding.AppendMessage(nil, &encoding.Message{Data: [][]byte{[]byte("whole")}})
	c.send(0, &frames.Transfer{Handle: 1, DeliveryID: 0, HasDeliveryID: true, DeliveryTag: []byte{1}, HasMessageFormat: true}, msg)
	if d, ok := c.next().(*frames.Disposition); !ok || !d.Settled {
		t.Fatalf("no disposition for the first message: %+v", d)
	} else if _, ok := d.State.(frames.Accepted); !ok {
		t.Fatalf("state %T", d.State)
	}
	big, _ := encoding.AppendMessage(nil, &encoding.Message{Data: [][]byte{bytes.Repeat([]byte("x"), 3000)}})
	c.send(0, &frames.Transfer{Handle: 1, DeliveryID: 1, HasDeliveryID: true, DeliveryTag: []byte{2}, HasMessageFormat: true, More: true}, big[:1000])
	c.nc.Close()
	waitFor(t, func() bool { return env.srv.connCount() == 0 })
	if got := env.counts("q").Active; got != 1 {
		t.Fatalf("active = %d, want 1 (the partial message must not be stored)", got)
	}
}

// TestLocksSurviveDisconnect: peek-lock deliveries of a vanished client
// stay locked until the lock expires (§7.4), then return with the delivery
// count increased.
func TestLocksSurviveDisconnect(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, envOptions{})
	env.queue("q", broker.QueueProperties{LockDuration: 30 * time.Second})
	if _, err := env.broker.Send(env.ctx, "q", []*broker.Message{{Body: []byte("a")}}); err != nil {
		t.Fatal(err)
	}
	nc, err := net.Dial("tcp", env.addr)
	if err != nil {
		t.Fatal(err)
	}
	c, err := goamqp.NewConn(env.tctx(), nc, &goamqp.ConnOptions{SASLType: goamqp.SASLTypeAnonymous()})
	if err != nil {
		t.Fatal(err)
	}
	s := env.session(c)
	rcv, err := s.NewReceiver(env.tctx(), "q", peekLockOpts())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rcv.Receive(env.tctx(), nil); err != nil {
		t.Fatal(err)
	}
	nc.Close() // vanish without settling
	waitFor(t, func() bool { return env.srv.connCount() == 0 })
	got, err := env.broker.Receive(env.ctx, "q", broker.ReceiveOptions{MaxMessages: 1})
	if err != nil || len(got) != 0 {
		t.Fatalf("message available while still locked: %v %v", got, err)
	}
	env.fake.Advance(31 * time.Second)
	got, err = env.broker.Receive(env.ctx, "q", broker.ReceiveOptions{MaxMessages: 1})
	if err != nil || len(got) != 1 || got[0].DeliveryCount != 1 {
		t.Fatalf("after lock expiry: %v %v", got, err)
	}
	c.Close()
}

func TestShutdownForcesConnections(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, envOptions{})
	env.queue("q", broker.QueueProperties{})
	c := env.dial(nil)
	s := env.session(c)
	rcv, err := s.NewReceiver(env.tctx(), "q", peekLockOpts())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := env.srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	_, err = rcv.Receive(env.tctx(), nil)
	var ce *goamqp.ConnError
	if !errors.As(err, &ce) || ce.RemoteErr == nil || ce.RemoteErr.Condition != goamqp.ErrCondConnectionForced {
		t.Fatalf("after Shutdown: %v", err)
	}
}

func TestSASLPlain(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, envOptions{cfg: func(c *Config) {
		c.AuthenticateFunc = func(mech, user, pass string) error {
			if mech == "PLAIN" && user == "u" && pass == "p" {
				return nil
			}
			return errors.New("denied")
		}
	}})
	env.dial(&goamqp.ConnOptions{SASLType: goamqp.SASLTypePlain("u", "p")})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if c, err := goamqp.Dial(ctx, "amqp://"+env.addr, &goamqp.ConnOptions{SASLType: goamqp.SASLTypePlain("u", "wrong")}); err == nil {
		c.Close()
		t.Fatal("wrong password accepted")
	}
}

func TestTLSFirstByteGoesToHTTPS(t *testing.T) {
	t.Parallel()
	ts := httptest.NewUnstartedServer(nil)
	ts.StartTLS()
	defer ts.Close()
	tlsCfg := ts.TLS.Clone()
	env := newTestEnv(t, envOptions{cfg: func(c *Config) {
		c.TLSConfig = tlsCfg
		c.HTTPS = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello over tls") })
	}})
	client := ts.Client()
	resp, err := client.Get("https://" + env.addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if string(body) != "hello over tls" {
		t.Fatalf("body %q", body)
	}
	// Without a handler, TLS connections are closed.
	env2 := newTestEnv(t, envOptions{})
	conn, err := tls.Dial("tcp", env2.addr, &tls.Config{InsecureSkipVerify: true})
	if err == nil {
		conn.Close()
		t.Fatal("TLS handshake succeeded without a handler")
	}
	if !strings.Contains(err.Error(), "EOF") && !strings.Contains(err.Error(), "reset") {
		t.Logf("handshake error: %v", err)
	}
}

// TestShutdownWithStuckClient: a client that stops reading while the server
// has deliveries to write cannot make Shutdown hang; when ctx ends the
// sockets are closed and every goroutine stops.
func TestShutdownWithStuckClient(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, envOptions{})
	env.queue("q", broker.QueueProperties{MaxMessageSizeInKilobytes: 1024})
	body := bytes.Repeat([]byte("z"), 512<<10)
	for range 40 {
		if _, err := env.broker.Send(env.ctx, "q", []*broker.Message{{Body: body}}); err != nil {
			t.Fatal(err)
		}
	}
	c := dialRaw(t, env.addr)
	c.open(nil)
	c.begin()
	c.attach(&frames.Attach{Name: "r", Handle: 0, Role: frames.RoleReceiver, Source: &frames.Source{Address: "q"}, Target: &frames.Target{}})
	c.send(0, &frames.Flow{HasNextIncomingID: true, IncomingWindow: 100000, OutgoingWindow: 5000,
		Handle: 0, HasHandle: true, HasDeliveryCount: true, LinkCredit: 100, HasLinkCredit: true}, nil)
	// The client reads nothing more: the server's writes back up.
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	err := env.srv.Shutdown(ctx)
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown: %v", err)
	}
}

// TestUnsentDeliveriesReturn: messages taken for a receive-and-delete link
// but never transferred (the client's session window stayed closed) go back
// to the queue when the link detaches, without counting a delivery.
func TestUnsentDeliveriesReturn(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, envOptions{})
	env.queue("q", broker.QueueProperties{})
	if _, err := env.broker.Send(env.ctx, "q", []*broker.Message{{Body: []byte("a")}, {Body: []byte("b")}}); err != nil {
		t.Fatal(err)
	}
	c := dialRaw(t, env.addr)
	c.open(nil)
	c.send(0, &frames.Begin{IncomingWindow: 0, OutgoingWindow: 5000}, nil)
	if _, ok := c.next().(*frames.Begin); !ok {
		t.Fatal("no begin")
	}
	settled := frames.SenderSettleSettled
	c.attach(&frames.Attach{Name: "r", Handle: 0, Role: frames.RoleReceiver, SndSettleMode: &settled,
		Source: &frames.Source{Address: "q"}, Target: &frames.Target{}})
	c.send(0, &frames.Flow{HasNextIncomingID: true, IncomingWindow: 0, OutgoingWindow: 5000,
		Handle: 0, HasHandle: true, HasDeliveryCount: true, LinkCredit: 5, HasLinkCredit: true}, nil)
	// Both messages are taken (locked) but cannot be sent; the link then
	// waits in the broker for more with its remaining credit.
	waitFor(t, func() bool { return env.broker.Waiters() == 1 })
	c.send(0, &frames.Detach{Handle: 0, Closed: true}, nil)
	if d, ok := c.next().(*frames.Detach); !ok || !d.Closed {
		t.Fatalf("detach reply %+v", d)
	}
	var got []*broker.Message
	waitFor(t, func() bool {
		got = append(got, mustReceive(t, env, 2)...)
		return len(got) == 2
	})
	for _, m := range got {
		if m.DeliveryCount != 0 {
			t.Fatalf("released message counted a delivery: %+v", m)
		}
	}
}

func mustReceive(t *testing.T, env *testEnv, n int) []*broker.Message {
	t.Helper()
	got, err := env.broker.Receive(env.ctx, "q", broker.ReceiveOptions{MaxMessages: n})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// TestOversizeTransferRejected: a delivery over MaxMessageSize is discarded
// as it arrives and rejected with amqp:link:message-size-exceeded; the link
// goes on working.
func TestOversizeTransferRejected(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, envOptions{cfg: func(c *Config) { c.MaxMessageSize = 1024 }})
	env.queue("q", broker.QueueProperties{})
	c := dialRaw(t, env.addr)
	c.open(nil)
	c.begin()
	r := c.attach(&frames.Attach{Name: "s", Handle: 0, Role: frames.RoleSender, Target: &frames.Target{Address: "q"}})
	if r.MaxMessageSize == nil || *r.MaxMessageSize != 1024 {
		t.Fatalf("max-message-size %v", r.MaxMessageSize)
	}
	if _, ok := c.next().(*frames.Flow); !ok {
		t.Fatal("no credit")
	}
	big, _ := encoding.AppendMessage(nil, &encoding.Message{Data: [][]byte{bytes.Repeat([]byte("x"), 2000)}})
	c.send(0, &frames.Transfer{Handle: 0, DeliveryID: 0, HasDeliveryID: true, DeliveryTag: []byte{1}, HasMessageFormat: true, More: true}, big[:800])
	c.send(0, &frames.Transfer{Handle: 0, More: true}, big[800:1600])
	c.send(0, &frames.Transfer{Handle: 0}, big[1600:])
	d, ok := c.next().(*frames.Disposition)
	if !ok || d.First != 0 || !d.Settled {
		t.Fatalf("disposition %+v", d)
	}
	if rej, ok := d.State.(frames.Rejected); !ok || rej.Error == nil || rej.Error.Condition != frames.ErrCondMessageSizeExceeded {
		t.Fatalf("state %#v", d.State)
	}
	small, _ := encoding.AppendMessage(nil, &encoding.Message{Data: [][]byte{[]byte("ok")}})
	c.send(0, &frames.Transfer{Handle: 0, DeliveryID: 1, HasDeliveryID: true, DeliveryTag: []byte{2}, HasMessageFormat: true}, small)
	d, ok = c.next().(*frames.Disposition)
	if !ok || d.First != 1 {
		t.Fatalf("disposition %+v", d)
	}
	if _, ok := d.State.(frames.Accepted); !ok {
		t.Fatalf("state %#v", d.State)
	}
}
