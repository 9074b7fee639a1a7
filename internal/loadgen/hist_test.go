package loadgen

import (
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"
)

// within reports whether got is in [want, want·(1+1/64)], the histogram's
// promise (it reports a bucket's highest value).
func within(got, want time.Duration) bool {
	return got >= want && float64(got) <= float64(want)*(1+1.0/halfCount)+1
}

func TestHistogramBuckets(t *testing.T) {
	prev := -1
	for _, v := range []int64{0, 1, 127, 128, 129, 255, 256, 1000, 1 << 20, 1<<40 + 12345, 1<<62 + 1} {
		i := bucketOf(v)
		if i < prev {
			t.Errorf("bucketOf(%d) = %d, below the previous value's %d", v, i, prev)
		}
		prev = i
		if hi := bucketHigh(i); hi < v || float64(hi) > float64(v)*(1+1.0/halfCount)+1 {
			t.Errorf("bucketHigh(bucketOf(%d)) = %d", v, hi)
		}
		if i > 0 && bucketHigh(i-1) >= v {
			t.Errorf("value %d also fits the bucket below (high %d)", v, bucketHigh(i-1))
		}
	}
	if i := bucketOf(1<<63 - 1); i >= histLength {
		t.Errorf("bucketOf(max int64) = %d, histogram has %d buckets", i, histLength)
	}
}

func TestHistogramQuantilesKnownData(t *testing.T) {
	var h Histogram
	// 1..10000 µs, each once, in a shuffled order.
	vals := make([]time.Duration, 10000)
	for i := range vals {
		vals[i] = time.Duration(i+1) * time.Microsecond
	}
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(vals), func(i, j int) { vals[i], vals[j] = vals[j], vals[i] })
	for _, v := range vals {
		h.Record(v)
	}
	for _, tc := range []struct {
		q    float64
		want time.Duration
	}{
		{0.50, 5000 * time.Microsecond},
		{0.90, 9000 * time.Microsecond},
		{0.99, 9900 * time.Microsecond},
		{0.999, 9990 * time.Microsecond},
		{1, 10000 * time.Microsecond},
		{0, 1 * time.Microsecond},
	} {
		if got := h.Quantile(tc.q); !within(got, tc.want) {
			t.Errorf("Quantile(%v) = %v, want %v (+1.6%%)", tc.q, got, tc.want)
		}
	}
	if h.Count() != 10000 || h.Max() != 10*time.Millisecond || h.Min() != time.Microsecond {
		t.Errorf("count %d max %v min %v", h.Count(), h.Max(), h.Min())
	}
	if want := 5000500 * time.Nanosecond; h.Mean() != want {
		t.Errorf("Mean = %v, want %v", h.Mean(), want)
	}
	s := h.Summary()
	if !within(s.P99, 9900*time.Microsecond) || !within(s.P999, 9990*time.Microsecond) || s.Max != 10*time.Millisecond {
		t.Errorf("Summary = %+v", s)
	}
}

func TestHistogramSkewedAndExactSmall(t *testing.T) {
	var h Histogram
	// 990 fast values and 10 slow ones: p99 is the last fast one.
	for range 990 {
		h.Record(100 * time.Nanosecond)
	}
	for range 10 {
		h.Record(50 * time.Millisecond)
	}
	if got := h.Quantile(0.99); got != 100*time.Nanosecond {
		t.Errorf("p99 = %v, want exactly 100ns (values < 128 ns are exact)", got)
	}
	if got := h.Quantile(0.991); !within(got, 50*time.Millisecond) {
		t.Errorf("p99.1 = %v, want 50ms", got)
	}
	if got := h.Quantile(1); got != 50*time.Millisecond {
		t.Errorf("max quantile = %v, want the exact max", got)
	}
	h.Record(-5)
	if h.Min() != 0 {
		t.Errorf("a negative duration should count as 0, min = %v", h.Min())
	}
}

func TestHistogramAgainstSortedRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var h Histogram
	vals := make([]time.Duration, 50000)
	for i := range vals {
		vals[i] = time.Duration(r.ExpFloat64() * float64(300*time.Microsecond))
		h.Record(vals[i])
	}
	slices.Sort(vals)
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999} {
		want := vals[int(float64(len(vals))*q+0.999999)-1]
		if got := h.Quantile(q); !within(got, want) {
			t.Errorf("Quantile(%v) = %v, exact %v", q, got, want)
		}
	}
}

func TestHistogramConcurrentMergeReset(t *testing.T) {
	var h, total Histogram
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 1000 {
				h.Record(time.Duration(g*1000+i) * time.Microsecond)
			}
		})
	}
	wg.Wait()
	if h.Count() != 4000 || h.Max() != 3999*time.Microsecond || h.Min() != 0 {
		t.Fatalf("count %d max %v min %v", h.Count(), h.Max(), h.Min())
	}
	total.Record(time.Hour)
	total.Merge(&h)
	if total.Count() != 4001 || total.Max() != time.Hour || total.Min() != 0 {
		t.Errorf("merged count %d max %v min %v", total.Count(), total.Max(), total.Min())
	}
	if got := total.Quantile(0.5); !within(got, 2000*time.Microsecond) && !within(got, 1999*time.Microsecond) {
		t.Errorf("merged p50 = %v", got)
	}
	h.Reset()
	if h.Count() != 0 || h.Quantile(0.5) != 0 || h.Max() != 0 || h.Mean() != 0 {
		t.Errorf("after Reset: count %d p50 %v max %v", h.Count(), h.Quantile(0.5), h.Max())
	}
}
