package vfs

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"math/rand/v2"
	"path/filepath"
	"syscall"
	"testing"
)

// exerciseFS runs the behaviour every FS must share.
func exerciseFS(t *testing.T, fsys FS, root string) {
	t.Helper()
	dir := filepath.Join(root, "a", "b")
	if err := fsys.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	name := filepath.Join(dir, "f")
	f, err := fsys.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("hello ")); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("world")); err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("W"), 6); err != nil {
		t.Fatal(err)
	}
	if err := f.Preallocate(0, 100); err != nil {
		t.Fatal(err)
	}
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() != 100 {
		t.Fatalf("size after preallocate = %d, want 100", fi.Size())
	}
	buf := make([]byte, 16)
	n, err := f.ReadAt(buf, 0)
	if err != nil || n != 16 {
		t.Fatalf("ReadAt = %d, %v", n, err)
	}
	if want := append([]byte("hello World"), 0, 0, 0, 0, 0); !bytes.Equal(buf, want) {
		t.Fatalf("ReadAt = %q, want %q", buf, want)
	}
	n, err = f.ReadAt(buf, 90)
	if n != 10 || !errors.Is(err, io.EOF) {
		t.Fatalf("ReadAt at end = %d, %v; want 10, EOF", n, err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(5); err != nil {
		t.Fatal(err)
	}
	if fi, _ := fsys.Stat(name); fi.Size() != 5 {
		t.Fatalf("size after truncate = %d", fi.Size())
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := fsys.SyncDir(dir); err != nil {
		t.Fatal(err)
	}
	if err := fsys.Rename(name, filepath.Join(dir, "g")); err != nil {
		t.Fatal(err)
	}
	names, err := fsys.List(dir)
	if err != nil || len(names) != 1 || names[0] != "g" {
		t.Fatalf("List = %v, %v", names, err)
	}
	r, err := fsys.Open(filepath.Join(dir, "g"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Write([]byte("x")); err == nil {
		t.Fatal("write to read-only file succeeded")
	}
	_ = r.Close()
	if _, err := fsys.Open(name); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Open of renamed file: %v, want ErrNotExist", err)
	}
	if err := fsys.Remove(filepath.Join(dir, "g")); err != nil {
		t.Fatal(err)
	}
	if _, err := fsys.Stat(filepath.Join(dir, "g")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Stat after remove: %v", err)
	}
}

func TestOSFS(t *testing.T) {
	t.Parallel()
	exerciseFS(t, OS{}, t.TempDir())
}

func TestMemFS(t *testing.T) {
	t.Parallel()
	exerciseFS(t, NewMem(), "/data")
}

func TestErrorFSPassThrough(t *testing.T) {
	t.Parallel()
	exerciseFS(t, NewErrorFS(NewMem()), "/data")
}

func readAll(t *testing.T, fsys FS, name string) []byte {
	t.Helper()
	f, err := fsys.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, fi.Size())
	if _, err := f.ReadAt(b, 0); err != nil && !errors.Is(err, io.EOF) {
		t.Fatal(err)
	}
	return b
}

func TestCrashCloneKeepsOnlySynced(t *testing.T) {
	t.Parallel()
	m := NewMem()
	if err := m.MkdirAll("/d", 0o755); err != nil {
		t.Fatal(err)
	}
	f, _ := m.Create("/d/synced")
	_, _ = f.Write([]byte("durable"))
	_ = f.Sync()
	_, _ = f.Write([]byte(" lost"))
	g, _ := m.Create("/d/unsynced-entry")
	_, _ = g.Write([]byte("data"))
	_ = g.Sync()

	// Directory not synced yet: neither file survives.
	c := m.CrashClone(CrashOptions{})
	if names, _ := c.List("/d"); len(names) != 0 {
		t.Fatalf("entries survived without SyncDir: %v", names)
	}

	_ = m.SyncDir("/d")
	_ = m.Remove("/d/unsynced-entry") // not synced: it comes back
	c = m.CrashClone(CrashOptions{})
	if got := readAll(t, c, "/d/synced"); string(got) != "durable" {
		t.Fatalf("synced file = %q, want %q", got, "durable")
	}
	if got := readAll(t, c, "/d/unsynced-entry"); string(got) != "data" {
		t.Fatalf("removed-but-unsynced file = %q", got)
	}
	// The original is untouched and still sees everything.
	if got := readAll(t, m, "/d/synced"); string(got) != "durable lost" {
		t.Fatalf("original = %q", got)
	}
	// The clone is a working filesystem of its own.
	h, err := c.OpenReadWrite("/d/synced")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.WriteAt([]byte("D"), 0); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, m, "/d/synced"); string(got) != "durable lost" {
		t.Fatalf("write to clone changed the original: %q", got)
	}
}

func TestCrashCloneTornPrefix(t *testing.T) {
	t.Parallel()
	m := NewMem()
	_ = m.MkdirAll("/d", 0o755)
	f, _ := m.Create("/d/f")
	_ = m.SyncDir("/d")
	_, _ = f.Write(bytes.Repeat([]byte{'a'}, 10))
	_ = f.Sync()
	var unsynced []byte
	for i := 0; i < 5; i++ {
		chunk := bytes.Repeat([]byte{byte('b' + i)}, 7)
		_, _ = f.Write(chunk)
		unsynced = append(unsynced, chunk...)
	}
	full := append(bytes.Repeat([]byte{'a'}, 10), unsynced...)
	seenLens := map[int]bool{}
	for seed := uint64(0); seed < 200; seed++ {
		c := m.CrashClone(CrashOptions{Rand: rand.New(rand.NewPCG(seed, 1)), TornWrites: true})
		got := readAll(t, c, "/d/f")
		if len(got) < 10 || !bytes.Equal(got, full[:len(got)]) {
			t.Fatalf("seed %d: clone %q is not a prefix of %q that keeps the synced part", seed, got, full)
		}
		seenLens[len(got)] = true
	}
	if len(seenLens) < 10 {
		t.Fatalf("torn prefixes not varied enough: %v", seenLens)
	}

	// Flips stay inside the unsynced bytes.
	for seed := uint64(0); seed < 50; seed++ {
		c := m.CrashClone(CrashOptions{Rand: rand.New(rand.NewPCG(seed, 2)), TornWrites: true, FlipBits: 3})
		got := readAll(t, c, "/d/f")
		if !bytes.Equal(got[:10], full[:10]) {
			t.Fatalf("seed %d: FlipBits damaged synced bytes: %q", seed, got)
		}
	}
	c := m.CrashClone(CrashOptions{Rand: rand.New(rand.NewPCG(7, 7)), FlipDurableBits: 1})
	if got := readAll(t, c, "/d/f"); bytes.Equal(got, full[:10]) {
		t.Fatal("FlipDurableBits changed nothing")
	}
}

func TestCrashCloneDeterministic(t *testing.T) {
	t.Parallel()
	m := NewMem()
	_ = m.MkdirAll("/d", 0o755)
	for _, name := range []string{"/d/x", "/d/y", "/d/z"} {
		f, _ := m.Create(name)
		_, _ = f.Write([]byte("0123456789"))
		_ = f.Sync()
		_, _ = f.Write([]byte("abcdefghij"))
	}
	_ = m.SyncDir("/d")
	clone := func() [][]byte {
		c := m.CrashClone(CrashOptions{Rand: rand.New(rand.NewPCG(42, 42)), TornWrites: true, FlipBits: 1})
		return [][]byte{readAll(t, c, "/d/x"), readAll(t, c, "/d/y"), readAll(t, c, "/d/z")}
	}
	a, b := clone(), clone()
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			t.Fatalf("same seed gave different clones: %q vs %q", a[i], b[i])
		}
	}
}

