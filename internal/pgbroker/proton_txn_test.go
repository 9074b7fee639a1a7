package pgbroker

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/batonmq/baton/internal/broker"
)

// TestProtonTxnTwoNodes: an AMQP transaction over a real socket, driven
// by Qpid Proton's transactional API (the AMQP face's own test script),
// against a node of a two-node group: the message is received and
// accepted, and a new one sent, in one transaction that commits; the other
// node sees both changes.
func TestProtonTxnTwoNodes(t *testing.T) {
	const python = "/usr/bin/python3"
	if err := exec.Command(python, "-c", "import proton").Run(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("python3-qpid-proton is not installed (apt-get install -y python3-qpid-proton): %v", err)
		}
		t.Skipf("python3-qpid-proton not available: %v", err)
	}
	nodes := newNodes(t, 2)
	ctx := sdkCtx(t)
	a, b := nodes[0], nodes[1]
	for _, q := range []string{"in", "out"} {
		if _, err := a.eng.CreateQueue(ctx, q, broker.QueueProperties{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.eng.Send(ctx, "in", []*broker.Message{{Body: []byte("orig")}}); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, python, "../amqp/testdata/proton_txn.py", a.addr, "in", "out", "commit")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil || !strings.Contains(string(out), `"committed"`) {
		t.Fatalf("proton_txn.py commit: %v\n%s\n%s", err, out, stderr.Bytes())
	}
	in, err := b.eng.GetEntity("in")
	if err != nil || in.Total() != 0 {
		t.Fatalf("in after the commit: %+v %v", in, err)
	}
	msgs, err := b.eng.Receive(ctx, "out", broker.ReceiveOptions{Mode: broker.ReceiveAndDelete})
	if err != nil || len(msgs) != 1 || msgs[0].MessageID != "new" {
		t.Fatalf("out through the other node: %+v %v", msgs, err)
	}
}
