package frames

import (
	"github.com/batonmq/baton/internal/amqp/encoding"
)

// Attach is the attach performative (0x12): attaches a link.
type Attach struct {
	Name   string // mandatory
	Handle Handle // mandatory
	Role   Role   // mandatory
	// SndSettleMode is nil when absent (meaning mixed). A broker must echo
	// exactly what the client sent, so absence is kept.
	SndSettleMode *SenderSettleMode
	// RcvSettleMode is nil when absent (meaning first).
	RcvSettleMode *ReceiverSettleMode
	Source        *Source
	// Target is the target terminus; a coordinator target (transactions)
	// decodes into Coordinator instead.
	Target      *Target
	Coordinator *Coordinator
	// Unsettled maps delivery tags (binary) to delivery states, in the
	// generic representation.
	Unsettled            encoding.Map
	IncompleteUnsettled  bool
	InitialDeliveryCount *SequenceNo
	// MaxMessageSize is nil when absent; zero means no limit.
	MaxMessageSize      *uint64
	OfferedCapabilities []Symbol
	DesiredCapabilities []Symbol
	Properties          encoding.Map
}

// SenderSettle returns the effective snd-settle-mode.
func (a *Attach) SenderSettle() SenderSettleMode {
	if a.SndSettleMode == nil {
		return SenderSettleMixed
	}
	return *a.SndSettleMode
}

// ReceiverSettle returns the effective rcv-settle-mode.
func (a *Attach) ReceiverSettle() ReceiverSettleMode {
	if a.RcvSettleMode == nil {
		return ReceiverSettleFirst
	}
	return *a.RcvSettleMode
}

// Descriptor returns DescAttach.
func (*Attach) Descriptor() uint64 { return DescAttach }

// AppendTo encodes the performative.
func (a *Attach) AppendTo(w *encoding.Buffer) error {
	w.AppendDescriptor(DescAttach)
	c := w.BeginFields()
	w.AppendString(a.Name)
	w.Field(&c)
	putUint32(w, &c, uint32(a.Handle), true)
	w.AppendBool(bool(a.Role))
	w.Field(&c)
	if a.SndSettleMode != nil {
		w.AppendUint8(uint8(*a.SndSettleMode))
		w.Field(&c)
	} else {
		w.Null(&c)
	}
	if a.RcvSettleMode != nil {
		w.AppendUint8(uint8(*a.RcvSettleMode))
		w.Field(&c)
	} else {
		w.Null(&c)
	}
	if a.Source != nil {
		if err := a.Source.AppendTo(w); err != nil {
			return err
		}
		w.Field(&c)
	} else {
		w.Null(&c)
	}
	switch {
	case a.Target != nil:
		if err := a.Target.AppendTo(w); err != nil {
			return err
		}
		w.Field(&c)
	case a.Coordinator != nil:
		if err := a.Coordinator.AppendTo(w); err != nil {
			return err
		}
		w.Field(&c)
	default:
		w.Null(&c)
	}
	if a.Unsettled != nil {
		if err := w.AppendValue(a.Unsettled); err != nil {
			return err
		}
		w.Field(&c)
	} else {
		w.Null(&c)
	}
	putBool(w, &c, a.IncompleteUnsettled)
	if a.InitialDeliveryCount != nil {
		w.AppendUint32(uint32(*a.InitialDeliveryCount))
		w.Field(&c)
	} else {
		w.Null(&c)
	}
	if a.MaxMessageSize != nil {
		w.AppendUint64(*a.MaxMessageSize)
		w.Field(&c)
	} else {
		w.Null(&c)
	}
	putSymbols(w, &c, a.OfferedCapabilities)
	putSymbols(w, &c, a.DesiredCapabilities)
	if err := putMap(w, &c, a.Properties); err != nil {
		return err
	}
	w.EndFields(c)
	return nil
}

