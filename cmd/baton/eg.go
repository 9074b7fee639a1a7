package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"text/tabwriter"
)

const egUsage = `usage: baton eg <topic|sub|ns|dlq> <subcommand> [arguments]

  topic create NAME [--schema S] [--key K]...     create (or replace) a basic topic
  topic list | show NAME | delete NAME
  sub create TOPIC NAME (--endpoint URL | --servicebus-queue Q | --servicebus-topic T |
                         --storage-queue ACCOUNT/QUEUE) [filter, retry and delivery flags]
  sub list TOPIC | show TOPIC NAME | delete TOPIC NAME
  ns topic create|list|show|delete [NAME]           namespace topics (pull delivery)
  ns sub create TOPIC NAME [--lock-duration S] [--max-delivery-count N] [--ttl P7D] [--event-type T]...
  ns sub list TOPIC | show TOPIC NAME | delete TOPIC NAME
  dlq list TOPIC SUB [--top N] [--ns]              dead-lettered events of a subscription
  dlq resubmit TOPIC SUB [--max N] [--ns]          deliver them again, with fresh attempts

Topics and subscriptions made here are kept by the server across restarts;
those of the config file cannot be changed here. Run 'baton eg <cmd> <sub> -h'
for the flags of each.`

// runEG is `baton eg`.
func runEG(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return &usageError{"missing subcommand: topic, sub, ns or dlq (see 'baton eg -h')"}
	}
	sub := ""
	if len(args) > 1 {
		sub = args[1]
	}
	switch args[0] {
	case "topic", "topics":
		return egTopic(ctx, sub, args[min(2, len(args)):], stdout)
	case "sub", "subs", "subscription":
		return egSub(ctx, sub, args[min(2, len(args)):], stdout)
	case "ns", "namespace":
		if len(args) < 2 {
			return &usageError{"usage: baton eg ns <topic|sub> <subcommand> (see 'baton eg -h')"}
		}
		rest := args[2:]
		sub := ""
		if len(rest) > 0 {
			sub, rest = rest[0], rest[1:]
		}
		switch args[1] {
		case "topic", "topics":
			return egNSTopic(ctx, sub, rest, stdout)
		case "sub", "subs", "subscription":
			return egNSSub(ctx, sub, rest, stdout)
		}
		return &usageError{fmt.Sprintf("unknown 'baton eg ns' subcommand %q: use topic or sub", args[1])}
	case "dlq":
		return egDLQ(ctx, sub, args[min(2, len(args)):], stdout)
	case "-h", "--help", "help":
		fmt.Fprintln(stdout, egUsage)
		return nil
	}
	return &usageError{fmt.Sprintf("unknown subcommand %q: use topic, sub, ns or dlq", args[0])}
}

// nsPathOf returns the management path of the server's one namespace.
func nsPathOf(ctx context.Context, c *egClient) (string, error) {
	var res struct{ Value []egResource }
	if _, err := c.do(ctx, http.MethodGet, "/namespaces", nil, &res); err != nil {
		return "", explain(err)
	}
	if len(res.Value) == 0 {
		return "", fmt.Errorf("the server has no Event Grid namespace")
	}
	return egPath("namespaces", res.Value[0].Name), nil
}

// stringsFlag collects a repeated flag.
type stringsFlag []string

func (f *stringsFlag) String() string     { return strings.Join(*f, ",") }
func (f *stringsFlag) Set(s string) error { *f = append(*f, s); return nil }

