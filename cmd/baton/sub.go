package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"

	"github.com/batonmq/baton/internal/httpapi/mgmt"
)

const subUsage = `usage: baton sub <create|list|show|delete> [arguments]

  create TOPIC SUB [flags]   create a subscription (with a default rule from --sql, --correlation-*, ...)
  list TOPIC                 list a topic's subscriptions with their message counts
  show TOPIC SUB             show a subscription's properties, counts and rules
  delete TOPIC SUB           delete a subscription and its messages

Receive from a subscription with 'baton receive TOPIC/Subscriptions/SUB'; rules: 'baton rule ...'.
Run 'baton sub <subcommand> -h' for the flags of each.`

// runSub is `baton sub`.
func runSub(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return dispatch(ctx, "sub", subUsage, crudVerbs(subCreate, subList, subShow, subDelete), args, stdout)
}

func subCreate(ctx context.Context, args []string, stdout io.Writer) error {
	cf := newClientFlags("sub create", "sub create TOPIC SUB [flags]",
		"Create subscription SUB of TOPIC. Unset flags take Service Bus's defaults. Its rule is $Default,\n"+
			"a TrueFilter (every message), unless a filter flag (--sql, --correlation-*, --false) or\n"+
			"--action describes another; --rule-name names it.")
	var lock, ttl, idle durationFlag
	fs := cf.fs
	fs.Var(&lock, "lock-duration", "peek-lock `duration` (default 1m, at most 5m)")
	fs.Var(&ttl, "ttl", "default message time to live (`duration`, e.g. 1h or P1D; default never)")
	fs.Var(&idle, "auto-delete-on-idle", "delete the subscription after this idle `duration` (at least 5m; default never)")
	maxDelivery := fs.Int("max-delivery-count", 0, "deliveries before a message is dead-lettered (default 10)")
	session := fs.Bool("requires-session", false, "messages must carry a session id; receivers lock sessions")
	dlExpire := fs.Bool("dead-letter-on-expiration", false, "dead-letter expired messages instead of dropping them")
	dlFilter := fs.Bool("dead-letter-on-filter-error", false, "dead-letter a message whose rule evaluation fails (instead of skipping the rule)")
	forwardTo := fs.String("forward-to", "", "auto-forward every message to this queue or topic (`name`)")
	forwardDLQ := fs.String("forward-dead-letters-to", "", "auto-forward dead-lettered messages to this queue or topic (`name`)")
	ruleName := fs.String("rule-name", "$Default", "the `name` of the subscription's first rule")
	var rf ruleFlags
	rf.register(fs)
	pos, err := cf.parse(args, stdout, 2, 2)
	if err != nil {
		return helpOK(err)
	}
	var props mgmt.SubscriptionProperties
	props.LockDuration = lock.ptr()
	props.DefaultMessageTimeToLive = ttl.ptr()
	props.AutoDeleteOnIdle = idle.ptr()
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "max-delivery-count":
			props.MaxDeliveryCount = ptr(int32(min(max(*maxDelivery, -1), math.MaxInt32)))
		case "requires-session":
			props.RequiresSession = session
		case "dead-letter-on-expiration":
			props.DeadLetteringOnMessageExpiration = dlExpire
		case "dead-letter-on-filter-error":
			props.DeadLetteringOnFilterEvaluationExceptions = dlFilter
		case "forward-to":
			props.ForwardTo = forwardTo
		case "forward-dead-letters-to":
			props.ForwardDeadLetteredMessagesTo = forwardDLQ
		}
	})
	r, given, err := rf.rule(*ruleName)
	if err != nil {
		return err
	}
	if given || *ruleName != "$Default" {
		props.DefaultRule = r
	}
	c, err := cf.client()
	if err != nil {
		return err
	}
	s, err := c.CreateSubscription(ctx, pos[0], pos[1], props)
	if err != nil {
		return explain(err)
	}
	fmt.Fprintf(stdout, "created subscription %q of topic %q; receive with: baton receive %s\n", s.Name, s.Topic, s.Path)
	return nil
}

func subList(ctx context.Context, args []string, stdout io.Writer) error {
	cf := newClientFlags("sub list", "sub list TOPIC [--json]", "List the subscriptions of TOPIC with their message counts.")
	return queryCommand(ctx, args, stdout, cf, 1, "print the subscriptions as JSON",
		func(c *mgmt.Client, pos []string) ([]*mgmt.Subscription, error) {
			return c.ListSubscriptions(ctx, pos[0])
		},
		func(c *mgmt.Client, subs []*mgmt.Subscription, pos []string) error {
			return printSubscriptions(stdout, subs, pos[0])
		})
}

