package filter

// Equality is a condition a filter cannot be true without: the named
// property (a system property when Sys is set, else the application property
// Name) holds exactly the string Value. The broker indexes subscriptions by
// it so that a message is evaluated only against filters that can match it.
type Equality struct {
	Sys   SysProp // SysInvalid: an application property
	Name  string  // application property name, as written in the filter
	Value string
}

// Lookup returns the value m has for the property e names, when it is a
// string: the only case in which the filter can be true.
func (e Equality) Lookup(m Message) (string, bool) {
	var v Value
	var ok bool
	if e.Sys != SysInvalid {
		v, ok = m.System(e.Sys)
	} else {
		v, ok = m.Property(e.Name)
	}
	if !ok {
		return "", false
	}
	return v.Str()
}

// RequiredEquality returns an equality of a property with a string constant
// that must hold for f to be true: the filter itself, or one conjunct of a
// top-level chain of ANDs. Comparing strings is exact and a non-string
// operand never equals a string, so a message whose property is not that
// string cannot match.
func (f *Filter) RequiredEquality() (Equality, bool) {
	return requiredEq(f.root)
}

func requiredEq(n *node) (Equality, bool) {
	switch n.op {
	case opAnd:
		if eq, ok := requiredEq(n.l); ok {
			return eq, true
		}
		return requiredEq(n.r)
	case opEq:
		prop, c := n.l, n.r
		if prop.op == opConst {
			prop, c = c, prop
		}
		s, ok := c.val.Str()
		if c.op != opConst || !ok {
			return Equality{}, false
		}
		switch prop.op {
		case opUserProp:
			return Equality{Name: prop.name, Value: s}, true
		case opSysProp:
			return Equality{Sys: prop.sys, Value: s}, true
		}
	}
	return Equality{}, false
}

// RequiredEquality returns one condition of c that must hold: its first
// system-property condition, or else an application property compared with
// a string.
func (c *Correlation) RequiredEquality() (Equality, bool) {
	for _, x := range []struct {
		p SysProp
		v string
	}{
		{SysCorrelationID, c.CorrelationID}, {SysMessageID, c.MessageID}, {SysTo, c.To}, {SysReplyTo, c.ReplyTo},
		{SysLabel, c.Subject}, {SysSessionID, c.SessionID}, {SysReplyToSessionID, c.ReplyToSessionID}, {SysContentType, c.ContentType},
	} {
		if x.v != "" {
			return Equality{Sys: x.p, Value: x.v}, true
		}
	}
	for name, v := range c.Properties {
		if s, ok := v.Str(); ok {
			return Equality{Name: name, Value: s}, true
		}
	}
	return Equality{}, false
}