func egTopic(ctx context.Context, verb string, args []string, stdout io.Writer) error {
	switch verb {
	case "create":
		cf := newClientFlags("eg topic create", "eg topic create NAME [--schema S] [--key K]...",
			"Create or replace a basic topic. Publish to /NAME/api/events on the Event Grid listener.")
		schema := cf.fs.String("schema", "", "input `schema`: EventGridSchema, CloudEventSchemaV1_0, CustomEventSchema (default: detect per request)")
		var keys stringsFlag
		cf.fs.Var(&keys, "key", "a publisher `key` (base64; repeat for more; none: open unless eventGrid.keys)")
		pos, err := cf.parse(args, stdout, 1, 1)
		if err != nil {
			return helpOK(err)
		}
		props := map[string]any{}
		if *schema != "" {
			props["inputSchema"] = *schema
		}
		if len(keys) > 0 {
			props["keys"] = []string(keys)
		}
		return egPut(ctx, cf, egPath("topics", pos[0]), props, stdout)
	case "list", "ls":
		return egList(ctx, "eg topic list", "eg topic list", "List basic topics.", "/topics", args, stdout,
			[]string{"NAME", "SCHEMA", "SUBSCRIPTIONS", "FROM", "ENDPOINT"}, []string{"inputSchema", "baton.eventSubscriptions", "baton.declaredIn", "endpoint"})
	case "show", "get":
		return egShow(ctx, "eg topic show", "eg topic show NAME", "Show a basic topic.", args, stdout, func(p []string) string { return egPath("topics", p[0]) }, 1)
	case "delete", "rm":
		return egDelete(ctx, "eg topic delete", "eg topic delete NAME", "Delete a basic topic, its subscriptions and their events.", args, stdout,
			func(p []string) string { return egPath("topics", p[0]) }, 1)
	case "-h", "--help", "help", "":
		fmt.Fprintln(stdout, egUsage)
		return nil
	}
	return &usageError{fmt.Sprintf("unknown 'baton eg topic' subcommand %q: use create, list, show or delete", verb)}
}

func egSub(ctx context.Context, verb string, args []string, stdout io.Writer) error {
	switch verb {
	case "create":
		return egSubCreate(ctx, args, stdout)
	case "list", "ls":
		if len(args) == 0 || strings.HasPrefix(args[0], "-") {
			return &usageError{"usage: baton eg sub list TOPIC"}
		}
		return egList(ctx, "eg sub list", "eg sub list TOPIC", "List a topic's event subscriptions.", egPath("topics", args[0], "eventSubscriptions"), args[1:], stdout,
			[]string{"NAME", "DESTINATION", "STATE", "PENDING", "DEADLETTERED", "FROM"},
			[]string{"destination.endpointType", "provisioningState", "baton.pendingEvents", "baton.deadLetteredEvents", "baton.declaredIn"})
	case "show", "get":
		return egShow(ctx, "eg sub show", "eg sub show TOPIC NAME", "Show an event subscription.", args, stdout,
			func(p []string) string { return egPath("topics", p[0], "eventSubscriptions", p[1]) }, 2)
	case "delete", "rm":
		return egDelete(ctx, "eg sub delete", "eg sub delete TOPIC NAME", "Delete an event subscription and its pending and dead-lettered events.", args, stdout,
			func(p []string) string { return egPath("topics", p[0], "eventSubscriptions", p[1]) }, 2)
	case "-h", "--help", "help", "":
		fmt.Fprintln(stdout, egUsage)
		return nil
	}
	return &usageError{fmt.Sprintf("unknown 'baton eg sub' subcommand %q: use create, list, show or delete", verb)}
}

