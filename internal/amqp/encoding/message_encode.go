package encoding

import (
	"fmt"
	"time"
)

// AppendHeader appends a header section (descriptor included). Fields equal
// to their defaults are omitted.
func (w *Buffer) AppendHeader(h *Header) {
	w.AppendDescriptor(SectionHeader)
	f := w.BeginFields()
	if h.Durable {
		w.AppendBool(true)
		w.Field(&f)
	} else {
		w.Null(&f)
	}
	if h.Priority != DefaultPriority {
		w.AppendUint8(h.Priority)
		w.Field(&f)
	} else {
		w.Null(&f)
	}
	if h.HasTTL {
		w.AppendUint32(h.TTL)
		w.Field(&f)
	} else {
		w.Null(&f)
	}
	if h.FirstAcquirer {
		w.AppendBool(true)
		w.Field(&f)
	} else {
		w.Null(&f)
	}
	// delivery-count is always written, 0 included: the spec's default
	// makes it optional, but rhea (the JS SDK) does not apply defaults and
	// would report an undefined deliveryCount on a first delivery.
	w.AppendUint32(h.DeliveryCount)
	w.Field(&f)
	w.EndFields(f)
}

func (w *Buffer) appendID(id MessageID, f *Composite) {
	switch id.Kind {
	case IDString:
		w.AppendString(id.Str)
	case IDUlong:
		w.AppendUint64(id.Ulong)
	case IDUUID:
		w.AppendUUID(id.UUID)
	case IDBinary:
		w.AppendBinary(id.Binary)
	default:
		w.Null(f)
		return
	}
	w.Field(f)
}

func (w *Buffer) optString(s string, f *Composite) {
	if s == "" {
		w.Null(f)
		return
	}
	w.AppendString(s)
	w.Field(f)
}

func (w *Buffer) optSymbol(s Symbol, f *Composite) {
	if s == "" {
		w.Null(f)
		return
	}
	w.AppendSymbol(string(s))
	w.Field(f)
}

func (w *Buffer) optTime(t time.Time, f *Composite) {
	if t.IsZero() {
		w.Null(f)
		return
	}
	w.AppendTimestamp(t)
	w.Field(f)
}

// AppendProperties appends a properties section (descriptor included).
// Zero-valued fields are written as absent.
func (w *Buffer) AppendProperties(p *Properties) {
	w.AppendDescriptor(SectionProperties)
	f := w.BeginFields()
	w.appendID(p.MessageID, &f)
	if p.UserID != nil {
		w.AppendBinary(p.UserID)
		w.Field(&f)
	} else {
		w.Null(&f)
	}
	w.optString(p.To, &f)
	w.optString(p.Subject, &f)
	w.optString(p.ReplyTo, &f)
	w.appendID(p.CorrelationID, &f)
	w.optSymbol(p.ContentType, &f)
	w.optSymbol(p.ContentEncoding, &f)
	w.optTime(p.AbsoluteExpiryTime, &f)
	w.optTime(p.CreationTime, &f)
	w.optString(p.GroupID, &f)
	if p.HasGroupSequence {
		w.AppendUint32(p.GroupSequence)
		w.Field(&f)
	} else {
		w.Null(&f)
	}
	w.optString(p.ReplyToGroupID, &f)
	w.EndFields(f)
}

// AppendAnnotations appends an annotations map (no descriptor). String keys
// are written as symbols, as annotations require.
func (w *Buffer) AppendAnnotations(m Map) error {
	c := w.BeginMap()
	for _, kv := range m {
		if s, ok := kv.Key.(string); ok {
			w.AppendSymbol(s)
		} else if err := w.AppendValue(kv.Key); err != nil {
			return err
		}
		if err := w.AppendValue(kv.Value); err != nil {
			return err
		}
	}
	w.EndMap(c, len(m))
	return nil
}

// AppendAppProperties appends an application-properties section
// (descriptor included). Symbol keys are written as strings, as
// application-properties require.
func (w *Buffer) AppendAppProperties(m Map) error {
	w.AppendDescriptor(SectionApplicationProps)
	c := w.BeginMap()
	for _, kv := range m {
		if err := w.appendAppKey(kv.Key); err != nil {
			return err
		}
		if err := w.AppendValue(kv.Value); err != nil {
			return err
		}
	}
	w.EndMap(c, len(m))
	return nil
}

func (w *Buffer) appendAppKey(k any) error {
	switch k := k.(type) {
	case string:
		w.AppendString(k)
	case Symbol:
		w.AppendString(string(k))
	default:
		return fmt.Errorf("%w: application-property key of type %T", ErrUnsupportedType, k)
	}
	return nil
}

// AppendDataSection appends a data section holding p.
func (w *Buffer) AppendDataSection(p []byte) {
	w.AppendDescriptor(SectionData)
	w.AppendBinary(p)
}

// AppendValueSection appends an amqp-value section holding v.
func (w *Buffer) AppendValueSection(v any) error {
	w.AppendDescriptor(SectionAMQPValue)
	return w.AppendValue(v)
}

// Message is a message to encode from scratch, for example a management
// response. Nil or empty fields are omitted.
type Message struct {
	Header                *Header
	DeliveryAnnotations   Map
	MessageAnnotations    Map
	Properties            *Properties
	ApplicationProperties Map
	// Body: set at most one of Data, Sequence and Value (with HasValue).
	Data     [][]byte
	Sequence [][]any
	Value    any
	HasValue bool
	Footer   Map
}

// AppendMessage encodes m after dst.
func AppendMessage(dst []byte, m *Message) ([]byte, error) {
	w := Buffer{b: dst}
	if m.Header != nil {
		w.AppendHeader(m.Header)
	}
	if len(m.DeliveryAnnotations) > 0 {
		w.AppendDescriptor(SectionDeliveryAnnotations)
		if err := w.AppendAnnotations(m.DeliveryAnnotations); err != nil {
			return dst, err
		}
	}
	if len(m.MessageAnnotations) > 0 {
		w.AppendDescriptor(SectionMessageAnnotations)
		if err := w.AppendAnnotations(m.MessageAnnotations); err != nil {
			return dst, err
		}
	}
	if m.Properties != nil {
		w.AppendProperties(m.Properties)
	}
	if len(m.ApplicationProperties) > 0 {
		if err := w.AppendAppProperties(m.ApplicationProperties); err != nil {
			return dst, err
		}
	}
	bodies := 0
	if len(m.Data) > 0 {
		bodies++
	}
	if len(m.Sequence) > 0 {
		bodies++
	}
	if m.HasValue {
		bodies++
	}
	if bodies > 1 {
		return dst, fmt.Errorf("%w: message has more than one body kind", ErrUnsupportedType)
	}
	for _, d := range m.Data {
		w.AppendDataSection(d)
	}
	for _, s := range m.Sequence {
		w.AppendDescriptor(SectionAMQPSequence)
		if err := w.appendList(s, false); err != nil {
			return dst, err
		}
	}
	if m.HasValue {
		if err := w.AppendValueSection(m.Value); err != nil {
			return dst, err
		}
	}
	if len(m.Footer) > 0 {
		w.AppendDescriptor(SectionFooter)
		if err := w.AppendAnnotations(m.Footer); err != nil {
			return dst, err
		}
	}
	return w.b, nil
}
