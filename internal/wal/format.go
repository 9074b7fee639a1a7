package wal

// This file holds the on-disk format: segment names, the segment header and
// record frames. docs/format/wal.md describes the same bytes in prose; keep
// the two in step.

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"path/filepath"
	"strconv"
	"strings"
)

const (
	// segmentMagic opens every segment file.
	segmentMagic = "BATONWAL"
	// formatVersion is the version written in segment headers.
	formatVersion = 1
	// segmentHeaderSize is the size of the segment header; the first record
	// starts here.
	segmentHeaderSize = 40
	// frameHeaderSize is the size of a record frame's header.
	frameHeaderSize = 16
	// frameAlign is the alignment of every frame; payloads are zero-padded
	// up to it.
	frameAlign = 8
	// segmentSuffix ends every segment file name.
	segmentSuffix = ".wal"
)

// Record types (byte 8 of a frame header). A group is the set of records
// passed to one append call; it is written as zero or more typeMore frames
// followed by one typeLast frame, all in the same segment. Recovery delivers a
// group whole or not at all.
const (
	typeLast byte = 1 // the last (or only) record of a group
	typeMore byte = 2 // more records of the same group follow
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// SegmentID numbers segments from 1 upward, without gaps.
type SegmentID uint64

// String returns the id as the 16 hex digits used in file names.
func (id SegmentID) String() string { return fmt.Sprintf("%016x", uint64(id)) }

// segmentName returns the file name of segment id.
func segmentName(id SegmentID) string { return id.String() + segmentSuffix }

func segmentPath(dir string, id SegmentID) string { return filepath.Join(dir, segmentName(id)) }

// parseSegmentName returns the id of a segment file name, or false for any
// other name (which the log ignores).
func parseSegmentName(name string) (SegmentID, bool) {
	hex, ok := strings.CutSuffix(name, segmentSuffix)
	if !ok || len(hex) != 16 {
		return 0, false
	}
	v, err := strconv.ParseUint(hex, 16, 64)
	if err != nil || v == 0 || strings.ToLower(hex) != hex {
		return 0, false
	}
	return SegmentID(v), true
}

// segmentHeader is the decoded segment header.
type segmentHeader struct {
	id SegmentID
	// prevEnd is where the valid data of segment id-1 ends: that segment is
	// read up to exactly this offset and anything after it is ignored. Zero
	// for the first segment ever written.
	prevEnd int64
}

// encodeSegmentHeader lays out:
//
//	[0:8]   magic "BATONWAL"
//	[8:12]  version, uint32 little endian
//	[12:16] zero
//	[16:24] segment id, uint64 LE
//	[24:32] prevEnd, uint64 LE
//	[32:36] CRC32C of [0:32], uint32 LE
//	[36:40] zero
func encodeSegmentHeader(h segmentHeader) []byte {
	b := make([]byte, segmentHeaderSize)
	copy(b[0:8], segmentMagic)
	binary.LittleEndian.PutUint32(b[8:12], formatVersion)
	binary.LittleEndian.PutUint64(b[16:24], uint64(h.id))
	binary.LittleEndian.PutUint64(b[24:32], uint64(h.prevEnd))
	binary.LittleEndian.PutUint32(b[32:36], crc32.Checksum(b[0:32], castagnoli))
	return b
}

// decodeSegmentHeader checks b (at least segmentHeaderSize bytes) and
// returns the header or a reason it is invalid.
func decodeSegmentHeader(b []byte) (segmentHeader, string) {
	if len(b) < segmentHeaderSize {
		return segmentHeader{}, "short segment header"
	}
	if string(b[0:8]) != segmentMagic {
		return segmentHeader{}, "bad segment magic"
	}
	if got, want := binary.LittleEndian.Uint32(b[32:36]), crc32.Checksum(b[0:32], castagnoli); got != want {
		return segmentHeader{}, "bad segment header checksum"
	}
	if v := binary.LittleEndian.Uint32(b[8:12]); v != formatVersion {
		return segmentHeader{}, fmt.Sprintf("unsupported format version %d", v)
	}
	h := segmentHeader{
		id:      SegmentID(binary.LittleEndian.Uint64(b[16:24])),
		prevEnd: int64(binary.LittleEndian.Uint64(b[24:32])),
	}
	if h.prevEnd != 0 && (h.prevEnd < segmentHeaderSize || h.prevEnd%frameAlign != 0) {
		return segmentHeader{}, fmt.Sprintf("bad previous segment end %d", h.prevEnd)
	}
	return h, ""
}

// frameSize returns the bytes a record of n payload bytes takes on disk.
func frameSize(n int) int { return frameHeaderSize + alignUp(n) }

func alignUp(n int) int { return (n + frameAlign - 1) &^ (frameAlign - 1) }

// putFrameBody fills a frame's header fields other than the header checksum,
// copies the payload and zeroes the padding. dst must be frameSize(len(rec))
// bytes.
//
//	[0:4]   header CRC (see sealFrame)
//	[4:8]   payload length, uint32 LE
//	[8]     type (typeLast or typeMore)
//	[9:12]  zero
//	[12:16] CRC32C of the payload, uint32 LE
//	[16:]   payload, then zero padding to a multiple of 8
func putFrameBody(dst []byte, rec []byte, typ byte) {
	binary.LittleEndian.PutUint32(dst[4:8], uint32(len(rec)))
	dst[8] = typ
	dst[9], dst[10], dst[11] = 0, 0, 0
	binary.LittleEndian.PutUint32(dst[12:16], crc32.Checksum(rec, castagnoli))
	n := copy(dst[frameHeaderSize:], rec)
	clear(dst[frameHeaderSize+n:])
}

// headerCRC is the checksum of a frame header: CRC32C over the segment id
// and the frame's offset (both uint64 LE) followed by header bytes [4:16].
// Binding the frame to its place means a frame copied, misdirected or left
// over from elsewhere never validates.
func headerCRC(id SegmentID, off int64, hdr []byte) uint32 {
	var b [28]byte
	binary.LittleEndian.PutUint64(b[0:8], uint64(id))
	binary.LittleEndian.PutUint64(b[8:16], uint64(off))
	copy(b[16:28], hdr[4:16])
	return crc32.Checksum(b[:], castagnoli)
}

// sealFrame writes the header checksum of the frame at the start of dst,
// which will be written at offset off of segment id.
func sealFrame(dst []byte, id SegmentID, off int64) {
	binary.LittleEndian.PutUint32(dst[0:4], headerCRC(id, off, dst))
}

// frame is a decoded, valid frame.
type frame struct {
	payload []byte // aliases the input buffer
	typ     byte
	size    int64 // bytes on disk, padding included
}

// Reasons decodeFrame gives. reasonZero is not corruption by itself: it is
// what preallocated space looks like.
const (
	reasonZero         = "zero frame header"
	reasonShortHeader  = "truncated frame header"
	reasonHeaderCRC    = "frame header checksum mismatch"
	reasonType         = "unknown record type"
	reasonReserved     = "non-zero reserved bytes"
	reasonLength       = "record length runs past the end of the segment"
	reasonPayloadCRC   = "payload checksum mismatch"
	reasonBadPadding   = "non-zero padding"
	reasonGroupSplit   = "record group not finished"
	reasonMisplacedEnd = "valid data does not end where the next segment says"
)

// decodeFrame decodes the frame at the start of b, which is the data of
// segment id from offset off to the end of the segment's data. It returns the
// frame, or a reason it is not a valid frame.
func decodeFrame(id SegmentID, b []byte, off int64) (frame, string) {
	if len(b) < frameHeaderSize {
		if isZero(b) {
			return frame{}, reasonZero
		}
		return frame{}, reasonShortHeader
	}
	hdr := b[:frameHeaderSize]
	if isZero(hdr) {
		return frame{}, reasonZero
	}
	if le32(hdr[0:4]) != headerCRC(id, off, hdr) {
		return frame{}, reasonHeaderCRC
	}
	typ := hdr[8]
	if typ != typeLast && typ != typeMore {
		return frame{}, reasonType
	}
	if hdr[9] != 0 || hdr[10] != 0 || hdr[11] != 0 {
		return frame{}, reasonReserved
	}
	n := int64(le32(hdr[4:8]))
	size := int64(frameHeaderSize) + (n+frameAlign-1)&^(frameAlign-1)
	if size > int64(len(b)) {
		return frame{}, reasonLength
	}
	payload := b[frameHeaderSize : frameHeaderSize+n]
	if le32(hdr[12:16]) != crc32.Checksum(payload, castagnoli) {
		return frame{}, reasonPayloadCRC
	}
	if !isZero(b[frameHeaderSize+n : size]) {
		return frame{}, reasonBadPadding
	}
	return frame{payload: payload, typ: typ, size: size}, ""
}

func le32(b []byte) uint32 { return binary.LittleEndian.Uint32(b) }

// isZero reports whether b is all zero bytes.
func isZero(b []byte) bool {
	for len(b) >= 8 {
		if binary.LittleEndian.Uint64(b) != 0 {
			return false
		}
		b = b[8:]
	}
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// lastNonZero returns the offset just past the last non-zero byte of
// buf[from:], as an offset into buf, or from if there is none.
func lastNonZero(buf []byte, from int64) int64 {
	end := int64(len(buf))
	for end > from && end%8 != 0 && buf[end-1] == 0 {
		end--
	}
	for end-8 >= from && binary.LittleEndian.Uint64(buf[end-8:end]) == 0 {
		end -= 8
	}
	for end > from && buf[end-1] == 0 {
		end--
	}
	return end
}

// validFrameAfter reports the offset of the first valid frame at an aligned
// offset strictly after off, or -1 if there is none. All-zero windows are
// skipped cheaply; the header checksum rejects almost every other offset
// before the payload is looked at.
func validFrameAfter(id SegmentID, buf []byte, off int64) int64 {
	start := off + frameAlign
	start -= start % frameAlign
	for o := start; o+frameHeaderSize <= int64(len(buf)); o += frameAlign {
		if binary.LittleEndian.Uint64(buf[o:]) == 0 && binary.LittleEndian.Uint64(buf[o+8:]) == 0 {
			continue
		}
		if _, reason := decodeFrame(id, buf[o:], o); reason == "" {
			return o
		}
	}
	return -1
}
