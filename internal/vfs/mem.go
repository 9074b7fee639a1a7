package vfs

import (
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"path/filepath"
	"sort"
	"sync"
	"time"
)

// Mem is an in-memory FS that remembers what has been made durable, so that a
// test can take a CrashClone: the filesystem as it would be found after a
// power loss at this instant.
//
// Each file keeps its current contents, a durable image (its contents as of
// the last File.Sync) and the ordered list of operations (writes, truncations,
// preallocations) made since then. Each directory keeps its current entries
// and its durable entries (as of the last SyncDir). Directories themselves are
// durable as soon as MkdirAll returns.
//
// One mutex guards the whole filesystem; Mem is meant for tests, not speed.
type Mem struct {
	mu   sync.Mutex
	dirs map[string]*memDir // cleaned path → directory
}

type memDir struct {
	entries map[string]*memNode // current entries
	durable map[string]*memNode // entries as of the last SyncDir
}

type memNode struct {
	cur     memImage
	durable memImage
	pending []memOp // operations since the last Sync, oldest first
}

// memImage is file contents: size bytes, of which data holds the first
// len(data); the rest read as zeros (preallocated or sparse).
type memImage struct {
	data []byte
	size int64
}

type memOpKind uint8

const (
	memWrite memOpKind = iota + 1
	memTruncate
	memPreallocate
)

type memOp struct {
	kind memOpKind
	off  int64  // memWrite: offset; memPreallocate: offset
	data []byte // memWrite: bytes (owned copy)
	size int64  // memTruncate: new size; memPreallocate: length
}

var _ FS = (*Mem)(nil)

// NewMem returns an empty in-memory filesystem with a root directory "/" and
// a current directory ".".
func NewMem() *Mem {
	m := &Mem{dirs: make(map[string]*memDir)}
	m.dirs["/"] = newMemDir()
	m.dirs["."] = newMemDir()
	return m
}

func newMemDir() *memDir {
	return &memDir{entries: make(map[string]*memNode), durable: make(map[string]*memNode)}
}

func (im *memImage) apply(op memOp) {
	switch op.kind {
	case memWrite:
		end := op.off + int64(len(op.data))
		im.grow(end)
		copy(im.data[op.off:end], op.data)
		if end > im.size {
			im.size = end
		}
	case memTruncate:
		if op.size < int64(len(im.data)) {
			im.data = im.data[:op.size]
		}
		im.size = op.size
	case memPreallocate:
		if end := op.off + op.size; end > im.size {
			im.size = end
		}
	}
}

// grow makes len(data) at least n, zero-filling new bytes.
func (im *memImage) grow(n int64) {
	old := int64(len(im.data))
	if n <= old {
		return
	}
	if n <= int64(cap(im.data)) {
		im.data = im.data[:n]
		clear(im.data[old:n])
		return
	}
	c := 2 * int64(cap(im.data))
	if c < n {
		c = n
	}
	nd := make([]byte, n, c)
	copy(nd, im.data)
	im.data = nd
}

func (im *memImage) clone() memImage {
	return memImage{data: append([]byte(nil), im.data...), size: im.size}
}

func (im *memImage) readAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("vfs: read at negative offset %d", off)
	}
	if off >= im.size {
		return 0, io.EOF
	}
	n := int64(len(p))
	if rem := im.size - off; n > rem {
		n = rem
	}
	var c int64
	if off < int64(len(im.data)) {
		c = int64(copy(p[:n], im.data[off:]))
	}
	clear(p[c:n])
	if n < int64(len(p)) {
		return int(n), io.EOF
	}
	return int(n), nil
}

func split(name string) (dir, base string) {
	c := filepath.Clean(name)
	return filepath.Dir(c), filepath.Base(c)
}

// lookupLocked finds the directory of name. REQUIRES: m.mu held.
func (m *Mem) dirLocked(op, name string) (*memDir, string, error) {
	dir, base := split(name)
	d, ok := m.dirs[dir]
	if !ok {
		return nil, "", fmt.Errorf("vfs: %s %s: %w", op, name, fs.ErrNotExist)
	}
	return d, base, nil
}

// Create implements FS.
func (m *Mem) Create(name string) (File, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, base, err := m.dirLocked("create", name)
	if err != nil {
		return nil, err
	}
	if _, isDir := m.dirs[filepath.Clean(name)]; isDir {
		return nil, fmt.Errorf("vfs: create %s: is a directory", name)
	}
	n, ok := d.entries[base]
	if ok {
		op := memOp{kind: memTruncate, size: 0}
		n.cur.apply(op)
		n.pending = append(n.pending, op)
	} else {
		n = &memNode{}
		d.entries[base] = n
	}
	return &memFile{fs: m, node: n, name: name, writable: true}, nil
}

func (m *Mem) open(name string, writable bool) (File, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, base, err := m.dirLocked("open", name)
	if err != nil {
		return nil, err
	}
	n, ok := d.entries[base]
	if !ok {
		return nil, fmt.Errorf("vfs: open %s: %w", name, fs.ErrNotExist)
	}
	return &memFile{fs: m, node: n, name: name, writable: writable}, nil
}

