package amqp

import (
	"bufio"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/batonmq/baton/internal/amqp/frames"
)

// rawClient is a scripted AMQP client over a real socket, for protocol
// edge cases. Every read has a 10 s deadline so no test hangs.
type rawClient struct {
	t  testing.TB
	nc net.Conn
	br *bufio.Reader
}

func dialRaw(t testing.TB, addr string) *rawClient {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return &rawClient{t: t, nc: nc, br: bufio.NewReader(nc)}
}

func (c *rawClient) deadline() {
	_ = c.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
}

func (c *rawClient) write(b []byte) {
	c.t.Helper()
	if _, err := c.nc.Write(b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

func (c *rawClient) writeHeader(h frames.ProtocolHeader) {
	b := h.Bytes()
	c.write(b[:])
}

func (c *rawClient) send(channel uint16, body frames.Body, payload []byte) {
	c.t.Helper()
	b, err := frames.AppendFrame(nil, frames.TypeAMQP, channel, body, payload)
	if err != nil {
		c.t.Fatal(err)
	}
	c.write(b)
}

func (c *rawClient) readHeader() [8]byte {
	c.t.Helper()
	c.deadline()
	var b [8]byte
	if _, err := io.ReadFull(c.br, b[:]); err != nil {
		c.t.Fatalf("read header: %v", err)
	}
	return b
}

func (c *rawClient) readFrame() frames.Frame {
	c.t.Helper()
	f, err := c.tryReadFrame()
	if err != nil {
		c.t.Fatalf("read frame: %v", err)
	}
	return f
}

func (c *rawClient) tryReadFrame() (frames.Frame, error) {
	c.deadline()
	var hdr [8]byte
	if _, err := io.ReadFull(c.br, hdr[:]); err != nil {
		return frames.Frame{}, err
	}
	h, err := frames.ParseHeader(hdr[:], 0)
	if err != nil {
		return frames.Frame{}, err
	}
	buf := make([]byte, h.Size)
	copy(buf, hdr[:])
	if _, err := io.ReadFull(c.br, buf[8:]); err != nil {
		return frames.Frame{}, err
	}
	f, _, err := frames.ParseFrame(buf, 0)
	return f, err
}

// next reads frames, skipping heartbeats.
func (c *rawClient) next() frames.Body {
	c.t.Helper()
	for {
		f := c.readFrame()
		if f.Body != nil {
			return f.Body
		}
	}
}

// expectEOF checks that the server closes the socket.
func (c *rawClient) expectEOF() {
	c.t.Helper()
	for {
		f, err := c.tryReadFrame()
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) {
			return
		}
		var ne net.Error
		if errors.As(err, &ne) && !ne.Timeout() {
			return // connection reset
		}
		if err != nil {
			c.t.Fatalf("waiting for EOF: %v", err)
		}
		_ = f
	}
}

// expectClose reads until a close frame and checks its condition ("" for none).
func (c *rawClient) expectClose(cond frames.Condition) *frames.Close {
	c.t.Helper()
	for {
		b := c.next()
		cl, ok := b.(*frames.Close)
		if !ok {
			continue
		}
		switch {
		case cond == "" && cl.Error != nil:
			c.t.Fatalf("close with error %v, want none", cl.Error)
		case cond != "" && (cl.Error == nil || cl.Error.Condition != cond):
			c.t.Fatalf("close error %v, want %s", cl.Error, cond)
		}
		return cl
	}
}

// open negotiates AMQP without SASL and exchanges open frames.
func (c *rawClient) open(o *frames.Open) *frames.Open {
	c.t.Helper()
	c.writeHeader(frames.HeaderAMQP)
	if got := c.readHeader(); got != frames.HeaderAMQP.Bytes() {
		c.t.Fatalf("header %q", got)
	}
	if o == nil {
		o = &frames.Open{ContainerID: "raw", MaxFrameSize: 65536}
	}
	c.send(0, o, nil)
	so, ok := c.next().(*frames.Open)
	if !ok {
		c.t.Fatal("no open from server")
	}
	return so
}

// begin starts a session on channel 0.
func (c *rawClient) begin() {
	c.t.Helper()
	c.send(0, &frames.Begin{NextOutgoingID: 0, IncomingWindow: 5000, OutgoingWindow: 5000}, nil)
	if _, ok := c.next().(*frames.Begin); !ok {
		c.t.Fatal("no begin from server")
	}
}

func (c *rawClient) attach(a *frames.Attach) *frames.Attach {
	c.t.Helper()
	c.send(0, a, nil)
	r, ok := c.next().(*frames.Attach)
	if !ok {
		c.t.Fatal("no attach from server")
	}
	return r
}
