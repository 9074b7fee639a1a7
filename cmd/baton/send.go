package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/batonmq/baton/internal/clock"
	"github.com/batonmq/baton/internal/httpapi/mgmt"
)

// runSend is `baton send`.
func runSend(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cf := newClientFlags("send", "send QUEUE TEXT [flags]",
		"Send TEXT as a message to QUEUE, a queue or a topic, and print its sequence number. A topic\n"+
			"gives a copy to each of its subscriptions with a matching rule.")
	fs := cf.fs
	sessionID := fs.String("session-id", "", "session `id` (required by session queues)")
	messageID := fs.String("message-id", "", "message `id` (used by duplicate detection)")
	props := newTypedFlag(false)
	fs.Var(props, "property", "application property `key=value` (repeatable; a string, or TYPE:VALUE with long, double, bool, datetime, timespan: qty=long:12)")
	var ttl durationFlag
	fs.Var(&ttl, "ttl", "time to live (`duration`, e.g. 10m or PT10M)")
	schedule := fs.String("schedule", "", "enqueue at this `time`: RFC 3339 (2026-05-01T09:00:00Z) or +duration from now (+5m)")
	count := fs.Int("count", 1, "send the message `N` times, in one atomic batch")
	pos, err := cf.parse(args, stdout, 2, 2)
	if err != nil {
		return helpOK(err)
	}
	if *count < 1 {
		return &usageError{"--count must be at least 1"}
	}
	m := mgmt.TextMessage(pos[1])
	m.SessionID, m.MessageID = *sessionID, *messageID
	m.TimeToLive = ttl.ptr()
	if len(props.m) > 0 {
		m.Properties = wireValues(props.m)
	}
	if *schedule != "" {
		at, err := parseSchedule(*schedule, clock.Real{})
		if err != nil {
			return &usageError{err.Error()}
		}
		m.ScheduledEnqueueTime = &at
	}
	msgs := make([]mgmt.SendMessage, *count)
	for i := range msgs {
		msgs[i] = m
	}
	c, err := cf.client()
	if err != nil {
		return err
	}
	seqs, err := c.Send(ctx, pos[0], msgs...)
	if err != nil {
		return explain(err)
	}
	for _, s := range seqs {
		if s == 0 {
			fmt.Fprintln(stdout, "0 (a duplicate: dropped by duplicate detection)")
			continue
		}
		fmt.Fprintln(stdout, s)
	}
	return nil
}

// parseSchedule reads an RFC 3339 time or "+duration" from now.
func parseSchedule(s string, clk clock.Clock) (time.Time, error) {
	if rest, ok := strings.CutPrefix(s, "+"); ok {
		d, err := mgmt.ParseDuration(rest)
		if err != nil {
			return time.Time{}, fmt.Errorf("--schedule: %w", err)
		}
		if d >= 100*365*24*time.Hour {
			return time.Time{}, fmt.Errorf("--schedule %q is more than 100 years away", s)
		}
		return clk.Now().Add(d).UTC(), nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("--schedule %q is neither an RFC 3339 time (2026-05-01T09:00:00Z) nor +duration (+5m)", s)
	}
	return t, nil
}