func (a *Attach) decode(r *encoding.Reader) (err error) {
	f, err := r.ReadFields()
	if err != nil {
		return err
	}
	if !f.Next() {
		return missing(r, "attach", "name")
	}
	if a.Name, err = r.ReadString(); err != nil {
		return err
	}
	if !f.Next() {
		return missing(r, "attach", "handle")
	}
	h, err := r.ReadUint32()
	if err != nil {
		return err
	}
	a.Handle = Handle(h)
	if !f.Next() {
		return missing(r, "attach", "role")
	}
	role, err := r.ReadBool()
	if err != nil {
		return err
	}
	a.Role = Role(role)
	if f.Next() {
		v, err := r.ReadUint8()
		if err != nil {
			return err
		}
		m := SenderSettleMode(v)
		a.SndSettleMode = &m
	}
	if f.Next() {
		v, err := r.ReadUint8()
		if err != nil {
			return err
		}
		m := ReceiverSettleMode(v)
		a.RcvSettleMode = &m
	}
	if f.Next() {
		a.Source = new(Source)
		if err := a.Source.decode(r); err != nil {
			return err
		}
	}
	if f.Next() {
		start := r.Offset()
		code, err := readDescriptor(r)
		if err != nil {
			return err
		}
		switch code {
		case DescTarget:
			a.Target = new(Target)
			err = a.Target.decodeFields(r)
		case DescCoordinator:
			a.Coordinator = new(Coordinator)
			err = a.Coordinator.decodeFields(r)
		default:
			_ = r.Seek(start)
			err = r.Errorf(encoding.ErrUnexpectedType, "attach: target is neither a target nor a coordinator")
		}
		if err != nil {
			return err
		}
	}
	if f.Next() {
		if a.Unsettled, err = r.ReadMap(); err != nil {
			return err
		}
	}
	if err := readBool(r, &f, &a.IncompleteUnsettled); err != nil {
		return err
	}
	if f.Next() {
		v, err := r.ReadUint32()
		if err != nil {
			return err
		}
		n := SequenceNo(v)
		a.InitialDeliveryCount = &n
	}
	if f.Next() {
		v, err := r.ReadUint64()
		if err != nil {
			return err
		}
		a.MaxMessageSize = &v
	}
	if err := readSymbols(r, &f, &a.OfferedCapabilities); err != nil {
		return err
	}
	if err := readSymbols(r, &f, &a.DesiredCapabilities); err != nil {
		return err
	}
	if err := readMapField(r, &f, &a.Properties); err != nil {
		return err
	}
	return f.Finish()
}

// Source is the source terminus (0x28).
type Source struct {
	// Address is empty when absent.
	Address string
	Durable TerminusDurability
	// ExpiryPolicy defaults to session-end; empty is encoded as absent.
	ExpiryPolicy Symbol
	// Timeout is in seconds.
	Timeout               uint32
	Dynamic               bool
	DynamicNodeProperties encoding.Map
	DistributionMode      Symbol
	// Filter is the filter-set: symbol keys, values described filters or,
	// from some clients, plain values. Values keep the shape they arrived
	// in, so echoing the map re-encodes them identically.
	Filter         encoding.Map
	DefaultOutcome DeliveryState
	Outcomes       []Symbol
	Capabilities   []Symbol
}

// Descriptor returns DescSource.
func (*Source) Descriptor() uint64 { return DescSource }

// AppendTo encodes the source.
func (s *Source) AppendTo(w *encoding.Buffer) error {
	w.AppendDescriptor(DescSource)
	c := w.BeginFields()
	putString(w, &c, s.Address)
	putUint32(w, &c, uint32(s.Durable), s.Durable != DurabilityNone)
	putExpiry(w, &c, s.ExpiryPolicy)
	putUint32(w, &c, s.Timeout, s.Timeout != 0)
	putBool(w, &c, s.Dynamic)
	if err := putMap(w, &c, s.DynamicNodeProperties); err != nil {
		return err
	}
	putSymbol(w, &c, s.DistributionMode)
	if err := putMap(w, &c, s.Filter); err != nil {
		return err
	}
	if err := putState(w, &c, s.DefaultOutcome); err != nil {
		return err
	}
	putSymbols(w, &c, s.Outcomes)
	putSymbols(w, &c, s.Capabilities)
	w.EndFields(c)
	return nil
}

func putExpiry(w *encoding.Buffer, c *encoding.Composite, p Symbol) {
	if p == ExpirySessionEnd {
		p = ""
	}
	putSymbol(w, c, p)
}

