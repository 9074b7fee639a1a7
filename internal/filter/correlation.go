package filter

import "errors"

// ErrEmptyCorrelation means a correlation filter sets no property to match.
var ErrEmptyCorrelation = errors.New("filter: correlation filter has no conditions")

// Correlation is a correlation filter: a set of exact-match conditions on
// system properties and application properties, all of which must hold.
// Empty string fields are not conditions.
//
// Matching is equivalent to the SQL filter
// "sys.CorrelationId = '…' AND sys.Label = '…' AND color = 'Red' AND …":
// strings compare case-sensitively, numbers compare by value across integer
// and floating kinds, and a message lacking a property does not match. A
// NULL value in Properties never matches, as "color = NULL" never does.
type Correlation struct {
	CorrelationID    string
	MessageID        string
	To               string
	ReplyTo          string
	Subject          string // Label in the older SDKs and on the wire
	SessionID        string
	ReplyToSessionID string
	ContentType      string
	// Properties are application properties to match. Keys are looked up
	// through Message.Property.
	Properties map[string]Value
}

// Validate reports ErrEmptyCorrelation when c has no condition, which Azure
// rejects.
func (c Correlation) Validate() error {
	if c.CorrelationID == "" && c.MessageID == "" && c.To == "" && c.ReplyTo == "" &&
		c.Subject == "" && c.SessionID == "" && c.ReplyToSessionID == "" &&
		c.ContentType == "" && len(c.Properties) == 0 {
		return ErrEmptyCorrelation
	}
	return nil
}

// Match reports whether m satisfies every condition. A filter with no
// conditions matches every message.
func (c Correlation) Match(m Message) bool {
	if m == nil {
		m = emptyMessage{}
	}
	return sysEquals(m, SysCorrelationID, c.CorrelationID) &&
		sysEquals(m, SysMessageID, c.MessageID) &&
		sysEquals(m, SysTo, c.To) &&
		sysEquals(m, SysReplyTo, c.ReplyTo) &&
		sysEquals(m, SysLabel, c.Subject) &&
		sysEquals(m, SysSessionID, c.SessionID) &&
		sysEquals(m, SysReplyToSessionID, c.ReplyToSessionID) &&
		sysEquals(m, SysContentType, c.ContentType) &&
		c.propsMatch(m)
}

// Eval is Match in the shape of (*Filter).Eval; correlation filters cannot
// fail.
func (c Correlation) Eval(m Message) (bool, error) { return c.Match(m), nil }

func sysEquals(m Message, p SysProp, want string) bool {
	if want == "" {
		return true
	}
	v, ok := m.System(p)
	if !ok {
		return false
	}
	s, ok := v.Str()
	return ok && s == want
}

func (c *Correlation) propsMatch(m Message) bool {
	for name, want := range c.Properties {
		v, ok := m.Property(name)
		if !ok {
			return false
		}
		if eq := compare(opEq, v, want); eq.kind != KindBool || eq.bits != 1 {
			return false
		}
	}
	return true
}

// Matcher is what the broker needs from any rule filter: *Filter and
// *Correlation implement it.
type Matcher interface {
	// Match reports whether the message is selected.
	Match(m Message) bool
	// Eval is Match that also reports evaluation errors.
	Eval(m Message) (bool, error)
}

var (
	_ Matcher = (*Filter)(nil)
	_ Matcher = Correlation{}
	_ Matcher = (*Correlation)(nil)
)

// emptyMessage has no properties; it stands in for a nil Message.
type emptyMessage struct{}

func (emptyMessage) System(SysProp) (Value, bool)  { return Value{}, false }
func (emptyMessage) Property(string) (Value, bool) { return Value{}, false }
