package encoding

import (
	"bytes"
	"testing"
	"time"
)

func TestDotNetBytes(t *testing.T) {
	t.Parallel()
	// Guid "00112233-4455-6677-8899-aabbccddeeff".ToByteArray().
	u := UUID{0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff}
	want := unhex(t, "33221100 5544 7766 8899aabbccddeeff")
	got := u.DotNetBytes()
	if !bytes.Equal(got[:], want) {
		t.Fatalf("%x, want %x", got, want)
	}
	back, ok := UUIDFromDotNetBytes(want)
	if !ok || back != u {
		t.Fatalf("back %v %v", back, ok)
	}
	if _, ok := UUIDFromDotNetBytes(want[:8]); ok {
		t.Fatal("8-byte tag accepted")
	}
}

func TestDotNetTicks(t *testing.T) {
	t.Parallel()
	if got := DotNetTicks(time.Unix(0, 0)); got != 621355968000000000 {
		t.Fatalf("epoch ticks %d", got)
	}
	ts := time.UnixMilli(1767225600123).UTC()
	if got := DotNetTicks(ts); got != 1767225600123*10000+621355968000000000 {
		t.Fatalf("ticks %d", got)
	}
	if back := TimeFromDotNetTicks(DotNetTicks(ts)); !back.Equal(ts) {
		t.Fatalf("back %v", back)
	}
	var w Buffer
	w.AppendInt64Wide(DotNetTicks(ts))
	if w.Bytes()[0] != CodeLong || w.Len() != 9 {
		t.Fatalf("locked-until-utc must be an 8-byte long: %x", w.Bytes())
	}
}
