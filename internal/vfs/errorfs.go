package vfs

import (
	"fmt"
	"io/fs"
	"sync"
	"sync/atomic"
	"syscall"
)

// Op names an operation that ErrorFS can fail.
type Op uint8

// Operations seen by an Injector.
const (
	OpCreate Op = iota + 1
	OpOpen
	OpRemove
	OpRename
	OpList
	OpMkdir
	OpStat
	OpSyncDir
	OpWrite
	OpRead
	OpSync
	OpPreallocate
	OpTruncate
	OpClose
)

var opNames = [...]string{
	OpCreate: "create", OpOpen: "open", OpRemove: "remove", OpRename: "rename",
	OpList: "list", OpMkdir: "mkdir", OpStat: "stat", OpSyncDir: "syncdir",
	OpWrite: "write", OpRead: "read", OpSync: "sync", OpPreallocate: "preallocate",
	OpTruncate: "truncate", OpClose: "close",
}

// String returns the operation's name.
func (o Op) String() string {
	if int(o) < len(opNames) && opNames[o] != "" {
		return opNames[o]
	}
	return fmt.Sprintf("Op(%d)", uint8(o))
}

// Injector decides whether an operation fails. It returns nil to let the
// operation through, or the error to return instead (the operation then has
// no effect). It is called concurrently.
type Injector interface {
	MaybeError(op Op, path string) error
}

// InjectorFunc adapts a function to Injector.
type InjectorFunc func(op Op, path string) error

// MaybeError implements Injector.
func (f InjectorFunc) MaybeError(op Op, path string) error { return f(op, path) }

// Errors worth injecting. They wrap the syscall errno, so errors.Is(err,
// syscall.ENOSPC) holds for what the wrapped FS returns.
var (
	// ErrInjectedNoSpace is "no space left on device".
	ErrInjectedNoSpace = fmt.Errorf("vfs: injected: %w", syscall.ENOSPC)
	// ErrInjectedIO is "input/output error".
	ErrInjectedIO = fmt.Errorf("vfs: injected: %w", syscall.EIO)
)

// FailAfter returns an Injector that lets the first n operations in ops
// through and fails every later one with err. Operations not in ops always
// pass. With no ops listed it counts every operation.
func FailAfter(n int64, err error, ops ...Op) Injector {
	var count atomic.Int64
	return InjectorFunc(func(op Op, _ string) error {
		if !matchOp(op, ops) {
			return nil
		}
		if count.Add(1) > n {
			return err
		}
		return nil
	})
}

// FailOn returns an Injector that fails every operation in ops with err.
func FailOn(err error, ops ...Op) Injector {
	return InjectorFunc(func(op Op, _ string) error {
		if matchOp(op, ops) {
			return err
		}
		return nil
	})
}

func matchOp(op Op, ops []Op) bool {
	if len(ops) == 0 {
		return true
	}
	for _, o := range ops {
		if o == op {
			return true
		}
	}
	return false
}

// ErrorFS wraps an FS and consults an Injector before every operation. With no
// injector set it passes everything through.
type ErrorFS struct {
	inner FS
	mu    sync.RWMutex
	inj   Injector
	// partialWrites makes a failing write apply the first half of its bytes
	// before it returns the error, as a real short write would.
	partialWrites atomic.Bool
	injected      atomic.Int64
}

var _ FS = (*ErrorFS)(nil)

// NewErrorFS wraps inner. No errors are injected until SetInjector.
func NewErrorFS(inner FS) *ErrorFS { return &ErrorFS{inner: inner} }

// SetInjector installs in; nil switches injection off ("space returns").
func (e *ErrorFS) SetInjector(in Injector) {
	e.mu.Lock()
	e.inj = in
	e.mu.Unlock()
}

// SetPartialWrites chooses whether a failed Write or WriteAt first writes
// half of its bytes (a short write) instead of nothing.
func (e *ErrorFS) SetPartialWrites(on bool) { e.partialWrites.Store(on) }

// Injected returns how many errors have been injected so far.
func (e *ErrorFS) Injected() int64 { return e.injected.Load() }

func (e *ErrorFS) check(op Op, path string) error {
	e.mu.RLock()
	in := e.inj
	e.mu.RUnlock()
	if in == nil {
		return nil
	}
	if err := in.MaybeError(op, path); err != nil {
		e.injected.Add(1)
		return fmt.Errorf("vfs: %s %s: %w", op, path, err)
	}
	return nil
}

