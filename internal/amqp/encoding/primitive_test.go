package encoding

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

// TestGoldenEncodings checks hand-computed encodings from part 1 of the
// spec: the value encodes to exactly these bytes and decodes back.
func TestGoldenEncodings(t *testing.T) {
	t.Parallel()
	ts := time.UnixMilli(1700000000123).UTC()
	uuid := UUID{0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff}
	tests := []struct {
		name  string
		value any
		hex   string
	}{
		{"null", nil, "40"},
		{"true", true, "41"},
		{"false", false, "42"},
		{"ubyte", uint8(0xfe), "50fe"},
		{"ushort", uint16(0x1234), "601234"},
		{"uint0", uint32(0), "43"},
		{"smalluint", uint32(255), "52ff"},
		{"uint", uint32(256), "7000000100"},
		{"ulong0", uint64(0), "44"},
		{"smallulong", uint64(0x70), "5370"},
		{"ulong", uint64(1) << 40, "800000010000000000"},
		{"byte", int8(-2), "51fe"},
		{"short", int16(-2), "61fffe"},
		{"smallint", int32(-1), "54ff"},
		{"smallint max", int32(127), "547f"},
		{"int", int32(128), "7100000080"},
		{"int min", int32(math.MinInt32), "7180000000"},
		{"smalllong", int64(-128), "5580"},
		{"long", int64(1) << 33, "810000000200000000"},
		{"float", float32(1.5), "723fc00000"},
		{"double", float64(-2), "82c000000000000000"},
		{"decimal32", Decimal32{1, 2, 3, 4}, "7401020304"},
		{"decimal64", Decimal64{1, 2, 3, 4, 5, 6, 7, 8}, "840102030405060708"},
		{"decimal128", Decimal128{15: 9}, "9400000000000000000000000000000009"},
		{"char", Char('€'), "73000020ac"},
		{"timestamp", ts, "830000018bcfe5687b"},
		{"uuid", uuid, "98" + "00112233445566778899aabbccddeeff"},
		{"vbin8", []byte{1, 2, 3}, "a003010203"},
		{"vbin8 empty", []byte{}, "a000"},
		{"vbin32", bytes.Repeat([]byte{7}, 256), "b000000100" + strings.Repeat("07", 256)},
		{"str8", "hi", "a1026869"},
		{"str8 utf8", "é", "a102c3a9"},
		{"str32", strings.Repeat("a", 300), "b10000012c" + strings.Repeat("61", 300)},
		{"sym8", Symbol("amqp:not-found"), "a30e616d71703a6e6f742d666f756e64"},
		{"list0", []any{}, "45"},
		{"list8", []any{uint32(1), "a"}, "c0 06 02 52 01 a1 01 61"},
		{"map8", Map{{Symbol("k"), int64(5)}}, "c1060 2a3016b5505"},
		{"map8 empty", Map{}, "c10100"},
		{"described", Described{Descriptor: uint64(0x24), Value: []any{}}, "00532445"},
		{"described symbol", Described{Descriptor: Symbol("x"), Value: "v"}, "00a30178a10176"},
		{"array sym8", []Symbol{"a", "bc"}, "e0 07 02 a3 01 61 02 62 63"},
		{"array long", []int64{1, -1}, "e0 12 02 81 0000000000000001 ffffffffffffffff"},
		{"array uuid", []UUID{uuid}, "e0 12 01 98 00112233445566778899aabbccddeeff"},
		{"array timestamp", []time.Time{ts}, "e0 0a 01 83 0000018bcfe5687b"},
		{"array bool", []bool{true, false}, "e0 04 02 56 01 00"},
		{"array string empty", []string{}, "e0 02 00 a1"},
		{"array described", Array{Code: CodeStr8, Descriptor: uint64(0x137000000c), Elems: []any{"s"}},
			"e0 0e 01 00 80 000000137000000c a1 01 73"},
		{"array of maps", Array{Code: CodeMap8, Elems: []any{Map{{"a", true}}}},
			"e0 0e 01 d1 00000008 00000002 a1 01 61 41"},
		{"array of lists", Array{Code: CodeList0, Elems: []any{[]any{}}},
			"e0 0a 01 d0 00000004 00000000"},
		{"array of arrays", Array{Code: CodeArray8, Elems: []any{[]int32{7}}},
			"e0 0f 01 f0 00000009 00000001 71 00000007"},
		{"array ubyte", Array{Code: CodeUbyte, Elems: []any{uint8(1), uint8(2)}}, "e0 04 02 50 01 02"},
		{"array null", Array{Code: CodeNull, Elems: []any{nil, nil}}, "e0 02 02 40"},
		{"array32", make([]int64, 40), "f0 00000145 00000028 81" + strings.Repeat("00", 320)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := unhex(t, tt.hex)
			var w Buffer
			if err := w.AppendValue(tt.value); err != nil {
				t.Fatalf("AppendValue: %v", err)
			}
			if !bytes.Equal(w.Bytes(), want) {
				t.Fatalf("encoded\n got %x\nwant %x", w.Bytes(), want)
			}
			r := NewReader(want)
			got, err := r.ReadValue()
			if err != nil {
				t.Fatalf("ReadValue: %v", err)
			}
			if r.Len() != 0 {
				t.Fatalf("%d bytes left", r.Len())
			}
			if !valueEqual(got, tt.value) {
				t.Fatalf("decoded %#v, want %#v", got, tt.value)
			}
			// SkipValue must accept the same bytes.
			r.Reset(want)
			if err := r.SkipValue(); err != nil || r.Len() != 0 {
				t.Fatalf("SkipValue: %v, %d left", err, r.Len())
			}
		})
	}
}

