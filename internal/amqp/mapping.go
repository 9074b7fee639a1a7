package amqp

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/batonmq/baton/internal/amqp/encoding"
	"github.com/batonmq/baton/internal/amqp/frames"
	"github.com/batonmq/baton/internal/broker"
	"github.com/batonmq/baton/internal/servicebus"
)

// This file maps AMQP messages onto broker messages and back
// (service-bus-amqp.md §6) and dispositions onto settlements (§7.1).
//
// Inbound: the bare message (properties … footer) is stored unchanged as
// broker.Message.Body with Format FormatAMQP; the fields the broker needs
// are extracted. A Service Bus batch (message-format 0x80013700) becomes
// one broker message per data section.
//
// Outbound: a fresh header (delivery-count = broker DeliveryCount, ttl),
// delivery-annotations with x-opt-lock-token in peek-lock, the broker's
// message-annotations, then the bare bytes with broker.Message.Properties
// (abandon/defer/dead-letter changes) merged over the application-properties.

// toBrokerMessages maps one complete inbound delivery (the one mapping of
// the Service Bus face lives in internal/servicebus).
func toBrokerMessages(payload []byte, format uint32) ([]*broker.Message, error) {
	msgs, err := servicebus.FromTransfer(payload, format)
	if err != nil {
		var de *encoding.DecodeError
		if errors.As(err, &de) {
			return nil, fmt.Errorf("amqp: %w", err)
		}
		return nil, &frames.Error{Condition: frames.ErrCondNotAllowed, Description: err.Error()}
	}
	return msgs, nil
}

// appendDelivery encodes the payload of a delivery of m after dst; in
// peek-lock it carries the lock token and locked-until.
func appendDelivery(dst []byte, m *broker.Message, peekLock bool) ([]byte, error) {
	return servicebus.AppendDelivery(dst, m, servicebus.DeliveryOptions{PeekLock: peekLock, IncludeLockToken: peekLock})
}

// brokerProperties converts an AMQP map (message-annotations of modified,
// info of a dead-letter error) into broker properties. Keys may be symbols
// or strings; values of types the broker cannot keep are dropped.
func brokerProperties(m encoding.Map, skip ...string) map[string]any {
	var out map[string]any
	for _, kv := range m {
		var k string
		switch key := kv.Key.(type) {
		case string:
			k = key
		case encoding.Symbol:
			k = string(key)
		default:
			continue
		}
		if slices.Contains(skip, k) {
			continue
		}
		var v any
		switch x := kv.Value.(type) {
		case nil, bool, string, []byte, time.Time, int8, int16, int32, int64,
			uint8, uint16, uint32, uint64, float32, float64:
			v = x
		case encoding.Symbol:
			v = string(x)
		case encoding.UUID:
			v = broker.LockToken(x)
		case encoding.Char:
			v = string(rune(x))
		default:
			continue
		}
		if out == nil {
			out = make(map[string]any)
		}
		out[k] = v
	}
	return out
}

const (
	propDeadLetterReason      = "DeadLetterReason"
	propDeadLetterDescription = "DeadLetterErrorDescription"
)

// settlementOf maps a client's outcome onto a broker settlement (§7.1).
// A missing state (settled without outcome) releases the message.
func settlementOf(state frames.DeliveryState) broker.Settlement {
	switch s := state.(type) {
	case frames.Accepted:
		return broker.Settlement{Disposition: broker.Complete}
	case frames.Modified:
		d := broker.Abandon
		if s.UndeliverableHere {
			d = broker.Defer
		}
		return broker.Settlement{Disposition: d, Properties: brokerProperties(s.MessageAnnotations)}
	case frames.Rejected:
		st := broker.Settlement{Disposition: broker.DeadLetter}
		if s.Error != nil {
			if s.Error.Condition == frames.ErrCondDeadLetter {
				st.DeadLetterReason = lookupString(s.Error.Info, propDeadLetterReason)
				st.DeadLetterDescription = lookupString(s.Error.Info, propDeadLetterDescription)
				st.Properties = brokerProperties(s.Error.Info, propDeadLetterReason, propDeadLetterDescription)
			} else {
				st.DeadLetterReason = string(s.Error.Condition)
				st.DeadLetterDescription = s.Error.Description
			}
		}
		return st
	}
	return broker.Settlement{Disposition: broker.Release}
}

func lookupString(m encoding.Map, key string) string {
	v, _ := m.Lookup(key)
	s, _ := v.(string)
	return s
}

// confirmState is the state of the broker's settlement confirmation
// (§7.1): the outcome on success (rejected without error for dead-letter,
// the modified state echoed), rejected with the mapped condition on failure.
func confirmState(client frames.DeliveryState, s broker.Settlement, err error) frames.DeliveryState {
	if err != nil {
		return frames.Rejected{Error: amqpError(err)}
	}
	switch s.Disposition {
	case broker.Complete:
		return frames.Accepted{}
	case broker.Abandon, broker.Defer:
		if m, ok := client.(frames.Modified); ok {
			return m
		}
		return frames.Modified{UndeliverableHere: s.Disposition == broker.Defer}
	case broker.DeadLetter:
		return frames.Rejected{}
	}
	return frames.Released{}
}
