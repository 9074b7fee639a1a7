package encoding

// This file builds the payload of a delivery from a stored message.
//
// The broker stores the bare message exactly as the sender sent it, plus
// the sender's message-annotations map (MessageView.MessageAnnotationsRaw)
// and its own state. At delivery AppendDelivery writes a fresh header,
// optional delivery-annotations, and message-annotations that merge the
// broker's x-opt-* values with the sender's entries, then appends the bare
// bytes unchanged. Nothing in the bare message is decoded.

import (
	"fmt"
	"time"
)

// BrokerAnnotations are the message annotations the broker sets on every
// delivered, peeked or deferred message (service-bus-amqp.md §6.2).
type BrokerAnnotations struct {
	// SequenceNumber is written as x-opt-sequence-number (long), always.
	SequenceNumber int64
	// EnqueuedTime is written as x-opt-enqueued-time (timestamp), always.
	EnqueuedTime time.Time
	// LockedUntil is written as x-opt-locked-until (timestamp) unless zero.
	LockedUntil time.Time
	// EnqueueSequenceNumber is written as x-opt-enqueue-sequence-number
	// (long) unless zero.
	EnqueueSequenceNumber int64
	// DeadLetterSource is written as x-opt-deadletter-source (string)
	// unless empty.
	DeadLetterSource string
	// MessageState is written as x-opt-message-state (int), always:
	// 0 active, 1 deferred, 2 scheduled.
	MessageState int32
	// Extra entries are appended after the others (keys should be Symbols;
	// string keys are written as symbols).
	Extra Map
}

// Delivery describes the payload of one delivery.
type Delivery struct {
	// Header is written as given. Start from the stored message's
	// MessageView.Header (which defaults priority to 4); a zero Header
	// carries priority 0.
	Header Header
	// LockToken, when HasLockToken is set, is written as the delivery
	// annotation x-opt-lock-token (uuid).
	LockToken    UUID
	HasLockToken bool
	// DeliveryAnnotations are extra delivery annotations.
	DeliveryAnnotations Map
	Annotations         BrokerAnnotations
	// SenderAnnotations is the sender's encoded message-annotations map
	// (MessageView.MessageAnnotationsRaw), or nil. Its entries are kept
	// after the broker's, except those whose key the broker sets.
	SenderAnnotations []byte
	// Bare is the stored bare message, appended unchanged.
	Bare []byte
}

// AppendDelivery encodes d after dst. It fails only when SenderAnnotations
// or an Extra value cannot be encoded; dst is then returned unchanged.
func AppendDelivery(dst []byte, d *Delivery) ([]byte, error) {
	w := Buffer{b: dst}
	w.AppendHeader(&d.Header)
	if d.HasLockToken || len(d.DeliveryAnnotations) > 0 {
		w.AppendDescriptor(SectionDeliveryAnnotations)
		c := w.BeginMap()
		pairs := 0
		if d.HasLockToken {
			w.AppendSymbol(AnnotationLockToken)
			w.AppendUUID(d.LockToken)
			pairs++
		}
		for _, kv := range d.DeliveryAnnotations {
			if err := w.appendAnnotationEntry(kv); err != nil {
				return dst, err
			}
			pairs++
		}
		w.EndMap(c, pairs)
	}
	if err := w.appendBrokerAnnotations(&d.Annotations, d.SenderAnnotations); err != nil {
		return dst, err
	}
	w.b = append(w.b, d.Bare...)
	return w.b, nil
}

func (w *Buffer) appendAnnotationEntry(kv KV) error {
	if s, ok := kv.Key.(string); ok {
		w.AppendSymbol(s)
	} else if err := w.AppendValue(kv.Key); err != nil {
		return err
	}
	return w.AppendValue(kv.Value)
}

func (w *Buffer) appendBrokerAnnotations(a *BrokerAnnotations, sender []byte) error {
	w.AppendDescriptor(SectionMessageAnnotations)
	c := w.BeginMap()
	pairs := 2
	w.AppendSymbol(AnnotationSequenceNumber)
	w.AppendInt64(a.SequenceNumber)
	w.AppendSymbol(AnnotationEnqueuedTime)
	w.AppendTimestamp(a.EnqueuedTime)
	if !a.LockedUntil.IsZero() {
		w.AppendSymbol(AnnotationLockedUntil)
		w.AppendTimestamp(a.LockedUntil)
		pairs++
	}
	if a.EnqueueSequenceNumber != 0 {
		w.AppendSymbol(AnnotationEnqueueSequenceNumber)
		w.AppendInt64(a.EnqueueSequenceNumber)
		pairs++
	}
	if a.DeadLetterSource != "" {
		w.AppendSymbol(AnnotationDeadLetterSource)
		w.AppendString(a.DeadLetterSource)
		pairs++
	}
	w.AppendSymbol(AnnotationMessageState)
	w.AppendInt32(a.MessageState)
	pairs++
	for _, kv := range a.Extra {
		if err := w.appendAnnotationEntry(kv); err != nil {
			return err
		}
		pairs++
	}
	if sender != nil {
		n, err := w.copyAnnotationsExcept(sender, func(key []byte) bool {
			return brokerOwnsKey(key, a)
		})
		if err != nil {
			return fmt.Errorf("encoding: stored message-annotations: %w", err)
		}
		pairs += n
	}
	w.EndMap(c, pairs)
	return nil
}

