// Command baton is Baton's only binary: the server (`baton serve`) and the
// CLI that talks to a running server through its JSON management API.
//
// Exit codes: 0 success; 1 the operation failed (the server said no, or it
// could not be reached); 2 the command line was wrong.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

// version is the release, set at build time with
// -ldflags "-X main.version=v1.2.3".
var version = "dev"

// command is one subcommand.
type command struct {
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

// commands is the subcommand table.
func commands() map[string]command {
	return map[string]command{
		"serve":   {"start the broker with all its faces", runServe},
		"bench":   {"measure: 'bench run' drives Baton or a peer (RabbitMQ, NATS, Azurite) with a workload, 'bench table' compares results, 'bench disk' gives the fdatasync latency and group-commit ceiling", runBench},
		"queue":   {"create, list, show or delete queues", runQueue},
		"topic":   {"create, list, show or delete topics", runTopic},
		"sub":     {"create, list, show or delete a topic's subscriptions", runSub},
		"rule":    {"add, list, show or delete a subscription's rules (SQL and correlation filters, actions)", runRule},
		"send":    {"send a text message to a queue or topic", runSend},
		"receive": {"receive (or --peek at) messages of a queue or subscription", runReceive},
		"dlq":     {"'dlq resubmit QUEUE' moves dead-lettered messages back to their queue", runDLQ},
		"version": {"print the version", runVersion},
		"cert":    {"show where the development CA is and how to trust it", runCert},
		"eg":      {"Event Grid: topics, event subscriptions and dead letters (see 'baton eg -h')", runEG},
	}
}

// usageError marks a command-line mistake (exit code 2).
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Run runs the command line args and returns the exit code.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cmds := commands()
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stdout, cmds)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	c, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "baton: unknown command %q (try 'baton help')\n", args[0])
		return 2
	}
	if err := c.run(ctx, args[1:], stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "baton %s: %v\n", args[0], err)
		var ue *usageError
		if errors.As(err, &ue) {
			return 2
		}
		return 1
	}
	return 0
}

func usage(w io.Writer, cmds map[string]command) {
	fmt.Fprintln(w, "usage: baton <command> [arguments]")
	fmt.Fprintln(w)
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, cmds[n].summary)
	}
}