func (s *Source) decode(r *encoding.Reader) error {
	if err := expectDescriptor(r, DescSource, "source"); err != nil {
		return err
	}
	s.ExpiryPolicy = ExpirySessionEnd
	f, err := r.ReadFields()
	if err != nil {
		return err
	}
	if err := readAddress(r, &f, &s.Address); err != nil {
		return err
	}
	if err := readUint32(r, &f, (*uint32)(&s.Durable), nil); err != nil {
		return err
	}
	if err := readSymbol(r, &f, &s.ExpiryPolicy); err != nil {
		return err
	}
	if err := readUint32(r, &f, &s.Timeout, nil); err != nil {
		return err
	}
	if err := readBool(r, &f, &s.Dynamic); err != nil {
		return err
	}
	if err := readMapField(r, &f, &s.DynamicNodeProperties); err != nil {
		return err
	}
	if err := readSymbol(r, &f, &s.DistributionMode); err != nil {
		return err
	}
	if err := readMapField(r, &f, &s.Filter); err != nil {
		return err
	}
	if f.Next() {
		if s.DefaultOutcome, err = decodeDeliveryState(r); err != nil {
			return err
		}
	}
	if err := readSymbols(r, &f, &s.Outcomes); err != nil {
		return err
	}
	if err := readSymbols(r, &f, &s.Capabilities); err != nil {
		return err
	}
	return f.Finish()
}

func readSymbol(r *encoding.Reader, f *encoding.Fields, dst *Symbol) error {
	if !f.Next() {
		return nil
	}
	v, err := r.ReadSymbol()
	*dst = v
	return err
}

// readAddress reads a terminus address. The spec types it as "*"; every
// known client sends a string, and some send a symbol.
func readAddress(r *encoding.Reader, f *encoding.Fields, dst *string) error {
	if !f.Next() {
		return nil
	}
	c, err := r.PeekCode()
	if err != nil {
		return err
	}
	if c == encoding.CodeSym8 || c == encoding.CodeSym32 {
		s, err := r.ReadSymbol()
		*dst = string(s)
		return err
	}
	*dst, err = r.ReadString()
	return err
}

// Target is the target terminus (0x29).
type Target struct {
	// Address is empty when absent.
	Address string
	Durable TerminusDurability
	// ExpiryPolicy defaults to session-end; empty is encoded as absent.
	ExpiryPolicy          Symbol
	Timeout               uint32
	Dynamic               bool
	DynamicNodeProperties encoding.Map
	Capabilities          []Symbol
}

// Descriptor returns DescTarget.
func (*Target) Descriptor() uint64 { return DescTarget }

// AppendTo encodes the target.
func (t *Target) AppendTo(w *encoding.Buffer) error {
	w.AppendDescriptor(DescTarget)
	c := w.BeginFields()
	putString(w, &c, t.Address)
	putUint32(w, &c, uint32(t.Durable), t.Durable != DurabilityNone)
	putExpiry(w, &c, t.ExpiryPolicy)
	putUint32(w, &c, t.Timeout, t.Timeout != 0)
	putBool(w, &c, t.Dynamic)
	if err := putMap(w, &c, t.DynamicNodeProperties); err != nil {
		return err
	}
	putSymbols(w, &c, t.Capabilities)
	w.EndFields(c)
	return nil
}

func (t *Target) decodeFields(r *encoding.Reader) error {
	t.ExpiryPolicy = ExpirySessionEnd
	f, err := r.ReadFields()
	if err != nil {
		return err
	}
	if err := readAddress(r, &f, &t.Address); err != nil {
		return err
	}
	if err := readUint32(r, &f, (*uint32)(&t.Durable), nil); err != nil {
		return err
	}
	if err := readSymbol(r, &f, &t.ExpiryPolicy); err != nil {
		return err
	}
	if err := readUint32(r, &f, &t.Timeout, nil); err != nil {
		return err
	}
	if err := readBool(r, &f, &t.Dynamic); err != nil {
		return err
	}
	if err := readMapField(r, &f, &t.DynamicNodeProperties); err != nil {
		return err
	}
	if err := readSymbols(r, &f, &t.Capabilities); err != nil {
		return err
	}
	return f.Finish()
}

// Coordinator is the transaction coordinator target (0x30).
type Coordinator struct {
	Capabilities []Symbol
}

// Descriptor returns DescCoordinator.
func (*Coordinator) Descriptor() uint64 { return DescCoordinator }

// AppendTo encodes the coordinator.
func (co *Coordinator) AppendTo(w *encoding.Buffer) error {
	w.AppendDescriptor(DescCoordinator)
	c := w.BeginFields()
	putSymbols(w, &c, co.Capabilities)
	w.EndFields(c)
	return nil
}

func (co *Coordinator) decodeFields(r *encoding.Reader) error {
	f, err := r.ReadFields()
	if err != nil {
		return err
	}
	if err := readSymbols(r, &f, &co.Capabilities); err != nil {
		return err
	}
	return f.Finish()
}

