package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/batonmq/baton/internal/broker"
	"github.com/batonmq/baton/internal/clock"
	"github.com/batonmq/baton/internal/httpapi/mgmt"
	"github.com/batonmq/baton/internal/store/memstore"
)

// cliEnv is a management API server on loopback over a real broker on
// memstore with a fake clock, and the CLI pointed at it.
type cliEnv struct {
	t     *testing.T
	ctx   context.Context
	clock *clock.Fake
	b     *broker.Broker
	url   string
	c     *mgmt.Client
}

func newCLIEnv(t *testing.T) *cliEnv {
	t.Helper()
	e := &cliEnv{t: t, ctx: t.Context(), clock: clock.NewFake(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))}
	st := memstore.New()
	b, err := broker.New(broker.Config{Store: st, Clock: e.clock})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Open(e.ctx); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(mgmt.New(mgmt.Config{Broker: b}))
	t.Cleanup(func() { srv.Close(); b.Close(); st.Close() })
	e.b, e.url = b, srv.URL
	if e.c, err = mgmt.NewClient(srv.URL, srv.Client()); err != nil {
		t.Fatal(err)
	}
	return e
}

// run runs the CLI with --server pointed at the test server, given right
// after the command's name so that later flags (and "--") keep their
// meaning.
func (e *cliEnv) run(args ...string) (stdout, stderr string, code int) {
	at := 1
	if args[0] == "queue" || args[0] == "dlq" {
		at = 2
	}
	if len(args) < at {
		return runCLI(e.ctx, args...)
	}
	full := append(append(append([]string{}, args[:at]...), "--server", e.url), args[at:]...)
	return runCLI(e.ctx, full...)
}

func runCLI(ctx context.Context, args ...string) (string, string, int) {
	var out, errb bytes.Buffer
	code := Run(ctx, args, &out, &errb)
	return out.String(), errb.String(), code
}

// runWaiting runs a command that waits on the fake clock (receive's default
// 1 s wait) and moves the clock on once it waits.
func (e *cliEnv) runWaiting(d time.Duration, args ...string) (string, string, int) {
	type result struct {
		out, err string
		code     int
	}
	ch := make(chan result, 1)
	go func() {
		o, er, c := e.run(args...)
		ch <- result{o, er, c}
	}()
	e.clock.BlockUntil(2) // the broker's timer goroutine and the waiting command
	e.clock.Advance(d)
	r := <-ch
	return r.out, r.err, r.code
}

func (e *cliEnv) want(args []string, wantOut, wantErr string, wantCode int) {
	e.t.Helper()
	out, errs, code := e.run(args...)
	if out != wantOut || errs != wantErr || code != wantCode {
		e.t.Fatalf("baton %s:\n stdout %q\n stderr %q\n exit %d\nwant\n stdout %q\n stderr %q\n exit %d",
			strings.Join(args, " "), out, errs, code, wantOut, wantErr, wantCode)
	}
}

func TestNewcomerFlow(t *testing.T) {
	t.Parallel()
	e := newCLIEnv(t)
	e.want([]string{"queue", "create", "orders"}, "created queue \"orders\"\n", "", 0)
	e.want([]string{"send", "orders", "hello"}, "1\n", "", 0)
	e.want([]string{"receive", "orders"}, "hello\n", "", 0)

	out, errs, code := e.runWaiting(time.Second, "receive", "orders")
	if out != "no messages: queue \"orders\" is empty\n" || errs != "" || code != 0 {
		t.Fatalf("second receive: %q %q %d", out, errs, code)
	}

	e.want([]string{"send", "orders", "again"}, "2\n", "", 0)
	e.want([]string{"queue", "list"}, ""+
		"NAME    ACTIVE  SCHEDULED  DEFERRED  DEAD-LETTERED\n"+
		"orders  1       0          0         0\n", "", 0)
	out, _, code = e.run("queue", "show", "orders")
	for _, s := range []string{"name                                 orders\n", "activeMessageCount                   1\n",
		"lockDuration                         1m0s\n", "defaultMessageTimeToLive             never\n", "status                               Active\n"} {
		if code != 0 || !strings.Contains(out, s) {
			t.Fatalf("queue show: %d\n%s\nmissing %q", code, out, s)
		}
	}
	e.want([]string{"queue", "delete", "orders"}, "deleted queue \"orders\"\n", "", 0)
	e.want([]string{"queue", "list"}, "no queues; create one with: baton queue create NAME\n", "", 0)
}

