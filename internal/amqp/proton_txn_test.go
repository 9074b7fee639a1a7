package amqp

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/batonmq/baton/internal/broker"
)

// needProton skips without python3-qpid-proton locally and fails in CI.
func needProton(t *testing.T) string {
	t.Helper()
	const python = "/usr/bin/python3"
	if err := exec.Command(python, "-c", "import proton").Run(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("python3-qpid-proton is not installed (apt-get install -y python3-qpid-proton): %v", err)
		}
		t.Skipf("python3-qpid-proton not available: %v", err)
	}
	return python
}

type protonEvent struct {
	Event         string `json:"event"`
	Body          string `json:"body"`
	DeliveryCount int    `json:"delivery_count"`
}

// runProtonTxn runs testdata/proton_txn.py to the end and returns its
// events.
func runProtonTxn(t *testing.T, env *testEnv, mode string) []protonEvent {
	t.Helper()
	python := needProton(t)
	cmd := exec.CommandContext(env.tctx(), python, "testdata/proton_txn.py", env.addr, "in", "out", mode)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("proton_txn.py %s: %v\n%s", mode, err, stderr.Bytes())
	}
	var evs []protonEvent
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		var e protonEvent
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("output line %q: %v", sc.Bytes(), err)
		}
		evs = append(evs, e)
	}
	return evs
}

func protonTxnEnv(t *testing.T, lock time.Duration) *testEnv {
	env := newTestEnv(t, envOptions{realClock: true})
	env.queue("in", broker.QueueProperties{LockDuration: lock})
	env.queue("out", broker.QueueProperties{})
	if _, err := env.broker.Send(env.ctx, "in", []*broker.Message{{Body: []byte("orig")}}); err != nil {
		t.Fatal(err)
	}
	return env
}

// TestProtonTxnCommit: Qpid Proton accepts a received message and sends a
// new one in a transaction and commits: both are applied.
func TestProtonTxnCommit(t *testing.T) {
	t.Parallel()
	env := protonTxnEnv(t, time.Minute)
	evs := runProtonTxn(t, env, "commit")
	if len(evs) != 1 || evs[0].Event != "committed" {
		t.Fatalf("events %+v", evs)
	}
	if a, b := env.counts("in"), env.counts("out"); a.Total() != 0 || b.Active != 1 {
		t.Fatalf("after commit: in %+v out %+v; want in empty, out 1", a, b)
	}
	msgs, err := env.broker.Receive(env.ctx, "out", broker.ReceiveOptions{Mode: broker.ReceiveAndDelete})
	if err != nil || len(msgs) != 1 || msgs[0].MessageID != "new" {
		t.Fatalf("out: %v %v", msgs, err)
	}
}

// TestProtonTxnRollback: the same transaction rolled back leaves the
// original redeliverable and the new message absent. Proton releases the
// accepted delivery after the rollback, but sends nothing for a delivery
// the server has settled already, so the message comes back when its lock
// expires (2 s here; TestTxnRollbackRaw covers a client that releases).
func TestProtonTxnRollback(t *testing.T) {
	t.Parallel()
	env := protonTxnEnv(t, 2*time.Second)
	evs := runProtonTxn(t, env, "rollback")
	if len(evs) != 2 || evs[0].Event != "aborted" || evs[1].Event != "redelivered" || evs[1].Body != "orig" || evs[1].DeliveryCount != 1 {
		t.Fatalf("events %+v", evs)
	}
	if a, b := env.counts("in"), env.counts("out"); a.Active != 1 || b.Total() != 0 {
		t.Fatalf("after rollback: in %+v out %+v; want in 1, out empty", a, b)
	}
}
