package amqp

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/batonmq/baton/internal/amqp/encoding"
	"github.com/batonmq/baton/internal/amqp/frames"
	"github.com/batonmq/baton/internal/broker"
	"github.com/batonmq/baton/internal/broker/brokertest"
	"github.com/batonmq/baton/internal/clock"
	"github.com/batonmq/baton/internal/store/memstore"
)

// FuzzConn feeds random bytes to the whole connection state machine over
// net.Pipe. With mode 0 the bytes follow a valid protocol header, open,
// begin and two attaches (a sender to and a receiver from queue "q"); with
// mode 1 they follow the SASL protocol header (SASL and the handshake);
// otherwise they are the whole input. The server must never panic and must
// always finish serving once the client goes away.
//
//	go test -run='^$' -fuzz=FuzzConn -fuzztime=60s ./internal/amqp
func FuzzConn(f *testing.F) {
	for _, seed := range fuzzSeeds() {
		f.Add(uint8(0), seed)
	}
	for _, seed := range saslSeeds() {
		f.Add(uint8(1), seed)
	}
	f.Add(uint8(2), []byte("AMQP\x00\x01\x00\x00"))
	clk := clock.NewFake(brokertest.Epoch)
	store := memstore.New()
	b, err := broker.New(broker.Config{Store: store, Clock: clk})
	if err != nil {
		f.Fatal(err)
	}
	if err := b.Open(context.Background()); err != nil {
		f.Fatal(err)
	}
	if _, err := b.CreateQueue(context.Background(), "q", broker.QueueProperties{}); err != nil {
		f.Fatal(err)
	}
	srv, err := NewServer(Config{Broker: b, Clock: clk, MaxMessageSize: 1 << 20, MaxFrameSize: 4096})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() {
		_ = srv.Shutdown(context.Background())
		b.Close()
		store.Close()
	})
	preamble := fuzzPreamble()
	sasl := frames.HeaderSASL.Bytes()
	f.Fuzz(func(t *testing.T, mode uint8, data []byte) {
		client, server := net.Pipe()
		served := make(chan struct{})
		go func() {
			defer close(served)
			srv.handle(server)
		}()
		drained := make(chan struct{})
		go func() {
			defer close(drained)
			_, _ = io.Copy(io.Discard, client)
		}()
		switch mode {
		case 0:
			_, _ = client.Write(preamble)
		case 1:
			_, _ = client.Write(sasl[:])
		}
		_, _ = client.Write(data)
		client.Close()
		<-drained
		select {
		case <-served:
		case <-time.After(10 * time.Second):
			t.Fatal("the server did not finish serving the connection")
		}
	})
}

func appendFrame(dst []byte, body frames.Body, payload []byte) []byte {
	out, err := frames.AppendFrame(dst, frames.TypeAMQP, 0, body, payload)
	if err != nil {
		panic(err)
	}
	return out
}

func fuzzPreamble() []byte {
	h := frames.HeaderAMQP.Bytes()
	b := h[:]
	b = appendFrame(b, &frames.Open{ContainerID: "fuzz", MaxFrameSize: 4096}, nil)
	b = appendFrame(b, &frames.Begin{IncomingWindow: 100, OutgoingWindow: 100}, nil)
	b = appendFrame(b, &frames.Attach{Name: "s", Handle: 0, Role: frames.RoleSender, Target: &frames.Target{Address: "q"}}, nil)
	b = appendFrame(b, &frames.Attach{Name: "r", Handle: 1, Role: frames.RoleReceiver, Source: &frames.Source{Address: "q"}}, nil)
	return b
}

