package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/batonmq/baton/internal/diskbench"
)

const benchUsage = `usage: baton bench disk  [--dir DIR] [--duration 3s] [--write-size 1024]
       baton bench run   --workload latency|throughput|queues100|fanout|backlog|churn
                         [--target baton|rabbitmq-quorum|rabbitmq-classic|nats|azurite] [--driver amqp|sdk|azqueue] ...
       baton bench table [--base LABEL] RESULT.json...
'baton bench run --help' lists every flag.`

// runBench dispatches `baton bench` subcommands.
func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return &usageError{benchUsage}
	}
	switch args[0] {
	case "disk":
		return runBenchDisk(ctx, args[1:], stdout, stderr)
	case "run":
		return runBenchRun(ctx, args[1:], stdout, stderr)
	case "table":
		return runBenchTable(args[1:], stdout, stderr)
	}
	return &usageError{fmt.Sprintf("unknown benchmark %q (known: disk, run, table)", args[0])}
}

// runBenchDisk measures fdatasync latency on the data directory's disk and
// the group-commit ceiling it implies.
func runBenchDisk(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench disk", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", "baton-data", "`directory` on the disk to measure (the data directory)")
	duration := fs.Duration("duration", 3*time.Second, "how long to measure")
	size := fs.Int("write-size", 1024, "bytes written before each fdatasync")
	overwrite := fs.Bool("overwrite", false, "rewrite already written blocks (cheaper syncs) instead of fresh preallocated extents as the WAL does")
	senders := fs.Int("senders", 64, "then run a closed loop of this many senders over a minimal group commit for the same duration (0: skip)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return &usageError{err.Error()}
	}
	res, err := diskbench.Run(ctx, diskbench.Config{Dir: *dir, Duration: *duration, WriteSize: *size, Overwrite: *overwrite})
	if err != nil {
		return err
	}
	res.Report(stdout)
	if *senders <= 0 {
		return nil
	}
	loop, err := diskbench.ClosedLoop(ctx, diskbench.LoopConfig{Dir: *dir, Duration: *duration, Senders: *senders, MessageSize: *size})
	if err != nil {
		return err
	}
	loop.Report(stdout)
	if c := res.GroupCommitCeiling(*senders); c > 0 {
		fmt.Fprintf(stdout, "  = %.0f%% of the %d-per-sync ceiling above (a closed loop alternates two groups of about n/2; docs/perf.md)\n",
			100*loop.MsgsPerSecond()/c, *senders)
	}
	return nil
}
