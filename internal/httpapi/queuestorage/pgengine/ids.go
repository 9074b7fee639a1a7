package pgengine

import (
	"crypto/rand"
	"encoding/base64"

	"github.com/batonmq/baton/internal/broker"
)

// Message ids are random (version 4) UUIDs in canonical lower-case form;
// pop receipts are 16 random bytes, URL-safe base64 without padding — the
// broker's forms (broker/storagequeue.go).

// newUUID returns a random version 4 UUID.
func newUUID() [16]byte {
	var u [16]byte
	rand.Read(u[:])
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return u
}

// formatUUID renders u in canonical lower-case form.
func formatUUID(u [16]byte) string { return broker.LockToken(u).String() }

// parseUUID parses a message id: the canonical 36-character form, in any
// case (the broker folds ids to lower case). Anything else is no id of
// ours.
func parseUUID(s string) ([16]byte, bool) {
	t, err := broker.ParseLockToken(s)
	return t, err == nil
}

// newReceipt returns a fresh pop receipt's 16 bytes (never all zero).
func newReceipt() []byte {
	b := make([]byte, 16)
	for {
		rand.Read(b)
		for _, c := range b {
			if c != 0 {
				return b
			}
		}
	}
}

// formatReceipt renders a pop receipt.
func formatReceipt(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// parseReceipt parses a pop receipt made by formatReceipt: exactly 16
// bytes, not all zero, in the canonical encoding. Anything else is
// CodeInvalidArgument and never reaches a statement.
func parseReceipt(s string) ([]byte, error) {
	bad := invalid("pop receipt %q is not one of ours", s)
	if base64.RawURLEncoding.DecodedLen(len(s)) != 16 {
		return nil, bad
	}
	b := make([]byte, 16)
	n, err := base64.RawURLEncoding.Decode(b, []byte(s))
	if err != nil || n != 16 || formatReceipt(b) != s {
		return nil, bad
	}
	for _, c := range b {
		if c != 0 {
			return b, nil
		}
	}
	return nil, bad
}
