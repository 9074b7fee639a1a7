package servicebus

import (
	"errors"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/batonmq/baton/internal/amqp/encoding"
	"github.com/batonmq/baton/internal/broker"
)

func TestIntegerKinds(t *testing.T) {
	t.Parallel()
	for _, v := range []any{int8(5), int16(5), int32(5), int64(5), uint8(5), uint16(5), uint32(5), uint64(5)} {
		n, ok, err := intField(encoding.Map{{Key: "n", Value: v}}, "n", 0, 10)
		if err != nil || !ok || n != 5 {
			t.Errorf("%T: %d %v %v", v, n, ok, err)
		}
	}
	for _, v := range []any{uint64(math.MaxUint64), 1.0, "5", true, []int64{5}} {
		if _, _, err := intField(encoding.Map{{Key: "n", Value: v}}, "n", 0, 10); !errors.Is(err, ErrArgument) {
			t.Errorf("%T accepted: %v", v, err)
		}
	}
	// Null is absent.
	if _, ok, err := intField(encoding.Map{{Key: "n", Value: nil}}, "n", 0, 10); ok || err != nil {
		t.Errorf("null: %v %v", ok, err)
	}
}

func TestSequenceNumberKinds(t *testing.T) {
	t.Parallel()
	want := []int64{1, 2}
	for _, v := range []any{[]int64{1, 2}, []int32{1, 2}, []uint64{1, 2}, []uint32{1, 2}, []any{int64(1), uint8(2)}} {
		got, err := sequenceNumbersField(encoding.Map{{Key: "s", Value: v}}, "s")
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%T: %v %v", v, got, err)
		}
	}
	for _, v := range []any{[]uint64{math.MaxUint64}, []int32{-1}, []any{1.5}, []string{"1"}, int64(1)} {
		if _, err := sequenceNumbersField(encoding.Map{{Key: "s", Value: v}}, "s"); !errors.Is(err, ErrArgument) {
			t.Errorf("%T %v accepted: %v", v, v, err)
		}
	}
}

func TestListField(t *testing.T) {
	t.Parallel()
	arr := encoding.Array{Code: encoding.CodeMap8, Elems: []any{encoding.Map{{Key: "k", Value: "v"}}}}
	if l, err := listField(encoding.Map{{Key: "l", Value: arr}}, "l"); err != nil || len(l) != 1 {
		t.Errorf("array of maps: %v %v", l, err)
	}
	arr.Descriptor = uint64(1)
	if _, err := listField(encoding.Map{{Key: "l", Value: arr}}, "l"); !errors.Is(err, ErrArgument) {
		t.Errorf("described array accepted: %v", err)
	}
}

func TestPropertyValues(t *testing.T) {
	t.Parallel()
	in := encoding.Map{
		{Key: "s", Value: "x"}, {Key: encoding.Symbol("sym"), Value: encoding.Symbol("y")},
		{Key: "c", Value: encoding.Char('z')}, {Key: "u", Value: uuid}, {Key: "t", Value: t0},
		{Key: "b", Value: []byte{1}}, {Key: "n", Value: nil}, {Key: "f", Value: 1.5},
	}
	got, err := brokerProperties(in)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"s": "x", "sym": "y", "c": "z", "u": broker.LockToken(uuid), "t": t0,
		"b": []byte{1}, "n": nil, "f": 1.5}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %#v", got)
	}
	for _, v := range []any{encoding.Map{}, []any{}, encoding.Described{}, encoding.Decimal64{}, []int64{1}} {
		if _, err := brokerProperties(encoding.Map{{Key: "k", Value: v}}); !errors.Is(err, ErrArgument) {
			t.Errorf("%T accepted", v)
		}
	}
}

func TestAsString(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   any
		want string
	}{
		{nil, ""}, {"s", "s"}, {encoding.Symbol("y"), "y"}, {[]byte("b"), "b"}, {true, "true"},
		{t0, "2026-03-04T05:06:07.008Z"}, {uuid, "01234567-89ab-cdef-fedc-ba9876543210"},
		{broker.LockToken(uuid), "01234567-89ab-cdef-fedc-ba9876543210"}, {int32(7), "7"}, {2.5, "2.5"},
		{time.Second, "1s"},
	} {
		if got := asString(tc.in); got != tc.want {
			t.Errorf("asString(%#v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestTypeNames(t *testing.T) {
	t.Parallel()
	for _, v := range []any{nil, true, int8(1), 1.5, "s", encoding.Symbol("s"), []byte{}, t0, uuid, encoding.Map{},
		[]any{}, encoding.Described{}, encoding.Char('c'), encoding.Decimal32{}, []int64{}} {
		if typeName(v) == "" {
			t.Errorf("no name for %T", v)
		}
	}
}
