// Command sqbench drives an Azure Queue Storage endpoint (Baton, Azurite or
// Azure itself) with the official Go SDK (azqueue) and reports closed-loop
// throughput and per-operation latency percentiles.
//
// Workloads, each with a warm-up that is excluded from the figures and run
// in the order given (default peek, put, get, so that peek sees a store that
// holds only its own queue):
//
//	peek  Peek Messages (32 at a time) on a queue of --peek-preload messages.
//	put   Put Message of --size bytes from --concurrency goroutines.
//	get   Get Messages (32 at a time) followed by Delete Message of each
//	      (one worker deletes its batch one by one), from the queue the put
//	      workload filled (topped up to --get-preload messages, unmeasured);
//	      the window ends early if the queue drains.
//
// Each call counts when it completes inside the measured window; calls in
// flight at its edges are not counted. Percentiles are nearest-rank on the
// sorted latencies of the calls that succeeded.
//
// Usage:
//
//	sqbench --url http://127.0.0.1:10001/devstoreaccount1 --label baton --json baton.json
//	sqbench --compare baton.json azurite.json   # one table, ratios to the last file
//
// Only the standard library and public SDK packages are imported, so the same
// binary measures any Storage Queue endpoint.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"
)

// devKey is the well-known key of Azurite's devstoreaccount1.
const devKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

// OpStats is one operation's figures inside a workload's measured window.
type OpStats struct {
	Op        string  `json:"op"`
	Calls     int     `json:"calls"`
	Errors    int     `json:"errors"`
	CallsPerS float64 `json:"callsPerSec"`
	P50Ms     float64 `json:"p50Ms"`
	P99Ms     float64 `json:"p99Ms"`
	MaxMs     float64 `json:"maxMs"`
}

// Result is one workload's outcome.
type Result struct {
	Workload    string    `json:"workload"`
	Seconds     float64   `json:"seconds"` // measured window
	Msgs        int       `json:"msgs"`    // messages put, received+deleted, or peeked
	MsgsPerS    float64   `json:"msgsPerSec"`
	Ops         []OpStats `json:"ops"`
	ServerCores float64   `json:"serverCores,omitempty"` // CPU of --pid during the window, in cores
	ClientCores float64   `json:"clientCores"`           // CPU of this process during the window
	// OtherCores is the CPU the rest of the machine used during the window
	// (all busy time from /proc/stat minus server and client): what else
	// competed for the cores.
	OtherCores   float64 `json:"otherCores,omitempty"`
	QueueAtStart int     `json:"queueAtStart,omitempty"`
	Note         string  `json:"note,omitempty"`
}

// Report is what --json writes and --compare reads.
type Report struct {
	Label       string    `json:"label"`
	Durability  string    `json:"durability,omitempty"`
	Version     string    `json:"version,omitempty"`
	URL         string    `json:"url"`
	Concurrency int       `json:"concurrency"`
	Size        int       `json:"size"`
	Warmup      string    `json:"warmup"`
	Duration    string    `json:"duration"`
	Started     time.Time `json:"started"`
	Results     []Result  `json:"results"`
}

type options struct {
	url, account, key          string
	duration, warmup           time.Duration
	concurrency, size          int
	workloads                  string
	getPreload, peekPreload    int
	pid                        int
	label, durability, version string
	jsonPath                   string
}