func TestCLIErrors(t *testing.T) {
	t.Parallel()
	e := newCLIEnv(t)
	e.want([]string{"queue", "create", "orders"}, "created queue \"orders\"\n", "", 0)
	for _, tc := range []struct {
		args    []string
		stderr  string // a prefix of stderr
		code    int
		exactly bool
	}{
		{[]string{"receive", "nope"}, "baton receive: queue \"nope\" not found (NotFound)\n", 1, true},
		{[]string{"send", "nope", "x"}, "baton send: queue \"nope\" not found (NotFound)\n", 1, true},
		{[]string{"queue", "show", "nope"}, "baton queue: queue \"nope\" not found (NotFound)\n", 1, true},
		{[]string{"queue", "delete", "nope"}, "baton queue: queue \"nope\" not found (NotFound)\n", 1, true},
		{[]string{"dlq", "resubmit", "nope"}, "baton dlq: queue \"nope\" not found (NotFound)\n", 1, true},
		{[]string{"queue", "create", "orders"}, "baton queue: entity \"orders\" already exists (EntityExists)\n", 1, true},
		{[]string{"queue", "create", "bad name"}, "baton queue: entity name \"bad name\" contains ' '", 1, false},
		{[]string{"queue", "create", "-x"}, "baton queue: flag provided but not defined: -x", 2, false},
		{[]string{"queue", "create", "--", "-x"}, "baton queue: entity name \"-x\" must start and end with a letter or digit (InvalidArgument)\n", 1, true},
		{[]string{"queue", "create", "q2", "--lock-duration", "10m"}, "baton queue: LockDuration 10m0s out of range [1s, 5m0s] (InvalidArgument)\n", 1, true},
		{[]string{"queue", "create", "q2", "--lock-duration", "soon"}, "baton queue: invalid value \"soon\" for flag -lock-duration", 2, false},
		{[]string{"queue", "create"}, "baton queue: usage: baton queue create NAME [flags]", 2, false},
		{[]string{"queue", "create", "a", "b"}, "baton queue: usage: baton queue create NAME [flags]", 2, false},
		{[]string{"queue"}, "baton queue: missing subcommand", 2, false},
		{[]string{"queue", "purge"}, "baton queue: unknown subcommand \"purge\"", 2, false},
		{[]string{"send", "orders"}, "baton send: usage: baton send QUEUE TEXT [flags]", 2, false},
		{[]string{"send", "orders", "x", "--count", "0"}, "baton send: --count must be at least 1\n", 2, true},
		{[]string{"send", "orders", "x", "--schedule", "tomorrow"}, "baton send: --schedule \"tomorrow\" is neither", 2, false},
		{[]string{"send", "orders", "x", "--property", "novalue"}, "baton send: invalid value \"novalue\" for flag -property", 2, false},
		{[]string{"send", "orders", "x", "--ttl", "-1s"}, "baton send: invalid value \"-1s\" for flag -ttl", 2, false},
		{[]string{"send", "orders", "x", "--session-id", "s"}, "", 0, false},
		{[]string{"receive", "orders", "--mode", "peek"}, "baton receive: --mode \"peek\" is not peeklock or receiveanddelete\n", 2, true},
		{[]string{"receive", "orders", "--max", "0"}, "baton receive: --max must be at least 1\n", 2, true},
		{[]string{"receive", "orders", "--wait", "1h"}, "baton receive: wait 1h0m0s is longer than 5m0s (InvalidArgument)\n", 1, true},
		{[]string{"receive", "orders", "--session-id", "s"}, "baton receive: queue \"orders\" does not require sessions; drop --session-id\n", 1, true},
		{[]string{"receive", "orders", "--dlq", "--session-id", "s"}, "baton receive: a dead-letter queue has no sessions;", 1, false},
		{[]string{"receive", "orders", "--bogus"}, "baton receive: flag provided but not defined: -bogus", 2, false},
		{[]string{"dlq"}, "baton dlq: usage: baton dlq resubmit QUEUE [--max N]\n", 2, true},
		{[]string{"dlq", "resubmit", "orders", "--max", "-1"}, "baton dlq: --max must not be negative\n", 2, true},
		{[]string{"version", "extra"}, "baton version: usage: baton version\n", 2, true},
		{[]string{"receive", "orders", "--server", "ftp://x"}, "baton receive: --server: mgmt: server URL \"ftp://x\" is not an http(s) URL", 2, false},
	} {
		t.Run(strings.Join(tc.args, "_"), func(t *testing.T) {
			out, errs, code := e.run(tc.args...)
			if code != tc.code || (tc.exactly && errs != tc.stderr) || !strings.HasPrefix(errs, tc.stderr) {
				t.Fatalf("baton %v:\n stdout %q\n stderr %q\n exit %d\nwant stderr %q exit %d", tc.args, out, errs, code, tc.stderr, tc.code)
			}
			if code != 0 && strings.Count(errs, "\n") != 1 {
				t.Fatalf("error is not one line: %q", errs)
			}
		})
	}
	// Nothing the failed commands tried was done.
	qs, err := e.c.ListQueues(e.ctx)
	if err != nil || len(qs) != 1 || qs[0].ActiveMessageCount != 1 {
		t.Fatalf("queues after the bad commands: %v %+v", err, qs)
	}
}

