package servicebus

// This file is the broker's window into AMQP bodies (broker.MessageCodec).
// A topic send evaluates subscription rules against the application
// properties of the stored bare message, and a rule action that changes a
// copy needs a new bare message for it.
//
// AppProperties decodes the application-properties section into values of
// the types a broker message property may hold. AMQP types without a Go
// counterpart in that list are mapped so that nothing is lost on the way
// back through Rewrite:
//
//	symbol, char          → string
//	uuid                  → broker.LockToken
//	decimal, list, map,   → []byte holding the value's AMQP encoding
//	array, described        (filters see such a property as absent)
//
// Rewrite writes a new properties section from the message's fields and an
// application-properties map that holds exactly the given properties. A
// property whose value is still what AppProperties made of the original is
// copied byte for byte, so that its AMQP type survives (a symbol stays a
// symbol, a uuid a uuid, a decimal a decimal); changed and new properties
// are encoded from their Go values. The body sections and the footer are
// copied byte for byte.

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/batonmq/baton/internal/amqp/encoding"
	"github.com/batonmq/baton/internal/broker"
)

// Codec implements broker.MessageCodec for FormatAMQP bodies (bare
// messages as FromAMQP stores them). The zero value is ready to use.
type Codec struct{}

var _ broker.MessageCodec = Codec{}