func main() {
	var o options
	var compare bool
	flag.StringVar(&o.url, "url", "http://127.0.0.1:10001/devstoreaccount1", "queue service `URL` (path-style, with the account)")
	flag.StringVar(&o.account, "account", "devstoreaccount1", "storage account `name`")
	flag.StringVar(&o.key, "key", devKey, "account `key` (base64)")
	flag.DurationVar(&o.duration, "duration", 12*time.Second, "measured time per workload")
	flag.DurationVar(&o.warmup, "warmup", 2*time.Second, "warm-up per workload, excluded from the figures")
	flag.IntVar(&o.concurrency, "concurrency", 16, "closed-loop workers")
	flag.IntVar(&o.size, "size", 1024, "message size in `bytes`")
	flag.StringVar(&o.workloads, "workloads", "peek,put,get", "comma-separated `list` of put, get, peek, run in that order")
	flag.IntVar(&o.getPreload, "get-preload", 10000, "minimum messages queued before the get workload")
	flag.IntVar(&o.peekPreload, "peek-preload", 1000, "messages queued before the peek workload")
	flag.IntVar(&o.pid, "pid", 0, "server process `id` whose CPU use is reported (Linux /proc)")
	flag.StringVar(&o.label, "label", "", "target name for the report")
	flag.StringVar(&o.durability, "durability", "", "target durability, recorded in the report")
	flag.StringVar(&o.version, "version", "", "target version, recorded in the report")
	flag.StringVar(&o.jsonPath, "json", "", "write the report as JSON to `file` (- for stdout)")
	flag.BoolVar(&compare, "compare", false, "print one table from the JSON reports named as arguments; ratios are to the last")
	flag.Parse()

	if compare {
		if err := printCompare(os.Stdout, flag.Args()); err != nil {
			fmt.Fprintln(os.Stderr, "sqbench:", err)
			os.Exit(1)
		}
		return
	}
	if o.label == "" {
		o.label = o.url
	}
	rep, err := run(context.Background(), o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "sqbench:", err)
		os.Exit(1)
	}
	printReport(os.Stdout, rep)
	if o.jsonPath != "" {
		b, _ := json.MarshalIndent(rep, "", "  ")
		b = append(b, '\n')
		if o.jsonPath == "-" {
			os.Stdout.Write(b)
		} else if err := os.WriteFile(o.jsonPath, b, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "sqbench:", err)
			os.Exit(1)
		}
	}
}

func newService(o options) (*azqueue.ServiceClient, error) {
	cred, err := azqueue.NewSharedKeyCredential(o.account, o.key)
	if err != nil {
		return nil, err
	}
	// One keep-alive connection per worker (azcore's default keeps 10 per
	// host, which would make 16 workers reconnect), no retries: an error is
	// counted, not hidden behind a back-off.
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        4 * o.concurrency,
		MaxIdleConnsPerHost: 4 * o.concurrency,
		IdleConnTimeout:     90 * time.Second,
	}
	opts := &azqueue.ClientOptions{ClientOptions: azcore.ClientOptions{
		Retry:     policy.RetryOptions{MaxRetries: -1, TryTimeout: 30 * time.Second},
		Transport: &http.Client{Transport: tr},
	}}
	return azqueue.NewServiceClientWithSharedKeyCredential(o.url, cred, opts)
}

func run(ctx context.Context, o options) (*Report, error) {
	svc, err := newService(o)
	if err != nil {
		return nil, err
	}
	rep := &Report{Label: o.label, Durability: o.durability, Version: o.version, URL: o.url,
		Concurrency: o.concurrency, Size: o.size, Warmup: o.warmup.String(), Duration: o.duration.String(), Started: time.Now().UTC()}
	body := makeBody(o.size)
	suffix := strconv.FormatInt(time.Now().UnixNano()%1e9, 36)
	work := svc.NewQueueClient("sqbench-work-" + suffix)
	peekQ := svc.NewQueueClient("sqbench-peek-" + suffix)
	for _, q := range []*azqueue.QueueClient{work, peekQ} {
		if _, err := q.Create(ctx, nil); err != nil {
			return nil, fmt.Errorf("create queue: %w", err)
		}
	}
	for _, w := range strings.Split(o.workloads, ",") {
		var r Result
		switch strings.TrimSpace(w) {
		case "put":
			r = measure(o, "put", []string{"put"}, func(_ int, rec *recorder) bool {
				t := time.Now()
				_, err := work.EnqueueMessage(ctx, body, nil)
				rec.op("put", time.Since(t), err)
				if err == nil {
					rec.add(1)
				}
				return false
			})
		case "get":
			n, err := fill(ctx, work, body, o.getPreload, o.concurrency)
			if err != nil {
				return nil, fmt.Errorf("preload for get: %w", err)
			}
			var drained atomic.Bool
			r = measure(o, "get", []string{"get32", "delete"}, func(_ int, rec *recorder) bool {
				t := time.Now()
				resp, err := work.DequeueMessages(ctx, &azqueue.DequeueMessagesOptions{NumberOfMessages: to.Ptr(int32(32)), VisibilityTimeout: to.Ptr(int32(300))})
				rec.op("get32", time.Since(t), err)
				if err != nil {
					return false
				}
				if len(resp.Messages) == 0 {
					drained.Store(true)
					return true
				}
				for _, m := range resp.Messages {
					if rec.over() {
						break
					}
					t := time.Now()
					_, err := work.DeleteMessage(ctx, *m.MessageID, *m.PopReceipt, nil)
					rec.op("delete", time.Since(t), err)
					if err == nil {
						rec.add(1)
					}
				}
				return false
			})
			r.QueueAtStart = n
			if drained.Load() && r.Seconds > 0 {
				r.Note = "queue drained before the end; window shortened"
			}
		case "peek":
			n, err := fill(ctx, peekQ, body, o.peekPreload, o.concurrency)
			if err != nil {
				return nil, fmt.Errorf("preload for peek: %w", err)
			}
			r = measure(o, "peek", []string{"peek32"}, func(_ int, rec *recorder) bool {
				t := time.Now()
				resp, err := peekQ.PeekMessages(ctx, &azqueue.PeekMessagesOptions{NumberOfMessages: to.Ptr(int32(32))})
				rec.op("peek32", time.Since(t), err)
				if err == nil {
					rec.add(len(resp.Messages))
				}
				return false
			})
			r.QueueAtStart = n
		default:
			return nil, fmt.Errorf("unknown workload %q", w)
		}
		rep.Results = append(rep.Results, r)
		fmt.Fprintf(os.Stderr, "sqbench: %s %s: %.0f msgs/s\n", o.label, r.Workload, r.MsgsPerS)
	}
	for _, q := range []*azqueue.QueueClient{work, peekQ} {
		q.Delete(ctx, nil) //nolint:errcheck // best effort clean-up
	}
	return rep, nil
}