// valueEqual compares generic values, normalising Array element codes and
// times.
func valueEqual(a, b any) bool {
	switch av := a.(type) {
	case time.Time:
		bv, ok := b.(time.Time)
		return ok && av.Equal(bv)
	case []time.Time:
		bv, ok := b.([]time.Time)
		if !ok || len(av) != len(bv) {
			return false
		}
		for i := range av {
			if !av[i].Equal(bv[i]) {
				return false
			}
		}
		return true
	case Array:
		bv, ok := b.(Array)
		if !ok || codeName(av.Code) != codeName(bv.Code) || !reflect.DeepEqual(av.Descriptor, bv.Descriptor) || len(av.Elems) != len(bv.Elems) {
			return false
		}
		for i := range av.Elems {
			if !valueEqual(av.Elems[i], bv.Elems[i]) {
				return false
			}
		}
		return true
	case []any:
		bv, ok := b.([]any)
		if !ok || len(av) != len(bv) {
			return false
		}
		for i := range av {
			if !valueEqual(av[i], bv[i]) {
				return false
			}
		}
		return true
	case Map:
		bv, ok := b.(Map)
		if !ok || len(av) != len(bv) {
			return false
		}
		for i := range av {
			if !valueEqual(av[i].Key, bv[i].Key) || !valueEqual(av[i].Value, bv[i].Value) {
				return false
			}
		}
		return true
	case Described:
		bv, ok := b.(Described)
		return ok && valueEqual(av.Descriptor, bv.Descriptor) && valueEqual(av.Value, bv.Value)
	case float64:
		bv, ok := b.(float64)
		return ok && math.Float64bits(av) == math.Float64bits(bv)
	case float32:
		bv, ok := b.(float32)
		return ok && math.Float32bits(av) == math.Float32bits(bv)
	case []float32:
		bv, ok := b.([]float32)
		if !ok || len(av) != len(bv) {
			return false
		}
		for i := range av {
			if math.Float32bits(av[i]) != math.Float32bits(bv[i]) {
				return false
			}
		}
		return true
	case []float64:
		bv, ok := b.([]float64)
		if !ok || len(av) != len(bv) {
			return false
		}
		for i := range av {
			if math.Float64bits(av[i]) != math.Float64bits(bv[i]) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(a, b)
}

// TestAlternativeEncodings checks that every encoding of a type decodes,
// not only the compact ones the Buffer writes.
func TestAlternativeEncodings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		hex  string
		want any
	}{
		{"5600", false},
		{"5601", true},
		{"7000000000", uint32(0)},
		{"5200", uint32(0)},
		{"800000000000000000", uint64(0)},
		{"7100000001", int32(1)},
		{"810000000000000001", int64(1)},
		{"b000000000", []byte{}},
		{"b10000000161", "a"},
		{"b30000000161", Symbol("a")},
		{"d0000000040000000 0", []any{}},
		{"c00100", []any{}},
		{"d10000000400000000", Map{}},
		{"f0000000050000000043", []uint32{}},
		{"e00202 43", []uint32{0, 0}},
		{"e00202 41", []bool{true, true}},
		{"e0020245", Array{Code: CodeList0, Elems: []any{[]any{}, []any{}}}},
		{"e004025201ff", []uint32{1, 255}},
		{"e0040254 ff01", []int32{-1, 1}},
		{"00 a3 10 616d71703a6865616465723a6c697374 45", Described{Descriptor: Symbol("amqp:header:list"), Value: []any{}}},
	}
	for _, tt := range tests {
		r := NewReader(unhex(t, tt.hex))
		got, err := r.ReadValue()
		if err != nil {
			t.Errorf("%s: %v", tt.hex, err)
			continue
		}
		if !valueEqual(got, tt.want) || r.Len() != 0 {
			t.Errorf("%s: got %#v (left %d), want %#v", tt.hex, got, r.Len(), tt.want)
		}
	}
}

