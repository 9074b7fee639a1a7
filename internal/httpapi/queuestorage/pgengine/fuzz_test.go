package pgengine

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzParseReceipt: a pop receipt from a client either parses to 16 bytes
// that render back to exactly the same string, or is refused; nothing
// else reaches a statement. Seeds: testdata/fuzz/FuzzParseReceipt.
func FuzzParseReceipt(f *testing.F) {
	f.Add(formatReceipt(bytes.Repeat([]byte{0xab}, 16)))
	f.Fuzz(func(t *testing.T, s string) {
		b, err := parseReceipt(s)
		if err != nil {
			if b != nil {
				t.Fatalf("parseReceipt(%q) returned bytes with an error", s)
			}
			return
		}
		if len(b) != 16 || formatReceipt(b) != s || bytes.Equal(b, make([]byte, 16)) {
			t.Fatalf("parseReceipt(%q) = %x", s, b)
		}
	})
}

// FuzzParseUUID: a message id either parses to the UUID whose canonical
// form is the id in lower case, or is refused. Seeds:
// testdata/fuzz/FuzzParseUUID.
func FuzzParseUUID(f *testing.F) {
	f.Add(formatUUID(newUUID()))
	f.Fuzz(func(t *testing.T, s string) {
		u, ok := parseUUID(s)
		if !ok {
			return
		}
		if formatUUID(u) != strings.ToLower(s) {
			t.Fatalf("parseUUID(%q) = %s", s, formatUUID(u))
		}
	})
}
