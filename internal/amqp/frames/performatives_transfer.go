package frames

import (
	"github.com/batonmq/baton/internal/amqp/encoding"
)

// Transfer is the transfer performative (0x14). The message payload
// follows it in the frame (Frame.Payload). Optional fields use Has flags so
// that decoding does not allocate.
type Transfer struct {
	Handle        Handle // mandatory
	DeliveryID    DeliveryNumber
	HasDeliveryID bool
	// DeliveryTag is nil when absent; it aliases the frame when decoded.
	DeliveryTag      []byte
	MessageFormat    uint32
	HasMessageFormat bool
	// Settled is meaningful only when HasSettled is set (an absent settled
	// on a continuation frame means "as on the first frame").
	Settled          bool
	HasSettled       bool
	More             bool
	RcvSettleMode    ReceiverSettleMode
	HasRcvSettleMode bool
	State            DeliveryState
	Resume           bool
	Aborted          bool
	Batchable        bool
}

// MessageFormatBatch is the Service Bus batch message format (0x80013700).
const MessageFormatBatch uint32 = 0x80013700

// Descriptor returns DescTransfer.
func (*Transfer) Descriptor() uint64 { return DescTransfer }

// AppendTo encodes the performative.
func (t *Transfer) AppendTo(w *encoding.Buffer) error {
	w.AppendDescriptor(DescTransfer)
	c := w.BeginFields()
	putUint32(w, &c, uint32(t.Handle), true)
	putUint32(w, &c, uint32(t.DeliveryID), t.HasDeliveryID)
	putBinary(w, &c, t.DeliveryTag)
	putUint32(w, &c, t.MessageFormat, t.HasMessageFormat)
	if t.HasSettled {
		w.AppendBool(t.Settled)
		w.Field(&c)
	} else {
		w.Null(&c)
	}
	putBool(w, &c, t.More)
	if t.HasRcvSettleMode {
		w.AppendUint8(uint8(t.RcvSettleMode))
		w.Field(&c)
	} else {
		w.Null(&c)
	}
	if err := putState(w, &c, t.State); err != nil {
		return err
	}
	putBool(w, &c, t.Resume)
	putBool(w, &c, t.Aborted)
	putBool(w, &c, t.Batchable)
	w.EndFields(c)
	return nil
}

func (t *Transfer) decode(r *encoding.Reader) error {
	f, err := r.ReadFields()
	if err != nil {
		return err
	}
	if !f.Next() {
		return missing(r, "transfer", "handle")
	}
	h, err := r.ReadUint32()
	if err != nil {
		return err
	}
	t.Handle = Handle(h)
	if err := readUint32(r, &f, (*uint32)(&t.DeliveryID), &t.HasDeliveryID); err != nil {
		return err
	}
	if f.Next() {
		if t.DeliveryTag, err = r.ReadBinary(); err != nil {
			return err
		}
		if t.DeliveryTag == nil {
			t.DeliveryTag = []byte{}
		}
		if len(t.DeliveryTag) > 32 {
			return r.Errorf(encoding.ErrInvalid, "transfer: delivery-tag longer than 32 bytes")
		}
	}
	if err := readUint32(r, &f, &t.MessageFormat, &t.HasMessageFormat); err != nil {
		return err
	}
	if f.Next() {
		if t.Settled, err = r.ReadBool(); err != nil {
			return err
		}
		t.HasSettled = true
	}
	if err := readBool(r, &f, &t.More); err != nil {
		return err
	}
	if f.Next() {
		v, err := r.ReadUint8()
		if err != nil {
			return err
		}
		t.RcvSettleMode, t.HasRcvSettleMode = ReceiverSettleMode(v), true
	}
	if f.Next() {
		if t.State, err = decodeDeliveryState(r); err != nil {
			return err
		}
	}
	if err := readBool(r, &f, &t.Resume); err != nil {
		return err
	}
	if err := readBool(r, &f, &t.Aborted); err != nil {
		return err
	}
	if err := readBool(r, &f, &t.Batchable); err != nil {
		return err
	}
	return f.Finish()
}

// Disposition is the disposition performative (0x15): settles or updates
// the state of the deliveries first..last.
type Disposition struct {
	Role  Role           // mandatory
	First DeliveryNumber // mandatory
	// Last is present when HasLast is set; absent means Last == First.
	Last      DeliveryNumber
	HasLast   bool
	Settled   bool
	State     DeliveryState
	Batchable bool
}