// OpenReadWrite implements FS.
func (m *Mem) OpenReadWrite(name string) (File, error) { return m.open(name, true) }

// Open implements FS.
func (m *Mem) Open(name string) (File, error) { return m.open(name, false) }

// Remove implements FS.
func (m *Mem) Remove(name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, base, err := m.dirLocked("remove", name)
	if err != nil {
		return err
	}
	if _, ok := d.entries[base]; !ok {
		return fmt.Errorf("vfs: remove %s: %w", name, fs.ErrNotExist)
	}
	delete(d.entries, base)
	return nil
}

// Rename implements FS.
func (m *Mem) Rename(oldname, newname string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	od, obase, err := m.dirLocked("rename", oldname)
	if err != nil {
		return err
	}
	nd, nbase, err := m.dirLocked("rename", newname)
	if err != nil {
		return err
	}
	n, ok := od.entries[obase]
	if !ok {
		return fmt.Errorf("vfs: rename %s: %w", oldname, fs.ErrNotExist)
	}
	delete(od.entries, obase)
	nd.entries[nbase] = n
	return nil
}

// List implements FS. It lists files and subdirectories.
func (m *Mem) List(dir string) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := filepath.Clean(dir)
	d, ok := m.dirs[c]
	if !ok {
		return nil, fmt.Errorf("vfs: list %s: %w", dir, fs.ErrNotExist)
	}
	names := make([]string, 0, len(d.entries))
	for name := range d.entries {
		names = append(names, name)
	}
	for p := range m.dirs {
		if p != c && filepath.Dir(p) == c {
			names = append(names, filepath.Base(p))
		}
	}
	sort.Strings(names)
	return names, nil
}

// MkdirAll implements FS. New directories are durable at once.
func (m *Mem) MkdirAll(dir string, _ fs.FileMode) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		if _, ok := m.dirs[d]; !ok {
			pd, base := split(d)
			if pdir, ok := m.dirs[pd]; ok {
				if _, isFile := pdir.entries[base]; isFile {
					return fmt.Errorf("vfs: mkdir %s: %s is a file", dir, d)
				}
			}
			m.dirs[d] = newMemDir()
		}
		if filepath.Dir(d) == d {
			return nil
		}
	}
}

// Stat implements FS.
func (m *Mem) Stat(name string) (fs.FileInfo, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := filepath.Clean(name)
	if _, ok := m.dirs[c]; ok {
		return memInfo{name: filepath.Base(c), dir: true}, nil
	}
	d, base, err := m.dirLocked("stat", name)
	if err != nil {
		return nil, err
	}
	n, ok := d.entries[base]
	if !ok {
		return nil, fmt.Errorf("vfs: stat %s: %w", name, fs.ErrNotExist)
	}
	return memInfo{name: base, size: n.cur.size}, nil
}

// SyncDir implements FS: the current entries of dir become durable.
func (m *Mem) SyncDir(dir string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, ok := m.dirs[filepath.Clean(dir)]
	if !ok {
		return fmt.Errorf("vfs: sync dir %s: %w", dir, fs.ErrNotExist)
	}
	d.durable = make(map[string]*memNode, len(d.entries))
	for k, v := range d.entries {
		d.durable[k] = v
	}
	return nil
}

// CrashOptions control what CrashClone keeps of the data that was not synced.
// The zero value keeps nothing unsynced and flips nothing.
type CrashOptions struct {
	// Rand drives every random choice. It is required when TornWrites is set
	// or a flip count is non-zero.
	Rand *rand.Rand
	// TornWrites keeps, per file, a random number of the operations made
	// since the last Sync, in order, and a random prefix of the next write:
	// a write torn at an arbitrary byte, as a power cut can leave it.
	TornWrites bool
	// FlipBits flips this many random bits, per file, in the unsynced bytes
	// that TornWrites kept (garbage in an incomplete write). Files with no
	// kept unsynced bytes are left alone.
	FlipBits int
	// FlipDurableBits flips this many random bits, per file, anywhere in the
	// file's surviving data (media corruption of synced data).
	FlipDurableBits int
}

// CrashClone returns a new Mem holding what would survive a power loss now:
// each directory holds its durable entries, each file its durable image, plus
// whatever opts asks to keep or damage. The receiver is not changed and stays
// usable; open Files keep referring to it.
func (m *Mem) CrashClone(opts CrashOptions) *Mem {
	m.mu.Lock()
	defer m.mu.Unlock()
	if (opts.TornWrites || opts.FlipBits > 0 || opts.FlipDurableBits > 0) && opts.Rand == nil {
		panic("vfs: CrashClone: CrashOptions.Rand is required")
	}
	c := &Mem{dirs: make(map[string]*memDir, len(m.dirs))}
	cloned := make(map[*memNode]*memNode)
	// Visit directories and names in sorted order so that a seeded Rand
	// gives the same clone every time.
	paths := make([]string, 0, len(m.dirs))
	for p := range m.dirs {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		d := m.dirs[p]
		nd := newMemDir()
		names := make([]string, 0, len(d.durable))
		for name := range d.durable {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			n := d.durable[name]
			cn, ok := cloned[n]
			if !ok {
				cn = crashNode(n, opts)
				cloned[n] = cn
			}
			nd.entries[name] = cn
			nd.durable[name] = cn
		}
		c.dirs[p] = nd
	}
	return c
}