// printSubscriptions prints subscriptions as a table.
func printSubscriptions(w io.Writer, subs []*mgmt.Subscription, topic string) error {
	if len(subs) == 0 {
		fmt.Fprintf(w, "no subscriptions: messages sent to topic %q go nowhere; create one with: baton sub create %s NAME\n", topic, topic)
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SUBSCRIPTION\tACTIVE\tSCHEDULED\tDEFERRED\tDEAD-LETTERED")
	for _, s := range subs {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\n", s.Name, s.ActiveMessageCount, s.ScheduledMessageCount, s.DeferredMessageCount, s.DeadLetterMessageCount)
	}
	return tw.Flush()
}

func subShow(ctx context.Context, args []string, stdout io.Writer) error {
	cf := newClientFlags("sub show", "sub show TOPIC SUB [--json]", "Show a subscription's properties, message counts and rules.")
	return queryCommand(ctx, args, stdout, cf, 2, "print the subscription (and its rules, under \"rules\") as JSON",
		func(c *mgmt.Client, pos []string) (subDetail, error) {
			s, err := c.GetSubscription(ctx, pos[0], pos[1])
			if err != nil {
				return subDetail{}, err
			}
			rules, err := c.ListRules(ctx, pos[0], pos[1])
			return subDetail{s, rules}, err
		},
		func(c *mgmt.Client, d subDetail, pos []string) error {
			s, rules := d.Subscription, d.Rules
			tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
			rows := []struct {
				k string
				v any
			}{
				{"name", s.Name},
				{"topic", s.Topic},
				{"path", s.Path},
				{"status", s.Status},
				{"activeMessageCount", s.ActiveMessageCount},
				{"scheduledMessageCount", s.ScheduledMessageCount},
				{"deferredMessageCount", s.DeferredMessageCount},
				{"deadLetterMessageCount", s.DeadLetterMessageCount},
				{"sizeInBytes", s.SizeInBytes},
				{"lockDuration", s.LockDuration},
				{"maxDeliveryCount", s.MaxDeliveryCount},
				{"defaultMessageTimeToLive", s.DefaultMessageTimeToLive},
				{"deadLetteringOnMessageExpiration", s.DeadLetteringOnMessageExpiration},
				{"deadLetteringOnFilterEvaluationExceptions", s.DeadLetteringOnFilterEvaluationExceptions},
				{"requiresSession", s.RequiresSession},
				{"autoDeleteOnIdle", s.AutoDeleteOnIdle},
				{"forwardTo", s.ForwardTo},
				{"forwardDeadLetteredMessagesTo", s.ForwardDeadLetteredMessagesTo},
				{"userMetadata", s.UserMetadata},
				{"createdAt", s.CreatedAt.Format(timeLayout)},
				{"updatedAt", s.UpdatedAt.Format(timeLayout)},
				{"accessedAt", s.AccessedAt.Format(timeLayout)},
			}
			for _, r := range rows {
				fmt.Fprintf(tw, "%s\t%v\n", r.k, r.v)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			fmt.Fprintln(stdout)
			return printRules(stdout, rules, pos[0], pos[1])
		})
}

// subDetail is a subscription with its rules (sub show's JSON).
type subDetail struct {
	*mgmt.Subscription
	Rules []*mgmt.Rule `json:"rules"`
}

func subDelete(ctx context.Context, args []string, stdout io.Writer) error {
	cf := newClientFlags("sub delete", "sub delete TOPIC SUB", "Delete subscription SUB of TOPIC and every message in it.")
	pos, err := cf.parse(args, stdout, 2, 2)
	if err != nil {
		return helpOK(err)
	}
	c, err := cf.client()
	if err != nil {
		return err
	}
	if err := c.DeleteSubscription(ctx, pos[0], pos[1]); err != nil {
		return explain(err)
	}
	fmt.Fprintf(stdout, "deleted subscription %q of topic %q\n", pos[1], pos[0])
	return nil
}

// subscriptionPath splits "topic/Subscriptions/sub" (any case); ok is false
// for other paths.
func subscriptionPath(path string) (topic, sub string, ok bool) {
	const seg = "/subscriptions/"
	i := strings.LastIndex(strings.ToLower(path), seg)
	if i <= 0 || i+len(seg) >= len(path) {
		return "", "", false
	}
	return path[:i], path[i+len(seg):], true
}

// requiresSession reports whether the queue or subscription at path
// requires sessions.
func requiresSession(ctx context.Context, c *mgmt.Client, path string) (bool, error) {
	if topic, sub, ok := subscriptionPath(path); ok {
		s, err := c.GetSubscription(ctx, topic, sub)
		if err != nil {
			return false, err
		}
		return s.RequiresSession, nil
	}
	q, err := c.GetQueue(ctx, path)
	if err != nil {
		return false, err
	}
	return q.RequiresSession, nil
}

// entityWord names what path is, for messages: "queue" or "subscription".
func entityWord(path string) string {
	if _, _, ok := subscriptionPath(path); ok {
		return "subscription"
	}
	return "queue"
}