// AppProperties implements broker.MessageCodec.
func (Codec) AppProperties(m *broker.Message) (map[string]any, error) {
	if m.Format != broker.FormatAMQP || len(m.Body) == 0 {
		return nil, nil
	}
	s, err := splitBare(m.Body)
	if err != nil {
		return nil, err
	}
	if s.appProps == nil {
		return nil, nil
	}
	var out map[string]any
	err = eachAppProperty(s.appProps, func(key string, raw []byte) error {
		v, err := rawPropertyValue(raw)
		if err != nil {
			return fmt.Errorf("application property %q: %w", key, err)
		}
		if out == nil {
			out = make(map[string]any)
		}
		out[key] = v
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Rewrite implements broker.MessageCodec.
func (Codec) Rewrite(m *broker.Message, props map[string]any) ([]byte, error) {
	if m.Format != broker.FormatAMQP {
		return nil, fmt.Errorf("servicebus: %w: Rewrite of a message of format %d", ErrInvalidMessage, m.Format)
	}
	s, err := splitBare(m.Body)
	if err != nil {
		return nil, err
	}
	var orig encoding.Properties
	if s.props != nil {
		var v encoding.MessageView
		if err := v.Parse(s.props); err != nil {
			return nil, fmt.Errorf("servicebus: parse properties: %w", err)
		}
		orig = v.Properties
	}
	p := orig
	p.MessageID = keepID(orig.MessageID, m.MessageID)
	p.CorrelationID = keepID(orig.CorrelationID, m.CorrelationID)
	p.To, p.ReplyTo, p.Subject = m.To, m.ReplyTo, m.Subject
	p.GroupID, p.ReplyToGroupID = m.SessionID, m.ReplyToSessionID
	p.ContentType = encoding.Symbol(m.ContentType)

	var w encoding.Buffer
	w.SetBytes(make([]byte, 0, len(m.Body)+64))
	w.AppendProperties(&p)

	// Application properties: the original entries still present (in their
	// order, raw when unchanged), then the new ones in key order.
	mp := encoding.Map{}
	seen := make(map[string]bool, len(props))
	if s.appProps != nil {
		err := eachAppProperty(s.appProps, func(key string, raw []byte) error {
			nv, keep := props[key]
			if !keep || seen[key] {
				return nil
			}
			seen[key] = true
			if ov, err := rawPropertyValue(raw); err == nil && sameValue(ov, nv) {
				mp = append(mp, encoding.KV{Key: key, Value: encoding.Raw(raw)})
				return nil
			}
			ev, err := amqpValue(nv)
			if err != nil {
				return fmt.Errorf("application property %q: %w", key, err)
			}
			mp = append(mp, encoding.KV{Key: key, Value: ev})
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	keys := slices.Sorted(maps.Keys(props))
	for _, k := range keys {
		if seen[k] {
			continue
		}
		ev, err := amqpValue(props[k])
		if err != nil {
			return nil, fmt.Errorf("servicebus: application property %q: %w", k, err)
		}
		mp = append(mp, encoding.KV{Key: k, Value: ev})
	}
	if len(mp) > 0 {
		if err := w.AppendAppProperties(mp); err != nil {
			return nil, fmt.Errorf("servicebus: encode application properties: %w", err)
		}
	}
	w.AppendRaw(s.rest)
	return w.Bytes(), nil
}

// keepID returns the original id when its string form is still s (so that
// a uuid, ulong or binary id keeps its type), else s as a string id.
func keepID(orig encoding.MessageID, s string) encoding.MessageID {
	if !orig.IsZero() && idString(orig) == s {
		return orig
	}
	return stringIDOrNone(s)
}

// bareParts are the sections of a bare message: the encoded properties
// section (descriptor included), the application-properties map (without
// its descriptor) and everything after them.
type bareParts struct {
	props    []byte
	appProps []byte
	rest     []byte
}

// splitBare finds the properties and application-properties sections at
// the start of a bare message.
func splitBare(bare []byte) (bareParts, error) {
	var out bareParts
	r := encoding.NewReader(bare)
	for r.Len() > 0 {
		start := r.Offset()
		code, name, err := r.ReadDescriptor()
		if err != nil {
			return out, fmt.Errorf("servicebus: %w: %w", ErrInvalidMessage, err)
		}
		if name != nil {
			switch string(name) {
			case "amqp:properties:list":
				code = encoding.SectionProperties
			case "amqp:application-properties:map":
				code = encoding.SectionApplicationProps
			default:
				code = 0
			}
		}
		switch {
		case code == encoding.SectionProperties && out.props == nil && out.appProps == nil:
			if err := r.SkipValue(); err != nil {
				return out, fmt.Errorf("servicebus: %w: properties: %w", ErrInvalidMessage, err)
			}
			out.props = bare[start:r.Offset()]
			continue
		case code == encoding.SectionApplicationProps && out.appProps == nil:
			raw, err := r.RawValue()
			if err != nil {
				return out, fmt.Errorf("servicebus: %w: application-properties: %w", ErrInvalidMessage, err)
			}
			if len(raw) == 0 || raw[0] != encoding.CodeMap8 && raw[0] != encoding.CodeMap32 {
				if len(raw) == 1 && raw[0] == encoding.CodeNull {
					out.rest = bare[r.Offset():]
					return out, nil
				}
				return out, fmt.Errorf("servicebus: %w: application-properties is not a map", ErrInvalidMessage)
			}
			out.appProps = raw
			out.rest = bare[r.Offset():]
			return out, nil
		}
		out.rest = bare[start:]
		return out, nil
	}
	out.rest = bare[len(bare):]
	return out, nil
}

// eachAppProperty calls fn for each entry with a string or symbol key of
// an encoded application-properties map, with the value's encoding.
// Entries with other keys are skipped (Service Bus keys are strings).
func eachAppProperty(raw []byte, fn func(key string, value []byte) error) error {
	r := encoding.NewReader(raw)
	n, _, err := r.ReadMapHeader()
	if err != nil {
		return fmt.Errorf("servicebus: %w: application-properties: %w", ErrInvalidMessage, err)
	}
	for range n {
		k, err := r.ReadValue()
		if err != nil {
			return fmt.Errorf("servicebus: %w: application-properties key: %w", ErrInvalidMessage, err)
		}
		start := r.Offset()
		if err := r.SkipValue(); err != nil {
			return fmt.Errorf("servicebus: %w: application-properties value: %w", ErrInvalidMessage, err)
		}
		var key string
		switch k := k.(type) {
		case string:
			key = k
		case encoding.Symbol:
			key = string(k)
		default:
			continue
		}
		if err := fn(key, raw[start:r.Offset()]); err != nil {
			return err
		}
	}
	return nil
}

// rawPropertyValue decodes one encoded property value into a broker property
// value (see the file comment).
func rawPropertyValue(raw []byte) (any, error) {
	r := encoding.NewReader(raw)
	v, err := r.ReadValue()
	if err != nil {
		return nil, err
	}
	switch x := v.(type) {
	case nil, bool, string, time.Time,
		int8, int16, int32, int64, uint8, uint16, uint32, uint64, float32, float64:
		return x, nil
	case []byte:
		return bytes.Clone(x), nil
	case encoding.Symbol:
		return string(x), nil
	case encoding.Char:
		return string(rune(x)), nil
	case encoding.UUID:
		return broker.LockToken(x), nil
	}
	return bytes.Clone(raw), nil
}

// sameValue reports whether a (from rawPropertyValue) and b are the same
// property value.
func sameValue(a, b any) bool {
	switch x := a.(type) {
	case []byte:
		y, ok := b.([]byte)
		return ok && bytes.Equal(x, y)
	case time.Time:
		y, ok := b.(time.Time)
		return ok && x.Equal(y)
	case float32:
		y, ok := b.(float32)
		return ok && (x == y || x != x && y != y)
	case float64:
		y, ok := b.(float64)
		return ok && (x == y || x != x && y != y)
	}
	switch b.(type) {
	case []byte, map[string]any, []any:
		return false
	}
	return a == b
}

// amqpValue converts a broker property value into the value to encode.
func amqpValue(v any) (any, error) {
	switch x := v.(type) {
	case nil, bool, string, []byte, time.Time,
		int8, int16, int32, int64, uint8, uint16, uint32, uint64, float32, float64:
		return x, nil
	case int:
		return int64(x), nil
	case uint:
		return uint64(x), nil
	case broker.LockToken:
		return encoding.UUID(x), nil
	case time.Duration:
		return x.String(), nil
	}
	return nil, fmt.Errorf("%w: %T", encoding.ErrUnsupportedType, v)
}
