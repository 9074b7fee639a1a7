package vfs

import "os"

// truncateUp grows f to size; it never shrinks it.
func truncateUp(f *os.File, size int64) error {
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if fi.Size() >= size {
		return nil
	}
	return f.Truncate(size)
}