// fill tops q up to at least n messages and returns the count it reached.
func fill(ctx context.Context, q *azqueue.QueueClient, body string, n, conc int) (int, error) {
	p, err := q.GetProperties(ctx, nil)
	if err != nil {
		return 0, err
	}
	have := int(*p.ApproximateMessagesCount)
	if have >= n {
		return have, nil
	}
	var left atomic.Int64
	left.Store(int64(n - have))
	var wg sync.WaitGroup
	var first atomic.Pointer[error]
	for range conc {
		wg.Go(func() {
			for left.Add(-1) >= 0 {
				if _, err := q.EnqueueMessage(ctx, body, nil); err != nil {
					first.CompareAndSwap(nil, &err)
					return
				}
			}
		})
	}
	wg.Wait()
	if e := first.Load(); e != nil {
		return 0, *e
	}
	return n, nil
}

func makeBody(n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[(i*7+i/62)%len(alphabet)]
	}
	return string(b)
}

// recorder is one worker's samples. A call counts when it completes inside
// the measured window [from, to): calls in flight at either edge belong to
// the warm-up or are dropped, so a slow call cannot stretch the window.
type recorder struct {
	from, to time.Time
	dry      *atomic.Int64 // the window also ends when the workload runs dry
	msgs     int
	lat      map[string][]time.Duration
	errs     map[string]int
	lastErr  error
}

func (r *recorder) in(t time.Time) bool {
	if d := r.dry.Load(); d != 0 && t.UnixNano() >= d {
		return false
	}
	return !t.Before(r.from) && t.Before(r.to)
}

// over reports whether the window has closed (no point starting a call).
func (r *recorder) over() bool { return r.dry.Load() != 0 || !time.Now().Before(r.to) }

// add counts n messages moved by a call that has just completed.
func (r *recorder) add(n int) {
	if r.in(time.Now()) {
		r.msgs += n
	}
}

// op records a call that has just completed after d.
func (r *recorder) op(name string, d time.Duration, err error) {
	if !r.in(time.Now()) {
		return
	}
	if err != nil {
		r.errs[name]++
		r.lastErr = err
		return
	}
	r.lat[name] = append(r.lat[name], d)
}