// Detach is the detach performative (0x16).
type Detach struct {
	Handle Handle // mandatory
	Closed bool
	Error  *Error
}

// Descriptor returns DescDetach.
func (*Detach) Descriptor() uint64 { return DescDetach }

// AppendTo encodes the performative.
func (d *Detach) AppendTo(w *encoding.Buffer) error {
	w.AppendDescriptor(DescDetach)
	c := w.BeginFields()
	putUint32(w, &c, uint32(d.Handle), true)
	putBool(w, &c, d.Closed)
	if err := putError(w, &c, d.Error); err != nil {
		return err
	}
	w.EndFields(c)
	return nil
}

func (d *Detach) decode(r *encoding.Reader) error {
	f, err := r.ReadFields()
	if err != nil {
		return err
	}
	if !f.Next() {
		return missing(r, "detach", "handle")
	}
	h, err := r.ReadUint32()
	if err != nil {
		return err
	}
	d.Handle = Handle(h)
	if err := readBool(r, &f, &d.Closed); err != nil {
		return err
	}
	if err := readErrorField(r, &f, &d.Error); err != nil {
		return err
	}
	return f.Finish()
}

// Flow is the flow performative (0x13): session and link flow control.
// Optional fields use Has flags so that decoding does not allocate.
type Flow struct {
	NextIncomingID    TransferNumber
	HasNextIncomingID bool
	IncomingWindow    uint32         // mandatory
	NextOutgoingID    TransferNumber // mandatory
	OutgoingWindow    uint32         // mandatory
	// Link fields: present only when HasHandle is set.
	Handle           Handle
	HasHandle        bool
	DeliveryCount    SequenceNo
	HasDeliveryCount bool
	LinkCredit       uint32
	HasLinkCredit    bool
	Available        uint32
	HasAvailable     bool
	Drain            bool
	Echo             bool
	Properties       encoding.Map
}

// Descriptor returns DescFlow.
func (*Flow) Descriptor() uint64 { return DescFlow }

// AppendTo encodes the performative.
func (fl *Flow) AppendTo(w *encoding.Buffer) error {
	w.AppendDescriptor(DescFlow)
	c := w.BeginFields()
	putUint32(w, &c, uint32(fl.NextIncomingID), fl.HasNextIncomingID)
	putUint32(w, &c, fl.IncomingWindow, true)
	putUint32(w, &c, uint32(fl.NextOutgoingID), true)
	putUint32(w, &c, fl.OutgoingWindow, true)
	putUint32(w, &c, uint32(fl.Handle), fl.HasHandle)
	putUint32(w, &c, uint32(fl.DeliveryCount), fl.HasDeliveryCount)
	putUint32(w, &c, fl.LinkCredit, fl.HasLinkCredit)
	putUint32(w, &c, fl.Available, fl.HasAvailable)
	putBool(w, &c, fl.Drain)
	putBool(w, &c, fl.Echo)
	if err := putMap(w, &c, fl.Properties); err != nil {
		return err
	}
	w.EndFields(c)
	return nil
}

func (fl *Flow) decode(r *encoding.Reader) error {
	f, err := r.ReadFields()
	if err != nil {
		return err
	}
	if err := readUint32(r, &f, (*uint32)(&fl.NextIncomingID), &fl.HasNextIncomingID); err != nil {
		return err
	}
	for i, dst := range [...]*uint32{&fl.IncomingWindow, (*uint32)(&fl.NextOutgoingID), &fl.OutgoingWindow} {
		if !f.Next() {
			return missing(r, "flow", [...]string{"incoming-window", "next-outgoing-id", "outgoing-window"}[i])
		}
		if *dst, err = r.ReadUint32(); err != nil {
			return err
		}
	}
	if err := readUint32(r, &f, (*uint32)(&fl.Handle), &fl.HasHandle); err != nil {
		return err
	}
	if err := readUint32(r, &f, (*uint32)(&fl.DeliveryCount), &fl.HasDeliveryCount); err != nil {
		return err
	}
	if err := readUint32(r, &f, &fl.LinkCredit, &fl.HasLinkCredit); err != nil {
		return err
	}
	if err := readUint32(r, &f, &fl.Available, &fl.HasAvailable); err != nil {
		return err
	}
	if err := readBool(r, &f, &fl.Drain); err != nil {
		return err
	}
	if err := readBool(r, &f, &fl.Echo); err != nil {
		return err
	}
	if err := readMapField(r, &f, &fl.Properties); err != nil {
		return err
	}
	return f.Finish()
}