// LastID returns the effective last delivery-id.
func (d *Disposition) LastID() DeliveryNumber {
	if d.HasLast {
		return d.Last
	}
	return d.First
}

// Descriptor returns DescDisposition.
func (*Disposition) Descriptor() uint64 { return DescDisposition }

// AppendTo encodes the performative.
func (d *Disposition) AppendTo(w *encoding.Buffer) error {
	w.AppendDescriptor(DescDisposition)
	c := w.BeginFields()
	w.AppendBool(bool(d.Role))
	w.Field(&c)
	putUint32(w, &c, uint32(d.First), true)
	putUint32(w, &c, uint32(d.Last), d.HasLast)
	putBool(w, &c, d.Settled)
	if err := putState(w, &c, d.State); err != nil {
		return err
	}
	putBool(w, &c, d.Batchable)
	w.EndFields(c)
	return nil
}

func (d *Disposition) decode(r *encoding.Reader) error {
	f, err := r.ReadFields()
	if err != nil {
		return err
	}
	if !f.Next() {
		return missing(r, "disposition", "role")
	}
	role, err := r.ReadBool()
	if err != nil {
		return err
	}
	d.Role = Role(role)
	if !f.Next() {
		return missing(r, "disposition", "first")
	}
	first, err := r.ReadUint32()
	if err != nil {
		return err
	}
	d.First = DeliveryNumber(first)
	if err := readUint32(r, &f, (*uint32)(&d.Last), &d.HasLast); err != nil {
		return err
	}
	if err := readBool(r, &f, &d.Settled); err != nil {
		return err
	}
	if f.Next() {
		if d.State, err = decodeDeliveryState(r); err != nil {
			return err
		}
	}
	if err := readBool(r, &f, &d.Batchable); err != nil {
		return err
	}
	return f.Finish()
}

// DeliveryState is a delivery state or outcome: Received, Accepted,
// Rejected, Released, Modified, Declared or TransactionalState.
type DeliveryState interface {
	Descriptor() uint64
	AppendTo(w *encoding.Buffer) error
	deliveryState()
}

// Received is the received delivery state (0x23).
type Received struct {
	SectionNumber uint32 // mandatory
	SectionOffset uint64 // mandatory
}

// Accepted is the accepted outcome (0x24).
type Accepted struct{}

// Rejected is the rejected outcome (0x25).
type Rejected struct {
	Error *Error
}

// Released is the released outcome (0x26).
type Released struct{}

// Modified is the modified outcome (0x27). Service Bus clients use it for
// abandon (UndeliverableHere false) and defer (UndeliverableHere true),
// carrying the application properties to change in MessageAnnotations.
type Modified struct {
	DeliveryFailed     bool
	UndeliverableHere  bool
	MessageAnnotations encoding.Map
}

// Declared is the transaction declared outcome (0x33).
type Declared struct {
	TxnID []byte // mandatory
}

// TransactionalState is the transactional delivery state (0x34).
type TransactionalState struct {
	TxnID   []byte // mandatory
	Outcome DeliveryState
}

func (Received) deliveryState()           {}
func (Accepted) deliveryState()           {}
func (Rejected) deliveryState()           {}
func (Released) deliveryState()           {}
func (Modified) deliveryState()           {}
func (Declared) deliveryState()           {}
func (TransactionalState) deliveryState() {}

// Descriptor returns DescReceived.
func (Received) Descriptor() uint64 { return DescReceived }

// Descriptor returns DescAccepted.
func (Accepted) Descriptor() uint64 { return DescAccepted }

// Descriptor returns DescRejected.
func (Rejected) Descriptor() uint64 { return DescRejected }

// Descriptor returns DescReleased.
func (Released) Descriptor() uint64 { return DescReleased }

// Descriptor returns DescModified.
func (Modified) Descriptor() uint64 { return DescModified }

// Descriptor returns DescDeclared.
func (Declared) Descriptor() uint64 { return DescDeclared }

// Descriptor returns DescTransactionalState.
func (TransactionalState) Descriptor() uint64 { return DescTransactionalState }

// AppendTo encodes the state.
func (s Received) AppendTo(w *encoding.Buffer) error {
	w.AppendDescriptor(DescReceived)
	c := w.BeginFields()
	putUint32(w, &c, s.SectionNumber, true)
	w.AppendUint64(s.SectionOffset)
	w.Field(&c)
	w.EndFields(c)
	return nil
}