func TestServerUnreachable(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(nil)
	url := srv.URL
	srv.Close() // nothing listens there now
	out, errs, code := runCLI(t.Context(), "receive", "orders", "--server", url)
	if code != 1 || out != "" || strings.Count(errs, "\n") != 1 ||
		!strings.HasPrefix(errs, "baton receive: could not reach the Baton server at "+url+": ") ||
		!strings.Contains(errs, "connection refused") || !strings.Contains(errs, "Start it with 'baton serve'") {
		t.Fatalf("unreachable: %q %q %d", out, errs, code)
	}
}

func TestServerFromEnv(t *testing.T) {
	// Not parallel: it sets an environment variable.
	e := newCLIEnv(t)
	t.Setenv("BATON_SERVER", e.url)
	out, errs, code := runCLI(e.ctx, "queue", "list")
	if code != 0 || errs != "" || !strings.HasPrefix(out, "no queues") {
		t.Fatalf("BATON_SERVER: %q %q %d", out, errs, code)
	}
}

func TestSendFlags(t *testing.T) {
	t.Parallel()
	e := newCLIEnv(t)
	e.want([]string{"queue", "create", "q", "--duplicate-detection", "PT10M", "--ttl", "1h", "--max-delivery-count", "3",
		"--lock-duration", "30s", "--max-size-mb", "100", "--max-message-kb", "64", "--dead-letter-on-expiration",
		"--auto-delete-on-idle", "P1D"}, "created queue \"q\"\n", "", 0)
	q, err := e.c.GetQueue(e.ctx, "q")
	if err != nil {
		t.Fatal(err)
	}
	if !q.RequiresDuplicateDetection || q.DuplicateDetectionHistoryTimeWindow != mgmt.Duration(10*time.Minute) ||
		q.DefaultMessageTimeToLive != mgmt.Duration(time.Hour) || q.MaxDeliveryCount != 3 || q.LockDuration != mgmt.Duration(30*time.Second) ||
		q.MaxSizeInMegabytes != 100 || q.MaxMessageSizeInKilobytes != 64 || !q.DeadLetteringOnMessageExpiration ||
		q.AutoDeleteOnIdle != mgmt.Duration(24*time.Hour) || q.RequiresSession {
		t.Fatalf("created with flags: %+v", q)
	}

	e.want([]string{"send", "q", "hi", "--message-id", "m1", "--property", "a=1", "--property", "b=x=y", "--ttl", "5m"}, "1\n", "", 0)
	e.want([]string{"send", "--message-id", "m1", "q", "hi"}, "0 (a duplicate: dropped by duplicate detection)\n", "", 0)
	e.want([]string{"send", "q", "many", "--count", "3"}, "2\n3\n4\n", "", 0)
	e.want([]string{"send", "q", "later", "--schedule", "+5m"}, "5\n", "", 0)
	e.want([]string{"send", "q", "--schedule", "2099-01-01T00:00:00Z", "--", "-dash"}, "6\n", "", 0)

	msgs, err := e.c.Peek(e.ctx, "q", mgmt.PeekOptions{Max: 10})
	if err != nil || len(msgs) != 6 {
		t.Fatalf("peek: %v %d", err, len(msgs))
	}
	m := msgs[0]
	if *m.Body != "hi" || m.MessageID != "m1" || m.Properties["a"] != "1" || m.Properties["b"] != "x=y" || *m.TimeToLive != mgmt.Duration(5*time.Minute) {
		t.Fatalf("sent with flags: %+v", m)
	}
	if msgs[4].State != "Scheduled" || msgs[5].State != "Scheduled" || *msgs[5].Body != "-dash" {
		t.Fatalf("scheduled: %+v %+v", msgs[4], msgs[5])
	}
}