func egSubCreate(ctx context.Context, args []string, stdout io.Writer) error {
	cf := newClientFlags("eg sub create", "eg sub create TOPIC NAME (--endpoint URL | --servicebus-queue Q | --servicebus-topic T | --storage-queue ACCOUNT/QUEUE) [flags]",
		"Create or replace an event subscription of a basic topic.")
	fs := cf.fs
	endpoint := fs.String("endpoint", "", "webhook `URL` (events are POSTed to it)")
	sbq := fs.String("servicebus-queue", "", "deliver into this Service Bus `queue` of this Baton")
	sbt := fs.String("servicebus-topic", "", "deliver into this Service Bus `topic` of this Baton")
	sq := fs.String("storage-queue", "", "deliver into this storage queue, `ACCOUNT/QUEUE` (e.g. devstoreaccount1/events)")
	sqTTL := fs.Int64("storage-queue-ttl", 0, "storage queue message time to live in `seconds` (-1: never; default 7 days)")
	var types, adv, headers stringsFlag
	fs.Var(&types, "event-type", "deliver only this event `type` (repeat for more)")
	begins := fs.String("subject-begins-with", "", "deliver only subjects starting with `prefix`")
	ends := fs.String("subject-ends-with", "", "deliver only subjects ending with `suffix`")
	caseSensitive := fs.Bool("case-sensitive", false, "compare subjects case-sensitively")
	fs.Var(&adv, "advanced-filter", "an advanced filter as ARM's `JSON`, e.g. '{\"operatorType\":\"NumberGreaterThan\",\"key\":\"data.amount\",\"value\":100}' (repeat for more)")
	filterJSON := fs.String("filter", "", "the whole filter as ARM's `JSON` (instead of the filter flags)")
	attempts := fs.Int("max-attempts", 0, "retry policy: delivery attempts, 1–30 (default 30)")
	ttl := fs.Int("event-ttl", 0, "retry policy: event time to live in `minutes`, 1–1440 (default 1440)")
	schema := fs.String("schema", "", "delivery `schema`: EventGridSchema, CloudEventSchemaV1_0, CustomInputSchema (default: the topic's)")
	dl := fs.String("dead-letter", "", "dead-letter destination `ACCOUNT/CONTAINER` (ARM's StorageBlob; Baton keeps dead-lettered events in the subscription's dead-letter queue)")
	batch := fs.Int("max-events-per-batch", 0, "webhook: events per request, 1–5000 (default 1)")
	fs.Var(&headers, "header", "a static delivery property `NAME=VALUE` (repeat for more)")
	noValidation := fs.Bool("no-validation", false, "webhook: skip the validation handshake")
	pos, err := cf.parse(args, stdout, 2, 2)
	if err != nil {
		return helpOK(err)
	}
	dest := map[string]any{}
	dp := map[string]any{}
	n := 0
	for _, v := range []string{*endpoint, *sbq, *sbt, *sq} {
		if v != "" {
			n++
		}
	}
	if n != 1 {
		return &usageError{"give exactly one of --endpoint, --servicebus-queue, --servicebus-topic, --storage-queue"}
	}
	const sbNS = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/baton/providers/Microsoft.ServiceBus/namespaces/baton/"
	const storage = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/baton/providers/Microsoft.Storage/storageAccounts/"
	switch {
	case *endpoint != "":
		dest["endpointType"] = "WebHook"
		dp["endpointUrl"] = *endpoint
		if *batch > 0 {
			dp["maxEventsPerBatch"] = *batch
		}
	case *sbq != "":
		dest["endpointType"], dp["resourceId"] = "ServiceBusQueue", sbNS+"queues/"+*sbq
	case *sbt != "":
		dest["endpointType"], dp["resourceId"] = "ServiceBusTopic", sbNS+"topics/"+*sbt
	default:
		account, queue, ok := strings.Cut(*sq, "/")
		if !ok || account == "" || queue == "" {
			return &usageError{"--storage-queue takes ACCOUNT/QUEUE"}
		}
		dest["endpointType"], dp["resourceId"], dp["queueName"] = "StorageQueue", storage+account, queue
		if *sqTTL != 0 {
			dp["queueMessageTimeToLiveInSeconds"] = *sqTTL
		}
	}
	var attrs []any
	for _, h := range headers {
		name, value, ok := strings.Cut(h, "=")
		if !ok || name == "" {
			return &usageError{"--header takes NAME=VALUE"}
		}
		attrs = append(attrs, map[string]any{"name": name, "type": "Static", "properties": map[string]any{"value": value}})
	}
	if len(attrs) > 0 {
		dp["deliveryAttributeMappings"] = attrs
	}
	dest["properties"] = dp
	props := map[string]any{"destination": dest}
	if *filterJSON != "" {
		if len(types)+len(adv) > 0 || *begins != "" || *ends != "" || *caseSensitive {
			return &usageError{"--filter replaces the other filter flags; give one or the other"}
		}
		var f any
		if err := json.Unmarshal([]byte(*filterJSON), &f); err != nil {
			return &usageError{fmt.Sprintf("--filter: %v", err)}
		}
		props["filter"] = f
	} else {
		f := map[string]any{}
		if len(types) > 0 {
			f["includedEventTypes"] = []string(types)
		}
		if *begins != "" {
			f["subjectBeginsWith"] = *begins
		}
		if *ends != "" {
			f["subjectEndsWith"] = *ends
		}
		if *caseSensitive {
			f["isSubjectCaseSensitive"] = true
		}
		var afs []any
		for _, a := range adv {
			var v any
			if err := json.Unmarshal([]byte(a), &v); err != nil {
				return &usageError{fmt.Sprintf("--advanced-filter %s: %v", a, err)}
			}
			afs = append(afs, v)
		}
		if len(afs) > 0 {
			f["advancedFilters"] = afs
		}
		if len(f) > 0 {
			props["filter"] = f
		}
	}
	if *attempts != 0 || *ttl != 0 {
		rp := map[string]any{}
		if *attempts != 0 {
			rp["maxDeliveryAttempts"] = *attempts
		}
		if *ttl != 0 {
			rp["eventTimeToLiveInMinutes"] = *ttl
		}
		props["retryPolicy"] = rp
	}
	if *schema != "" {
		props["eventDeliverySchema"] = *schema
	}
	if *dl != "" {
		account, container, ok := strings.Cut(*dl, "/")
		if !ok || account == "" || container == "" {
			return &usageError{"--dead-letter takes ACCOUNT/CONTAINER"}
		}
		props["deadLetterDestination"] = map[string]any{"endpointType": "StorageBlob",
			"properties": map[string]any{"resourceId": storage + account, "blobContainerName": container}}
	}
	if *noValidation {
		props["disableValidation"] = true
	}
	return egPut(ctx, cf, egPath("topics", pos[0], "eventSubscriptions", pos[1]), props, stdout)
}

