package vfs

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
)

// OS is the FS of the operating system. Its zero value is ready to use.
type OS struct{}

var _ FS = OS{}

// Create implements FS.
func (OS) Create(name string) (File, error) {
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("vfs: create: %w", err)
	}
	return &osFile{f: f}, nil
}

// OpenReadWrite implements FS.
func (OS) OpenReadWrite(name string) (File, error) {
	f, err := os.OpenFile(name, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("vfs: open: %w", err)
	}
	return &osFile{f: f}, nil
}

// Open implements FS.
func (OS) Open(name string) (File, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("vfs: open: %w", err)
	}
	return &osFile{f: f}, nil
}

// Remove implements FS.
func (OS) Remove(name string) error {
	if err := os.Remove(name); err != nil {
		return fmt.Errorf("vfs: remove: %w", err)
	}
	return nil
}

// Rename implements FS.
func (OS) Rename(oldname, newname string) error {
	if err := os.Rename(oldname, newname); err != nil {
		return fmt.Errorf("vfs: rename: %w", err)
	}
	return nil
}

// List implements FS.
func (OS) List(dir string) ([]string, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("vfs: list: %w", err)
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return nil, fmt.Errorf("vfs: list %s: %w", dir, err)
	}
	sort.Strings(names)
	return names, nil
}

// MkdirAll implements FS.
func (OS) MkdirAll(dir string, perm fs.FileMode) error {
	if err := os.MkdirAll(dir, perm); err != nil {
		return fmt.Errorf("vfs: mkdir: %w", err)
	}
	return nil
}

// Stat implements FS.
func (OS) Stat(name string) (fs.FileInfo, error) {
	fi, err := os.Stat(name)
	if err != nil {
		return nil, fmt.Errorf("vfs: stat: %w", err)
	}
	return fi, nil
}

// SyncDir implements FS: it opens the directory and fsyncs it.
func (OS) SyncDir(dir string) error {
	f, err := os.Open(filepath.Clean(dir))
	if err != nil {
		return fmt.Errorf("vfs: sync dir: %w", err)
	}
	serr := f.Sync()
	cerr := f.Close()
	if serr != nil {
		return fmt.Errorf("vfs: sync dir %s: %w", dir, serr)
	}
	if cerr != nil {
		return fmt.Errorf("vfs: sync dir %s: %w", dir, cerr)
	}
	return nil
}

type osFile struct {
	f *os.File
}

func (o *osFile) Write(p []byte) (int, error) {
	n, err := o.f.Write(p)
	if err != nil {
		return n, fmt.Errorf("vfs: write: %w", err)
	}
	return n, nil
}

func (o *osFile) WriteAt(p []byte, off int64) (int, error) {
	n, err := o.f.WriteAt(p, off)
	if err != nil {
		return n, fmt.Errorf("vfs: write: %w", err)
	}
	return n, nil
}

// ReadAt returns io.EOF unwrapped, as io.ReaderAt callers expect.
func (o *osFile) ReadAt(p []byte, off int64) (int, error) {
	n, err := o.f.ReadAt(p, off)
	if err != nil && err != io.EOF {
		return n, fmt.Errorf("vfs: read: %w", err)
	}
	return n, err
}

func (o *osFile) Close() error {
	if err := o.f.Close(); err != nil {
		return fmt.Errorf("vfs: close: %w", err)
	}
	return nil
}

func (o *osFile) Sync() error {
	if err := datasync(o.f); err != nil {
		return fmt.Errorf("vfs: sync %s: %w", o.f.Name(), err)
	}
	return nil
}

func (o *osFile) Preallocate(off, length int64) error {
	if err := preallocate(o.f, off, length); err != nil {
		return fmt.Errorf("vfs: preallocate %s: %w", o.f.Name(), err)
	}
	return nil
}

func (o *osFile) Truncate(size int64) error {
	if err := o.f.Truncate(size); err != nil {
		return fmt.Errorf("vfs: truncate: %w", err)
	}
	return nil
}

func (o *osFile) Stat() (fs.FileInfo, error) {
	fi, err := o.f.Stat()
	if err != nil {
		return nil, fmt.Errorf("vfs: stat: %w", err)
	}
	return fi, nil
}
