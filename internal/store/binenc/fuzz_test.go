package binenc

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/batonmq/baton/internal/broker"
)

// fuzzed is what FuzzDecode reads from its input, in this order.
type fuzzed struct {
	value  any
	time   time.Time
	token  broker.LockToken
	opt    []byte
	optOK  bool
	meta   map[string]string
	props  map[string]any
	entity *broker.Entity
}

func decodeFuzzed(b []byte) (*fuzzed, error) {
	d := NewDecoder(b)
	f := &fuzzed{}
	f.value = d.Value()
	f.time = d.Time()
	f.token = d.Token()
	f.opt, f.optOK = d.OptBytes()
	f.meta = d.Metadata()
	f.props = d.Props()
	f.entity = d.Entity(EntityCurrent)
	if d.Err() != nil {
		return nil, d.Err()
	}
	if d.Left() != 0 {
		return nil, fmt.Errorf("%d bytes left over", d.Left())
	}
	return f, nil
}

func (f *fuzzed) encode() ([]byte, error) {
	var e Encoder
	if err := e.Value(f.value); err != nil {
		return nil, err
	}
	e.Time(f.time)
	e.Token(f.token)
	if f.optOK {
		e.OptBytes(append([]byte{}, f.opt...))
	} else {
		e.OptBytes(nil)
	}
	e.Metadata(f.meta)
	if err := e.Props(f.props); err != nil {
		return nil, err
	}
	if err := e.Entity(f.entity); err != nil {
		return nil, err
	}
	return e.B, nil
}

// canon prints f with maps sorted and pointers followed, so that two
// decodings can be compared (NaN included).
func (f *fuzzed) canon() string {
	def := *f.entity
	def.Rules = slices.Clone(def.Rules)
	s := ""
	for i := range def.Rules {
		if c := def.Rules[i].Filter.Correlation; c != nil {
			s += fmt.Sprintf(" corr%d=%#v", i, *c)
			def.Rules[i].Filter.Correlation = nil
		}
	}
	return fmt.Sprintf("value=%#v time=%#v token=%v opt=%q/%v meta=%#v props=%#v def=%#v",
		f.value, f.time, f.token, f.opt, f.optOK, f.meta, f.props, def) + s
}

// fuzzSeeds are inputs FuzzDecode accepts, with no map of more than one
// entry so that their bytes are fixed (they are the checked-in corpus).
func fuzzSeeds(t testing.TB) [][]byte {
	one := &broker.Entity{Name: "q", Kind: broker.KindQueue, Properties: broker.DefaultQueueProperties(),
		CreatedAt: t0, Metadata: map[string]string{"k": "v"}}
	sub := sampleEntity()
	sub.Metadata = map[string]string{}
	var seeds [][]byte
	for i, f := range []*fuzzed{
		{value: nil, entity: &broker.Entity{}},
		{value: "s", time: t0, token: tok, opt: []byte("o"), optOK: true, meta: map[string]string{"a": "b"},
			props: map[string]any{"f64": 2.5}, entity: one},
		{value: tok, time: t0.In(zone), opt: []byte{}, optOK: true, props: map[string]any{}, entity: sub},
		{value: time.Unix(1, 5).Local(), time: time.Date(9999, 12, 31, 23, 59, 59, 999999999, zone),
			props: map[string]any{"nb": []byte(nil)}, entity: &broker.Entity{Rules: []broker.Rule{broker.TrueRule("$Default")}}},
	} {
		b, err := f.encode()
		if err != nil {
			t.Fatalf("seed %d: %v", i, err)
		}
		seeds = append(seeds, b)
	}
	for k, v := range allProps() {
		var e Encoder
		if err := e.Value(v); err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		e.Time(time.Time{})
		e.Token(broker.LockToken{})
		e.OptBytes(nil)
		e.Metadata(nil)
		_ = e.Props(nil)
		_ = e.Entity(&broker.Entity{})
		seeds = append(seeds, e.B)
	}
	slices.SortFunc(seeds, func(a, b []byte) int { return slices.Compare(a, b) })
	return seeds
}

// FuzzDecode feeds arbitrary bytes to the decoder (a value, a time, a
// token, an optional byte string, metadata, properties and an entity
// definition, in that order): it must never panic, and whatever it accepts
// must encode back to bytes that decode to the same thing.
func FuzzDecode(f *testing.F) {
	for _, b := range fuzzSeeds(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := decodeFuzzed(b)
		if err != nil {
			return
		}
		again, err := v.encode()
		if err != nil {
			t.Fatalf("decoded values do not encode: %v", err)
		}
		v2, err := decodeFuzzed(again)
		if err != nil {
			t.Fatalf("re-encoded values do not decode: %v", err)
		}
		if a, b := v.canon(), v2.canon(); a != b {
			t.Fatalf("round trip differs:\n%s\n%s", a, b)
		}
	})
}

// TestFuzzCorpus checks that testdata/fuzz/FuzzDecode holds the seeds
// (rewriting it when BATON_WRITE_CORPUS is set), and that each decodes.
func TestFuzzCorpus(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzDecode")
	seeds := fuzzSeeds(t)
	if os.Getenv("BATON_WRITE_CORPUS") != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for i, b := range seeds {
			data := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", b)
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed-%02d", i)), []byte(data), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	for i, b := range seeds {
		data, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("seed-%02d", i)))
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", b); string(data) != want {
			t.Errorf("seed-%02d is\n%s\nthe encoder writes\n%s", i, data, want)
		}
		if _, err := decodeFuzzed(b); err != nil {
			t.Errorf("seed-%02d: %v", i, err)
		}
	}
}
