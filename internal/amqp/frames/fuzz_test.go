package frames

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/batonmq/baton/internal/amqp/encoding"
)

var writeSeeds = flag.Bool("write-seeds", false, "rewrite the checked-in fuzz seed corpora under testdata/fuzz")

// frameSeeds encodes every sample frame.
func frameSeeds(tb testing.TB) [][]byte {
	tb.Helper()
	var out [][]byte
	for _, s := range sampleFrames() {
		b, err := AppendFrame(nil, s.typ, s.channel, s.body, s.payload)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// streamSeeds are whole connection openings: protocol headers and the
// frames of a SASL exchange and an AMQP session.
func streamSeeds(tb testing.TB) [][]byte {
	tb.Helper()
	frames := frameSeeds(tb)
	sasl := HeaderSASL.Bytes()
	amqp := HeaderAMQP.Bytes()
	var all []byte
	for _, f := range frames {
		all = append(all, f...)
	}
	return [][]byte{
		append(append(sasl[:], frames[1]...), frames[5]...),
		append(amqp[:], all...),
	}
}

func writeCorpus(tb testing.TB, name string, seeds [][]byte, extra string) {
	tb.Helper()
	dir := filepath.Join("testdata", "fuzz", name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	for i, s := range seeds {
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n%s", s, extra)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed-%02d", i)), []byte(body), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
}

func TestWriteSeedCorpora(t *testing.T) {
	if !*writeSeeds {
		t.Skip("run with -write-seeds to regenerate testdata/fuzz")
	}
	writeCorpus(t, "FuzzParseFrame", frameSeeds(t), "")
	writeCorpus(t, "FuzzReader", streamSeeds(t), "uint8(7)\n")
}

// FuzzParseFrame checks that frame parsing never panics, reports only
// typed errors, and that every accepted frame re-encodes stably: encoding
// the decoded frame and decoding that again gives the same bytes.
func FuzzParseFrame(f *testing.F) {
	for _, s := range frameSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		fr, n, err := ParseFrame(in, 1<<20)
		if err != nil {
			var de *encoding.DecodeError
			var fe *FramingError
			if !errors.As(err, &de) && !errors.As(err, &fe) && !errors.Is(err, ErrIncomplete) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if n < HeaderSize || n > len(in) {
			t.Fatalf("bad size %d", n)
		}
		out, err := AppendFrame(nil, fr.Type, fr.Channel, fr.Body, fr.Payload)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		fr2, n2, err := ParseFrame(out, 0)
		if err != nil || n2 != len(out) {
			t.Fatalf("re-encoded frame does not parse: %v\n%x", err, out)
		}
		out2, err := AppendFrame(nil, fr2.Type, fr2.Channel, fr2.Body, fr2.Payload)
		if err != nil || !bytes.Equal(out, out2) {
			t.Fatalf("encoding not stable: %v\n%x\n%x", err, out, out2)
		}
	})
}

// FuzzReader feeds a byte stream (protocol header then frames) to the
// stream Reader in small chunks.
func FuzzReader(f *testing.F) {
	for _, s := range streamSeeds(f) {
		f.Add(s, uint8(7))
	}
	f.Fuzz(func(t *testing.T, in []byte, chunk uint8) {
		r := NewReader(&chunkReader{b: in, n: int(chunk%32) + 1}, 1<<16)
		if _, err := r.ReadProtocolHeader(); err != nil {
			return
		}
		for range 1000 {
			fr, err := r.ReadFrame()
			if err != nil {
				var de *encoding.DecodeError
				var fe *FramingError
				if err != io.EOF && !errors.As(err, &de) && !errors.As(err, &fe) && !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Fatalf("untyped error %v", err)
				}
				return
			}
			if fr.Body != nil {
				if _, err := AppendFrame(nil, fr.Type, fr.Channel, fr.Body, fr.Payload); err != nil {
					t.Fatalf("re-encode: %v", err)
				}
			}
		}
	})
}

type chunkReader struct {
	b []byte
	n int
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := min(len(p), r.n, len(r.b))
	copy(p, r.b[:n])
	r.b = r.b[n:]
	return n, nil
}
