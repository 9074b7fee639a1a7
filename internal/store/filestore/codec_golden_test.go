package filestore

import (
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/batonmq/baton/internal/broker"
	"github.com/batonmq/baton/internal/store/binenc/goldentest"
)

// goldenRecords is sampleRecords with every map cut to at most one entry,
// so that the encoding is deterministic (map order is random): record i
// of sampleRecords yields one variant per key of its largest map, variant
// j keeping the j-th key (in sorted order, wrapping) of every map.
func goldenRecords() []broker.Record {
	var out []broker.Record
	for _, r := range sampleRecords() {
		n := max(1, maxMap(&r))
		for j := range n {
			out = append(out, pickRecord(r, j))
		}
	}
	return out
}

func maxMap(r *broker.Record) int {
	n := 0
	if r.Msg != nil {
		n = max(n, len(r.Msg.Properties))
	}
	if r.Update != nil {
		n = max(n, len(r.Update.Properties))
	}
	if r.Def != nil {
		n = max(n, len(r.Def.Metadata))
		for _, ru := range r.Def.Rules {
			n = max(n, len(ru.Filter.Parameters), len(ru.ActionParameters))
			if c := ru.Filter.Correlation; c != nil {
				n = max(n, len(c.Properties))
			}
		}
	}
	return n
}

func pickMap[V any](m map[string]V, j int) map[string]V {
	if len(m) <= 1 {
		return m
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	k := keys[j%len(keys)]
	return map[string]V{k: m[k]}
}

func pickRecord(r broker.Record, j int) broker.Record {
	if r.Msg != nil {
		m := *r.Msg
		m.Properties = pickMap(m.Properties, j)
		r.Msg = &m
	}
	if r.Update != nil {
		u := *r.Update
		u.Properties = pickMap(u.Properties, j)
		r.Update = &u
	}
	if r.Def != nil {
		d := *r.Def
		d.Metadata = pickMap(d.Metadata, j)
		d.Rules = slices.Clone(d.Rules)
		for i := range d.Rules {
			ru := &d.Rules[i]
			ru.Filter.Parameters = pickMap(ru.Filter.Parameters, j)
			ru.ActionParameters = pickMap(ru.ActionParameters, j)
			if c := ru.Filter.Correlation; c != nil {
				cc := *c
				cc.Properties = pickMap(cc.Properties, j)
				ru.Filter.Correlation = &cc
			}
		}
		r.Def = &d
	}
	return r
}

// goldenEncodings encodes goldenRecords and the store's own records, one
// hex line each.
func goldenEncodings(t *testing.T) string {
	var sb strings.Builder
	for i, r := range goldenRecords() {
		b, err := appendRecord(nil, &r)
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		fmt.Fprintf(&sb, "%s\n", hex.EncodeToString(b))
	}
	def := goldenRecords()[0].Def
	fmt.Fprintf(&sb, "%s\n", hex.EncodeToString(appendEntityState(nil, "q", def, 5)))
	fmt.Fprintf(&sb, "%s\n", hex.EncodeToString(appendDedup(nil, "q", "m", t0.In(zone))))
	return sb.String()
}

const goldenFile = "testdata/golden-v4.hex"

// TestCodecGolden checks that the bytes written are those of the codec
// before the shared primitives moved to internal/store/binenc (captured in
// testdata/golden-v4.hex): the on-disk format must not drift.
func TestCodecGolden(t *testing.T) {
	wl := goldentest.Check(t, goldenFile, goldenEncodings(t))
	// Every golden record still decodes.
	for i, l := range wl[:len(wl)-1] {
		b, err := hex.DecodeString(l)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := decodeRecord(b); err != nil {
			t.Errorf("golden %d: %v", i, err)
		}
	}
}