// TestDecodeErrors checks that malformed input gives a typed error with the
// right cause and never panics.
func TestDecodeErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		hex   string
		cause error
	}{
		{"empty", "", ErrTruncated},
		{"unknown code", "ff", ErrInvalid},
		{"reserved code", "5f", ErrInvalid},
		{"bad boolean", "5602", ErrInvalid},
		{"short uint", "700000", ErrTruncated},
		{"short uuid", "980011", ErrTruncated},
		{"vbin8 too long", "a00501", ErrTruncated},
		{"vbin32 huge", "b0ffffffff00", ErrTruncated},
		{"bad utf8", "a102c328", ErrInvalid},
		{"bad char", "7300110000", ErrInvalid},
		{"surrogate char", "730000d800", ErrInvalid},
		{"list8 size zero", "c000", ErrInvalid},
		{"list8 size past end", "c00501", ErrTruncated},
		{"list count exceeds size", "c0020540", ErrInvalid},
		{"list32 huge", "d0ffffffff00000001", ErrTruncated},
		{"list elements short", "c00402404040", ErrInvalid},
		{"list elements overrun", "c002017000000001", ErrInvalid},
		{"map odd", "c1020140", ErrInvalid},
		{"array size mismatch", "e0040271000000", ErrInvalid},
		{"array count too big", "e003ff a1 00", ErrInvalid},
		{"array bad elem code", "e00201ff", ErrInvalid},
		{"array described bad", "e0040100 a1 00", ErrUnexpectedType},
		{"array32 zero width huge", "f0 00000005 ffffffff 40", ErrLimit},
		{"descriptor bad type", "00a10161 40", ErrUnexpectedType},
		{"descriptor missing value", "005370", ErrTruncated},
		{"deep nesting", strings.Repeat("c0", 0) + strings.Repeat("00 53 01 ", 40) + "40", ErrLimit},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := unhex(t, tt.hex)
			for _, skip := range []bool{false, true} {
				r := NewReader(in)
				var err error
				if skip {
					err = r.SkipValue()
				} else {
					_, err = r.ReadValue()
				}
				if skip && tt.cause == ErrLimit && tt.name == "array32 zero width huge" {
					// Skipping zero-width elements allocates nothing, so no limit applies.
					continue
				}
				var de *DecodeError
				if !errors.As(err, &de) {
					t.Fatalf("skip=%v: error %v is not a *DecodeError", skip, err)
				}
				if !errors.Is(err, tt.cause) {
					t.Fatalf("skip=%v: error %v, want cause %v", skip, err, tt.cause)
				}
				if de.Offset < 0 || de.Offset > len(in) {
					t.Fatalf("offset %d out of range", de.Offset)
				}
				if de.Condition() != "amqp:decode-error" {
					t.Fatalf("condition %q", de.Condition())
				}
			}
		})
	}
}

