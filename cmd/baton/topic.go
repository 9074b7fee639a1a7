package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/batonmq/baton/internal/httpapi/mgmt"
)

const topicUsage = `usage: baton topic <create|list|show|delete> [arguments]

  create NAME [flags]   create a topic
  list                  list topics with their subscription counts
  show NAME             show a topic's properties and its subscriptions
  delete NAME           delete a topic with its subscriptions and their messages

Send to a topic with 'baton send TOPIC TEXT'; subscriptions: 'baton sub ...'.
Run 'baton topic <subcommand> -h' for the flags of each.`

// runTopic is `baton topic`.
func runTopic(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return dispatch(ctx, "topic", topicUsage, crudVerbs(topicCreate, topicList, topicShow, topicDelete), args, stdout)
}

func topicCreate(ctx context.Context, args []string, stdout io.Writer) error {
	cf := newClientFlags("topic create", "topic create NAME [flags]", "Create a topic. Unset flags take Service Bus's defaults.")
	var ttl, dup, idle durationFlag
	fs := cf.fs
	fs.Var(&ttl, "ttl", "default message time to live (`duration`, e.g. 1h or P1D; default never)")
	fs.Var(&dup, "duplicate-detection", "turn on duplicate detection with this history window (`duration`, 20s to 7 days)")
	fs.Var(&idle, "auto-delete-on-idle", "delete the topic after this idle `duration` (at least 5m; default never)")
	maxSize := fs.Int64("max-size-mb", 0, "topic size limit in `MB` (default 1024)")
	maxMsg := fs.Int64("max-message-kb", 0, "message size limit in `KB` (default 256)")
	ordering := fs.Bool("support-ordering", false, "Service Bus's SupportOrdering flag (kept; Baton always keeps order)")
	pos, err := cf.parse(args, stdout, 1, 1)
	if err != nil {
		return helpOK(err)
	}
	var props mgmt.TopicProperties
	props.DefaultMessageTimeToLive = ttl.ptr()
	if dup.set {
		props.RequiresDuplicateDetection = ptr(true)
		props.DuplicateDetectionHistoryTimeWindow = dup.ptr()
	}
	props.AutoDeleteOnIdle = idle.ptr()
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "max-size-mb":
			props.MaxSizeInMegabytes = maxSize
		case "max-message-kb":
			props.MaxMessageSizeInKilobytes = maxMsg
		case "support-ordering":
			props.SupportOrdering = ordering
		}
	})
	c, err := cf.client()
	if err != nil {
		return err
	}
	t, err := c.CreateTopic(ctx, pos[0], props)
	if err != nil {
		return explain(err)
	}
	fmt.Fprintf(stdout, "created topic %q\n", t.Name)
	return nil
}

func topicList(ctx context.Context, args []string, stdout io.Writer) error {
	cf := newClientFlags("topic list", "topic list [--json]", "List topics with their subscription counts.")
	return queryCommand(ctx, args, stdout, cf, 0, "print the topics as JSON",
		func(c *mgmt.Client, _ []string) ([]*mgmt.Topic, error) { return c.ListTopics(ctx) },
		func(c *mgmt.Client, ts []*mgmt.Topic, _ []string) error {
			if len(ts) == 0 {
				fmt.Fprintln(stdout, "no topics; create one with: baton topic create NAME")
				return nil
			}
			tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tSUBSCRIPTIONS\tSCHEDULED\tSTATUS")
			for _, t := range ts {
				fmt.Fprintf(tw, "%s\t%d\t%d\t%s\n", t.Name, t.SubscriptionCount, t.ScheduledMessageCount, t.Status)
			}
			return tw.Flush()
		})
}

func topicShow(ctx context.Context, args []string, stdout io.Writer) error {
	cf := newClientFlags("topic show", "topic show NAME [--json]", "Show a topic's properties and its subscriptions with their message counts.")
	return queryCommand(ctx, args, stdout, cf, 1, "print the topic as JSON",
		func(c *mgmt.Client, pos []string) (*mgmt.Topic, error) { return c.GetTopic(ctx, pos[0]) },
		func(c *mgmt.Client, t *mgmt.Topic, pos []string) error {
			subs, err := c.ListSubscriptions(ctx, pos[0])
			if err != nil {
				return explain(err)
			}
			tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
			rows := []struct {
				k string
				v any
			}{
				{"name", t.Name},
				{"status", t.Status},
				{"subscriptionCount", t.SubscriptionCount},
				{"scheduledMessageCount", t.ScheduledMessageCount},
				{"sizeInBytes", t.SizeInBytes},
				{"defaultMessageTimeToLive", t.DefaultMessageTimeToLive},
				{"requiresDuplicateDetection", t.RequiresDuplicateDetection},
				{"duplicateDetectionHistoryTimeWindow", t.DuplicateDetectionHistoryTimeWindow},
				{"maxSizeInMegabytes", t.MaxSizeInMegabytes},
				{"maxMessageSizeInKilobytes", t.MaxMessageSizeInKilobytes},
				{"autoDeleteOnIdle", t.AutoDeleteOnIdle},
				{"supportOrdering", t.SupportOrdering},
				{"userMetadata", t.UserMetadata},
				{"createdAt", t.CreatedAt.Format(timeLayout)},
				{"updatedAt", t.UpdatedAt.Format(timeLayout)},
				{"accessedAt", t.AccessedAt.Format(timeLayout)},
			}
			for _, r := range rows {
				fmt.Fprintf(tw, "%s\t%v\n", r.k, r.v)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			fmt.Fprintln(stdout)
			return printSubscriptions(stdout, subs, pos[0])
		})
}

func topicDelete(ctx context.Context, args []string, stdout io.Writer) error {
	cf := newClientFlags("topic delete", "topic delete NAME", "Delete a topic with its subscriptions and every message in them.")
	pos, err := cf.parse(args, stdout, 1, 1)
	if err != nil {
		return helpOK(err)
	}
	c, err := cf.client()
	if err != nil {
		return err
	}
	if err := c.DeleteTopic(ctx, pos[0]); err != nil {
		return explain(err)
	}
	fmt.Fprintf(stdout, "deleted topic %q\n", pos[0])
	return nil
}
