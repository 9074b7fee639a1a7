// Package vfs is the small filesystem interface that the write-ahead log and
// the file store are written against, so that the same code runs on a real
// disk, on an in-memory filesystem that can simulate a crash, and on a wrapper
// that injects disk errors.
//
// Three implementations are provided:
//
//   - OS works on the real disk. File.Sync is fdatasync(2) on Linux
//     and File.Preallocate is fallocate(2), so that appending into a
//     preallocated file does not change its size and fdatasync has no size
//     metadata to flush.
//   - Mem (NewMem) keeps everything in memory and tracks, per file and per
//     directory, what has been made durable. CrashClone returns the
//     filesystem a machine would find after losing power: file bytes written
//     since the last File.Sync and directory entries changed since the last
//     SyncDir are gone, except for an optional random torn prefix of the
//     unsynced writes, and optional bit flips.
//   - ErrorFS (NewErrorFS) wraps another FS and fails chosen operations with
//     chosen errors (ENOSPC, EIO, ...) until the injector is switched off, so
//     that "disk full" and "space returns" can be tested.
//
// Durability model (the contract the log relies on, and the one Mem
// enforces):
//
//   - Data written to a File is durable only after File.Sync returns nil.
//   - A created, removed or renamed directory entry is durable only after
//     SyncDir of its directory returns nil. Directories made by MkdirAll are
//     durable at once (a simplification: the log creates its directory once).
//   - Preallocate and Truncate change the file size; like writes they are
//     durable after File.Sync.
//
// Paths are slash-separated and are cleaned with path/filepath before use.
package vfs

import (
	"errors"
	"io"
	"io/fs"
)

// FS is the filesystem the log needs. All methods are safe for concurrent use.
type FS interface {
	// Create creates the named file for reading and writing, truncating it if
	// it exists. The new directory entry is durable after SyncDir.
	Create(name string) (File, error)
	// OpenReadWrite opens an existing file for reading and writing.
	OpenReadWrite(name string) (File, error)
	// Open opens an existing file for reading only.
	Open(name string) (File, error)
	// Remove removes the named file. Durable after SyncDir.
	Remove(name string) error
	// Rename renames oldname to newname, replacing newname if it exists.
	// Durable after SyncDir of both directories.
	Rename(oldname, newname string) error
	// List returns the names (not paths) of the entries of dir, sorted.
	List(dir string) ([]string, error)
	// MkdirAll creates dir and any missing parents.
	MkdirAll(dir string, perm fs.FileMode) error
	// Stat describes the named file.
	Stat(name string) (fs.FileInfo, error)
	// SyncDir makes the entries of dir durable (fsync of the directory).
	SyncDir(dir string) error
}

// File is an open file. Write appends at the file's current offset (which
// starts at zero); WriteAt and ReadAt do not move it. A File is safe for
// concurrent use by one writer and many readers.
type File interface {
	io.Writer
	io.WriterAt
	io.ReaderAt
	io.Closer
	// Sync makes the file's data durable. On Linux this is fdatasync(2).
	Sync() error
	// Preallocate reserves disk space for [off, off+length), growing the
	// file size to at least off+length; the new bytes read as zeros.
	Preallocate(off, length int64) error
	// Truncate changes the file size.
	Truncate(size int64) error
	// Stat describes the file.
	Stat() (fs.FileInfo, error)
}

// ErrClosed is returned by operations on a closed File.
var ErrClosed = errors.New("vfs: file already closed")
