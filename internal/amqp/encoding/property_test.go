package encoding

import (
	"bytes"
	"math/rand/v2"
	"testing"
	"time"
)

// randValue builds a random value of the generic representation, nesting
// composites up to depth levels.
func randValue(rng *rand.Rand, depth int) any {
	n := 30
	if depth <= 0 {
		n = 22 // scalars and flat arrays only
	}
	switch rng.IntN(n) {
	case 0:
		return nil
	case 1:
		return rng.IntN(2) == 0
	case 2:
		return uint8(rng.Uint32())
	case 3:
		return uint16(rng.Uint32())
	case 4:
		return rng.Uint32() >> (rng.IntN(4) * 8)
	case 5:
		return rng.Uint64() >> (rng.IntN(8) * 8)
	case 6:
		return int8(rng.Uint32())
	case 7:
		return int16(rng.Uint32())
	case 8:
		return int32(rng.Uint32()) >> (rng.IntN(4) * 8)
	case 9:
		return int64(rng.Uint64()) >> (rng.IntN(8) * 8)
	case 10:
		return rng.Float32()
	case 11:
		return rng.NormFloat64()
	case 12:
		return Char(rng.IntN(0xd800))
	case 13:
		return time.UnixMilli(rng.Int64N(1 << 45)).UTC()
	case 14:
		var u UUID
		for i := range u {
			u[i] = byte(rng.Uint32())
		}
		return u
	case 15:
		return randBytes(rng)
	case 16:
		return string(randBytes(rng)) // hex-ish text is valid UTF-8 below
	case 17:
		return Symbol(randText(rng))
	case 18:
		return Decimal64{byte(rng.Uint32()), 1, 2, 3, 4, 5, 6, 7}
	case 19:
		s := make([]int64, rng.IntN(5))
		for i := range s {
			s[i] = rng.Int64()
		}
		return s
	case 20:
		s := make([]Symbol, rng.IntN(5))
		for i := range s {
			s[i] = Symbol(randText(rng))
		}
		return s
	case 21:
		s := make([]string, rng.IntN(3))
		for i := range s {
			s[i] = randText(rng)
		}
		return s
	case 22, 23:
		l := make([]any, rng.IntN(6))
		for i := range l {
			l[i] = randValue(rng, depth-1)
		}
		return l
	case 24, 25:
		m := make(Map, rng.IntN(5))
		for i := range m {
			m[i] = KV{Key: randValue(rng, 0), Value: randValue(rng, depth-1)}
		}
		return m
	case 26:
		d := any(rng.Uint64() >> 20)
		if rng.IntN(2) == 0 {
			d = Symbol("com.example:" + randText(rng))
		}
		return Described{Descriptor: d, Value: randValue(rng, depth-1)}
	case 27:
		elems := make([]any, rng.IntN(4))
		for i := range elems {
			m := make(Map, rng.IntN(3))
			for j := range m {
				m[j] = KV{Key: randText(rng), Value: randValue(rng, depth-1)}
			}
			elems[i] = m
		}
		return Array{Code: CodeMap32, Elems: elems}
	case 28:
		elems := make([]any, rng.IntN(4))
		for i := range elems {
			elems[i] = randText(rng)
		}
		return Array{Code: CodeStr8, Descriptor: uint64(0x137000000c), Elems: elems}
	default:
		elems := make([]any, rng.IntN(3))
		for i := range elems {
			elems[i] = []any{randValue(rng, depth-1)}
		}
		return Array{Code: CodeList32, Elems: elems}
	}
}

func randText(rng *rand.Rand) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz-:é€"
	r := []rune(alphabet)
	n := rng.IntN(12)
	if rng.IntN(20) == 0 {
		n = 300 // force the 32-bit length forms
	}
	out := make([]rune, n)
	for i := range out {
		out[i] = r[rng.IntN(len(r))]
	}
	return string(out)
}

func randBytes(rng *rand.Rand) []byte {
	return []byte(randText(rng))
}

