package filter

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestActionApply(t *testing.T) {
	t.Parallel()
	cases := []struct {
		text  string
		check func(t *testing.T, m *testMsg)
	}{
		{"SET source='routedOrders'", func(t *testing.T, m *testMsg) {
			wantProp(t, m, "source", String("routedOrders"))
		}},
		{"SET quantity = quantity / 2; REMOVE priority;SET sys.CorrelationId = 'low';", func(t *testing.T, m *testMsg) {
			wantProp(t, m, "quantity", Int(5))
			wantMissing(t, m, "priority")
			wantSys(t, m, SysCorrelationID, String("low"))
		}},
		{"SET importance = 'critical';", func(t *testing.T, m *testMsg) {
			wantProp(t, m, "importance", String("critical"))
		}},
		{"set a = 1 set b = a + 1", func(t *testing.T, m *testMsg) { // sequential, ';' optional
			wantProp(t, m, "b", Int(2))
		}},
		{"SET a = 1, b = 2; REMOVE color", func(t *testing.T, m *testMsg) {
			wantProp(t, m, "a", Int(1))
			wantProp(t, m, "b", Int(2))
			wantMissing(t, m, "color")
		}},
		{"SET sys.Label = sys.Label + '-routed'", func(t *testing.T, m *testMsg) {
			wantSys(t, m, SysLabel, String("order-42-routed"))
		}},
		{"SET sys.Subject = 'x'; SET sys.To = NULL", func(t *testing.T, m *testMsg) {
			wantSys(t, m, SysLabel, String("x"))
			if _, ok := m.sys[SysTo]; ok {
				t.Error("sys.To not cleared")
			}
		}},
		{"REMOVE sys.CorrelationId", func(t *testing.T, m *testMsg) {
			if _, ok := m.sys[SysCorrelationID]; ok {
				t.Error("sys.CorrelationId not removed")
			}
		}},
		{"SET copy = missing", func(t *testing.T, m *testMsg) {
			wantProp(t, m, "copy", Null())
		}},
		{"SET price = 3", func(t *testing.T, m *testMsg) { // implicit conversion to the existing type
			wantProp(t, m, "price", Float(3))
		}},
		{"SET quantity = 2.5", func(t *testing.T, m *testMsg) {
			wantProp(t, m, "quantity", Float(2.5))
		}},
		{"SET QUANTITY = 1", func(t *testing.T, m *testMsg) { // names are case-insensitive
			wantProp(t, m, "QUANTITY", Int(1))
			if _, ok := m.props["quantity"]; ok {
				t.Error("old-case property kept")
			}
		}},
		{"SET id = newid()", func(t *testing.T, m *testMsg) {
			wantProp(t, m, "id", String("00000000-0000-4000-8000-000000000000"))
		}},
		{"SET sys.TimeToLive = @timespan; SET sys.ScheduledEnqueueTimeUtc = @param", func(t *testing.T, m *testMsg) {
			wantSys(t, m, SysTimeToLive, Duration(2*time.Hour))
			wantSys(t, m, SysScheduledEnqueueTimeUtc, Time(t0))
		}},
		{"REMOVE nothing; REMOVE [Property With Space]", func(t *testing.T, m *testMsg) {
			wantMissing(t, m, "Property With Space")
		}},
		{"SET user.[new prop] = 'v'", func(t *testing.T, m *testMsg) {
			wantProp(t, m, "new prop", String("v"))
		}},
	}
	for _, c := range cases {
		a, err := CompileActionOptions(c.text, testParams())
		if err != nil {
			t.Fatalf("CompileAction(%q): %v", c.text, err)
		}
		if a.String() != c.text {
			t.Errorf("String() = %q", a.String())
		}
		m := sampleMsg()
		if err := a.Apply(m); err != nil {
			t.Fatalf("%q: Apply: %v", c.text, err)
		}
		c.check(t, m)
	}
}

func wantProp(t *testing.T, m *testMsg, name string, want Value) {
	t.Helper()
	got, ok := m.props[name]
	if !ok || !got.Equal(want) {
		t.Errorf("property %s = %v (present %v), want %v", name, got, ok, want)
	}
}

func wantMissing(t *testing.T, m *testMsg, name string) {
	t.Helper()
	if _, ok := m.Property(name); ok {
		t.Errorf("property %s still present", name)
	}
}

func wantSys(t *testing.T, m *testMsg, p SysProp, want Value) {
	t.Helper()
	if got := m.sys[p]; !got.Equal(want) {
		t.Errorf("sys.%v = %v, want %v", p, got, want)
	}
}

func TestActionApplyErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		text string
		want error
	}{
		{"SET sys.Label = 5", ErrTypeMismatch},
		{"SET sys.TimeToLive = 'x'", ErrTypeMismatch},
		{"SET a = quantity / zero", ErrDivideByZero},
	}
	for _, c := range cases {
		a, err := CompileAction(c.text)
		if err != nil {
			t.Fatalf("%q: %v", c.text, err)
		}
		if err := a.Apply(sampleMsg()); !errors.Is(err, c.want) {
			t.Errorf("%q: got %v, want %v", c.text, err, c.want)
		}
	}
}

func TestActionSyntaxErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		text   string
		offset int
		token  string
		class  error
	}{
		{"", 0, "", ErrSyntax},
		{";;", 2, "", ErrSyntax},
		{"UPDATE a = 1", 0, "UPDATE", ErrSyntax},
		{"SET a 1", 6, "1", ErrSyntax},
		{"SET a = ", 8, "", ErrSyntax},
		{"SET a = 1 b = 2", 10, "b", ErrSyntax},
		{"SET a = b = 1", 10, "=", ErrSyntax},
		{"SET a = (b = 1)", 8, "(", ErrSyntax},
		{"SET sys.SequenceNumber = 1", 4, "sys", ErrReadOnlyProperty},
		{"REMOVE sys.EnqueuedTimeUtc", 7, "sys", ErrReadOnlyProperty},
		{"SET sys.Bogus = 1", 8, "Bogus", ErrUnknownSystemProperty},
		{"REMOVE 'x'", 7, "'x'", ErrSyntax},
		{"SET a = foo()", 8, "foo", ErrUnknownFunction},
	}
	for _, c := range cases {
		_, err := CompileAction(c.text)
		var se *SyntaxError
		if !errors.As(err, &se) || se.Offset != c.offset || se.Token != c.token || !errors.Is(err, c.class) {
			t.Errorf("%q: got %v; want offset %d token %q class %v", c.text, err, c.offset, c.token, c.class)
		}
	}
	var sb strings.Builder
	for i := range 33 {
		if i > 0 {
			sb.WriteString(";")
		}
		sb.WriteString("SET a=1")
	}
	if _, err := CompileAction(sb.String()); !errors.Is(err, ErrTooComplex) {
		t.Errorf("33 statements: %v", err)
	}
	if _, err := CompileActionOptions(sb.String(), &Options{MaxActionStatements: -1}); err != nil {
		t.Errorf("unlimited statements: %v", err)
	}
	if _, err := CompileAction(strings.Repeat("x", 1025)); !errors.Is(err, ErrTooLong) {
		t.Errorf("long action: %v", err)
	}
}
