package e2e

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"

	"github.com/batonmq/baton/internal/httpapi/mgmt"
	"github.com/batonmq/baton/internal/store/pgstore/pgtest"
)

// TestPostgresStoreSDK runs `baton serve --store postgres://…` against a
// private PostgreSQL and drives it with the Service Bus SDK over AMQP:
// messages sent before a restart of Baton are received after it.
func TestPostgresStoreSDK(t *testing.T) {
	pg := pgtest.Require(t, pgtest.Options{})
	url := pg.SchemaURL(t)
	data := t.TempDir()
	p := startBaton(t, "--store", url, "--data-dir", data, "--amqp-addr", "127.0.0.1:0")
	if !strings.Contains(p.out.String(), "store:          PostgreSQL") {
		t.Fatalf("banner does not name the PostgreSQL store:\n%s", p.out.String())
	}
	c, err := mgmt.NewClient(p.mgmtURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateQueue(ctx(t), "orders", mgmt.QueueProperties{}); err != nil {
		t.Fatal(err)
	}
	sdk := func(p *proc) *azservicebus.Client {
		m := amqpLine.FindStringSubmatch(p.out.String())
		if m == nil {
			t.Fatalf("no AMQP address in\n%s", p.out.String())
		}
		client, err := azservicebus.NewClientFromConnectionString("Endpoint=sb://"+m[1]+
			";SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=any;UseDevelopmentEmulator=true", nil)
		if err != nil {
			t.Fatal(err)
		}
		return client
	}
	client := sdk(p)
	sender, err := client.NewSender("orders", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range []string{"a", "b", "c"} {
		if err := sender.SendMessage(ctx(t), &azservicebus.Message{Body: []byte(b), ApplicationProperties: map[string]any{"n": int64(7)}}, nil); err != nil {
			t.Fatal(err)
		}
	}
	recv, err := client.NewReceiverForQueue("orders", nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := recv.ReceiveMessages(ctx(t), 1, nil)
	if err != nil || len(got) != 1 || string(got[0].Body) != "a" {
		t.Fatalf("receive: %v %v", got, err)
	}
	if err := recv.CompleteMessage(ctx(t), got[0], nil); err != nil {
		t.Fatal(err)
	}
	client.Close(ctx(t))
	if err := p.stop(); err != nil {
		t.Fatalf("clean stop: %v", err)
	}

	p = startBaton(t, "--store", url, "--data-dir", data, "--amqp-addr", "127.0.0.1:0")
	client = sdk(p)
	defer client.Close(ctx(t))
	recv, err = client.NewReceiverForQueue("orders", &azservicebus.ReceiverOptions{ReceiveMode: azservicebus.ReceiveModeReceiveAndDelete})
	if err != nil {
		t.Fatal(err)
	}
	var bodies []string
	for len(bodies) < 2 {
		msgs, err := recv.ReceiveMessages(ctx(t), 2, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			if m.ApplicationProperties["n"] != int64(7) {
				t.Fatalf("properties after restart: %v", m.ApplicationProperties)
			}
			bodies = append(bodies, string(m.Body))
		}
	}
	if strings.Join(bodies, ",") != "b,c" {
		t.Fatalf("after restart got %v; want b, c", bodies)
	}
}

// TestPostgresStoreUnreachable: a database that cannot be reached at start
// is a clear error and a non-zero exit, without the password in it.
func TestPostgresStoreUnreachable(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(binary, "serve", "--store", "postgres://baton:s3cret@/baton?host="+filepath.Join(dir, "nosocket"),
		"--data-dir", dir, "--mgmt-addr", "127.0.0.1:0", "--amqp-addr", "off", "--amqps-addr", "off", "--queue-addr", "off",
		"--eventgrid-addr", "off")
	out, err := cmd.CombinedOutput()
	if err == nil || cmd.ProcessState.ExitCode() == 0 {
		t.Fatalf("baton serve started without its database:\n%s", out)
	}
	if s := string(out); !strings.Contains(s, "PostgreSQL store") || !strings.Contains(s, "connecting") || strings.Contains(s, "s3cret") {
		t.Fatalf("unclear error (or the password shown):\n%s", s)
	}
}

// TestPostgresCrashKill9 is TestCrashKill9 on the PostgreSQL store: Baton
// is killed with SIGKILL mid-run and restarted, a few times; every
// acknowledged send is there and no acknowledged completion comes back.
func TestPostgresCrashKill9(t *testing.T) {
	pg := pgtest.Require(t, pgtest.Options{})
	url := pg.SchemaURL(t)
	data := t.TempDir()
	ledger := newLedger()
	const cycles = 4
	var totalSent, totalCompleted int
	for cycle := range cycles {
		p := startBaton(t, "--store", url, "--data-dir", data)
		c, err := mgmt.NewClient(p.mgmtURL, nil)
		if err != nil {
			t.Fatal(err)
		}
		if cycle == 0 {
			if _, err := c.CreateQueue(t.Context(), "crash", mgmt.QueueProperties{}); err != nil {
				t.Fatal(err)
			}
		}
		ledger.verify(t, t.Context(), c, cycle)
		sent, completed := drive(t.Context(), c, ledger, cycle, 60+40*cycle, p.kill)
		totalSent += sent
		totalCompleted += completed
	}
	p := startBaton(t, "--store", url, "--data-dir", data)
	c, _ := mgmt.NewClient(p.mgmtURL, nil)
	ledger.verify(t, context.Background(), c, cycles)
	if err := p.stop(); err != nil {
		t.Fatalf("clean stop: %v", err)
	}
	t.Logf("%d kill -9 cycles on PostgreSQL: %d sends acknowledged, %d completions acknowledged, 0 lost, 0 resurrected",
		cycles, totalSent, totalCompleted)
}
