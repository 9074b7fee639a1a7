package frames

// Frame layout (part 2, section 2.3):
//
//	+0  SIZE     uint32  total frame size including this header
//	+4  DOFF     uint8   data offset in 4-byte words (>= 2)
//	+5  TYPE     uint8   0 = AMQP, 1 = SASL
//	+6  CHANNEL  uint16  (type-specific; unused for SASL)
//	+8  extended header (DOFF*4 - 8 bytes, ignored)
//	... body: a described performative followed, for transfer, by payload
//
// A frame with an empty body is a heartbeat.

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/batonmq/baton/internal/amqp/encoding"
)

// Type is a frame type.
type Type uint8

// Frame types.
const (
	TypeAMQP Type = 0
	TypeSASL Type = 1
)

// String implements fmt.Stringer.
func (t Type) String() string {
	switch t {
	case TypeAMQP:
		return "amqp"
	case TypeSASL:
		return "sasl"
	}
	return "type(" + strconv.Itoa(int(t)) + ")"
}

// HeaderSize is the size of a frame header without extended header.
const HeaderSize = 8

// MinMaxFrameSize is the smallest max-frame-size a peer may advertise
// (part 2, section 2.7.1).
const MinMaxFrameSize = 512

// Header is a frame header.
type Header struct {
	Size       uint32
	DataOffset uint8
	Type       Type
	Channel    uint16
}

// ErrIncomplete is returned by ParseFrame when the input does not yet hold
// a whole frame.
var ErrIncomplete = errors.New("frames: incomplete frame")

// FramingError reports a malformed frame header or a frame larger than the
// negotiated maximum. The connection must be closed with
// amqp:connection:framing-error.
type FramingError struct {
	Reason string
}

// Error implements the error interface.
func (e *FramingError) Error() string { return "amqp framing error: " + e.Reason }

// Condition returns amqp:connection:framing-error.
func (e *FramingError) Condition() Condition { return ErrCondFramingError }

// ParseHeader decodes and checks a frame header. maxFrameSize 0 means no
// limit beyond the 32-bit size.
func ParseHeader(b []byte, maxFrameSize uint32) (Header, error) {
	if len(b) < HeaderSize {
		return Header{}, ErrIncomplete
	}
	h := Header{
		Size:       binary.BigEndian.Uint32(b),
		DataOffset: b[4],
		Type:       Type(b[5]),
		Channel:    binary.BigEndian.Uint16(b[6:]),
	}
	switch {
	case h.Size < HeaderSize:
		return h, &FramingError{Reason: fmt.Sprintf("frame size %d is smaller than the header", h.Size)}
	case maxFrameSize != 0 && h.Size > maxFrameSize:
		return h, &FramingError{Reason: fmt.Sprintf("frame size %d exceeds max-frame-size %d", h.Size, maxFrameSize)}
	case h.DataOffset < 2:
		return h, &FramingError{Reason: fmt.Sprintf("data offset %d is smaller than 2", h.DataOffset)}
	case uint32(h.DataOffset)*4 > h.Size:
		return h, &FramingError{Reason: fmt.Sprintf("data offset %d lies beyond frame size %d", h.DataOffset, h.Size)}
	case h.Type != TypeAMQP && h.Type != TypeSASL:
		return h, &FramingError{Reason: fmt.Sprintf("unknown frame type %d", h.Type)}
	}
	return h, nil
}

// Body is a frame body: a performative or a SASL frame.
type Body interface {
	// Descriptor returns the performative's descriptor code.
	Descriptor() uint64
	// AppendTo encodes the performative (descriptor included). It fails
	// only when a generic map field holds a value AppendValue rejects.
	AppendTo(w *encoding.Buffer) error
}

// Frame is one decoded frame.
type Frame struct {
	Type    Type
	Channel uint16
	// Body is the performative, or nil for an empty (heartbeat) frame.
	Body Body
	// Payload is the bytes after a transfer performative (aliasing the
	// input); nil for other frames.
	Payload []byte
}

// ParseFrame decodes the first frame in b. It returns the frame and its
// size in bytes, ErrIncomplete when b holds only part of a frame, a
// *FramingError for a bad header, or an *encoding.DecodeError for a bad
// body. maxFrameSize 0 means no limit.
func ParseFrame(b []byte, maxFrameSize uint32) (Frame, int, error) {
	h, err := ParseHeader(b, maxFrameSize)
	if err != nil {
		return Frame{}, 0, err
	}
	if uint64(len(b)) < uint64(h.Size) {
		return Frame{}, 0, ErrIncomplete
	}
	f, err := decodeFrame(h, b[int(h.DataOffset)*4:h.Size])
	if err != nil {
		return Frame{}, 0, err
	}
	return f, int(h.Size), nil
}

func decodeFrame(h Header, body []byte) (Frame, error) {
	f := Frame{Type: h.Type, Channel: h.Channel}
	if len(body) == 0 {
		return f, nil
	}
	var err error
	f.Body, f.Payload, err = DecodeBody(h.Type, body)
	return f, err
}

// AppendFrame encodes a frame with body (nil for a heartbeat) and payload
// (transfer frames only) after dst. The caller checks the result against
// the peer's max-frame-size.
func AppendFrame(dst []byte, typ Type, channel uint16, body Body, payload []byte) ([]byte, error) {
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0, 2, byte(typ), byte(channel>>8), byte(channel))
	if body != nil {
		var err error
		if dst, err = appendBody(dst, body); err != nil {
			return dst[:start], err
		}
	}
	dst = append(dst, payload...)
	size := len(dst) - start
	if uint64(size) > 0xffffffff {
		return dst[:start], &FramingError{Reason: "frame larger than 4 GiB"}
	}
	binary.BigEndian.PutUint32(dst[start:], uint32(size))
	return dst, nil
}