// TestPropertyRoundTrip encodes random values, decodes them, and checks the
// result equals the input, that SkipValue consumes the same bytes, and
// that re-encoding is byte-identical.
func TestPropertyRoundTrip(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 5000 {
		v := randValue(rng, 4)
		var w Buffer
		if err := w.AppendValue(v); err != nil {
			t.Fatalf("#%d AppendValue(%#v): %v", i, v, err)
		}
		r := NewReader(w.Bytes())
		got, err := r.ReadValue()
		if err != nil {
			t.Fatalf("#%d ReadValue(%x): %v", i, w.Bytes(), err)
		}
		if r.Len() != 0 {
			t.Fatalf("#%d: %d bytes left", i, r.Len())
		}
		if !valueEqual(v, got) {
			t.Fatalf("#%d: round trip\n got %#v\nwant %#v", i, got, v)
		}
		r.Reset(w.Bytes())
		if err := r.SkipValue(); err != nil || r.Len() != 0 {
			t.Fatalf("#%d SkipValue: %v", i, err)
		}
		var w2 Buffer
		_ = w2.AppendValue(got)
		if !bytes.Equal(w.Bytes(), w2.Bytes()) {
			t.Fatalf("#%d: re-encoding differs", i)
		}
	}
}

// TestPropertyTruncation checks that every strict prefix of a valid
// encoding fails to decode with a DecodeError and never panics.
func TestPropertyTruncation(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(3, 4))
	for range 300 {
		var w Buffer
		_ = w.AppendValue(randValue(rng, 3))
		full := w.Bytes()
		for n := range len(full) {
			r := NewReader(full[:n])
			if _, err := r.ReadValue(); err == nil {
				t.Fatalf("prefix %x of %x decoded", full[:n], full)
			}
		}
	}
}

// TestPropertyMessages builds random messages and checks ParseMessage
// recovers their fields and keeps the bare message intact.
func TestPropertyMessages(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(5, 6))
	for i := range 1000 {
		m := &Message{}
		if rng.IntN(2) == 0 {
			m.Header = &Header{Durable: rng.IntN(2) == 0, Priority: uint8(rng.IntN(10)), DeliveryCount: rng.Uint32N(5)}
			if rng.IntN(2) == 0 {
				m.Header.TTL, m.Header.HasTTL = rng.Uint32(), true
			}
		}
		if rng.IntN(2) == 0 {
			m.MessageAnnotations = Map{{Symbol(AnnotationPartitionKey), randText(rng)}}
		}
		if rng.IntN(3) > 0 {
			m.Properties = &Properties{MessageID: StringID(randText(rng)), To: randText(rng), GroupID: randText(rng),
				CreationTime: time.UnixMilli(rng.Int64N(1 << 42)).UTC()}
		}
		if rng.IntN(2) == 0 {
			m.ApplicationProperties = Map{{randText(rng), randValue(rng, 0)}}
		}
		switch rng.IntN(4) {
		case 0:
			for range 1 + rng.IntN(3) {
				m.Data = append(m.Data, randBytes(rng))
			}
		case 1:
			m.Value, m.HasValue = randValue(rng, 3), true
		case 2:
			m.Sequence = [][]any{{randValue(rng, 2)}}
		}
		payload, err := AppendMessage(nil, m)
		if err != nil {
			t.Fatal(err)
		}
		if len(payload) == 0 {
			continue
		}
		v, err := ParseMessage(payload)
		if err != nil {
			t.Fatalf("#%d: %v\n%x", i, err, payload)
		}
		if m.Header != nil && v.Header != *m.Header {
			t.Fatalf("#%d header %+v want %+v", i, v.Header, *m.Header)
		}
		if m.Properties != nil && (v.Properties.To != m.Properties.To || v.Properties.GroupID != m.Properties.GroupID ||
			v.Properties.MessageID.Key() != m.Properties.MessageID.Key() || !v.Properties.CreationTime.Equal(m.Properties.CreationTime)) {
			t.Fatalf("#%d properties %+v", i, v.Properties)
		}
		if !bytes.HasSuffix(payload, v.Bare()) {
			t.Fatalf("#%d bare", i)
		}
		ap, err := v.AppProperties()
		if err != nil || !valueEqual(ap, m.ApplicationProperties) && len(m.ApplicationProperties) > 0 {
			t.Fatalf("#%d app properties %#v %v", i, ap, err)
		}
	}
}
