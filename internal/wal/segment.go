package wal

// Creating segments. A new segment file is prepared ahead of need by a
// short-lived goroutine (create under a temporary name, preallocate, sync),
// so that rotation only has to write the header, sync it, rename the file
// into place and sync the directory. The writer owns the preparation in
// flight (writerState.prep); Close waits for it and removes the file.

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/batonmq/baton/internal/vfs"
)

// prepSuffix ends the name of a prepared, not yet used segment file. The log
// removes such files at Open; they hold no data.
const prepSuffix = ".prep"

func prepPath(dir string, id SegmentID) string {
	return filepath.Join(dir, id.String()+prepSuffix)
}

// preparation is a segment file being made ready in the background.
type preparation struct {
	id   SegmentID
	done chan prepared // receives exactly one value
}

type prepared struct {
	f   vfs.File
	err error
}

// startPreparing begins preparing the file of segment id, unless a
// preparation is already in flight. Writer goroutine only.
func (l *Log) startPreparing(id SegmentID) {
	if l.w.prep != nil {
		return
	}
	p := &preparation{id: id, done: make(chan prepared, 1)}
	l.w.prep = p
	l.prepWG.Add(1)
	go func() {
		defer l.prepWG.Done()
		f, err := l.prepareFile(id)
		p.done <- prepared{f, err}
	}()
}

// takePrepared returns the prepared file of segment id, waiting for it if
// needed, or nil if there is none (or it failed: the caller then prepares
// synchronously and gets a fresh error if the cause persists). A preparation
// for another id is discarded. Writer goroutine only.
func (l *Log) takePrepared(id SegmentID) vfs.File {
	p := l.w.prep
	if p == nil {
		return nil
	}
	l.w.prep = nil
	r := <-p.done
	if r.err != nil {
		return nil
	}
	if p.id != id {
		_ = r.f.Close()
		_ = l.fs.Remove(prepPath(l.dir, p.id))
		return nil
	}
	return r.f
}

// dropPrepared waits for a preparation in flight and removes its file.
func (l *Log) dropPrepared() {
	p := l.w.prep
	if p == nil {
		return
	}
	l.w.prep = nil
	if r := <-p.done; r.err == nil {
		_ = r.f.Close()
		_ = l.fs.Remove(prepPath(l.dir, p.id))
	}
}

// prepareFile creates the temporary file of segment id preallocated to the
// segment size, and syncs it so that rotation's sync has only the header to
// write.
func (l *Log) prepareFile(id SegmentID) (vfs.File, error) {
	name := prepPath(l.dir, id)
	f, err := l.fs.Create(name)
	if err != nil {
		return nil, fmt.Errorf("wal: create segment %s: %w", id, err)
	}
	err = f.Preallocate(0, l.cfg.SegmentSize)
	if err == nil && l.cfg.ZeroFill {
		err = zeroFill(f, l.cfg.SegmentSize)
	}
	if err == nil {
		err = f.Sync()
	}
	if err != nil {
		_ = f.Close()
		_ = l.fs.Remove(name)
		return nil, fmt.Errorf("wal: preallocate segment %s: %w", id, err)
	}
	return f, nil
}

// createSegment makes segment id exist durably, with a header that records
// prevEnd as the end of segment id-1: it writes the header into a prepared
// file, syncs it, renames the file into place and syncs the directory. On
// error nothing is left behind, as far as the filesystem allows.
func (l *Log) createSegment(id SegmentID, prevEnd int64) (*segment, error) {
	f := l.takePrepared(id)
	if f == nil {
		var err error
		if f, err = l.prepareFile(id); err != nil {
			return nil, err
		}
	}
	tmp, name := prepPath(l.dir, id), segmentPath(l.dir, id)
	fail := func(what string, err error) (*segment, error) {
		_ = f.Close()
		_ = l.fs.Remove(tmp)
		_ = l.fs.Remove(name)
		return nil, fmt.Errorf("wal: %s segment %s: %w", what, id, err)
	}
	if _, err := f.WriteAt(encodeSegmentHeader(segmentHeader{id: id, prevEnd: prevEnd}), 0); err != nil {
		return fail("write header of", err)
	}
	if err := l.syncFile(f); err != nil {
		return fail("sync", err)
	}
	if err := l.fs.Rename(tmp, name); err != nil {
		return fail("name", err)
	}
	if err := l.fs.SyncDir(l.dir); err != nil {
		return fail("sync directory for", err)
	}
	s := &segment{id: id, f: f}
	s.end.Store(segmentHeaderSize)
	return s, nil
}

// removeStalePreparations deletes prepared segment files left by an earlier
// process. They never hold data.
func (l *Log) removeStalePreparations(names []string) error {
	for _, name := range names {
		if strings.HasSuffix(name, prepSuffix) {
			if err := l.fs.Remove(filepath.Join(l.dir, name)); err != nil {
				return fmt.Errorf("wal: remove stale %s: %w", name, err)
			}
		}
	}
	return nil
}

// zeroFill writes zeros over the first size bytes of f.
func zeroFill(f vfs.File, size int64) error {
	zeros := make([]byte, min(size, 1<<20))
	for off := int64(0); off < size; off += int64(len(zeros)) {
		n := min(int64(len(zeros)), size-off)
		if _, err := f.WriteAt(zeros[:n], off); err != nil {
			return err
		}
	}
	return nil
}

// zeroedAtCreation is the zeroed end of a segment just created: all of it
// with ZeroFill, otherwise nothing past the header.
func (l *Log) zeroedAtCreation() int64 {
	if l.cfg.ZeroFill {
		return l.cfg.SegmentSize
	}
	return segmentHeaderSize
}

// zeroAhead writes zeros into the active segment past the appends, in
// chunks of Config.ZeroAhead bytes, once an append would end within half a
// chunk of the zeroed end: blocks that the disk has written once are
// overwritten in place later, and an fdatasync of such blocks has no extent
// conversion to commit to the journal (on ext4, about 100 µs instead of
// 185 µs for a 32 KiB append on this project's disks). The zeros go through
// the page cache and are made durable by the next sync of the appends; they
// change nothing a reader or recovery sees, since the space past the data
// reads as zeros anyway. Writer goroutine only; end is where the appends
// about to be written end.
func (l *Log) zeroAhead(end int64) error {
	chunk := int64(l.cfg.ZeroAhead)
	if chunk <= 0 || end+chunk/2 <= l.w.zeroed || l.w.zeroed >= l.cfg.SegmentSize {
		return nil
	}
	from := max(l.w.zeroed, end)
	to := min(l.cfg.SegmentSize, max(from, end+chunk/2)+chunk)
	to -= to % 4096
	if to <= from {
		to = l.cfg.SegmentSize
	}
	if cap(l.zeros) < int(min(chunk, to-from)) {
		l.zeros = make([]byte, min(chunk, to-from))
	}
	s := l.w.active
	for off := from; off < to; {
		n := min(int64(cap(l.zeros)), to-off)
		if _, err := s.f.WriteAt(l.zeros[:n], off); err != nil {
			l.stat.writeErrors.Add(1)
			return fmt.Errorf("wal: write zeros ahead in segment %s at offset %d: %w", s.id, off, err)
		}
		l.stat.zeroBytes.Add(uint64(n))
		off += n
	}
	l.w.zeroed = to
	return nil
}
