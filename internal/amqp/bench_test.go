package amqp

import (
	"testing"
	"time"

	goamqp "github.com/Azure/go-amqp"

	"github.com/batonmq/baton/internal/broker"
)

// BenchmarkLoopback measures messages per second through the server with
// go-amqp over loopback, 1 KB bodies: b.N messages are sent, then b.N
// received.
//
//	go test -run='^$' -bench=Loopback -benchtime=20000x ./internal/amqp
//
// settled: presettled sends and a receive-and-delete receiver.
// unsettled: each send waits for its accepted disposition (8 senders in
// parallel to keep the link busy); a peek-lock receiver accepts each message
// and waits for the confirmation.
func BenchmarkLoopback(b *testing.B) {
	body := make([]byte, 1024)
	for _, mode := range []string{"settled", "unsettled"} {
		b.Run(mode, func(b *testing.B) {
			env := newTestEnv(b, envOptions{realClock: true})
			env.queue("q", broker.QueueProperties{MaxSizeInMegabytes: 80 * 1024})
			c := env.dial(nil)
			s := env.session(c)
			settled := mode == "settled"
			sopts := &goamqp.SenderOptions{}
			ropts := peekLockOpts()
			if settled {
				sopts.SettlementMode = goamqp.SenderSettleModeSettled.Ptr()
				ropts = receiveAndDeleteOpts()
			}
			ropts.Credit = 1000
			snd, err := s.NewSender(env.tctx(), "q", sopts)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			if settled {
				for range b.N {
					if err := snd.Send(env.tctx(), goamqp.NewMessage(body), nil); err != nil {
						b.Fatal(err)
					}
				}
			} else {
				const par = 8
				errs := make(chan error, par)
				for w := range par {
					go func() {
						for i := w; i < b.N; i += par {
							if err := snd.Send(env.tctx(), goamqp.NewMessage(body), nil); err != nil {
								errs <- err
								return
							}
						}
						errs <- nil
					}()
				}
				for range par {
					if err := <-errs; err != nil {
						b.Fatal(err)
					}
				}
			}
			sendDur := time.Since(start)
			rcv, err := s.NewReceiver(env.tctx(), "q", ropts)
			if err != nil {
				b.Fatal(err)
			}
			start = time.Now()
			for range b.N {
				m, err := rcv.Receive(env.tctx(), nil)
				if err != nil {
					b.Fatal(err)
				}
				if !settled {
					if err := rcv.AcceptMessage(env.tctx(), m); err != nil {
						b.Fatal(err)
					}
				}
			}
			recvDur := time.Since(start)
			b.StopTimer()
			b.ReportMetric(float64(b.N)/sendDur.Seconds(), "send-msgs/s")
			b.ReportMetric(float64(b.N)/recvDur.Seconds(), "recv-msgs/s")
		})
	}
}
