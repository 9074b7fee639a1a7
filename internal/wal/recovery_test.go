package wal

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/batonmq/baton/internal/vfs"
)

// fill appends n records (one per append) and closes the log.
func fill(t *testing.T, fsys vfs.FS, cfg Config, n int) []Pos {
	t.Helper()
	l, err := Open(fsys, testDir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var ps []Pos
	for i := 0; i < n; i++ {
		p, err := l.Append(context.Background(), rec(i))
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return ps
}

// patch overwrites bytes of a segment file and syncs them.
func patch(t *testing.T, fsys vfs.FS, id SegmentID, off int64, b []byte) {
	t.Helper()
	f, err := fsys.OpenReadWrite(segmentPath(testDir, id))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func readByte(t *testing.T, fsys vfs.FS, id SegmentID, off int64) byte {
	t.Helper()
	f, err := fsys.Open(segmentPath(testDir, id))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	return b[0]
}

func flipByte(t *testing.T, fsys vfs.FS, id SegmentID, off int64) {
	t.Helper()
	patch(t, fsys, id, off, []byte{readByte(t, fsys, id, off) ^ 0x10})
}

func wantCorruption(t *testing.T, err error, seg SegmentID, off int64) {
	t.Helper()
	var ce *CorruptionError
	if !errors.As(err, &ce) || !IsCorruption(err) || !errors.Is(err, ErrCorrupt) {
		t.Fatalf("got %v, want a *CorruptionError", err)
	}
	if ce.Segment != seg || ce.Offset != off {
		t.Fatalf("corruption reported at %s:%d (%s), want %s:%d", ce.Segment, ce.Offset, ce.Reason, seg, off)
	}
}

func TestRecoverTornTail(t *testing.T) {
	t.Parallel()
	for _, cut := range []int{1, 7, 15, 16, 17, 23} {
		fsys := vfs.NewMem()
		ps := fill(t, fsys, Config{SegmentSize: testSegSize}, 10)
		// A frame for record 10 torn after cut bytes.
		last := ps[9]
		off := last.Offset + int64(frameSize(len(rec(9))))
		fr := make([]byte, frameSize(len(rec(10))))
		putFrameBody(fr, rec(10), typeLast)
		sealFrame(fr, 1, off)
		patch(t, fsys, 1, off, fr[:cut])

		l := openT(t, fsys, Config{SegmentSize: testSegSize})
		got := replayAll(t, l)
		if len(got) != 10 {
			t.Fatalf("cut %d: replayed %d records, want 10", cut, len(got))
		}
		p, err := l.Append(context.Background(), []byte("next"))
		if err != nil {
			t.Fatal(err)
		}
		if p.Offset != off {
			t.Fatalf("cut %d: append resumed at %v, want offset %d", cut, p, off)
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		l2 := openT(t, fsys, Config{SegmentSize: testSegSize})
		if got := replayAll(t, l2); len(got) != 11 || string(got[10].rec) != "next" {
			t.Fatalf("cut %d: after reopen %d records", cut, len(got))
		}
	}
}

func TestRecoverGarbageTail(t *testing.T) {
	t.Parallel()
	fsys := vfs.NewMem()
	ps := fill(t, fsys, Config{SegmentSize: testSegSize}, 5)
	end := ps[4].Offset + int64(frameSize(len(rec(4))))
	// Junk of an incomplete write, a little beyond the end, with zeros between.
	patch(t, fsys, 1, end+24, []byte("junk that is not a frame at all......"))
	l := openT(t, fsys, Config{SegmentSize: testSegSize})
	if got := replayAll(t, l); len(got) != 5 {
		t.Fatalf("replayed %d, want 5", len(got))
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if b := readByte(t, fsys, 1, end+24); b != 0 {
		t.Fatalf("torn tail not zeroed: %q", b)
	}
}

func TestRecoverUnfinishedGroup(t *testing.T) {
	t.Parallel()
	fsys := vfs.NewMem()
	ps := fill(t, fsys, Config{SegmentSize: testSegSize}, 3)
	off := ps[2].Offset + int64(frameSize(len(rec(2))))
	// The first record of a two-record group, whose second never made it.
	fr := make([]byte, frameSize(3))
	putFrameBody(fr, []byte("one"), typeMore)
	sealFrame(fr, 1, off)
	patch(t, fsys, 1, off, fr)
	l := openT(t, fsys, Config{SegmentSize: testSegSize})
	if got := replayAll(t, l); len(got) != 3 {
		t.Fatalf("replayed %d, want 3 (half a group must not be delivered)", len(got))
	}
	p, err := l.Append(context.Background(), []byte("x"))
	if err != nil || p.Offset != off {
		t.Fatalf("append at %v, %v; want offset %d", p, err, off)
	}
}

func TestCorruptionInMiddleOfLastSegment(t *testing.T) {
	t.Parallel()
	for _, where := range []string{"payload", "header", "length"} {
		fsys := vfs.NewMem()
		ps := fill(t, fsys, Config{SegmentSize: testSegSize}, 10)
		bad := ps[4]
		switch where {
		case "payload":
			flipByte(t, fsys, 1, bad.Offset+frameHeaderSize+2)
		case "header":
			flipByte(t, fsys, 1, bad.Offset)
		case "length":
			flipByte(t, fsys, 1, bad.Offset+4)
		}
		_, err := Open(fsys, testDir, Config{SegmentSize: testSegSize})
		wantCorruption(t, err, 1, bad.Offset)
	}
}

func TestCorruptLastRecordIsTornTail(t *testing.T) {
	t.Parallel()
	// Damage to the very last record cannot be told from a torn write: it is
	// discarded. This is the documented limit of tail recovery.
	fsys := vfs.NewMem()
	ps := fill(t, fsys, Config{SegmentSize: testSegSize}, 4)
	flipByte(t, fsys, 1, ps[3].Offset+frameHeaderSize)
	l := openT(t, fsys, Config{SegmentSize: testSegSize})
	if got := replayAll(t, l); len(got) != 3 {
		t.Fatalf("replayed %d, want 3", len(got))
	}
}

func TestValidRecordAfterZeroGapIsCorruption(t *testing.T) {
	t.Parallel()
	fsys := vfs.NewMem()
	ps := fill(t, fsys, Config{SegmentSize: testSegSize}, 3)
	end := ps[2].Offset + int64(frameSize(len(rec(2))))
	off := end + 64
	fr := make([]byte, frameSize(3))
	putFrameBody(fr, []byte("far"), typeLast)
	sealFrame(fr, 1, off)
	patch(t, fsys, 1, off, fr)
	_, err := Open(fsys, testDir, Config{SegmentSize: testSegSize})
	wantCorruption(t, err, 1, end)
}

func TestCorruptionInOlderSegment(t *testing.T) {
	t.Parallel()
	fsys := vfs.NewMem()
	cfg := Config{SegmentSize: 4096}
	ps := fill(t, fsys, cfg, 300)
	if ps[len(ps)-1].Segment < 3 {
		t.Fatalf("want several segments, last position %v", ps[len(ps)-1])
	}
	bad := ps[len(ps)-1] // find the last record of segment 1
	for _, p := range ps {
		if p.Segment == 1 {
			bad = p
		}
	}
	flipByte(t, fsys, 1, bad.Offset+frameHeaderSize+1)
	l := openT(t, fsys, cfg) // Open checks headers and the last segment only
	var n int
	err := l.Replay(func(Pos, []byte) error { n++; return nil })
	wantCorruption(t, err, 1, bad.Offset)
	for _, p := range ps {
		if p.Compare(bad) >= 0 {
			break
		}
		n--
	}
	if n != 0 {
		t.Fatalf("replay delivered %d records past the damage or skipped some before it", n)
	}
	if _, err := l.ReadAt(bad); !IsCorruption(err) {
		t.Fatalf("ReadAt of damaged record: %v", err)
	}
}

func TestOlderSegmentShorterThanRecorded(t *testing.T) {
	t.Parallel()
	fsys := vfs.NewMem()
	cfg := Config{SegmentSize: 4096}
	ps := fill(t, fsys, cfg, 300)
	_ = ps
	f, err := fsys.OpenReadWrite(segmentPath(testDir, 1))
	if err != nil {
		t.Fatal(err)
	}
	_ = f.Truncate(1000)
	_ = f.Close()
	l := openT(t, fsys, cfg)
	err = l.Replay(func(Pos, []byte) error { return nil })
	wantCorruption(t, err, 1, 1000)
}

func TestMissingSegment(t *testing.T) {
	t.Parallel()
	fsys := vfs.NewMem()
	cfg := Config{SegmentSize: 4096}
	fill(t, fsys, cfg, 300)
	if err := fsys.Remove(segmentPath(testDir, 2)); err != nil {
		t.Fatal(err)
	}
	_, err := Open(fsys, testDir, cfg)
	wantCorruption(t, err, 2, 0)
}

func TestBadSegmentHeaders(t *testing.T) {
	t.Parallel()
	cfg := Config{SegmentSize: 4096}
	// An older segment with a damaged header.
	fsys := vfs.NewMem()
	fill(t, fsys, cfg, 300)
	flipByte(t, fsys, 2, 3)
	_, err := Open(fsys, testDir, cfg)
	wantCorruption(t, err, 2, 0)

	// The last segment with a damaged header and data after it.
	fsys = vfs.NewMem()
	ps := fill(t, fsys, cfg, 300)
	lastSeg := ps[len(ps)-1].Segment
	flipByte(t, fsys, lastSeg, 20)
	_, err = Open(fsys, testDir, cfg)
	wantCorruption(t, err, lastSeg, 0)
}

func TestIncompleteNewSegmentIsDropped(t *testing.T) {
	t.Parallel()
	cfg := Config{SegmentSize: 4096}
	fsys := vfs.NewMem()
	ps := fill(t, fsys, cfg, 20)
	// A crash while creating segment 2: the name is there, the bytes are not.
	f, err := fsys.Create(segmentPath(testDir, 2))
	if err != nil {
		t.Fatal(err)
	}
	_ = f.Preallocate(0, 4096)
	_ = f.Sync()
	_ = f.Close()
	l := openT(t, fsys, cfg)
	if got := l.Segments(); len(got) != 1 {
		t.Fatalf("Segments = %v", got)
	}
	if got := replayAll(t, l); len(got) != 20 {
		t.Fatalf("replayed %d", len(got))
	}
	p, err := l.Append(context.Background(), []byte("more"))
	if err != nil || p.Segment != 1 || p.Compare(ps[19]) <= 0 {
		t.Fatalf("append after dropping the empty segment: %v %v", p, err)
	}

	// Same with no earlier segment at all.
	fsys = vfs.NewMem()
	_ = fsys.MkdirAll(testDir, 0o755)
	f, _ = fsys.Create(segmentPath(testDir, 1))
	_ = f.Close()
	l2 := openT(t, fsys, cfg)
	if _, err := l2.Append(context.Background(), []byte("first")); err != nil {
		t.Fatal(err)
	}
}

func TestReadAtDetectsDamage(t *testing.T) {
	t.Parallel()
	fsys := vfs.NewMem()
	l := openT(t, fsys, Config{SegmentSize: testSegSize})
	big := bytes.Repeat([]byte("z"), 3000) // larger than ReadAt's first read
	p, err := l.Append(context.Background(), big)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := l.ReadAt(p); err != nil || !bytes.Equal(got, big) {
		t.Fatalf("ReadAt big: %v", err)
	}
	flipByte(t, fsys, 1, p.Offset+frameHeaderSize+2500)
	if _, err := l.ReadAt(p); !IsCorruption(err) {
		t.Fatalf("ReadAt of damaged record: %v", err)
	}
	if _, err := l.ReadAt(Pos{Segment: 1, Offset: p.Offset + 8}); !IsCorruption(err) {
		t.Fatalf("ReadAt inside a record: %v", err)
	}
}

func TestTornHeaderOfNewSegmentIsDropped(t *testing.T) {
	t.Parallel()
	// A directory sync by someone else made the new segment's name durable
	// before its header was: the header is torn, the body is empty.
	cfg := Config{SegmentSize: 4096}
	fsys := vfs.NewMem()
	fill(t, fsys, cfg, 20)
	hdr := encodeSegmentHeader(segmentHeader{id: 2, prevEnd: 1000})
	f, err := fsys.Create(segmentPath(testDir, 2))
	if err != nil {
		t.Fatal(err)
	}
	_, _ = f.WriteAt(hdr[:13], 0)
	_ = f.Sync()
	_ = f.Close()
	l := openT(t, fsys, cfg)
	if got := replayAll(t, l); len(got) != 20 {
		t.Fatalf("replayed %d", len(got))
	}
	if got := l.Segments(); len(got) != 1 {
		t.Fatalf("Segments = %v", got)
	}
}
