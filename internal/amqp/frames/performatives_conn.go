package frames

import (
	"math"

	"github.com/batonmq/baton/internal/amqp/encoding"
)

// Open is the open performative (0x10): connection parameters.
type Open struct {
	ContainerID string // mandatory
	Hostname    string
	// MaxFrameSize defaults to 4294967295. Zero is encoded as absent.
	MaxFrameSize uint32
	// ChannelMax defaults to 65535. Zero is encoded as absent (so a zero
	// Open does not restrict the peer to one session); a channel-max of 0
	// cannot be sent.
	ChannelMax uint16
	// IdleTimeOut is in milliseconds; zero means none.
	IdleTimeOut         uint32
	OutgoingLocales     []Symbol
	IncomingLocales     []Symbol
	OfferedCapabilities []Symbol
	DesiredCapabilities []Symbol
	Properties          encoding.Map
}

// Descriptor returns DescOpen.
func (*Open) Descriptor() uint64 { return DescOpen }

// AppendTo encodes the performative.
func (o *Open) AppendTo(w *encoding.Buffer) error {
	w.AppendDescriptor(DescOpen)
	c := w.BeginFields()
	w.AppendString(o.ContainerID)
	w.Field(&c)
	putString(w, &c, o.Hostname)
	putUint32(w, &c, o.MaxFrameSize, o.MaxFrameSize != 0 && o.MaxFrameSize != math.MaxUint32)
	if o.ChannelMax != 0 && o.ChannelMax != math.MaxUint16 {
		w.AppendUint16(o.ChannelMax)
		w.Field(&c)
	} else {
		w.Null(&c)
	}
	putUint32(w, &c, o.IdleTimeOut, o.IdleTimeOut != 0)
	putSymbols(w, &c, o.OutgoingLocales)
	putSymbols(w, &c, o.IncomingLocales)
	putSymbols(w, &c, o.OfferedCapabilities)
	putSymbols(w, &c, o.DesiredCapabilities)
	if err := putMap(w, &c, o.Properties); err != nil {
		return err
	}
	w.EndFields(c)
	return nil
}

func (o *Open) decode(r *encoding.Reader) (err error) {
	o.MaxFrameSize = math.MaxUint32
	o.ChannelMax = math.MaxUint16
	f, err := r.ReadFields()
	if err != nil {
		return err
	}
	if !f.Next() {
		return missing(r, "open", "container-id")
	}
	if o.ContainerID, err = r.ReadString(); err != nil {
		return err
	}
	if err := readString(r, &f, &o.Hostname); err != nil {
		return err
	}
	if err := readUint32(r, &f, &o.MaxFrameSize, nil); err != nil {
		return err
	}
	if f.Next() {
		if o.ChannelMax, err = r.ReadUint16(); err != nil {
			return err
		}
	}
	if err := readUint32(r, &f, &o.IdleTimeOut, nil); err != nil {
		return err
	}
	for _, dst := range []*[]Symbol{&o.OutgoingLocales, &o.IncomingLocales, &o.OfferedCapabilities, &o.DesiredCapabilities} {
		if err := readSymbols(r, &f, dst); err != nil {
			return err
		}
	}
	if err := readMapField(r, &f, &o.Properties); err != nil {
		return err
	}
	return f.Finish()
}

// Begin is the begin performative (0x11): starts a session.
type Begin struct {
	// RemoteChannel is set on the reply to a peer's begin.
	RemoteChannel  *uint16
	NextOutgoingID TransferNumber // mandatory
	IncomingWindow uint32         // mandatory
	OutgoingWindow uint32         // mandatory
	// HandleMax defaults to 4294967295. Zero is encoded as absent (so a
	// zero Begin does not restrict the peer to one link); a handle-max of 0
	// cannot be sent.
	HandleMax           Handle
	OfferedCapabilities []Symbol
	DesiredCapabilities []Symbol
	Properties          encoding.Map
}

// Descriptor returns DescBegin.
func (*Begin) Descriptor() uint64 { return DescBegin }

// AppendTo encodes the performative.
func (b *Begin) AppendTo(w *encoding.Buffer) error {
	w.AppendDescriptor(DescBegin)
	c := w.BeginFields()
	if b.RemoteChannel != nil {
		w.AppendUint16(*b.RemoteChannel)
		w.Field(&c)
	} else {
		w.Null(&c)
	}
	putUint32(w, &c, uint32(b.NextOutgoingID), true)
	putUint32(w, &c, b.IncomingWindow, true)
	putUint32(w, &c, b.OutgoingWindow, true)
	putUint32(w, &c, uint32(b.HandleMax), b.HandleMax != 0 && b.HandleMax != math.MaxUint32)
	putSymbols(w, &c, b.OfferedCapabilities)
	putSymbols(w, &c, b.DesiredCapabilities)
	if err := putMap(w, &c, b.Properties); err != nil {
		return err
	}
	w.EndFields(c)
	return nil
}

func (b *Begin) decode(r *encoding.Reader) error {
	b.HandleMax = math.MaxUint32
	f, err := r.ReadFields()
	if err != nil {
		return err
	}
	if f.Next() {
		v, err := r.ReadUint16()
		if err != nil {
			return err
		}
		b.RemoteChannel = &v
	}
	for i, dst := range []*uint32{(*uint32)(&b.NextOutgoingID), &b.IncomingWindow, &b.OutgoingWindow} {
		if !f.Next() {
			return missing(r, "begin", [...]string{"next-outgoing-id", "incoming-window", "outgoing-window"}[i])
		}
		if *dst, err = r.ReadUint32(); err != nil {
			return err
		}
	}
	if err := readUint32(r, &f, (*uint32)(&b.HandleMax), nil); err != nil {
		return err
	}
	if err := readSymbols(r, &f, &b.OfferedCapabilities); err != nil {
		return err
	}
	if err := readSymbols(r, &f, &b.DesiredCapabilities); err != nil {
		return err
	}
	if err := readMapField(r, &f, &b.Properties); err != nil {
		return err
	}
	return f.Finish()
}

// End is the end performative (0x17): ends a session.
type End struct {
	Error *Error
}

// Descriptor returns DescEnd.
func (*End) Descriptor() uint64 { return DescEnd }

// AppendTo encodes the performative.
func (e *End) AppendTo(w *encoding.Buffer) error { return appendErrorOnly(w, DescEnd, e.Error) }

func (e *End) decode(r *encoding.Reader) error { return decodeErrorOnly(r, &e.Error) }

// Close is the close performative (0x18): closes the connection.
type Close struct {
	Error *Error
}

// Descriptor returns DescClose.
func (*Close) Descriptor() uint64 { return DescClose }

// AppendTo encodes the performative.
func (cl *Close) AppendTo(w *encoding.Buffer) error { return appendErrorOnly(w, DescClose, cl.Error) }

func (cl *Close) decode(r *encoding.Reader) error { return decodeErrorOnly(r, &cl.Error) }

func appendErrorOnly(w *encoding.Buffer, desc uint64, e *Error) error {
	w.AppendDescriptor(desc)
	c := w.BeginFields()
	if err := putError(w, &c, e); err != nil {
		return err
	}
	w.EndFields(c)
	return nil
}

func decodeErrorOnly(r *encoding.Reader, dst **Error) error {
	f, err := r.ReadFields()
	if err != nil {
		return err
	}
	if err := readErrorField(r, &f, dst); err != nil {
		return err
	}
	return f.Finish()
}
