package wal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/batonmq/baton/internal/clock"
	"github.com/batonmq/baton/internal/vfs"
)

const testDir = "/wal"

// openT opens a log on fsys and closes it at cleanup (ignoring ErrClosed).
func openT(t testing.TB, fsys vfs.FS, cfg Config) *Log {
	t.Helper()
	l, err := Open(fsys, testDir, cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := l.Close(); err != nil && !errors.Is(err, ErrClosed) {
			t.Errorf("Close: %v", err)
		}
	})
	return l
}

type posRec struct {
	pos Pos
	rec []byte
}

// replayAll returns every record of l.
func replayAll(t testing.TB, l *Log) []posRec {
	t.Helper()
	out, err := replayErr(l)
	if err != nil {
		t.Fatalf("Replay: %v", err)
	}
	return out
}

func replayErr(l *Log) ([]posRec, error) {
	var out []posRec
	err := l.Replay(func(p Pos, rec []byte) error {
		out = append(out, posRec{p, bytes.Clone(rec)})
		return nil
	})
	return out, err
}

func rec(i int) []byte { return []byte(fmt.Sprintf("record-%06d", i)) }

func TestAppendReadReplay(t *testing.T) {
	t.Parallel()
	fsys := vfs.NewMem()
	l := openT(t, fsys, Config{SegmentSize: 4096})
	ctx := context.Background()
	var want []posRec
	for i := 0; i < 200; i++ {
		p, err := l.Append(ctx, rec(i))
		if err != nil {
			t.Fatal(err)
		}
		if len(want) > 0 && want[len(want)-1].pos.Compare(p) >= 0 {
			t.Fatalf("positions not increasing: %v then %v", want[len(want)-1].pos, p)
		}
		want = append(want, posRec{p, rec(i)})
	}
	if n := len(l.Segments()); n < 2 {
		t.Fatalf("expected rotation with 4 KiB segments, got %d segments", n)
	}
	for _, w := range want {
		got, err := l.ReadAt(w.pos)
		if err != nil || !bytes.Equal(got, w.rec) {
			t.Fatalf("ReadAt(%v) = %q, %v; want %q", w.pos, got, err, w.rec)
		}
	}
	check := func(got []posRec) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("replayed %d records, want %d", len(got), len(want))
		}
		for i := range want {
			if got[i].pos != want[i].pos || !bytes.Equal(got[i].rec, want[i].rec) {
				t.Fatalf("record %d: got %v %q, want %v %q", i, got[i].pos, got[i].rec, want[i].pos, want[i].rec)
			}
		}
	}
	check(replayAll(t, l))
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l2 := openT(t, fsys, Config{SegmentSize: 4096})
	check(replayAll(t, l2))
	p, err := l2.Append(ctx, []byte("after reopen"))
	if err != nil {
		t.Fatal(err)
	}
	if p.Compare(want[len(want)-1].pos) <= 0 {
		t.Fatalf("append after reopen at %v, not after %v", p, want[len(want)-1].pos)
	}
}

func TestAppendBatchPositionsAndGroups(t *testing.T) {
	t.Parallel()
	l := openT(t, vfs.NewMem(), Config{SegmentSize: 4096})
	recs := [][]byte{[]byte("a"), {}, bytes.Repeat([]byte("c"), 100)}
	ps, err := l.AppendBatch(context.Background(), recs)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 3 || ps[0].Offset != segmentHeaderSize || ps[1].Offset != ps[0].Offset+int64(frameSize(1)) {
		t.Fatalf("positions %v", ps)
	}
	for i, p := range ps {
		got, err := l.ReadAt(p)
		if err != nil || !bytes.Equal(got, recs[i]) {
			t.Fatalf("ReadAt(%v) = %q, %v", p, got, err)
		}
	}
	// A group that does not fit in the rest of the segment starts a new one.
	big := make([][]byte, 8)
	for i := range big {
		big[i] = bytes.Repeat([]byte{byte(i)}, 480)
	}
	ps2, err := l.AppendBatch(context.Background(), big)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps2 {
		if p.Segment != ps2[0].Segment {
			t.Fatalf("group split across segments: %v", ps2)
		}
	}
	if ps2[0].Segment == ps[0].Segment {
		t.Fatalf("group of %d bytes should have rotated", 8*frameSize(480))
	}
}