// AppendTo encodes the outcome.
func (Accepted) AppendTo(w *encoding.Buffer) error {
	w.AppendDescriptor(DescAccepted)
	w.AppendRaw([]byte{encoding.CodeList0})
	return nil
}

// AppendTo encodes the outcome.
func (s Rejected) AppendTo(w *encoding.Buffer) error {
	return appendErrorOnly(w, DescRejected, s.Error)
}

// AppendTo encodes the outcome.
func (Released) AppendTo(w *encoding.Buffer) error {
	w.AppendDescriptor(DescReleased)
	w.AppendRaw([]byte{encoding.CodeList0})
	return nil
}

// AppendTo encodes the outcome.
func (s Modified) AppendTo(w *encoding.Buffer) error {
	w.AppendDescriptor(DescModified)
	c := w.BeginFields()
	putBool(w, &c, s.DeliveryFailed)
	putBool(w, &c, s.UndeliverableHere)
	if err := putMap(w, &c, s.MessageAnnotations); err != nil {
		return err
	}
	w.EndFields(c)
	return nil
}

// AppendTo encodes the outcome.
func (s Declared) AppendTo(w *encoding.Buffer) error {
	w.AppendDescriptor(DescDeclared)
	c := w.BeginFields()
	w.AppendBinary(s.TxnID)
	w.Field(&c)
	w.EndFields(c)
	return nil
}

// AppendTo encodes the state.
func (s TransactionalState) AppendTo(w *encoding.Buffer) error {
	w.AppendDescriptor(DescTransactionalState)
	c := w.BeginFields()
	w.AppendBinary(s.TxnID)
	w.Field(&c)
	if err := putState(w, &c, s.Outcome); err != nil {
		return err
	}
	w.EndFields(c)
	return nil
}

// decodeDeliveryState reads any delivery state or outcome.
func decodeDeliveryState(r *encoding.Reader) (DeliveryState, error) {
	return decodeState(r, true)
}

// decodeState reads a delivery state; allowTxn is false inside a
// transactional-state, whose outcome cannot itself be transactional (this
// also bounds the recursion).
func decodeState(r *encoding.Reader, allowTxn bool) (DeliveryState, error) {
	start := r.Offset()
	code, err := readDescriptor(r)
	if err != nil {
		return nil, err
	}
	if code == DescTransactionalState && !allowTxn {
		_ = r.Seek(start)
		return nil, r.Errorf(encoding.ErrInvalid, "transactional-state nested in transactional-state")
	}
	f, err := r.ReadFields()
	if err != nil {
		return nil, err
	}
	var st DeliveryState
	switch code {
	case DescReceived:
		var s Received
		if !f.Next() {
			return nil, missing(r, "received", "section-number")
		}
		if s.SectionNumber, err = r.ReadUint32(); err != nil {
			return nil, err
		}
		if !f.Next() {
			return nil, missing(r, "received", "section-offset")
		}
		if s.SectionOffset, err = r.ReadUint64(); err != nil {
			return nil, err
		}
		st = s
	case DescAccepted:
		st = Accepted{}
	case DescRejected:
		var s Rejected
		if err := readErrorField(r, &f, &s.Error); err != nil {
			return nil, err
		}
		st = s
	case DescReleased:
		st = Released{}
	case DescModified:
		var s Modified
		if err := readBool(r, &f, &s.DeliveryFailed); err != nil {
			return nil, err
		}
		if err := readBool(r, &f, &s.UndeliverableHere); err != nil {
			return nil, err
		}
		if err := readMapField(r, &f, &s.MessageAnnotations); err != nil {
			return nil, err
		}
		st = s
	case DescDeclared:
		var s Declared
		if !f.Next() {
			return nil, missing(r, "declared", "txn-id")
		}
		if s.TxnID, err = r.ReadBinary(); err != nil {
			return nil, err
		}
		st = s
	case DescTransactionalState:
		var s TransactionalState
		if !f.Next() {
			return nil, missing(r, "transactional-state", "txn-id")
		}
		if s.TxnID, err = r.ReadBinary(); err != nil {
			return nil, err
		}
		if f.Next() {
			if s.Outcome, err = decodeState(r, false); err != nil {
				return nil, err
			}
		}
		st = s
	default:
		_ = r.Seek(start)
		return nil, r.Errorf(encoding.ErrUnexpectedType, "not a delivery state")
	}
	if err := f.Finish(); err != nil {
		return nil, err
	}
	return st, nil
}
