package main

import (
	"context"
	"fmt"
	"io"
)

// runDLQ is `baton dlq`.
func runDLQ(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "resubmit" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			fmt.Fprintln(stdout, "usage: baton dlq resubmit QUEUE [--max N]\n\nMove dead-lettered messages back to their queue, keeping body and properties.")
			return nil
		}
		return &usageError{"usage: baton dlq resubmit QUEUE [--max N]"}
	}
	cf := newClientFlags("dlq resubmit", "dlq resubmit QUEUE [--max N]",
		"Move dead-lettered messages back to QUEUE as new messages with the same body and properties\n"+
			"(less DeadLetterReason and DeadLetterErrorDescription). A failure midway can leave a message\n"+
			"in both places; it never loses one.")
	max := cf.fs.Int("max", 0, "move at most `N` messages (default: all)")
	pos, err := cf.parse(args[1:], stdout, 1, 1)
	if err != nil {
		return helpOK(err)
	}
	if *max < 0 {
		return &usageError{"--max must not be negative"}
	}
	c, err := cf.client()
	if err != nil {
		return err
	}
	res, err := c.ResubmitDeadLetters(ctx, pos[0], *max)
	if err != nil {
		return explain(err)
	}
	fmt.Fprintf(stdout, "resubmitted %s\n", plural(res.Resubmitted, "message"))
	if res.Skipped > 0 {
		fmt.Fprintf(stdout, "skipped %s: duplicate detection dropped the copies, so they stay dead-lettered\n", plural(res.Skipped, "message"))
	}
	return nil
}
