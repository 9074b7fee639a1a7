package pgengine

import (
	"bytes"
	"strings"
	"testing"

	"github.com/batonmq/baton/internal/broker"
	"github.com/batonmq/baton/internal/store/pgstore"
)

func TestUUIDs(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		u := newUUID()
		s := formatUUID(u)
		if !uuidForm(s) || s != strings.ToLower(s) || s[14] != '4' || !strings.ContainsRune("89ab", rune(s[19])) {
			t.Fatalf("%s is not a canonical lower-case version 4 UUID", s)
		}
		if seen[s] {
			t.Fatalf("%s twice", s)
		}
		seen[s] = true
		for _, in := range []string{s, strings.ToUpper(s)} {
			back, ok := parseUUID(in)
			if !ok || back != u {
				t.Fatalf("parseUUID(%s) = %x, %v; want %x", in, back, ok, u)
			}
		}
	}
	for _, bad := range []string{
		"", "x", "0f8fad5bd9cb469fa16570867728950e", "{0f8fad5b-d9cb-469f-a165-70867728950e}",
		"0f8fad5b-d9cb-469f-a165-70867728950", "0f8fad5b-d9cb-469f-a165-70867728950g",
		"0f8fad5b-d9cb-469f-a165_70867728950e", "0f8fad5b-d9cb-469f-a165-70867728950e ",
		"0f8fad5b-d9c-b469f-a165-70867728950e", "' OR 1=1 --                         ",
	} {
		if _, ok := parseUUID(bad); ok {
			t.Errorf("parseUUID(%q) accepted", bad)
		}
	}
}

func uuidForm(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			if c != '-' {
				return false
			}
		} else if !strings.ContainsRune("0123456789abcdef", c) {
			return false
		}
	}
	return true
}

func TestReceipts(t *testing.T) {
	for range 1000 {
		b := newReceipt()
		s := formatReceipt(b)
		if len(s) != 22 || strings.ContainsAny(s, "+/=") {
			t.Fatalf("receipt %q is not 22 characters of URL-safe base64 without padding", s)
		}
		back, err := parseReceipt(s)
		if err != nil || !bytes.Equal(back, b) {
			t.Fatalf("parseReceipt(%s) = %x, %v; want %x", s, back, err, b)
		}
	}
	valid := formatReceipt(newReceipt())
	for _, bad := range []string{
		"", "!", "AAAAAAAAAAAAAAAAAAAAAA", valid + "A", valid[:21], valid + "==", strings.Repeat("/", 22),
		"' OR 1=1 --", "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00",
	} {
		if b, err := parseReceipt(bad); broker.CodeOf(err) != broker.CodeInvalidArgument || b != nil {
			t.Errorf("parseReceipt(%q) = %x, %v; want CodeInvalidArgument", bad, b, err)
		}
	}
}

// TestDSNSets: pool_max_conns in a connection string is the operator's
// choice; the engine's default applies only without it.
func TestDSNSets(t *testing.T) {
	for dsn, want := range map[string]bool{
		"postgres://u:p@h:5432/db?pool_max_conns=4":             true,
		"postgresql://h/db?sslmode=disable&pool_max_conns=2":    true,
		"postgres://h/db?sslmode=disable":                       false,
		"host=/tmp dbname=x pool_max_conns=3":                   true,
		"host=/tmp dbname=x":                                    false,
		"postgres://h/db?application_name=pool_max_conns_is_me": false,
	} {
		if got := pgstore.DSNSets(dsn, "pool_max_conns"); got != want {
			t.Errorf("DSNSets(%q) = %v, want %v", dsn, got, want)
		}
	}
}