func egNSTopic(ctx context.Context, verb string, args []string, stdout io.Writer) error {
	switch verb {
	case "create":
		cf := newClientFlags("eg ns topic create", "eg ns topic create NAME [--key K]...",
			"Create or replace a namespace topic. Publish to /topics/NAME:publish on the Event Grid listener.")
		var keys stringsFlag
		cf.fs.Var(&keys, "key", "a publisher `key` (base64; repeat for more)")
		pos, err := cf.parse(args, stdout, 1, 1)
		if err != nil {
			return helpOK(err)
		}
		props := map[string]any{}
		if len(keys) > 0 {
			props["keys"] = []string(keys)
		}
		return egPut(ctx, cf, "{ns}"+egPath("topics", pos[0]), props, stdout)
	case "list", "ls":
		return egList(ctx, "eg ns topic list", "eg ns topic list", "List namespace topics.", "{ns}/topics", args, stdout,
			[]string{"NAME", "SUBSCRIPTIONS", "FROM"}, []string{"baton.eventSubscriptions", "baton.declaredIn"})
	case "show", "get":
		return egShow(ctx, "eg ns topic show", "eg ns topic show NAME", "Show a namespace topic.", args, stdout,
			func(p []string) string { return "{ns}" + egPath("topics", p[0]) }, 1)
	case "delete", "rm":
		return egDelete(ctx, "eg ns topic delete", "eg ns topic delete NAME", "Delete a namespace topic, its subscriptions and their events.", args, stdout,
			func(p []string) string { return "{ns}" + egPath("topics", p[0]) }, 1)
	}
	return &usageError{fmt.Sprintf("unknown 'baton eg ns topic' subcommand %q: use create, list, show or delete", verb)}
}