// Create implements FS.
func (e *ErrorFS) Create(name string) (File, error) {
	if err := e.check(OpCreate, name); err != nil {
		return nil, err
	}
	f, err := e.inner.Create(name)
	if err != nil {
		return nil, err
	}
	return &errorFile{fs: e, f: f, name: name}, nil
}

// OpenReadWrite implements FS.
func (e *ErrorFS) OpenReadWrite(name string) (File, error) {
	if err := e.check(OpOpen, name); err != nil {
		return nil, err
	}
	f, err := e.inner.OpenReadWrite(name)
	if err != nil {
		return nil, err
	}
	return &errorFile{fs: e, f: f, name: name}, nil
}

// Open implements FS.
func (e *ErrorFS) Open(name string) (File, error) {
	if err := e.check(OpOpen, name); err != nil {
		return nil, err
	}
	f, err := e.inner.Open(name)
	if err != nil {
		return nil, err
	}
	return &errorFile{fs: e, f: f, name: name}, nil
}

// Remove implements FS.
func (e *ErrorFS) Remove(name string) error {
	if err := e.check(OpRemove, name); err != nil {
		return err
	}
	return e.inner.Remove(name)
}

// Rename implements FS.
func (e *ErrorFS) Rename(oldname, newname string) error {
	if err := e.check(OpRename, oldname); err != nil {
		return err
	}
	return e.inner.Rename(oldname, newname)
}

// List implements FS.
func (e *ErrorFS) List(dir string) ([]string, error) {
	if err := e.check(OpList, dir); err != nil {
		return nil, err
	}
	return e.inner.List(dir)
}

// MkdirAll implements FS.
func (e *ErrorFS) MkdirAll(dir string, perm fs.FileMode) error {
	if err := e.check(OpMkdir, dir); err != nil {
		return err
	}
	return e.inner.MkdirAll(dir, perm)
}

// Stat implements FS.
func (e *ErrorFS) Stat(name string) (fs.FileInfo, error) {
	if err := e.check(OpStat, name); err != nil {
		return nil, err
	}
	return e.inner.Stat(name)
}

// SyncDir implements FS.
func (e *ErrorFS) SyncDir(dir string) error {
	if err := e.check(OpSyncDir, dir); err != nil {
		return err
	}
	return e.inner.SyncDir(dir)
}

type errorFile struct {
	fs   *ErrorFS
	f    File
	name string
}

func (f *errorFile) Write(p []byte) (int, error) {
	if err := f.fs.check(OpWrite, f.name); err != nil {
		if f.fs.partialWrites.Load() {
			n, _ := f.f.Write(p[:len(p)/2])
			return n, err
		}
		return 0, err
	}
	return f.f.Write(p)
}

func (f *errorFile) WriteAt(p []byte, off int64) (int, error) {
	if err := f.fs.check(OpWrite, f.name); err != nil {
		if f.fs.partialWrites.Load() {
			n, _ := f.f.WriteAt(p[:len(p)/2], off)
			return n, err
		}
		return 0, err
	}
	return f.f.WriteAt(p, off)
}

func (f *errorFile) ReadAt(p []byte, off int64) (int, error) {
	if err := f.fs.check(OpRead, f.name); err != nil {
		return 0, err
	}
	return f.f.ReadAt(p, off)
}

func (f *errorFile) Close() error {
	if err := f.fs.check(OpClose, f.name); err != nil {
		// Release the inner file anyway so that nothing leaks.
		_ = f.f.Close()
		return err
	}
	return f.f.Close()
}

func (f *errorFile) Sync() error {
	if err := f.fs.check(OpSync, f.name); err != nil {
		return err
	}
	return f.f.Sync()
}

func (f *errorFile) Preallocate(off, length int64) error {
	if err := f.fs.check(OpPreallocate, f.name); err != nil {
		return err
	}
	return f.f.Preallocate(off, length)
}

func (f *errorFile) Truncate(size int64) error {
	if err := f.fs.check(OpTruncate, f.name); err != nil {
		return err
	}
	return f.f.Truncate(size)
}

func (f *errorFile) Stat() (fs.FileInfo, error) {
	if err := f.fs.check(OpStat, f.name); err != nil {
		return nil, err
	}
	return f.f.Stat()
}
