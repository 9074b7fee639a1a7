package pgstore

import (
	"testing"

	"github.com/batonmq/baton/internal/broker"
)

// The decoders read blobs from the database: whatever bytes a column
// holds, they return an error or a value the encoder can write again, and
// never panic or allocate beyond the input's size. The seed corpus is in
// testdata/fuzz.

func FuzzDecodeHeader(f *testing.F) {
	f.Add(appendHeader(nil, sampleMessage()))
	f.Add(appendHeader(nil, &broker.Message{}))
	f.Fuzz(func(t *testing.T, b []byte) {
		m := &broker.Message{}
		if decodeHeader(b, m) != nil {
			return
		}
		if err := decodeHeader(appendHeader(nil, m), &broker.Message{}); err != nil {
			t.Fatalf("re-encoded header does not decode: %v", err)
		}
	})
}

func FuzzDecodeUpdate(f *testing.F) {
	u := updateOf(sampleMessage())
	b, _ := appendUpdate(nil, &u)
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		m := &broker.Message{}
		if decodeUpdate(b, m) != nil {
			return
		}
		u := updateOf(m)
		again, err := appendUpdate(nil, &u)
		if err != nil {
			t.Fatalf("decoded update does not encode: %v", err)
		}
		if err := decodeUpdate(again, &broker.Message{}); err != nil {
			t.Fatalf("re-encoded update does not decode: %v", err)
		}
	})
}

func FuzzDecodeDef(f *testing.F) {
	b, _ := appendDef(nil, sampleDef())
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := decodeDef(b)
		if err != nil {
			return
		}
		again, err := appendDef(nil, d)
		if err != nil {
			t.Fatalf("decoded definition does not encode: %v", err)
		}
		if _, err := decodeDef(again); err != nil {
			t.Fatalf("re-encoded definition does not decode: %v", err)
		}
	})
}