// crashNode builds the surviving image of one file.
func crashNode(n *memNode, opts CrashOptions) *memNode {
	img := n.durable.clone()
	type span struct{ off, end int64 }
	var kept []span
	if opts.TornWrites && len(n.pending) > 0 {
		k := opts.Rand.IntN(len(n.pending) + 1)
		for i := 0; i < k; i++ {
			op := n.pending[i]
			img.apply(op)
			if op.kind == memWrite {
				kept = append(kept, span{op.off, op.off + int64(len(op.data))})
			}
		}
		if k < len(n.pending) && n.pending[k].kind == memWrite && len(n.pending[k].data) > 0 {
			op := n.pending[k]
			cut := opts.Rand.IntN(len(op.data) + 1)
			img.apply(memOp{kind: memWrite, off: op.off, data: op.data[:cut]})
			if cut > 0 {
				kept = append(kept, span{op.off, op.off + int64(cut)})
			}
		}
	}
	var total int64
	for _, s := range kept {
		total += s.end - s.off
	}
	for i := 0; i < opts.FlipBits && total > 0; i++ {
		r := opts.Rand.Int64N(total)
		for _, s := range kept {
			if l := s.end - s.off; r >= l {
				r -= l
				continue
			}
			flip(&img, s.off+r, opts.Rand)
			break
		}
	}
	for i := 0; i < opts.FlipDurableBits && len(img.data) > 0; i++ {
		flip(&img, opts.Rand.Int64N(int64(len(img.data))), opts.Rand)
	}
	return &memNode{cur: img, durable: img.clone()}
}

func flip(img *memImage, off int64, r *rand.Rand) {
	if off < int64(len(img.data)) {
		img.data[off] ^= 1 << r.IntN(8)
	}
}

type memFile struct {
	fs       *Mem
	node     *memNode
	name     string
	writable bool
	closed   bool
	off      int64 // offset for Write
}

func (f *memFile) checkLocked(op string, write bool) error {
	if f.closed {
		return fmt.Errorf("vfs: %s %s: %w", op, f.name, ErrClosed)
	}
	if write && !f.writable {
		return fmt.Errorf("vfs: %s %s: file opened read-only", op, f.name)
	}
	return nil
}

func (f *memFile) Write(p []byte) (int, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	n, err := f.writeAtLocked(p, f.off)
	f.off += int64(n)
	return n, err
}

func (f *memFile) WriteAt(p []byte, off int64) (int, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	return f.writeAtLocked(p, off)
}

func (f *memFile) writeAtLocked(p []byte, off int64) (int, error) {
	if err := f.checkLocked("write", true); err != nil {
		return 0, err
	}
	if off < 0 {
		return 0, fmt.Errorf("vfs: write %s: negative offset", f.name)
	}
	op := memOp{kind: memWrite, off: off, data: append([]byte(nil), p...)}
	f.node.cur.apply(op)
	f.node.pending = append(f.node.pending, op)
	return len(p), nil
}

func (f *memFile) ReadAt(p []byte, off int64) (int, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.checkLocked("read", false); err != nil {
		return 0, err
	}
	return f.node.cur.readAt(p, off)
}

func (f *memFile) Close() error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.checkLocked("close", false); err != nil {
		return err
	}
	f.closed = true
	return nil
}

// Sync makes every operation on the file so far durable.
func (f *memFile) Sync() error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.checkLocked("sync", false); err != nil {
		return err
	}
	for _, op := range f.node.pending {
		f.node.durable.apply(op)
	}
	f.node.pending = nil
	return nil
}

func (f *memFile) Preallocate(off, length int64) error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.checkLocked("preallocate", true); err != nil {
		return err
	}
	op := memOp{kind: memPreallocate, off: off, size: length}
	f.node.cur.apply(op)
	f.node.pending = append(f.node.pending, op)
	return nil
}

func (f *memFile) Truncate(size int64) error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.checkLocked("truncate", true); err != nil {
		return err
	}
	if size < 0 {
		return fmt.Errorf("vfs: truncate %s: negative size", f.name)
	}
	op := memOp{kind: memTruncate, size: size}
	f.node.cur.apply(op)
	f.node.pending = append(f.node.pending, op)
	return nil
}

func (f *memFile) Stat() (fs.FileInfo, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.checkLocked("stat", false); err != nil {
		return nil, err
	}
	_, base := split(f.name)
	return memInfo{name: base, size: f.node.cur.size}, nil
}

type memInfo struct {
	name string
	size int64
	dir  bool
}

func (i memInfo) Name() string { return i.name }
func (i memInfo) Size() int64  { return i.size }
func (i memInfo) Mode() fs.FileMode {
	if i.dir {
		return fs.ModeDir | 0o755
	}
	return 0o644
}
func (i memInfo) ModTime() time.Time { return time.Time{} }
func (i memInfo) IsDir() bool        { return i.dir }
func (i memInfo) Sys() any           { return nil }