func egNSSub(ctx context.Context, verb string, args []string, stdout io.Writer) error {
	switch verb {
	case "create":
		cf := newClientFlags("eg ns sub create", "eg ns sub create TOPIC NAME [flags]", "Create or replace a namespace subscription (queue delivery).")
		lock := cf.fs.Int("lock-duration", 0, "receive lock in `seconds`, 60–300 (default 60)")
		mdc := cf.fs.Int("max-delivery-count", 0, "deliveries before dead-lettering, 1–10 (default 10)")
		ttl := cf.fs.String("ttl", "", "event time to live (`ISO 8601`, e.g. P1D; default P7D)")
		var types stringsFlag
		cf.fs.Var(&types, "event-type", "receive only this event `type` (repeat for more)")
		pos, err := cf.parse(args, stdout, 2, 2)
		if err != nil {
			return helpOK(err)
		}
		q := map[string]any{}
		if *lock != 0 {
			q["receiveLockDurationInSeconds"] = *lock
		}
		if *mdc != 0 {
			q["maxDeliveryCount"] = *mdc
		}
		if *ttl != "" {
			q["eventTimeToLive"] = *ttl
		}
		props := map[string]any{"deliveryConfiguration": map[string]any{"deliveryMode": "Queue", "queue": q}, "eventDeliverySchema": "CloudEventSchemaV1_0"}
		if len(types) > 0 {
			props["filtersConfiguration"] = map[string]any{"includedEventTypes": []string(types)}
		}
		return egPut(ctx, cf, "{ns}"+egPath("topics", pos[0], "eventSubscriptions", pos[1]), props, stdout)
	case "list", "ls":
		if len(args) == 0 || strings.HasPrefix(args[0], "-") {
			return &usageError{"usage: baton eg ns sub list TOPIC"}
		}
		return egList(ctx, "eg ns sub list", "eg ns sub list TOPIC", "List a namespace topic's subscriptions.", "{ns}"+egPath("topics", args[0], "eventSubscriptions"), args[1:], stdout,
			[]string{"NAME", "LOCK(S)", "MAXDELIVERY", "PENDING", "DEADLETTERED", "FROM"},
			[]string{"deliveryConfiguration.queue.receiveLockDurationInSeconds", "deliveryConfiguration.queue.maxDeliveryCount", "baton.pendingEvents", "baton.deadLetteredEvents", "baton.declaredIn"})
	case "show", "get":
		return egShow(ctx, "eg ns sub show", "eg ns sub show TOPIC NAME", "Show a namespace subscription.", args, stdout,
			func(p []string) string { return "{ns}" + egPath("topics", p[0], "eventSubscriptions", p[1]) }, 2)
	case "delete", "rm":
		return egDelete(ctx, "eg ns sub delete", "eg ns sub delete TOPIC NAME", "Delete a namespace subscription and its events.", args, stdout,
			func(p []string) string { return "{ns}" + egPath("topics", p[0], "eventSubscriptions", p[1]) }, 2)
	}
	return &usageError{fmt.Sprintf("unknown 'baton eg ns sub' subcommand %q: use create, list, show or delete", verb)}
}

