package filestore

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/batonmq/baton/internal/broker"
)

// canon prints a decoded record with maps sorted and pointers followed, so
// that two decodings can be compared (NaN included).
func canon(r *record) string {
	s := fmt.Sprintf("k=%d e=%q dedup=%v seq=%d sid=%q st=%q/%v stt=%v last=%d mid=%q body=%q/%v",
		r.kind, r.Entity, r.DedupUntil, r.Seq, r.SessionID, r.SessionState, r.SessionState == nil, r.SessionTime,
		r.lastSeq, r.msgID, r.body, r.bodyNil)
	if r.Def != nil {
		def := *r.Def
		def.Rules = slices.Clone(def.Rules)
		for i := range def.Rules {
			if c := def.Rules[i].Filter.Correlation; c != nil {
				s += fmt.Sprintf(" corr=%+v", *c)
				def.Rules[i].Filter.Correlation = nil
			}
		}
		s += fmt.Sprintf(" def=%+v", def)
	}
	if r.Msg != nil {
		s += fmt.Sprintf(" msg=%+v", *r.Msg)
	}
	if r.Update != nil {
		s += fmt.Sprintf(" upd=%+v", *r.Update)
	}
	return s
}

// reencode encodes a decoded record again.
func reencode(r *record) ([]byte, error) {
	switch r.kind {
	case kindEntityState:
		return appendEntityState(nil, r.Entity, r.Def, r.lastSeq), nil
	case kindDedup:
		return appendDedup(nil, r.Entity, r.msgID, r.DedupUntil), nil
	case kindEnqueue:
		m := *r.Msg
		m.Body = r.body
		if r.bodyNil {
			m.Body = nil
		}
		return appendEnqueue(nil, r.Entity, &m, r.DedupUntil)
	}
	return appendRecord(nil, &r.Record)
}

// FuzzDecodeRecord feeds arbitrary bytes to the record decoder: it must
// never panic, and whatever it accepts must encode back to a record that
// decodes to the same thing.
func FuzzDecodeRecord(f *testing.F) {
	for _, r := range sampleRecords() {
		b, err := appendRecord(nil, &r)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	def := broker.Entity{Name: "q"}
	f.Add(appendEntityState(nil, "q", &def, 5))
	f.Add(appendDedup(nil, "q", "m", t0))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeRecord(b)
		if err != nil {
			return
		}
		_, _ = readBody(b)
		again, err := reencode(r)
		if err != nil {
			t.Fatalf("decoded record does not encode: %v", err)
		}
		r2, err := decodeRecord(again)
		if err != nil {
			t.Fatalf("re-encoded record does not decode: %v", err)
		}
		if a, b := canon(r), canon(r2); a != b {
			t.Fatalf("round trip differs:\n%s\n%s", a, b)
		}
	})
}

// TestWriteFuzzCorpus writes the seed corpus of FuzzDecodeRecord into
// testdata when BATON_WRITE_CORPUS is set.
func TestWriteFuzzCorpus(t *testing.T) {
	if os.Getenv("BATON_WRITE_CORPUS") == "" {
		t.Skip("set BATON_WRITE_CORPUS=1 to rewrite testdata/fuzz/FuzzDecodeRecord")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzDecodeRecord")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, r := range sampleRecords() {
		b, err := appendRecord(nil, &r)
		if err != nil {
			t.Fatal(err)
		}
		data := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", b)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed-%02d", i)), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
