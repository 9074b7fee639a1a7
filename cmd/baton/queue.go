package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"text/tabwriter"

	"github.com/batonmq/baton/internal/httpapi/mgmt"
)

const queueUsage = `usage: baton queue <create|list|show|delete> [arguments]

  create NAME [flags]   create a queue
  list                  list queues with their message counts
  show NAME             show a queue's properties and counts
  delete NAME           delete a queue and every message in it

Run 'baton queue <subcommand> -h' for the flags of each.`

// runQueue is `baton queue`.
func runQueue(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return dispatch(ctx, "queue", queueUsage, crudVerbs(queueCreate, queueList, queueShow, queueDelete), args, stdout)
}

func queueCreate(ctx context.Context, args []string, stdout io.Writer) error {
	cf := newClientFlags("queue create", "queue create NAME [flags]", "Create a queue. Unset flags take Service Bus's defaults.")
	var lock, ttl, dup, idle durationFlag
	fs := cf.fs
	fs.Var(&lock, "lock-duration", "peek-lock `duration` (default 1m, at most 5m)")
	fs.Var(&ttl, "ttl", "default message time to live (`duration`, e.g. 1h or P1D; default never)")
	fs.Var(&dup, "duplicate-detection", "turn on duplicate detection with this history window (`duration`, 20s to 7 days)")
	fs.Var(&idle, "auto-delete-on-idle", "delete the queue after this idle `duration` (at least 5m; default never)")
	maxDelivery := fs.Int("max-delivery-count", 0, "deliveries before a message is dead-lettered (default 10)")
	maxSize := fs.Int64("max-size-mb", 0, "queue size limit in `MB` (default 1024)")
	maxMsg := fs.Int64("max-message-kb", 0, "message size limit in `KB` (default 256)")
	session := fs.Bool("requires-session", false, "messages must carry a session id; receivers lock sessions")
	dlExpire := fs.Bool("dead-letter-on-expiration", false, "dead-letter expired messages instead of dropping them")
	pos, err := cf.parse(args, stdout, 1, 1)
	if err != nil {
		return helpOK(err)
	}
	var props mgmt.QueueProperties
	props.LockDuration = lock.ptr()
	props.DefaultMessageTimeToLive = ttl.ptr()
	if dup.set {
		props.RequiresDuplicateDetection = ptr(true)
		props.DuplicateDetectionHistoryTimeWindow = dup.ptr()
	}
	props.AutoDeleteOnIdle = idle.ptr()
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "max-delivery-count":
			props.MaxDeliveryCount = ptr(int32(min(max(*maxDelivery, -1), math.MaxInt32)))
		case "max-size-mb":
			props.MaxSizeInMegabytes = maxSize
		case "max-message-kb":
			props.MaxMessageSizeInKilobytes = maxMsg
		case "requires-session":
			props.RequiresSession = session
		case "dead-letter-on-expiration":
			props.DeadLetteringOnMessageExpiration = dlExpire
		}
	})
	c, err := cf.client()
	if err != nil {
		return err
	}
	q, err := c.CreateQueue(ctx, pos[0], props)
	if err != nil {
		return explain(err)
	}
	fmt.Fprintf(stdout, "created queue %q\n", q.Name)
	return nil
}

func queueList(ctx context.Context, args []string, stdout io.Writer) error {
	cf := newClientFlags("queue list", "queue list [--json]", "List queues with their message counts.")
	return queryCommand(ctx, args, stdout, cf, 0, "print the queues as JSON",
		func(c *mgmt.Client, _ []string) ([]*mgmt.Queue, error) { return c.ListQueues(ctx) },
		func(c *mgmt.Client, qs []*mgmt.Queue, _ []string) error {
			if len(qs) == 0 {
				fmt.Fprintln(stdout, "no queues; create one with: baton queue create NAME")
				return nil
			}
			tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tACTIVE\tSCHEDULED\tDEFERRED\tDEAD-LETTERED")
			for _, q := range qs {
				fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\n", q.Name, q.ActiveMessageCount, q.ScheduledMessageCount, q.DeferredMessageCount, q.DeadLetterMessageCount)
			}
			return tw.Flush()
		})
}

func queueShow(ctx context.Context, args []string, stdout io.Writer) error {
	cf := newClientFlags("queue show", "queue show NAME [--json]", "Show a queue's properties and message counts.")
	return queryCommand(ctx, args, stdout, cf, 1, "print the queue as JSON",
		func(c *mgmt.Client, pos []string) (*mgmt.Queue, error) { return c.GetQueue(ctx, pos[0]) },
		func(c *mgmt.Client, q *mgmt.Queue, pos []string) error {
			tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
			rows := []struct {
				k string
				v any
			}{
				{"name", q.Name},
				{"status", q.Status},
				{"activeMessageCount", q.ActiveMessageCount},
				{"scheduledMessageCount", q.ScheduledMessageCount},
				{"deferredMessageCount", q.DeferredMessageCount},
				{"deadLetterMessageCount", q.DeadLetterMessageCount},
				{"sizeInBytes", q.SizeInBytes},
				{"lockDuration", q.LockDuration},
				{"maxDeliveryCount", q.MaxDeliveryCount},
				{"defaultMessageTimeToLive", q.DefaultMessageTimeToLive},
				{"deadLetteringOnMessageExpiration", q.DeadLetteringOnMessageExpiration},
				{"requiresDuplicateDetection", q.RequiresDuplicateDetection},
				{"duplicateDetectionHistoryTimeWindow", q.DuplicateDetectionHistoryTimeWindow},
				{"requiresSession", q.RequiresSession},
				{"maxSizeInMegabytes", q.MaxSizeInMegabytes},
				{"maxMessageSizeInKilobytes", q.MaxMessageSizeInKilobytes},
				{"autoDeleteOnIdle", q.AutoDeleteOnIdle},
				{"forwardTo", q.ForwardTo},
				{"forwardDeadLetteredMessagesTo", q.ForwardDeadLetteredMessagesTo},
				{"userMetadata", q.UserMetadata},
				{"createdAt", q.CreatedAt.Format(timeLayout)},
				{"updatedAt", q.UpdatedAt.Format(timeLayout)},
				{"accessedAt", q.AccessedAt.Format(timeLayout)},
			}
			for _, r := range rows {
				fmt.Fprintf(tw, "%s\t%v\n", r.k, r.v)
			}
			return tw.Flush()
		})
}

func queueDelete(ctx context.Context, args []string, stdout io.Writer) error {
	cf := newClientFlags("queue delete", "queue delete NAME", "Delete a queue and every message in it.")
	pos, err := cf.parse(args, stdout, 1, 1)
	if err != nil {
		return helpOK(err)
	}
	c, err := cf.client()
	if err != nil {
		return err
	}
	if err := c.DeleteQueue(ctx, pos[0]); err != nil {
		return explain(err)
	}
	fmt.Fprintf(stdout, "deleted queue %q\n", pos[0])
	return nil
}

// timeLayout is how the CLI prints times.
const timeLayout = "2006-01-02T15:04:05.000Z07:00"

// helpOK turns the "help was shown" signal into success.
func helpOK(err error) error {
	if errors.Is(err, errHelp) {
		return nil
	}
	return err
}

func printJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode JSON: %w", err)
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

func ptr[T any](v T) *T { return &v }