func egDLQ(ctx context.Context, verb string, args []string, stdout io.Writer) error {
	var cf *clientFlags
	switch verb {
	case "list", "ls":
		cf = newClientFlags("eg dlq list", "eg dlq list TOPIC SUB [--top N] [--ns]", "Show a subscription's dead-lettered events with their reasons.")
	case "resubmit":
		cf = newClientFlags("eg dlq resubmit", "eg dlq resubmit TOPIC SUB [--max N] [--ns]",
			"Deliver a subscription's dead-lettered events again, as new events with fresh attempts and time to live.\n"+
				"A failure midway can leave an event in both places; it never loses one.")
	default:
		return &usageError{"usage: baton eg dlq <list|resubmit> TOPIC SUB"}
	}
	top := cf.fs.Int("top", 0, "list: at most `N` events (default 100)")
	maxN := cf.fs.Int("max", 0, "resubmit: at most `N` events (default all)")
	ns := cf.fs.Bool("ns", false, "TOPIC is a namespace topic")
	pos, err := cf.parse(args, stdout, 2, 2)
	if err != nil {
		return helpOK(err)
	}
	c, err := cf.egClient()
	if err != nil {
		return err
	}
	path := egPath("topics", pos[0], "eventSubscriptions", pos[1], "deadLetters")
	if *ns {
		path = "{ns}" + path
	}
	if path, err = c.resolve(ctx, path); err != nil {
		return err
	}
	if verb == "resubmit" {
		if *maxN < 0 {
			return &usageError{"--max must not be negative"}
		}
		if *maxN > 0 {
			path += fmt.Sprintf("/resubmit?top=%d", *maxN)
		} else {
			path += "/resubmit"
		}
		var res struct{ Resubmitted int }
		if _, err := c.do(ctx, http.MethodPost, path, nil, &res); err != nil {
			return explain(err)
		}
		fmt.Fprintf(stdout, "resubmitted %s\n", plural(res.Resubmitted, "event"))
		return nil
	}
	if *top > 0 {
		path += fmt.Sprintf("?top=%d", *top)
	}
	var res struct {
		Value []struct {
			SequenceNumber        int64
			ID                    string
			DeadLetterReason      string
			DeadLetterDescription string
			Properties            map[string]any
			Event                 json.RawMessage
		}
	}
	if _, err := c.do(ctx, http.MethodGet, path, nil, &res); err != nil {
		return explain(err)
	}
	if len(res.Value) == 0 {
		fmt.Fprintln(stdout, "no dead-lettered events")
		return nil
	}
	for _, d := range res.Value {
		fmt.Fprintf(stdout, "#%d id=%s reason=%s", d.SequenceNumber, d.ID, d.DeadLetterReason)
		for _, k := range []string{"deliveryAttempts", "lastDeliveryOutcome", "lastHttpStatusCode"} {
			if v, ok := d.Properties[k]; ok {
				fmt.Fprintf(stdout, " %s=%v", k, v)
			}
		}
		fmt.Fprintf(stdout, "\n  %s\n", d.Event)
	}
	return nil
}

// egPut PUTs {"properties": props} and prints the resource.
func egPut(ctx context.Context, cf *clientFlags, path string, props map[string]any, stdout io.Writer) error {
	c, err := cf.egClient()
	if err != nil {
		return err
	}
	var res egResource
	status, err := c.do(ctx, http.MethodPut, path, map[string]any{"properties": props}, &res)
	if err != nil {
		return explain(err)
	}
	verb := "updated"
	if status == http.StatusCreated {
		verb = "created"
	}
	fmt.Fprintf(stdout, "%s %s\n", verb, res.Name)
	return nil
}

func egList(ctx context.Context, name, synopsis, summary, path string, args []string, stdout io.Writer, header, cols []string) error {
	cf := newClientFlags(name, synopsis, summary)
	if _, err := cf.parse(args, stdout, 0, 0); err != nil {
		return helpOK(err)
	}
	c, err := cf.egClient()
	if err != nil {
		return err
	}
	var res struct{ Value []egResource }
	if _, err := c.do(ctx, http.MethodGet, path, nil, &res); err != nil {
		return explain(err)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range res.Value {
		row := []string{r.Name}
		for _, col := range cols {
			row = append(row, r.propText(col))
		}
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	return tw.Flush()
}

func egShow(ctx context.Context, name, synopsis, summary string, args []string, stdout io.Writer, path func([]string) string, n int) error {
	cf := newClientFlags(name, synopsis, summary)
	pos, err := cf.parse(args, stdout, n, n)
	if err != nil {
		return helpOK(err)
	}
	c, err := cf.egClient()
	if err != nil {
		return err
	}
	var res any
	if _, err := c.do(ctx, http.MethodGet, path(pos), nil, &res); err != nil {
		return explain(err)
	}
	return printJSON(stdout, res)
}

func egDelete(ctx context.Context, name, synopsis, summary string, args []string, stdout io.Writer, path func([]string) string, n int) error {
	cf := newClientFlags(name, synopsis, summary)
	pos, err := cf.parse(args, stdout, n, n)
	if err != nil {
		return helpOK(err)
	}
	c, err := cf.egClient()
	if err != nil {
		return err
	}
	status, err := c.do(ctx, http.MethodDelete, path(pos), nil, nil)
	if err != nil {
		return explain(err)
	}
	if status == http.StatusNoContent {
		return fmt.Errorf("%s does not exist", strings.Join(pos, "/"))
	}
	fmt.Fprintf(stdout, "deleted %s\n", strings.Join(pos, "/"))
	return nil
}
