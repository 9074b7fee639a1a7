package vfs

import (
	"errors"
	"os"
	"syscall"
)

// datasync is fdatasync(2): it flushes the file's data and only the metadata
// needed to read it back (the size), not timestamps.
func datasync(f *os.File) error {
	for {
		err := syscall.Fdatasync(int(f.Fd()))
		if !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}

// preallocate reserves blocks with fallocate(2) mode 0, which also extends
// the file size. Filesystems without fallocate fall back to Truncate, which
// gives a sparse file of the right size.
func preallocate(f *os.File, off, length int64) error {
	for {
		err := syscall.Fallocate(int(f.Fd()), 0, off, length)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, syscall.EINTR):
			continue
		case errors.Is(err, syscall.EOPNOTSUPP), errors.Is(err, syscall.ENOSYS):
			return truncateUp(f, off+length)
		default:
			return err
		}
	}
}