// AppendHeartbeat appends an empty AMQP frame on channel 0.
func AppendHeartbeat(dst []byte) []byte {
	return append(dst, 0, 0, 0, 8, 2, 0, 0, 0)
}

// ProtocolID is the protocol id byte of a protocol header.
type ProtocolID uint8

// Protocol ids.
const (
	ProtocolAMQP ProtocolID = 0
	ProtocolTLS  ProtocolID = 2
	ProtocolSASL ProtocolID = 3
)

// ProtocolHeader is the 8-byte header that starts each protocol layer:
// "AMQP", id, major, minor, revision.
type ProtocolHeader struct {
	ID                     ProtocolID
	Major, Minor, Revision uint8
}

// Protocol headers for AMQP 1.0.
var (
	HeaderAMQP = ProtocolHeader{ID: ProtocolAMQP, Major: 1}
	HeaderSASL = ProtocolHeader{ID: ProtocolSASL, Major: 1}
	HeaderTLS  = ProtocolHeader{ID: ProtocolTLS, Major: 1}
)

// Bytes returns the encoded header.
func (p ProtocolHeader) Bytes() [8]byte {
	return [8]byte{'A', 'M', 'Q', 'P', byte(p.ID), p.Major, p.Minor, p.Revision}
}

// ParseProtocolHeader decodes a protocol header. It returns a
// *FramingError if the bytes do not start with "AMQP".
func ParseProtocolHeader(b []byte) (ProtocolHeader, error) {
	if len(b) < 8 {
		return ProtocolHeader{}, ErrIncomplete
	}
	if string(b[:4]) != "AMQP" {
		return ProtocolHeader{}, &FramingError{Reason: "protocol header does not start with AMQP"}
	}
	return ProtocolHeader{ID: ProtocolID(b[4]), Major: b[5], Minor: b[6], Revision: b[7]}, nil
}

// Reader reads frames from a stream. Frames it returns alias an internal
// buffer that the next ReadFrame overwrites. A Reader is not safe for
// concurrent use.
type Reader struct {
	r            *bufio.Reader
	buf          []byte
	maxFrameSize uint32
}

// NewReader returns a Reader with the given max-frame-size (0: no limit
// beyond 4 GiB; a server should always pass its advertised limit).
func NewReader(r io.Reader, maxFrameSize uint32) *Reader {
	br, ok := r.(*bufio.Reader)
	if !ok {
		br = bufio.NewReaderSize(r, 64*1024)
	}
	return &Reader{r: br, maxFrameSize: maxFrameSize}
}

// SetMaxFrameSize changes the frame size limit, for example after open.
func (r *Reader) SetMaxFrameSize(n uint32) { r.maxFrameSize = n }

// ReadProtocolHeader reads an 8-byte protocol header.
func (r *Reader) ReadProtocolHeader() (ProtocolHeader, error) {
	var b [8]byte
	if _, err := io.ReadFull(r.r, b[:]); err != nil {
		return ProtocolHeader{}, fmt.Errorf("frames: read protocol header: %w", err)
	}
	return ParseProtocolHeader(b[:])
}

// ReadFrame reads one frame. It returns io.EOF only when the stream ends
// cleanly between frames.
func (r *Reader) ReadFrame() (Frame, error) {
	var hb [HeaderSize]byte
	if _, err := io.ReadFull(r.r, hb[:]); err != nil {
		if errors.Is(err, io.EOF) {
			return Frame{}, io.EOF
		}
		return Frame{}, fmt.Errorf("frames: read frame header: %w", err)
	}
	h, err := ParseHeader(hb[:], r.maxFrameSize)
	if err != nil {
		return Frame{}, err
	}
	n := int(h.Size) - HeaderSize
	if err := r.readBody(n); err != nil {
		if errors.Is(err, io.EOF) {
			// The header promised a body: a clean EOF here is truncation.
			err = io.ErrUnexpectedEOF
		}
		return Frame{}, fmt.Errorf("frames: read frame body: %w", err)
	}
	return decodeFrame(h, r.buf[int(h.DataOffset)*4-HeaderSize:])
}

// readBody reads n bytes into r.buf. Beyond what the buffer already holds,
// it grows the buffer only as data arrives, so a peer claiming a huge frame
// cannot make the Reader allocate memory it never sends.
func (r *Reader) readBody(n int) error {
	if cap(r.buf) >= n {
		r.buf = r.buf[:n]
		_, err := io.ReadFull(r.r, r.buf)
		return err
	}
	r.buf = r.buf[:0]
	for len(r.buf) < n {
		chunk := min(n-len(r.buf), max(len(r.buf), 64*1024))
		start := len(r.buf)
		r.buf = append(r.buf, make([]byte, chunk)...)
		if _, err := io.ReadFull(r.r, r.buf[start:]); err != nil {
			return err
		}
	}
	return nil
}

// appendBody encodes body after dst. The hot performatives are called
// through their concrete types so the Buffer does not escape to the heap.
func appendBody(dst []byte, body Body) ([]byte, error) {
	var w encoding.Buffer
	w.SetBytes(dst)
	var err error
	switch b := body.(type) {
	case *Transfer:
		err = b.AppendTo(&w)
	case *Disposition:
		err = b.AppendTo(&w)
	case *Flow:
		err = b.AppendTo(&w)
	default:
		return appendBodyDynamic(dst, body)
	}
	return w.Bytes(), err
}

func appendBodyDynamic(dst []byte, body Body) ([]byte, error) {
	w := encoding.NewBuffer(dst)
	err := body.AppendTo(w)
	return w.Bytes(), err
}