func TestDeepNestingLists(t *testing.T) {
	t.Parallel()
	// 100 nested list8s: each wraps the next.
	inner := []byte{CodeList0}
	for range 100 {
		inner = append([]byte{CodeList8, byte(len(inner) + 1), 1}, inner...)
		if len(inner) > 250 {
			break
		}
	}
	r := NewReader(inner)
	if _, err := r.ReadValue(); !errors.Is(err, ErrLimit) {
		t.Fatalf("ReadValue: %v, want ErrLimit", err)
	}
	r.Reset(inner)
	if err := r.SkipValue(); !errors.Is(err, ErrLimit) {
		t.Fatalf("SkipValue: %v, want ErrLimit", err)
	}
}

func TestTypedReads(t *testing.T) {
	t.Parallel()
	var w Buffer
	w.AppendUint32(7)
	w.AppendString("s")
	w.AppendNull()
	r := NewReader(w.Bytes())
	if _, err := r.ReadString(); !errors.Is(err, ErrUnexpectedType) {
		t.Fatalf("ReadString on uint: %v", err)
	}
	if r.Offset() != 0 {
		t.Fatalf("failed read consumed input")
	}
	if v, err := r.ReadUint32(); err != nil || v != 7 {
		t.Fatalf("ReadUint32 = %v, %v", v, err)
	}
	if v, err := r.ReadString(); err != nil || v != "s" {
		t.Fatalf("ReadString = %v, %v", v, err)
	}
	if !r.ReadNull() || r.Len() != 0 {
		t.Fatalf("ReadNull")
	}
}

func TestMapHelpers(t *testing.T) {
	t.Parallel()
	m := Map{{"a", 1}, {Symbol("a"), 2}, {[]byte{1}, 3}, {[]any{}, 4}}
	if v, ok := m.Get("a"); !ok || v != 1 {
		t.Fatal("string key")
	}
	if v, ok := m.GetSymbol("a"); !ok || v != 2 {
		t.Fatal("symbol key")
	}
	if v, ok := m.Get([]byte{1}); !ok || v != 3 {
		t.Fatal("binary key")
	}
	if _, ok := m.Get([]any{}); ok {
		t.Fatal("list keys never match")
	}
	m = m.Set("a", 9).Set("new", 10).Delete(Symbol("a"))
	if len(m) != 4 || m[0].Value != 9 || m[3].Key != "new" {
		t.Fatalf("Set/Delete: %#v", m)
	}
}

func TestUUIDString(t *testing.T) {
	t.Parallel()
	u := UUID{0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef}
	if got := u.String(); got != "12345678-9abc-def0-0123-456789abcdef" {
		t.Fatal(got)
	}
}

func TestAppendValueUnsupported(t *testing.T) {
	t.Parallel()
	var w Buffer
	for _, v := range []any{struct{}{}, map[string]any{}, Described{Descriptor: 1.5}, Array{Code: CodeUint, Elems: []any{"x"}}} {
		if err := w.AppendValue(v); !errors.Is(err, ErrUnsupportedType) {
			t.Errorf("%T: %v", v, err)
		}
	}
}