func TestAppendErrors(t *testing.T) {
	t.Parallel()
	l := openT(t, vfs.NewMem(), Config{SegmentSize: 4096})
	ctx := context.Background()
	if _, err := l.Append(ctx); !errors.Is(err, ErrEmpty) {
		t.Fatalf("empty append: %v", err)
	}
	if _, err := l.Append(ctx, make([]byte, 4096)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("huge append: %v", err)
	}
	// The largest record that fits is accepted.
	if _, err := l.Append(ctx, make([]byte, 4096-segmentHeaderSize-frameHeaderSize)); err != nil {
		t.Fatalf("largest record: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := l.Append(cctx, []byte("x")); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled append: %v", err)
	}
	if _, err := l.ReadAt(Pos{Segment: 99, Offset: 40}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("ReadAt missing segment: %v", err)
	}
	if _, err := l.ReadAt(Pos{Segment: 1, Offset: 3}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("ReadAt bad offset: %v", err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(ctx, []byte("x")); !errors.Is(err, ErrClosed) {
		t.Fatalf("append after close: %v", err)
	}
	if err := l.Sync(); !errors.Is(err, ErrClosed) {
		t.Fatalf("sync after close: %v", err)
	}
	if _, err := l.ReadAt(Pos{Segment: 1, Offset: 40}); !errors.Is(err, ErrClosed) {
		t.Fatalf("ReadAt after close: %v", err)
	}
	if err := l.Close(); !errors.Is(err, ErrClosed) {
		t.Fatalf("second close: %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	for _, cfg := range []Config{
		{SegmentSize: 100},
		{SyncMode: SyncMode(7)},
		{SyncInterval: -time.Second},
	} {
		if _, err := Open(vfs.NewMem(), testDir, cfg); err == nil {
			t.Errorf("Open accepted %+v", cfg)
		}
	}
}

func TestRotateAndRemoveSegments(t *testing.T) {
	t.Parallel()
	fsys := vfs.NewMem()
	l := openT(t, fsys, Config{SegmentSize: testSegSize})
	ctx := context.Background()
	var ps []Pos
	for i := 0; i < 5; i++ {
		p, err := l.Append(ctx, rec(i))
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
		if err := l.Rotate(); err != nil {
			t.Fatal(err)
		}
	}
	if got := l.Segments(); len(got) != 6 || got[0] != 1 || got[5] != 6 {
		t.Fatalf("Segments = %v", got)
	}
	n, err := l.RemoveSegmentsBefore(3)
	if err != nil || n != 2 {
		t.Fatalf("RemoveSegmentsBefore(3) = %d, %v", n, err)
	}
	if _, err := l.ReadAt(ps[0]); !errors.Is(err, ErrNotFound) {
		t.Fatalf("ReadAt removed: %v", err)
	}
	if got, err := l.ReadAt(ps[2]); err != nil || !bytes.Equal(got, rec(2)) {
		t.Fatalf("ReadAt kept: %q %v", got, err)
	}
	// The active segment is never removed.
	n, err = l.RemoveSegmentsBefore(100)
	if err != nil || n != 3 {
		t.Fatalf("RemoveSegmentsBefore(100) = %d, %v", n, err)
	}
	if got := l.Segments(); len(got) != 1 || got[0] != 6 {
		t.Fatalf("Segments = %v", got)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l2 := openT(t, fsys, Config{SegmentSize: testSegSize})
	if got := replayAll(t, l2); len(got) != 0 {
		t.Fatalf("replayed %d records from an emptied log", len(got))
	}
	if _, err := l2.Append(ctx, []byte("x")); err != nil {
		t.Fatal(err)
	}
}

func TestSyncIntervalUsesClock(t *testing.T) {
	t.Parallel()
	fake := clock.NewFake(time.Unix(0, 0))
	synced := make(chan error, 16)
	cfg := Config{SegmentSize: testSegSize, SyncMode: SyncInterval, SyncInterval: 50 * time.Millisecond, Clock: fake,
		hooks: &testHooks{afterSync: func(err error) { synced <- err }}}
	fsys := vfs.NewMem()
	l := openT(t, fsys, cfg)
	drain := func() {
		for len(synced) > 0 {
			<-synced
		}
	}
	drain() // syncs made while opening
	base := l.Stats()
	p, err := l.Append(context.Background(), []byte("buffered"))
	if err != nil {
		t.Fatal(err)
	}
	if s := l.Stats(); s.Syncs != base.Syncs || s.Records != 1 {
		t.Fatalf("stats after buffered append: %+v", s)
	}
	// Not synced yet: a crash loses it.
	if got, _ := replayClone(t, fsys); len(got) != 0 {
		t.Fatalf("unsynced record survived a crash: %v", got)
	}
	fake.Advance(50 * time.Millisecond)
	if err := <-synced; err != nil {
		t.Fatal(err)
	}
	got, _ := replayClone(t, fsys)
	if len(got) != 1 || got[0].pos != p {
		t.Fatalf("after the interval sync: %v", got)
	}
	// Nothing to sync: the timer fires without a sync.
	fake.Advance(50 * time.Millisecond)
	if _, err := l.Append(context.Background(), []byte("second")); err != nil {
		t.Fatal(err)
	}
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	if got, _ := replayClone(t, fsys); len(got) != 2 {
		t.Fatalf("after Sync: %d records", len(got))
	}
}

// replayClone crash-clones fsys (synced data only) and replays the log there.
func replayClone(t testing.TB, fsys *vfs.Mem) ([]posRec, error) {
	t.Helper()
	c := fsys.CrashClone(vfs.CrashOptions{})
	l, err := Open(c, testDir, Config{SegmentSize: testSegSize})
	if err != nil {
		return nil, err
	}
	defer l.Close()
	return replayErr(l)
}

func TestSyncNeverAndStats(t *testing.T) {
	t.Parallel()
	fsys := vfs.NewMem()
	l := openT(t, fsys, Config{SegmentSize: testSegSize, SyncMode: SyncNever})
	base := l.Stats().Syncs
	for i := 0; i < 10; i++ {
		if _, err := l.Append(context.Background(), rec(i)); err != nil {
			t.Fatal(err)
		}
	}
	s := l.Stats()
	if s.Syncs != base || s.Appends != 10 || s.Records != 10 || s.Bytes != 10*uint64(frameSize(len(rec(0)))) {
		t.Fatalf("stats %+v", s)
	}
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	if s := l.Stats(); s.Syncs != base+1 || s.SyncLatency.Count != base+1 {
		t.Fatalf("stats after Sync %+v", s)
	}
}

func TestSyncAlwaysStats(t *testing.T) {
	t.Parallel()
	l := openT(t, vfs.NewMem(), Config{SegmentSize: testSegSize})
	base := l.Stats().Syncs
	for i := 0; i < 10; i++ {
		if _, err := l.Append(context.Background(), rec(i)); err != nil {
			t.Fatal(err)
		}
	}
	s := l.Stats()
	if s.Syncs-base != 10 || s.Writes != 10 {
		t.Fatalf("one sequential appender must cost one write and one sync per append: %+v", s)
	}
}

func TestHistogram(t *testing.T) {
	t.Parallel()
	var c counters
	for i := 0; i < 99; i++ {
		c.observeSync(100 * time.Microsecond)
	}
	c.observeSync(10 * time.Millisecond)
	h := c.snapshot().SyncLatency
	if h.Count != 100 || h.Max != 10*time.Millisecond {
		t.Fatalf("%+v", h)
	}
	if q := h.Quantile(0.5); q < 100*time.Microsecond || q > 128*time.Microsecond {
		t.Fatalf("p50 = %v", q)
	}
	if q := h.Quantile(1); q != 10*time.Millisecond {
		t.Fatalf("p100 = %v", q)
	}
	if m := h.Mean(); m != (99*100*time.Microsecond+10*time.Millisecond)/100 {
		t.Fatalf("mean = %v", m)
	}
}

func TestSegmentNames(t *testing.T) {
	t.Parallel()
	if got := segmentName(0x1f); got != "000000000000001f.wal" {
		t.Fatalf("segmentName = %q", got)
	}
	for name, ok := range map[string]bool{
		"000000000000001f.wal": true, "000000000000001F.wal": false, "0000000000000000.wal": false,
		"1f.wal": false, "000000000000001f.tmp": false, "zzzzzzzzzzzzzzzz.wal": false,
	} {
		if _, got := parseSegmentName(name); got != ok {
			t.Errorf("parseSegmentName(%q) ok = %v", name, got)
		}
	}
}

func TestIgnoresForeignFiles(t *testing.T) {
	t.Parallel()
	fsys := vfs.NewMem()
	_ = fsys.MkdirAll(testDir, 0o755)
	f, _ := fsys.Create(testDir + "/LOCK")
	_ = f.Close()
	f, _ = fsys.Create(testDir + "/0000000000000007.prep") // left by a crash
	_ = f.Close()
	l := openT(t, fsys, Config{SegmentSize: testSegSize})
	if got := l.Segments(); len(got) != 1 || got[0] != 1 {
		t.Fatalf("Segments = %v", got)
	}
	if _, err := fsys.Stat(testDir + "/LOCK"); err != nil {
		t.Fatalf("foreign file touched: %v", err)
	}
	if _, err := fsys.Stat(testDir + "/0000000000000007.prep"); err == nil {
		t.Fatal("stale prepared segment not removed")
	}
}

// testSegSize keeps test segments small: the memory FS materialises what
// recovery reads.
const testSegSize = 256 << 10

func TestZeroFill(t *testing.T) {
	t.Parallel()
	fsys := vfs.NewMem()
	l := openT(t, fsys, Config{SegmentSize: 8192, ZeroFill: true})
	if err := l.Rotate(); err != nil {
		t.Fatal(err)
	}
	p, err := l.Append(context.Background(), []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	if p.Segment != 2 {
		t.Fatalf("append at %v", p)
	}
	fi, err := fsys.Stat(segmentPath(testDir, 2))
	if err != nil || fi.Size() != 8192 {
		t.Fatalf("segment 2: %v, %v", fi, err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l2 := openT(t, fsys, Config{SegmentSize: 8192, ZeroFill: true})
	if got := replayAll(t, l2); len(got) != 1 || string(got[0].rec) != "x" {
		t.Fatalf("replayed %v", got)
	}
}