func TestReceiveFlags(t *testing.T) {
	t.Parallel()
	e := newCLIEnv(t)
	e.want([]string{"queue", "create", "q"}, "created queue \"q\"\n", "", 0)
	e.want([]string{"send", "q", "one"}, "1\n", "", 0)
	e.want([]string{"send", "q", "two"}, "2\n", "", 0)
	e.want([]string{"send", "q", "three"}, "3\n", "", 0)

	// Peek does not take.
	e.want([]string{"receive", "q", "--peek", "--max", "5"}, "one\ntwo\nthree\n", "", 0)
	e.want([]string{"receive", "q", "--peek", "--from", "3"}, "three\n", "", 0)
	// JSON lines.
	out, _, code := e.run("receive", "q", "--peek", "--json", "--max", "2")
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if code != 0 || len(lines) != 2 {
		t.Fatalf("--json: %d %q", code, out)
	}
	var m mgmt.Message
	if err := json.Unmarshal([]byte(lines[1]), &m); err != nil || *m.Body != "two" || m.SequenceNumber != 2 || m.State != "Active" {
		t.Fatalf("--json line: %v %+v", err, m)
	}
	// --no-complete leaves the message locked.
	out, errs, code := e.run("receive", "q", "--no-complete")
	if out != "one\n" || code != 0 || !strings.HasPrefix(errs, "left 1 message locked until 2026-01-02T03:05:05.000Z;") {
		t.Fatalf("--no-complete: %q %q %d", out, errs, code)
	}
	// Receive and delete, two at a time.
	e.want([]string{"receive", "q", "--mode", "receiveanddelete", "--max", "2"}, "two\nthree\n", "", 0)
	if q, _ := e.c.GetQueue(e.ctx, "q"); q.ActiveMessageCount != 1 {
		t.Fatalf("the locked message is gone: %+v", q)
	}
	// No wait: at once.
	e.want([]string{"receive", "q", "--wait", "0s"}, "no messages: queue \"q\" is empty\n", "", 0)

	// Dead-letter queue.
	e.clock.Advance(time.Minute) // the --no-complete lock expires
	got, err := e.c.Receive(e.ctx, "q", mgmt.ReceiveRequest{})
	if err != nil || len(got) != 1 {
		t.Fatalf("receive: %v %+v", err, got)
	}
	if err := e.c.Settle(e.ctx, "q", mgmt.SettleRequest{LockToken: got[0].LockToken, Disposition: "deadletter", Reason: "r"}); err != nil {
		t.Fatal(err)
	}
	e.want([]string{"receive", "q", "--dlq", "--peek"}, "one\n", "", 0)
	e.want([]string{"receive", "q", "--dlq"}, "one\n", "", 0)
	e.want([]string{"receive", "q", "--dlq", "--wait", "0"}, "no messages: the dead-letter queue of \"q\" is empty\n", "", 0)

	// A binary body is marked.
	if _, err := e.c.Send(e.ctx, "q", mgmt.SendMessage{BodyBase64: "/wA="}); err != nil {
		t.Fatal(err)
	}
	e.want([]string{"receive", "q"}, "[binary body, base64] /wA=\n", "", 0)
}