// measure runs fn in a closed loop on o.concurrency workers for o.warmup +
// o.duration; fn returns true when the workload has run dry (a drained
// queue), which ends the window there.
func measure(o options, name string, ops []string, fn func(w int, rec *recorder) bool) Result {
	mStart := time.Now().Add(o.warmup)
	end := mStart.Add(o.duration)
	var dry atomic.Int64 // unix nanos of the first "ran dry", 0 if never
	recs := make([]*recorder, o.concurrency)
	var wg sync.WaitGroup
	var cpu0Server, cpu0Client, cpu1Server, cpu1Client, cpu0Machine, cpu1Machine time.Duration
	t0 := time.AfterFunc(o.warmup, func() { cpu0Server, cpu0Client, cpu0Machine = procCPU(o.pid), selfCPU(), machineCPU() })
	done := make(chan struct{})
	t1 := time.AfterFunc(o.warmup+o.duration, func() {
		cpu1Server, cpu1Client, cpu1Machine = procCPU(o.pid), selfCPU(), machineCPU()
		close(done)
	})
	for w := range o.concurrency {
		rec := &recorder{from: mStart, to: end, dry: &dry, lat: map[string][]time.Duration{}, errs: map[string]int{}}
		recs[w] = rec
		wg.Go(func() {
			for !rec.over() {
				if fn(w, rec) {
					dry.CompareAndSwap(0, time.Now().UnixNano())
				}
			}
		})
	}
	wg.Wait()
	winEnd := end
	if d := dry.Load(); d != 0 && time.Unix(0, d).Before(end) {
		winEnd = time.Unix(0, d)
		if t1.Stop() {
			cpu1Server, cpu1Client, cpu1Machine = procCPU(o.pid), selfCPU(), machineCPU()
		} else {
			<-done
		}
	} else {
		<-done
	}
	t0.Stop()

	res := Result{Workload: name}
	lat := map[string][]time.Duration{}
	errs := map[string]int{}
	var lastErr error
	for _, r := range recs {
		res.Msgs += r.msgs
		for k, v := range r.lat {
			lat[k] = append(lat[k], v...)
		}
		for k, v := range r.errs {
			errs[k] += v
		}
		if r.lastErr != nil {
			lastErr = r.lastErr
		}
	}
	secs := winEnd.Sub(mStart).Seconds()
	if secs <= 0 {
		res.Note = "ran dry during the warm-up; nothing measured"
		return res
	}
	res.Seconds = secs
	res.MsgsPerS = float64(res.Msgs) / secs
	if o.pid > 0 && cpu0Server > 0 {
		res.ServerCores = (cpu1Server - cpu0Server).Seconds() / secs
	}
	if cpu0Client > 0 {
		res.ClientCores = (cpu1Client - cpu0Client).Seconds() / secs
	}
	if cpu0Machine > 0 {
		res.OtherCores = max(0, (cpu1Machine-cpu0Machine).Seconds()/secs-res.ServerCores-res.ClientCores)
	}
	// The workload's own calls in order (even with no call completed in the
	// window), then anything else.
	names := append([]string(nil), ops...)
	for _, m := range []map[string]int{lenMap(lat), errs} {
		for k := range m {
			if !slices.Contains(names, k) {
				names = append(names, k)
			}
		}
	}
	for _, k := range names {
		s := lat[k]
		sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
		st := OpStats{Op: k, Calls: len(s), Errors: errs[k], CallsPerS: float64(len(s)) / secs}
		if len(s) > 0 {
			st.P50Ms, st.P99Ms, st.MaxMs = ms(pct(s, 0.50)), ms(pct(s, 0.99)), ms(s[len(s)-1])
		}
		res.Ops = append(res.Ops, st)
	}
	if lastErr != nil {
		var re *azcore.ResponseError
		if errors.As(lastErr, &re) {
			res.Note = strings.TrimSpace(res.Note + fmt.Sprintf(" last error: %d %s", re.StatusCode, re.ErrorCode))
		} else {
			res.Note = strings.TrimSpace(res.Note + " last error: " + lastErr.Error())
		}
	}
	return res
}

func lenMap(m map[string][]time.Duration) map[string]int {
	out := make(map[string]int, len(m))
	for k, v := range m {
		out[k] = len(v)
	}
	return out
}

// pct is the nearest-rank percentile of a sorted slice.
func pct(s []time.Duration, p float64) time.Duration {
	i := int(float64(len(s))*p+0.999999999) - 1
	if i < 0 {
		i = 0
	}
	if i >= len(s) {
		i = len(s) - 1
	}
	return s[i]
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

// procCPU is the user+system CPU time of a process from /proc (0 if unknown).
// Linux reports it in clock ticks; USER_HZ is 100 on every mainstream kernel.
func procCPU(pid int) time.Duration {
	if pid <= 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	// After the command name: state is field 3, utime 14, stime 15.
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+st) * 10 * time.Millisecond
}

