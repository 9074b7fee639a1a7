package wal

import (
	"bytes"
	"context"
	"encoding/binary"
	"flag"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"testing"

	"github.com/batonmq/baton/internal/vfs"
)

// FuzzReplay feeds arbitrary bytes to recovery as the body of a segment
// (after a valid segment header). With prevEnd == 0 the bytes form the last
// segment and go through tail recovery; otherwise they form an older segment
// whose valid end, as recorded by the next segment's header, is
// segmentHeaderSize + 8*prevEnd. Properties:
//
//   - nothing panics, and every error is a *CorruptionError;
//   - every record delivered checks out against the raw bytes: its frame
//     header and payload checksums match, independently recomputed;
//   - after a successful recovery the log accepts an append, and a reopened
//     log replays the same records plus the new one.
func FuzzReplay(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s.data, s.prevEnd)
	}
	f.Fuzz(func(t *testing.T, data []byte, prevEnd uint16) {
		const segSize = 1 << 16
		if len(data) > segSize-segmentHeaderSize {
			data = data[:segSize-segmentHeaderSize]
		}
		fsys := vfs.NewMem()
		_ = fsys.MkdirAll(testDir, 0o755)
		seg1 := append(encodeSegmentHeader(segmentHeader{id: 1}), data...)
		writeFile(t, fsys, segmentPath(testDir, 1), seg1)
		if prevEnd != 0 {
			end := int64(segmentHeaderSize) + 8*int64(prevEnd)
			writeFile(t, fsys, segmentPath(testDir, 2), encodeSegmentHeader(segmentHeader{id: 2, prevEnd: end}))
		}
		cfg := Config{SegmentSize: segSize}
		l, err := Open(fsys, testDir, cfg)
		if err != nil {
			if !IsCorruption(err) {
				t.Fatalf("Open: %v is not a corruption error", err)
			}
			return
		}
		var got []posRec
		err = l.Replay(func(p Pos, rec []byte) error {
			if p.Segment != 1 {
				t.Fatalf("record in segment %s", p.Segment)
			}
			checkRawFrame(t, seg1, p, rec)
			got = append(got, posRec{p, bytes.Clone(rec)})
			return nil
		})
		if err != nil {
			if !IsCorruption(err) {
				t.Fatalf("Replay: %v is not a corruption error", err)
			}
			_ = l.Close()
			return
		}
		if _, err := l.Append(context.Background(), []byte("appended")); err != nil {
			t.Fatalf("Append after recovery: %v", err)
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		l2, err := Open(fsys, testDir, cfg)
		if err != nil {
			t.Fatalf("reopen: %v", err)
		}
		defer l2.Close()
		again, err := replayErr(l2)
		if err != nil {
			t.Fatalf("replay after reopen: %v", err)
		}
		if len(again) != len(got)+1 || string(again[len(got)].rec) != "appended" {
			t.Fatalf("after reopen %d records, want %d + 1", len(again), len(got))
		}
		for i := range got {
			if again[i].pos != got[i].pos || !bytes.Equal(again[i].rec, got[i].rec) {
				t.Fatalf("record %d changed across reopen", i)
			}
		}
	})
}

// checkRawFrame recomputes the checksums of the frame at p in seg without
// using the package's decoder.
func checkRawFrame(t *testing.T, seg []byte, p Pos, rec []byte) {
	t.Helper()
	tab := crc32.MakeTable(crc32.Castagnoli)
	if p.Offset < segmentHeaderSize || p.Offset%8 != 0 || p.Offset+16 > int64(len(seg)) {
		t.Fatalf("record at impossible offset %d", p.Offset)
	}
	h := seg[p.Offset : p.Offset+16]
	var seed [16]byte
	binary.LittleEndian.PutUint64(seed[0:8], uint64(p.Segment))
	binary.LittleEndian.PutUint64(seed[8:16], uint64(p.Offset))
	hc := crc32.Update(crc32.Checksum(seed[:], tab), tab, h[4:16])
	if hc != binary.LittleEndian.Uint32(h[0:4]) {
		t.Fatalf("record at %v has a bad header checksum", p)
	}
	n := int64(binary.LittleEndian.Uint32(h[4:8]))
	if n != int64(len(rec)) || p.Offset+16+n > int64(len(seg)) {
		t.Fatalf("record at %v: length %d, delivered %d", p, n, len(rec))
	}
	payload := seg[p.Offset+16 : p.Offset+16+n]
	if !bytes.Equal(payload, rec) || crc32.Checksum(payload, tab) != binary.LittleEndian.Uint32(h[12:16]) {
		t.Fatalf("record at %v: payload does not match its checksum", p)
	}
}

func writeFile(t testing.TB, fsys vfs.FS, name string, b []byte) {
	t.Helper()
	f, err := fsys.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(b, 0); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	_ = f.Close()
}

type fuzzSeed struct {
	name    string
	data    []byte
	prevEnd uint16
}

// fuzzSeeds builds segment bodies: clean logs, groups, torn and damaged
// tails, and older segments with right and wrong recorded ends.
func fuzzSeeds(tb testing.TB) []fuzzSeed {
	body := func(groups ...[][]byte) []byte {
		var b []byte
		off := int64(segmentHeaderSize)
		for _, g := range groups {
			for i, r := range g {
				typ := typeMore
				if i == len(g)-1 {
					typ = typeLast
				}
				fr := make([]byte, frameSize(len(r)))
				putFrameBody(fr, r, typ)
				sealFrame(fr, 1, off)
				b = append(b, fr...)
				off += int64(len(fr))
			}
		}
		return b
	}
	one := [][]byte{[]byte("hello")}
	three := [][]byte{[]byte("a"), {}, bytes.Repeat([]byte("z"), 100)}
	clean := body(one, three, one)
	endOf := func(b []byte) uint16 { return uint16(len(b) / 8) }
	flipped := bytes.Clone(clean)
	flipped[16+2] ^= 1
	torn := bytes.Clone(clean[:len(clean)-5])
	zeroGap := append(append(bytes.Clone(clean), make([]byte, 64)...), 0xff, 0xfe)
	return []fuzzSeed{
		{"empty", nil, 0},
		{"clean", clean, 0},
		{"clean-trailing-zeros", append(bytes.Clone(clean), make([]byte, 100)...), 0},
		{"torn", torn, 0},
		{"flipped-first", flipped, 0},
		{"garbage-after-gap", zeroGap, 0},
		{"unfinished-group", body(one, three)[:len(body(one))+frameSize(1)], 0},
		{"older-exact-end", clean, endOf(clean)},
		{"older-short-end", clean, endOf(clean) - 2},
		{"older-long-end", clean, endOf(clean) + 4},
	}
}

var genSeeds = flag.Bool("wal.genseeds", false, "rewrite testdata/fuzz/FuzzReplay seed files")

// TestGenerateFuzzSeeds writes the seed corpus when run with -wal.genseeds.
// Without the flag it checks that the checked-in corpus is there.
func TestGenerateFuzzSeeds(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzReplay")
	if !*genSeeds {
		entries, err := os.ReadDir(dir)
		if err != nil || len(entries) == 0 {
			t.Fatalf("seed corpus missing in %s (regenerate with -wal.genseeds): %v", dir, err)
		}
		return
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, s := range fuzzSeeds(t) {
		content := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\nuint16(%d)\n", s.data, s.prevEnd)
		if err := os.WriteFile(filepath.Join(dir, "seed-"+s.name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
