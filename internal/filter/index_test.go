package filter

import "testing"

func TestRequiredEquality(t *testing.T) {
	for text, want := range map[string]*Equality{
		"color = 'red'":                          {Name: "color", Value: "red"},
		"'red' = color":                          {Name: "color", Value: "red"},
		"qty > 3 AND sys.Label = 'o' AND x = 1":  {Sys: SysLabel, Value: "o"},
		"(a = 'x' AND b > 1) AND c = 'y'":        {Name: "a", Value: "x"},
		"a = 'x' OR b = 'y'":                     nil,
		"NOT a = 'x'":                            nil,
		"a = 1":                                  nil,
		"a <> 'x'":                               nil,
		"a = b":                                  nil,
		"user.region = 'eu' AND priority >= @p":  {Name: "region", Value: "eu"},
		"sys.To LIKE 'x%' AND sys.ReplyTo = 'r'": {Sys: SysReplyTo, Value: "r"},
	} {
		f, err := CompileOptions(text, &Options{Parameters: map[string]Value{"@p": Int(1)}})
		if err != nil {
			t.Fatalf("%s: %v", text, err)
		}
		got, ok := f.RequiredEquality()
		if want == nil {
			if ok {
				t.Errorf("%s: got %+v, want none", text, got)
			}
			continue
		}
		if !ok || got != *want {
			t.Errorf("%s: got %+v %v, want %+v", text, got, ok, *want)
		}
	}
	c := Correlation{Properties: map[string]Value{"n": Int(1)}}
	if _, ok := c.RequiredEquality(); ok {
		t.Error("numeric correlation property indexed")
	}
	c = Correlation{Subject: "s", CorrelationID: "c"}
	if got, ok := c.RequiredEquality(); !ok || got != (Equality{Sys: SysCorrelationID, Value: "c"}) {
		t.Errorf("correlation: %+v", got)
	}
}

// TestRequiredEqualityIsRequired checks the claim the index relies on: when
// the property is not that string, the filter does not match.
func TestRequiredEqualityIsRequired(t *testing.T) {
	texts := []string{"color = 'red'", "qty > 3 AND color = 'red'", "color = 'red' AND (qty > 3 OR qty IS NULL)"}
	values := []any{nil, "red", "RED", "blue", 1, 2.5, true}
	for _, text := range texts {
		f, err := Compile(text)
		if err != nil {
			t.Fatal(err)
		}
		eq, ok := f.RequiredEquality()
		if !ok {
			t.Fatalf("%s: no equality", text)
		}
		for _, v := range values {
			m := idxMsg{props: map[string]Value{"qty": Int(5)}}
			switch x := v.(type) {
			case string:
				m.props["color"] = String(x)
			case int:
				m.props["color"] = Int(int64(x))
			case float64:
				m.props["color"] = Float(x)
			case bool:
				m.props["color"] = Bool(x)
			}
			got, isStr := eq.Lookup(m)
			if f.Match(m) && (!isStr || got != eq.Value) {
				t.Errorf("%s matched color=%v, which the index would skip", text, v)
			}
		}
	}
}

type idxMsg struct{ props map[string]Value }

func (m idxMsg) System(SysProp) (Value, bool) { return Value{}, false }
func (m idxMsg) Property(n string) (Value, bool) {
	v, ok := m.props[n]
	return v, ok
}
