package pgstore

import (
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/batonmq/baton/internal/broker"
	"github.com/batonmq/baton/internal/store/binenc/goldentest"
)

// pickMap keeps the j-th key (sorted, wrapping) of m, so that an encoding
// is deterministic (map order is random).
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

// goldenEncodings encodes the sample message's header, then its update and
// the sample definition once per property key (every map cut to one
// entry), one hex line each.
func goldenEncodings(t *testing.T) string {
	var sb strings.Builder
	m := sampleMessage()
	fmt.Fprintf(&sb, "%s\n", hex.EncodeToString(appendHeader(nil, m)))
	fmt.Fprintf(&sb, "%s\n", hex.EncodeToString(appendHeader(nil, &broker.Message{})))
	for j := range len(m.Properties) {
		u := updateOf(m)
		u.Properties = pickMap(u.Properties, j)
		b, err := appendUpdate(nil, &u)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&sb, "%s\n", hex.EncodeToString(b))
		d := sampleDef()
		d.Metadata = pickMap(d.Metadata, j)
		for i := range d.Rules {
			r := &d.Rules[i]
			r.Filter.Parameters = pickMap(r.Filter.Parameters, j)
			r.ActionParameters = pickMap(r.ActionParameters, j)
			if c := r.Filter.Correlation; c != nil {
				c.Properties = pickMap(c.Properties, j)
			}
		}
		if b, err = appendDef(nil, d); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&sb, "%s\n", hex.EncodeToString(b))
	}
	zu := updateOf(&broker.Message{})
	b, err := appendUpdate(nil, &zu)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(&sb, "%s\n", hex.EncodeToString(b))
	if b, err = appendDef(nil, &broker.Entity{}); err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(&sb, "%s\n", hex.EncodeToString(b))
	return sb.String()
}

const goldenFile = "testdata/golden-blobs.hex"

// TestCodecGolden checks that the blobs written are those of the codec
// before the shared primitives moved to internal/store/binenc (captured in
// testdata/golden-blobs.hex): docs/format/pgstore.md must stay true.
func TestCodecGolden(t *testing.T) {
	goldentest.Check(t, goldenFile, goldenEncodings(t))
}
