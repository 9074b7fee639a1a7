package encoding

import (
	"iter"
	"time"
)

// Payload returns the whole payload the view was parsed from.
func (m *MessageView) Payload() []byte { return m.payload }

// Bare returns the bare message: every section from properties through
// footer, byte for byte as received. It is empty when the message has only
// a header and annotations.
func (m *MessageView) Bare() []byte { return m.payload[m.bareStart:len(m.payload):len(m.payload)] }

// HeaderRaw returns the encoded header field list, or nil when absent.
func (m *MessageView) HeaderRaw() []byte { return m.header.raw(m.payload) }

// DeliveryAnnotationsRaw returns the encoded delivery-annotations map, or
// nil when absent.
func (m *MessageView) DeliveryAnnotationsRaw() []byte { return m.deliveryAnn.raw(m.payload) }

// DeliveryAnnotations decodes the delivery-annotations (nil when absent).
func (m *MessageView) DeliveryAnnotations() (Map, error) {
	return decodeMapOrNil(m.deliveryAnn.raw(m.payload))
}

// MessageAnnotationsRaw returns the encoded message-annotations map (the
// value, without the section descriptor), or nil when absent. A broker
// stores it beside the bare message and passes it to AppendDelivery.
func (m *MessageView) MessageAnnotationsRaw() []byte { return m.messageAnn.raw(m.payload) }

// PropertiesRaw returns the encoded properties field list, or nil.
func (m *MessageView) PropertiesRaw() []byte { return m.props.raw(m.payload) }

// AppPropertiesRaw returns the encoded application-properties map, or nil.
func (m *MessageView) AppPropertiesRaw() []byte { return m.appProps.raw(m.payload) }

// AppProperties decodes the application-properties (nil when absent).
// Binary values alias the payload.
func (m *MessageView) AppProperties() (Map, error) {
	return decodeMapOrNil(m.appProps.raw(m.payload))
}

// AppProperty looks up one application property by key without decoding
// the others. It reports false when the key (or the section) is absent.
func (m *MessageView) AppProperty(key string) (any, bool, error) {
	raw := m.appProps.raw(m.payload)
	if raw == nil {
		return nil, false, nil
	}
	return LookupMap(raw, key)
}

// LookupMap finds the value under the string key in an encoded map,
// decoding only that value.
func LookupMap(raw []byte, key string) (any, bool, error) {
	var r Reader
	r.Reset(raw)
	n, _, err := r.ReadMapHeader()
	if err != nil {
		return nil, false, err
	}
	for range n {
		c, err := r.PeekCode()
		if err != nil {
			return nil, false, err
		}
		if c == CodeStr8 || c == CodeStr32 {
			k, err := r.ReadStringBytes()
			if err != nil {
				return nil, false, err
			}
			if string(k) == key {
				v, err := r.ReadValue()
				return v, err == nil, err
			}
		} else if err := r.SkipValue(); err != nil {
			return nil, false, err
		}
		if err := r.SkipValue(); err != nil {
			return nil, false, err
		}
	}
	return nil, false, nil
}

// BodyRaw returns all body sections (descriptors included) as encoded.
func (m *MessageView) BodyRaw() []byte {
	return m.payload[m.bodyStart:m.bodyEnd:m.bodyEnd]
}

// Data returns the payload of the message's only data section. It reports
// false when the body is not exactly one data section.
func (m *MessageView) Data() ([]byte, bool) {
	if m.Body != BodyData || m.DataSections != 1 {
		return nil, false
	}
	return m.firstData, true
}

// Value decodes the amqp-value body (management and CBS requests carry
// their body this way). It reports false when the body is not amqp-value.
// Binary values in the result alias the payload.
func (m *MessageView) Value() (any, bool, error) {
	if m.Body != BodyValue {
		return nil, false, nil
	}
	var r Reader
	r.Reset(m.payload[:m.bodyEnd])
	r.off = m.bodyStart
	if _, _, err := r.ReadDescriptor(); err != nil {
		return nil, false, err
	}
	v, err := r.ReadValue()
	return v, err == nil, err
}

// AllData yields the payload of every data section in order. A Service Bus
// batch (message-format 0x80013700) carries one complete encoded message in
// each data section; parse each with ParseMessage.
func (m *MessageView) AllData() iter.Seq[[]byte] {
	return func(yield func([]byte) bool) {
		if m.Body != BodyData {
			return
		}
		var r Reader
		r.Reset(m.payload[:m.bodyEnd])
		r.off = m.bodyStart
		for r.Len() > 0 {
			if _, _, err := r.ReadDescriptor(); err != nil {
				return // unreachable: Parse validated the sections
			}
			p, err := r.ReadBinary()
			if err != nil || !yield(p) {
				return
			}
		}
	}
}

// FooterRaw returns the encoded footer map, or nil.
func (m *MessageView) FooterRaw() []byte { return m.footer.raw(m.payload) }

// ScheduledEnqueueTime returns the x-opt-scheduled-enqueue-time message
// annotation (symbol or string key) when it is present and a timestamp.
func (m *MessageView) ScheduledEnqueueTime() (time.Time, bool) {
	v, ok := m.MessageAnnotations.Lookup(AnnotationScheduledEnqueueTime)
	t, isTime := v.(time.Time)
	return t, ok && isTime
}

// PartitionKey returns the x-opt-partition-key message annotation (symbol
// or string key) when it is present and a string.
func (m *MessageView) PartitionKey() (string, bool) {
	v, ok := m.MessageAnnotations.Lookup(AnnotationPartitionKey)
	s, isString := v.(string)
	return s, ok && isString
}

func decodeMapOrNil(raw []byte) (Map, error) {
	if raw == nil {
		return nil, nil
	}
	var r Reader
	r.Reset(raw)
	return r.ReadMap()
}