func fuzzSeeds() [][]byte {
	msg, _ := encoding.AppendMessage(nil, &encoding.Message{
		Properties: &encoding.Properties{MessageID: encoding.StringID("id")},
		Data:       [][]byte{[]byte("body")},
	})
	flow := &frames.Flow{HasNextIncomingID: true, IncomingWindow: 100, OutgoingWindow: 100,
		Handle: 1, HasHandle: true, HasDeliveryCount: true, LinkCredit: 3, HasLinkCredit: true}
	drain := *flow
	drain.Drain = true
	var seeds [][]byte
	seeds = append(seeds,
		nil,
		appendFrame(nil, &frames.Transfer{Handle: 0, DeliveryID: 0, HasDeliveryID: true, DeliveryTag: []byte{1}, HasMessageFormat: true}, msg),
		appendFrame(appendFrame(nil, &frames.Transfer{Handle: 0, DeliveryID: 0, HasDeliveryID: true, DeliveryTag: []byte{1}, More: true}, msg[:5]),
			&frames.Transfer{Handle: 0}, msg[5:]),
		appendFrame(nil, &frames.Transfer{Handle: 0, DeliveryID: 0, HasDeliveryID: true, DeliveryTag: []byte{1}, MessageFormat: frames.MessageFormatBatch, HasMessageFormat: true}, msg),
		appendFrame(appendFrame(nil, &frames.Transfer{Handle: 0, DeliveryID: 0, HasDeliveryID: true, Settled: true, HasSettled: true}, msg), flow, nil),
		appendFrame(appendFrame(nil, flow, nil), &frames.Disposition{Role: frames.RoleReceiver, First: 0, Last: 10, HasLast: true, Settled: true, State: frames.Accepted{}}, nil),
		appendFrame(nil, &drain, nil),
		appendFrame(appendFrame(nil, &frames.Detach{Handle: 0, Closed: true}, nil), &frames.Detach{Handle: 1}, nil),
		appendFrame(nil, &frames.End{}, nil),
		appendFrame(nil, &frames.Close{Error: &frames.Error{Condition: "x"}}, nil),
		appendFrame(nil, &frames.Attach{Name: "c", Handle: 2, Role: frames.RoleSender, Target: &frames.Target{Address: "$cbs"}}, nil),
		[]byte{0, 0, 0, 12, 2, 0, 0, 0, 0x00, 0x53, 0x13, 0x45},
		[]byte{0, 0, 0xff, 0xff, 2, 0, 0, 0},
		[]byte{0, 0, 0, 8, 2, 1, 0, 0},
		appendFrame(nil, &frames.Transfer{Handle: 9, DeliveryID: 5, HasDeliveryID: true}, []byte{0, 0x53, 0x75, 0xa0, 1, 2}),
	)
	return seeds
}

func saslSeeds() [][]byte {
	amqpHdr := frames.HeaderAMQP.Bytes()
	initFrame := func(mech string, resp []byte) []byte {
		b, err := frames.AppendFrame(nil, frames.TypeSASL, 0, &frames.SASLInit{Mechanism: frames.Symbol(mech), InitialResponse: resp}, nil)
		if err != nil {
			panic(err)
		}
		return b
	}
	open := appendFrame(nil, &frames.Open{ContainerID: "fuzz"}, nil)
	return [][]byte{
		append(append(initFrame("ANONYMOUS", []byte("x")), amqpHdr[:]...), open...),
		append(initFrame("PLAIN", []byte("\x00user\x00pass")), amqpHdr[:]...),
		initFrame("EXTERNAL", nil),
		initFrame("SCRAM-SHA-1", []byte("n,,n=user")),
		{0, 0, 0, 8, 2, 1, 0, 0},
	}
}

var writeSeeds = flag.Bool("write-seeds", false, "write the FuzzConn seed corpus to testdata/fuzz")

// TestWriteFuzzSeeds writes the seed corpus when -write-seeds is given, so
// that the checked-in corpus matches fuzzSeeds.
func TestWriteFuzzSeeds(t *testing.T) {
	if !*writeSeeds {
		t.Skip("run with -write-seeds to regenerate testdata/fuzz/FuzzConn")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzConn")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	old, _ := filepath.Glob(filepath.Join(dir, "seed-*"))
	for _, name := range old {
		_ = os.Remove(name)
	}
	write := func(name string, mode uint8, data []byte) {
		body := fmt.Sprintf("go test fuzz v1\nbyte(%q)\n[]byte(%q)\n", rune(mode), data)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for i, s := range fuzzSeeds() {
		write(fmt.Sprintf("seed-%02d", i), 0, s)
	}
	for i, s := range saslSeeds() {
		write(fmt.Sprintf("seed-sasl-%02d", i), 1, s)
	}
}