func TestErrorFSInjection(t *testing.T) {
	t.Parallel()
	e := NewErrorFS(NewMem())
	_ = e.MkdirAll("/d", 0o755)
	f, err := e.Create("/d/f")
	if err != nil {
		t.Fatal(err)
	}
	e.SetInjector(FailAfter(2, ErrInjectedNoSpace, OpWrite))
	for i := 0; i < 2; i++ {
		if _, err := f.Write([]byte("ok")); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
	}
	if err := f.Sync(); err != nil {
		t.Fatalf("sync is not a counted op: %v", err)
	}
	_, err = f.Write([]byte("no"))
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("third write: %v, want ENOSPC", err)
	}
	e.SetInjector(FailOn(ErrInjectedIO, OpSync))
	if err := f.Sync(); !errors.Is(err, syscall.EIO) {
		t.Fatalf("sync: %v, want EIO", err)
	}
	if e.Injected() != 2 {
		t.Fatalf("Injected = %d", e.Injected())
	}
	e.SetPartialWrites(true)
	e.SetInjector(FailOn(ErrInjectedNoSpace, OpWrite))
	if n, err := f.WriteAt([]byte("WXYZ"), 0); n != 2 || err == nil {
		t.Fatalf("partial write = %d, %v", n, err)
	}
	e.SetInjector(nil)
	if _, err := f.Write([]byte("!")); err != nil {
		t.Fatalf("write after clearing injector: %v", err)
	}
	if got := readAll(t, e, "/d/f"); string(got) != "WXok!" {
		t.Fatalf("contents = %q", got)
	}
}
