package filter

import (
	"errors"
	"testing"
)

func TestCorrelationMatch(t *testing.T) {
	t.Parallel()
	m := sampleMsg()
	m.sys[SysReplyTo] = String("johndoe@contoso.com")
	m.sys[SysLabel] = String("Important")
	m.props["color"] = String("Red")
	cases := []struct {
		name string
		c    Correlation
		want bool
	}{
		{"correlation id", Correlation{CorrelationID: "c1"}, true},
		{"correlation id case-sensitive", Correlation{CorrelationID: "C1"}, false},
		{"docs example", Correlation{Subject: "Important", ReplyTo: "johndoe@contoso.com", Properties: map[string]Value{"color": String("Red")}}, true},
		{"one property differs", Correlation{Subject: "Important", Properties: map[string]Value{"color": String("red")}}, false},
		{"missing system property", Correlation{SessionID: "s"}, false},
		{"all system fields", Correlation{CorrelationID: "c1", MessageID: "m1", To: "Store5", ContentType: "application/json"}, true},
		{"int property against long", Correlation{Properties: map[string]Value{"quantity": Int(10)}}, true},
		{"float property against long", Correlation{Properties: map[string]Value{"quantity": Float(10)}}, true},
		{"string against number", Correlation{Properties: map[string]Value{"quantity": String("10")}}, false},
		{"missing property", Correlation{Properties: map[string]Value{"nope": String("x")}}, false},
		{"null never matches", Correlation{Properties: map[string]Value{"nullprop": Null()}}, false},
		{"property name case-insensitive", Correlation{Properties: map[string]Value{"COLOR": String("Red")}}, true},
		{"empty matches all", Correlation{}, true},
	}
	for _, c := range cases {
		if got := c.c.Match(m); got != c.want {
			t.Errorf("%s: got %v want %v", c.name, got, c.want)
		}
		if got, err := c.c.Eval(m); got != c.want || err != nil {
			t.Errorf("%s: Eval got %v, %v", c.name, got, err)
		}
	}
	if (Correlation{CorrelationID: "c1"}).Match(nil) || !(Correlation{}).Match(nil) {
		t.Error("nil message")
	}
	// The documented equivalence with the SQL form.
	f, err := Compile("sys.ReplyTo = 'johndoe@contoso.com' AND sys.Label = 'Important' AND color = 'Red'")
	if err != nil {
		t.Fatal(err)
	}
	if !f.Match(m) {
		t.Error("SQL equivalent does not match")
	}
}

func TestCorrelationValidate(t *testing.T) {
	t.Parallel()
	if err := (&Correlation{}).Validate(); !errors.Is(err, ErrEmptyCorrelation) {
		t.Errorf("empty: %v", err)
	}
	if err := (&Correlation{ContentType: "x"}).Validate(); err != nil {
		t.Errorf("non-empty: %v", err)
	}
	if err := (&Correlation{Properties: map[string]Value{"a": Int(1)}}).Validate(); err != nil {
		t.Errorf("properties only: %v", err)
	}
}
