package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/batonmq/baton/internal/httpapi/mgmt"
)

// receiveOptions are the flags of `baton receive`.
type receiveOptions struct {
	queue      string
	peek       bool
	dlq        bool
	max        int
	from       int64
	wait       time.Duration
	mode       string
	noComplete bool
	asJSON     bool
	sessionID  string
}

// runReceive is `baton receive`.
func runReceive(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cf := newClientFlags("receive", "receive QUEUE [flags]",
		"Receive messages from QUEUE, a queue or a subscription (TOPIC/Subscriptions/SUB), and print\n"+
			"their bodies, one per line. By default each message is received with a peek-lock and\n"+
			"completed once printed.")
	fs := cf.fs
	var o receiveOptions
	fs.BoolVar(&o.peek, "peek", false, "look at messages without locking or removing them")
	fs.BoolVar(&o.dlq, "dlq", false, "receive from the queue's dead-letter sub-queue")
	fs.IntVar(&o.max, "max", 1, "receive at most `N` messages")
	fs.Int64Var(&o.from, "from", 0, "with --peek, start at this sequence `number`")
	wait := durationFlag{d: time.Second}
	fs.Var(&wait, "wait", "how long to wait for a first message (`duration`; default 1s)")
	fs.StringVar(&o.mode, "mode", mgmt.ModePeekLock, "`peeklock` or receiveanddelete")
	fs.BoolVar(&o.noComplete, "no-complete", false, "in peeklock mode, leave messages locked instead of completing them")
	fs.BoolVar(&o.asJSON, "json", false, "print whole messages as JSON, one per line")
	fs.StringVar(&o.sessionID, "session-id", "", "receive from this session (session queues; default: the next session with messages)")
	pos, err := cf.parse(args, stdout, 1, 1)
	if err != nil {
		return helpOK(err)
	}
	o.queue, o.wait = pos[0], wait.d
	if o.max < 1 {
		return &usageError{"--max must be at least 1"}
	}
	if o.mode != mgmt.ModePeekLock && o.mode != mgmt.ModeReceiveAndDelete {
		return &usageError{fmt.Sprintf("--mode %q is not peeklock or receiveanddelete", o.mode)}
	}
	c, err := cf.client()
	if err != nil {
		return err
	}
	if err := receive(ctx, c, o, stdout, stderr); err != nil {
		return explain(err)
	}
	return nil
}

func receive(ctx context.Context, c *mgmt.Client, o receiveOptions, stdout, stderr io.Writer) error {
	if o.peek {
		msgs, err := c.Peek(ctx, o.queue, mgmt.PeekOptions{From: o.from, Max: o.max, DLQ: o.dlq, SessionID: o.sessionID})
		if err != nil {
			return err
		}
		return printMessages(stdout, o, msgs)
	}
	if o.dlq && o.sessionID != "" {
		return fmt.Errorf("a dead-letter queue has no sessions; drop --session-id (or add --peek to peek at one session's dead letters)")
	}
	sessions, err := requiresSession(ctx, c, o.queue)
	if err != nil {
		return err
	}
	req := mgmt.ReceiveRequest{Mode: o.mode, Max: o.max, DLQ: o.dlq}
	if o.wait > 0 {
		d := mgmt.Duration(o.wait)
		req.Wait = &d
	}
	if sessions && !o.dlq {
		l, err := c.AcceptSession(ctx, o.queue, o.sessionID, o.wait)
		if mgmt.IsCode(err, "Timeout") {
			return printMessages(stdout, o, nil)
		}
		if err != nil {
			return err
		}
		if o.sessionID == "" {
			// The next available session has messages: take them, no wait.
			req.Wait = nil
		}
		o.sessionID = l.SessionID
		req.SessionID, req.SessionLockToken = l.SessionID, l.LockToken
		if !o.noComplete {
			// Releasing unlocks what is not completed; with --no-complete
			// the session stays locked until its lock expires.
			defer c.ReleaseSession(context.WithoutCancel(ctx), o.queue, l)
		}
	} else if o.sessionID != "" {
		return fmt.Errorf("%s %q does not require sessions; drop --session-id", entityWord(o.queue), o.queue)
	}
	msgs, err := c.Receive(ctx, o.queue, req)
	if err != nil {
		return err
	}
	for _, m := range msgs {
		if err := printMessage(stdout, o, m); err != nil {
			return err
		}
		if o.mode == mgmt.ModePeekLock && !o.noComplete {
			if err := c.Complete(ctx, o.queue, m.LockToken, o.dlq); err != nil {
				return fmt.Errorf("message %d was printed but not completed, so it will be delivered again: %w", m.SequenceNumber, err)
			}
		}
	}
	if len(msgs) == 0 {
		return printMessages(stdout, o, nil)
	}
	if o.mode == mgmt.ModePeekLock && o.noComplete {
		fmt.Fprintf(stderr, "left %s locked until %s; they will be delivered again after that\n",
			plural(len(msgs), "message"), msgs[0].LockedUntil.Format(timeLayout))
	}
	return nil
}

// printMessages prints msgs, or a line saying there are none.
func printMessages(w io.Writer, o receiveOptions, msgs []*mgmt.Message) error {
	if len(msgs) == 0 {
		switch {
		case o.dlq:
			fmt.Fprintf(w, "no messages: the dead-letter queue of %q is empty\n", o.queue)
		case o.sessionID != "":
			fmt.Fprintf(w, "no messages: session %q of %s %q is empty\n", o.sessionID, entityWord(o.queue), o.queue)
		default:
			fmt.Fprintf(w, "no messages: %s %q is empty\n", entityWord(o.queue), o.queue)
		}
		return nil
	}
	for _, m := range msgs {
		if err := printMessage(w, o, m); err != nil {
			return err
		}
	}
	return nil
}

// printMessage prints a body (text as is; other bodies in base64, marked)
// or, with --json, the whole message on one line.
func printMessage(w io.Writer, o receiveOptions, m *mgmt.Message) error {
	if o.asJSON {
		b, err := json.Marshal(m)
		if err != nil {
			return fmt.Errorf("encode message %d: %w", m.SequenceNumber, err)
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	}
	switch {
	case m.Body != nil:
		_, err := fmt.Fprintln(w, *m.Body)
		return err
	case m.Format == "amqp":
		_, err := fmt.Fprintf(w, "[AMQP message, base64] %s\n", m.BodyBase64)
		return err
	default:
		_, err := fmt.Fprintf(w, "[binary body, base64] %s\n", m.BodyBase64)
		return err
	}
}
