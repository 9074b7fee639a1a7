//go:build !linux

package vfs

import "os"

// datasync falls back to fsync where fdatasync is not available.
func datasync(f *os.File) error { return f.Sync() }

// preallocate extends the file with Truncate (sparse) where fallocate is not
// available.
func preallocate(f *os.File, off, length int64) error { return truncateUp(f, off+length) }