// machineCPU is the busy time of all CPUs (user, nice, system, irq,
// softirq, steal) from /proc/stat (0 if unknown).
func machineCPU() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0
	}
	var busy int64
	for _, i := range []int{1, 2, 3, 6, 7, 8} { // user nice system irq softirq steal
		v, _ := strconv.ParseInt(f[i], 10, 64)
		busy += v
	}
	return time.Duration(busy) * 10 * time.Millisecond
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func printReport(w io.Writer, r *Report) {
	fmt.Fprintf(w, "\n%s  (%s)  concurrency %d, %d-byte messages, warm-up %s, measured %s per workload\n\n",
		r.Label, r.URL, r.Concurrency, r.Size, r.Warmup, r.Duration)
	fmt.Fprintln(w, "| Workload | msgs/s | Op | calls/s | p50 | p99 | max | errors | server CPU | client CPU | other CPU |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|")
	for _, res := range r.Results {
		for i, op := range res.Ops {
			wl, rate, srv, cli, oth := "", "", "", "", ""
			if i == 0 {
				wl, rate, srv, cli, oth = res.Workload, fmt.Sprintf("%.0f", res.MsgsPerS), cores(res.ServerCores), cores(res.ClientCores), cores(res.OtherCores)
			}
			fmt.Fprintf(w, "| %s | %s | %s | %.0f | %s | %s | %s | %d | %s | %s | %s |\n",
				wl, rate, op.Op, op.CallsPerS, fmtMs(op.P50Ms), fmtMs(op.P99Ms), fmtMs(op.MaxMs), op.Errors, srv, cli, oth)
		}
		if res.Note != "" {
			fmt.Fprintf(w, "|  | %s (%.1f s measured) |  |  |  |  |  |  |  |  |  |\n", res.Note, res.Seconds)
		}
	}
}

func cores(c float64) string {
	if c == 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f", c)
}

func fmtMs(v float64) string {
	switch {
	case v == 0:
		return "—"
	case v < 10:
		return fmt.Sprintf("%.2f ms", v)
	default:
		return fmt.Sprintf("%.1f ms", v)
	}
}

// printCompare prints every report's rows in one table, workload by
// workload, with each target's msgs/s as a multiple of the last report's.
func printCompare(w io.Writer, files []string) error {
	if len(files) == 0 {
		return errors.New("--compare needs JSON report files")
	}
	var reps []*Report
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		r := new(Report)
		if err := json.Unmarshal(b, r); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		reps = append(reps, r)
	}
	base := reps[len(reps)-1]
	baseRate := map[string]float64{}
	for _, res := range base.Results {
		baseRate[res.Workload] = res.MsgsPerS
	}
	r0 := reps[0]
	fmt.Fprintf(w, "\nazqueue v1.0.0 client, concurrency %d, %d-byte messages, warm-up %s, measured %s per workload; ratios are msgs/s ÷ %s\n\n",
		r0.Concurrency, r0.Size, r0.Warmup, r0.Duration, base.Label)
	fmt.Fprintf(w, "| Workload | Target | Durability | queue depth at start | msgs/s | × %s | Op | calls/s | p50 | p99 | server CPU (cores) | client CPU | other CPU | errors |\n", base.Label)
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
	order := []string{"put", "get", "peek"}
	seen := map[string]bool{"put": true, "get": true, "peek": true}
	for _, r := range reps {
		for _, res := range r.Results {
			if !seen[res.Workload] {
				seen[res.Workload] = true
				order = append(order, res.Workload)
			}
		}
	}
	for _, wl := range order {
		for _, r := range reps {
			for _, res := range r.Results {
				if res.Workload != wl {
					continue
				}
				ratio := "—"
				if b := baseRate[wl]; b > 0 {
					ratio = fmt.Sprintf("%.1f×", res.MsgsPerS/b)
				}
				for i, op := range res.Ops {
					a, b, c, q, d, e, g, cl, ot := "", "", "", "", "", "", "", "", ""
					if i == 0 {
						a, b, c, d, e, g = wl, r.Label, r.Durability, fmt.Sprintf("%.0f", res.MsgsPerS), ratio, cores(res.ServerCores)
						cl, ot = cores(res.ClientCores), cores(res.OtherCores)
						if res.QueueAtStart > 0 {
							q = strconv.Itoa(res.QueueAtStart)
						}
					}
					fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %.0f | %s | %s | %s | %s | %s | %d |\n",
						a, b, c, q, d, e, op.Op, op.CallsPerS, fmtMs(op.P50Ms), fmtMs(op.P99Ms), g, cl, ot, op.Errors)
				}
				if res.Note != "" {
					fmt.Fprintf(w, "|  | %s |  |  | %s (%.1f s measured) |  |  |  |  |  |  |  |  |  |\n", r.Label, res.Note, res.Seconds)
				}
			}
		}
	}
	fmt.Fprintln(w)
	for _, r := range reps {
		if r.Version != "" {
			fmt.Fprintf(w, "%s: %s\n", r.Label, r.Version)
		}
	}
	return nil
}