func TestReceiveSessions(t *testing.T) {
	t.Parallel()
	e := newCLIEnv(t)
	e.want([]string{"queue", "create", "s", "--requires-session"}, "created queue \"s\"\n", "", 0)
	out, errs, code := e.run("send", "s", "x")
	if code != 1 || !strings.Contains(errs, "requires sessions") {
		t.Fatalf("send without a session: %q %q %d", out, errs, code)
	}
	e.want([]string{"send", "s", "a1", "--session-id", "a"}, "1\n", "", 0)
	e.want([]string{"send", "s", "b1", "--session-id", "b"}, "2\n", "", 0)
	e.want([]string{"send", "s", "a2", "--session-id", "a"}, "3\n", "", 0)

	e.want([]string{"receive", "s", "--peek", "--max", "5", "--session-id", "a"}, "a1\na2\n", "", 0)
	// The next session with messages, then by id.
	e.want([]string{"receive", "s", "--max", "5"}, "a1\na2\n", "", 0)
	e.want([]string{"receive", "s", "--session-id", "b"}, "b1\n", "", 0)
	e.want([]string{"receive", "s", "--session-id", "b", "--wait", "0"}, "no messages: session \"b\" of queue \"s\" is empty\n", "", 0)
	out, errs, code = e.runWaiting(time.Second, "receive", "s")
	if out != "no messages: queue \"s\" is empty\n" || errs != "" || code != 0 {
		t.Fatalf("no session left: %q %q %d", out, errs, code)
	}
	// Sessions were released: they can be accepted again.
	if _, err := e.c.AcceptSession(e.ctx, "s", "b", 0); err != nil {
		t.Fatalf("session b was left locked: %v", err)
	}
}

func TestDLQResubmit(t *testing.T) {
	t.Parallel()
	e := newCLIEnv(t)
	e.want([]string{"queue", "create", "q"}, "created queue \"q\"\n", "", 0)
	e.want([]string{"send", "q", "x", "--count", "3", "--property", "k=v"}, "1\n2\n3\n", "", 0)
	msgs, err := e.c.Receive(e.ctx, "q", mgmt.ReceiveRequest{Max: 3})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if err := e.c.Settle(e.ctx, "q", mgmt.SettleRequest{LockToken: m.LockToken, Disposition: "deadletter", Reason: "boom"}); err != nil {
			t.Fatal(err)
		}
	}
	e.want([]string{"dlq", "resubmit", "q", "--max", "1"}, "resubmitted 1 message\n", "", 0)
	e.want([]string{"dlq", "resubmit", "q"}, "resubmitted 2 messages\n", "", 0)
	e.want([]string{"dlq", "resubmit", "q"}, "resubmitted 0 messages\n", "", 0)
	out, _, _ := e.run("receive", "q", "--peek", "--json", "--max", "5")
	if strings.Count(out, `"properties":{"k":"v"}`) != 3 {
		t.Fatalf("resubmitted messages lost or kept properties: %s", out)
	}
}

func TestVersionAndHelp(t *testing.T) {
	t.Parallel()
	out, errs, code := runCLI(t.Context(), "version")
	if code != 0 || errs != "" || !strings.HasPrefix(out, "baton dev") || !strings.Contains(out, runtime.Version()) {
		t.Fatalf("version: %q %q %d", out, errs, code)
	}
	for _, args := range [][]string{{"receive", "-h"}, {"send", "--help"}, {"queue", "create", "-h"}, {"queue", "-h"}, {"dlq", "resubmit", "-h"}} {
		out, errs, code := runCLI(t.Context(), args...)
		if code != 0 || errs != "" || !strings.Contains(out, "usage: baton ") {
			t.Fatalf("%v: %q %q %d", args, out, errs, code)
		}
	}
	out, _, _ = runCLI(t.Context(), "help")
	for _, c := range []string{"queue", "send", "receive", "dlq", "version"} {
		if !strings.Contains(out, "  "+c+" ") {
			t.Fatalf("help lacks %q:\n%s", c, out)
		}
	}
}