// brokerOwnsKey reports whether the broker writes the annotation key itself.
func brokerOwnsKey(key []byte, a *BrokerAnnotations) bool {
	switch string(key) {
	case AnnotationSequenceNumber, AnnotationEnqueuedTime, AnnotationLockedUntil,
		AnnotationEnqueueSequenceNumber, AnnotationMessageState:
		return true
	case AnnotationDeadLetterSource:
		return a.DeadLetterSource != ""
	}
	for _, kv := range a.Extra {
		switch k := kv.Key.(type) {
		case Symbol:
			if string(k) == string(key) {
				return true
			}
		case string:
			if k == string(key) {
				return true
			}
		}
	}
	return false
}

// copyAnnotationsExcept validates the encoded annotations map raw and
// copies its entries to w, leaving out those whose symbol or string key
// makes skip return true. String keys (as rhea sends them) are rewritten as
// symbols; values and other keys are copied byte for byte. It returns the
// number of entries copied.
func (w *Buffer) copyAnnotationsExcept(raw []byte, skip func(key []byte) bool) (int, error) {
	var r Reader
	r.Reset(raw)
	n, end, err := r.ReadMapHeader()
	if err != nil {
		return 0, err
	}
	copied := 0
	for range n {
		keyStart := r.off
		c, err := r.PeekCode()
		if err != nil {
			return 0, err
		}
		var key []byte
		switch c {
		case CodeSym8, CodeSym32:
			key, err = r.ReadSymbolBytes()
		case CodeStr8, CodeStr32:
			key, err = r.ReadStringBytes()
		default:
			err = r.SkipValue()
		}
		if err != nil {
			return 0, err
		}
		keyEnd := r.off
		if err := r.SkipValue(); err != nil {
			return 0, err
		}
		if key != nil && skip(key) {
			continue
		}
		if c == CodeStr8 || c == CodeStr32 {
			w.AppendSymbol(string(key))
			w.b = append(w.b, raw[keyEnd:r.off]...)
		} else {
			w.b = append(w.b, raw[keyStart:r.off]...)
		}
		copied++
	}
	return copied, r.checkEnd(end, "map")
}

// RewriteAppProperties returns dst with a copy of the bare message bare
// appended, in which the application-properties have been merged with mods:
// an existing key gets the new value in place, new keys are appended, other
// entries and every other section are copied byte for byte. Keys in mods
// may be strings or Symbols (Service Bus clients send the properties to
// modify as message-annotations, whose keys are symbols); they are written
// as strings. A nil value in mods sets the property to null.
func RewriteAppProperties(dst, bare []byte, mods Map) ([]byte, error) {
	if len(mods) == 0 {
		return append(dst, bare...), nil
	}
	var r Reader
	r.Reset(bare)
	w := Buffer{b: dst}
	// Copy the properties section, if present.
	var apRaw []byte
	for r.Len() > 0 {
		start := r.off
		code, name, err := r.ReadDescriptor()
		if err != nil {
			return dst, err
		}
		if name != nil {
			code, _ = sectionCodeByName(name)
		}
		if code == SectionProperties {
			if err := r.SkipValue(); err != nil {
				return dst, err
			}
			w.b = append(w.b, bare[start:r.off]...)
			continue
		}
		if code == SectionApplicationProps {
			if apRaw, err = r.RawValue(); err != nil {
				return dst, err
			}
		} else {
			r.off = start
		}
		break
	}
	if err := w.mergeAppProperties(apRaw, mods); err != nil {
		return dst, err
	}
	w.b = append(w.b, r.Rest()...)
	return w.b, nil
}

func modKey(k any) (string, bool) {
	switch k := k.(type) {
	case string:
		return k, true
	case Symbol:
		return string(k), true
	}
	return "", false
}

func (w *Buffer) mergeAppProperties(apRaw []byte, mods Map) error {
	for _, kv := range mods {
		if _, ok := modKey(kv.Key); !ok {
			return fmt.Errorf("%w: application-property key of type %T", ErrUnsupportedType, kv.Key)
		}
	}
	w.AppendDescriptor(SectionApplicationProps)
	c := w.BeginMap()
	pairs := 0
	used := make([]bool, len(mods))
	if apRaw != nil {
		var r Reader
		r.Reset(apRaw)
		n, _, err := r.ReadMapHeader()
		if err != nil {
			return err
		}
		for range n {
			keyStart := r.off
			key, err := r.ReadStringBytes()
			if err != nil {
				return err
			}
			keyEnd := r.off
			if err := r.SkipValue(); err != nil {
				return err
			}
			pairs++
			idx := -1
			for i, kv := range mods {
				if k, _ := modKey(kv.Key); k == string(key) {
					idx = i
				}
			}
			if idx < 0 {
				w.b = append(w.b, apRaw[keyStart:r.off]...)
				continue
			}
			used[idx] = true
			w.b = append(w.b, apRaw[keyStart:keyEnd]...)
			if err := w.AppendValue(mods[idx].Value); err != nil {
				return err
			}
		}
	}
	for i, kv := range mods {
		if used[i] {
			continue
		}
		// A later duplicate key in mods wins, as with the in-place update.
		dup := false
		k, _ := modKey(kv.Key)
		for j := i + 1; j < len(mods); j++ {
			if k2, _ := modKey(mods[j].Key); k2 == k {
				dup = true
			}
		}
		if dup {
			continue
		}
		w.AppendString(k)
		if err := w.AppendValue(kv.Value); err != nil {
			return err
		}
		pairs++
	}
	w.EndMap(c, pairs)
	return nil
}
