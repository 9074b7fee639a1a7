package filter

import (
	"strings"
	"testing"
	"time"
)

// testMsg is a Message/MutableMessage over maps, as a broker might
// implement one.
type testMsg struct {
	sys   map[SysProp]Value
	props map[string]Value
}

func newTestMsg() *testMsg {
	return &testMsg{sys: map[SysProp]Value{}, props: map[string]Value{}}
}

func (m *testMsg) System(p SysProp) (Value, bool) {
	v, ok := m.sys[p]
	return v, ok
}

func (m *testMsg) Property(name string) (Value, bool) {
	if v, ok := m.props[name]; ok {
		return v, true
	}
	for k, v := range m.props {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return Value{}, false
}

func (m *testMsg) SetSystem(p SysProp, v Value) error {
	if v.IsNull() {
		delete(m.sys, p)
		return nil
	}
	m.sys[p] = v
	return nil
}

func (m *testMsg) SetProperty(name string, v Value) error {
	for k := range m.props {
		if k != name && strings.EqualFold(k, name) {
			delete(m.props, k)
		}
	}
	m.props[name] = v
	return nil
}

func (m *testMsg) RemoveProperty(name string) error {
	for k := range m.props {
		if strings.EqualFold(k, name) {
			delete(m.props, k)
		}
	}
	return nil
}

var (
	t0 = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	t1 = time.Date(2024, 5, 1, 13, 30, 0, 0, time.UTC)
)

// sampleMsg is the message most evaluation tests run against.
func sampleMsg() *testMsg {
	m := newTestMsg()
	m.sys[SysMessageID] = String("m1")
	m.sys[SysCorrelationID] = String("c1")
	m.sys[SysLabel] = String("order-42")
	m.sys[SysTo] = String("Store5")
	m.sys[SysContentType] = String("application/json")
	m.sys[SysSequenceNumber] = Int(7)
	m.sys[SysDeliveryCount] = Int(1)
	m.sys[SysEnqueuedTimeUtc] = Time(t0)
	m.sys[SysTimeToLive] = Duration(time.Hour)
	m.props["color"] = String("red")
	m.props["quantity"] = Int(10)
	m.props["price"] = Float(9.5)
	m.props["name"] = String("O'Brien")
	m.props["flag"] = Bool(true)
	m.props["off"] = Bool(false)
	m.props["nullprop"] = Null()
	m.props["region"] = String("eu")
	m.props["priority"] = Int(3)
	m.props["s10"] = String("10")
	m.props["when"] = Time(t0)
	m.props["later"] = Time(t1)
	m.props["Property With Space"] = Int(1)
	m.props["HR-EmployeeID"] = String("E7")
	m.props["Contoso & Northwind"] = String("yes")
	m.props["a.b"] = Int(5)
	m.props["zero"] = Int(0)
	m.props["pct"] = String("ABC%")
	m.props["ünï"] = String("çå")
	return m
}

func TestValueAccessors(t *testing.T) {
	t.Parallel()
	if b, ok := Bool(true).Bool(); !ok || !b {
		t.Fatal("Bool")
	}
	if i, ok := Int(-3).Int(); !ok || i != -3 {
		t.Fatal("Int")
	}
	if f, ok := Float(2.5).Float(); !ok || f != 2.5 {
		t.Fatal("Float")
	}
	if s, ok := String("x").Str(); !ok || s != "x" {
		t.Fatal("Str")
	}
	ts := time.Date(1, 1, 1, 0, 0, 0, 100, time.UTC)
	if got, ok := Time(ts).Time(); !ok || !got.Equal(ts) {
		t.Fatalf("Time round trip: %v", got)
	}
	if d, ok := Duration(90 * time.Minute).Duration(); !ok || d != 90*time.Minute {
		t.Fatal("Duration")
	}
	if d, _ := DurationTicks(1 << 62).Duration(); d != time.Duration(1<<63-1) {
		t.Fatal("Duration saturation")
	}
	if !Null().IsNull() || (Value{}).Kind() != KindNull {
		t.Fatal("Null")
	}
	for _, v := range []Value{Null(), Bool(true), Bool(false), Int(1), Float(1.5), String("it's"), Time(t0), Duration(time.Second)} {
		if v.String() == "" || v.Kind().String() == "" {
			t.Fatalf("empty String for %#v", v)
		}
	}
	if String("it's").String() != "'it''s'" {
		t.Fatal(String("it's").String())
	}
}

func TestLookupSysProp(t *testing.T) {
	t.Parallel()
	cases := map[string]SysProp{
		"MessageId": SysMessageID, "sys.messageid": SysMessageID, "LABEL": SysLabel,
		"Subject": SysLabel, "EnqueuedTime": SysEnqueuedTimeUtc, "ScheduledEnqueueTimeUtc": SysScheduledEnqueueTimeUtc,
		"TransactionPartitionKey": SysViaPartitionKey, "LockToken": SysLockToken,
	}
	for name, want := range cases {
		got, ok := LookupSysProp(name)
		if !ok || got != want {
			t.Errorf("LookupSysProp(%q) = %v, %v; want %v", name, got, ok, want)
		}
	}
	if _, ok := LookupSysProp("Nope"); ok {
		t.Error("unknown property found")
	}
	for p := SysProp(1); p < numSysProps; p++ {
		if got, ok := LookupSysProp(p.String()); !ok || got != p {
			t.Errorf("round trip %v", p)
		}
	}
	if SysInvalid.String() == "" || SysProp(200).Kind() != KindNull || SysSequenceNumber.Writable() || !SysLabel.Writable() {
		t.Error("SysProp helpers")
	}
}
