package broker

import (
	"strings"
	"time"

	"github.com/batonmq/baton/internal/filter"
)

// MessageCodec lets the broker look inside bodies whose format it does not
// know (FormatAMQP) when it evaluates subscription rules. The Service Bus
// face implements it; without one, filters see only Message.Properties.
type MessageCodec interface {
	// AppProperties returns the application properties carried in m's
	// body (nil when there are none). The map is read-only.
	AppProperties(m *Message) (map[string]any, error)
	// Rewrite returns a new body for m in which the system properties are
	// m's fields (MessageID, CorrelationID, To, ReplyTo, Subject,
	// SessionID, ReplyToSessionID, ContentType) and the application
	// properties are exactly props. Used for copies a rule action changed.
	Rewrite(m *Message, props map[string]any) ([]byte, error)
}

// msgView is the filter.Message (and MutableMessage) view of a message
// being routed: its broker fields and its application properties (the
// body's, merged with Message.Properties).
type msgView struct {
	m     *Message
	props map[string]any
	// changed is set when an action modified the copy; owned when props
	// is a private copy.
	changed, owned bool
	size           int64
}

var _ filter.MutableMessage = (*msgView)(nil)

func (v *msgView) System(p filter.SysProp) (filter.Value, bool) {
	m := v.m
	str := func(s string) (filter.Value, bool) {
		if s == "" {
			return filter.Value{}, false
		}
		return filter.String(s), true
	}
	switch p {
	case filter.SysMessageID:
		return str(m.MessageID)
	case filter.SysCorrelationID:
		return str(m.CorrelationID)
	case filter.SysTo:
		return str(m.To)
	case filter.SysReplyTo:
		return str(m.ReplyTo)
	case filter.SysLabel:
		return str(m.Subject)
	case filter.SysSessionID:
		return str(m.SessionID)
	case filter.SysReplyToSessionID:
		return str(m.ReplyToSessionID)
	case filter.SysContentType:
		return str(m.ContentType)
	case filter.SysPartitionKey:
		return str(m.PartitionKey)
	case filter.SysSequenceNumber, filter.SysEnqueuedSequenceNumber:
		return filter.Int(m.SequenceNumber), true
	case filter.SysEnqueuedTimeUtc:
		return filter.Time(m.EnqueuedTime), !m.EnqueuedTime.IsZero()
	case filter.SysScheduledEnqueueTimeUtc:
		if m.ScheduledEnqueueTime.IsZero() {
			return filter.Value{}, false
		}
		return filter.Time(m.ScheduledEnqueueTime), true
	case filter.SysExpiresAtUtc:
		if m.ExpiresAt.IsZero() {
			return filter.Time(time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)), true
		}
		return filter.Time(m.ExpiresAt), true
	case filter.SysDeliveryCount:
		return filter.Int(int64(m.DeliveryCount)), true
	case filter.SysTimeToLive:
		if m.TimeToLive == 0 {
			return filter.DurationTicks(1<<63 - 1), true
		}
		return filter.Duration(m.TimeToLive), true
	case filter.SysSize:
		return filter.Int(v.size), true
	case filter.SysState:
		return filter.Int(int64(m.State)), true
	case filter.SysDeadLetterSource:
		return str(m.DeadLetterSource)
	}
	return filter.Value{}, false
}

func (v *msgView) Property(name string) (filter.Value, bool) {
	x, ok := v.props[name]
	if !ok {
		for k, val := range v.props {
			if strings.EqualFold(k, name) {
				x, ok = val, true
				break
			}
		}
		if !ok {
			return filter.Value{}, false
		}
	}
	return FilterValue(x)
}

func (v *msgView) SetSystem(p filter.SysProp, val filter.Value) error {
	s, _ := val.Str() // null clears
	m := v.m
	switch p {
	case filter.SysMessageID:
		m.MessageID = s
	case filter.SysCorrelationID:
		m.CorrelationID = s
	case filter.SysTo:
		m.To = s
	case filter.SysReplyTo:
		m.ReplyTo = s
	case filter.SysLabel:
		m.Subject = s
	case filter.SysSessionID:
		m.SessionID = s
	case filter.SysReplyToSessionID:
		m.ReplyToSessionID = s
	case filter.SysContentType:
		m.ContentType = s
	case filter.SysPartitionKey, filter.SysViaPartitionKey:
		m.PartitionKey = s
	default:
		return errorf(CodeInvalidArgument, "system property %v cannot be set by a rule action", p)
	}
	v.changed = true
	return nil
}

func (v *msgView) SetProperty(name string, val filter.Value) error {
	v.ownProps()
	for k := range v.props {
		if k != name && strings.EqualFold(k, name) {
			delete(v.props, k)
		}
	}
	v.props[name] = propertyOf(val)
	v.changed = true
	return nil
}

func (v *msgView) RemoveProperty(name string) error {
	v.ownProps()
	for k := range v.props {
		if strings.EqualFold(k, name) {
			delete(v.props, k)
		}
	}
	v.changed = true
	return nil
}

// ownProps makes props a private copy before the first change.
func (v *msgView) ownProps() {
	if v.owned {
		return
	}
	v.owned = true
	cp := make(map[string]any, len(v.props)+1)
	for k, x := range v.props {
		cp[k] = x
	}
	v.props = cp
}
