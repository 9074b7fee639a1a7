package wal

import (
	"math/bits"
	"sync/atomic"
	"time"
)

// histBuckets is the number of sync latency buckets. Bucket i counts syncs
// that took less than 2^i µs (and at least 2^(i-1) µs); the last bucket also
// holds everything slower.
const histBuckets = 24

// Histogram is a coarse latency histogram with power-of-two microsecond
// buckets.
type Histogram struct {
	Count   uint64
	Sum     time.Duration
	Max     time.Duration
	Buckets [histBuckets]uint64
}

// Mean returns the mean latency, or 0 with no samples.
func (h Histogram) Mean() time.Duration {
	if h.Count == 0 {
		return 0
	}
	return h.Sum / time.Duration(h.Count)
}

// Quantile returns an upper bound for the q-quantile (0 < q ≤ 1): the upper
// edge of the bucket holding it, capped at Max.
func (h Histogram) Quantile(q float64) time.Duration {
	if h.Count == 0 {
		return 0
	}
	rank := uint64(q*float64(h.Count) + 0.5)
	if rank < 1 {
		rank = 1
	}
	var seen uint64
	for i, c := range h.Buckets {
		seen += c
		if seen >= rank {
			d := time.Duration(1<<i) * time.Microsecond
			if d > h.Max {
				d = h.Max
			}
			return d
		}
	}
	return h.Max
}

// Stats are cumulative counters of a Log since Open.
type Stats struct {
	Appends     uint64 // append calls that succeeded
	Records     uint64 // records in those appends
	Bytes       uint64 // bytes written, frames and padding included
	ZeroBytes   uint64 // zeros written ahead of the appends (Config.ZeroAhead)
	Writes      uint64 // write calls of appended data to the segment files
	Syncs       uint64 // fdatasyncs on the write path, rotation included (not the background preparation of segments)
	Rotations   uint64 // segments started
	WriteErrors uint64 // failed writes
	SyncErrors  uint64 // failed fdatasyncs
	SyncLatency Histogram
}

// SyncsPerRecord returns Syncs / Records, the fsync cost of one record.
func (s Stats) SyncsPerRecord() float64 {
	if s.Records == 0 {
		return 0
	}
	return float64(s.Syncs) / float64(s.Records)
}

// counters is the live form of Stats, updated by the writer goroutine and
// read by anyone.
type counters struct {
	appends, records, bytes, writes, syncs, rotations atomic.Uint64
	zeroBytes                                         atomic.Uint64
	writeErrors, syncErrors                           atomic.Uint64
	syncCount, syncSum, syncMax                       atomic.Uint64
	buckets                                           [histBuckets]atomic.Uint64
}

func (c *counters) observeSync(d time.Duration) {
	c.syncCount.Add(1)
	if d < 0 {
		d = 0
	}
	c.syncSum.Add(uint64(d))
	for {
		old := c.syncMax.Load()
		if uint64(d) <= old || c.syncMax.CompareAndSwap(old, uint64(d)) {
			break
		}
	}
	us := uint64(d / time.Microsecond)
	i := bits.Len64(us) // us < 2^i
	if i >= histBuckets {
		i = histBuckets - 1
	}
	c.buckets[i].Add(1)
}

func (c *counters) snapshot() Stats {
	s := Stats{
		Appends:     c.appends.Load(),
		Records:     c.records.Load(),
		Bytes:       c.bytes.Load(),
		ZeroBytes:   c.zeroBytes.Load(),
		Writes:      c.writes.Load(),
		Syncs:       c.syncs.Load(),
		Rotations:   c.rotations.Load(),
		WriteErrors: c.writeErrors.Load(),
		SyncErrors:  c.syncErrors.Load(),
	}
	s.SyncLatency.Count = c.syncCount.Load()
	s.SyncLatency.Sum = time.Duration(c.syncSum.Load())
	s.SyncLatency.Max = time.Duration(c.syncMax.Load())
	for i := range c.buckets {
		s.SyncLatency.Buckets[i] = c.buckets[i].Load()
	}
	return s
}
