package amqp

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"testing"

	"github.com/batonmq/baton/internal/broker"
)

// TestProtonInterop runs a Qpid Proton client (an independent AMQP 1.0
// implementation) against the server. It needs /usr/bin/python3 with the
// Debian package python3-qpid-proton; without it the test skips locally
// and fails in CI (CI=true).
func TestProtonInterop(t *testing.T) {
	t.Parallel()
	const python = "/usr/bin/python3"
	if err := exec.Command(python, "-c", "import proton").Run(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("python3-qpid-proton is not installed (apt-get install -y python3-qpid-proton): %v", err)
		}
		t.Skipf("python3-qpid-proton not available: %v", err)
	}
	env := newTestEnv(t, envOptions{realClock: true})
	env.queue("interop", broker.QueueProperties{MaxMessageSizeInKilobytes: 1024})
	cmd := exec.CommandContext(env.tctx(), python, "testdata/proton_client.py", env.addr, "interop")
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("proton client: %v\n%s", err, stderr)
	}
	var got []struct {
		ID            string `json:"id"`
		BodyLen       int    `json:"body_len"`
		Body          string `json:"body"`
		Seq           int64  `json:"seq"`
		I             int    `json:"i"`
		DeliveryCount int    `json:"delivery_count"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("output %q: %v", out, err)
	}
	if len(got) != 11 {
		t.Fatalf("got %d messages", len(got))
	}
	for i, m := range got[:10] {
		if m.ID != fmt.Sprintf("m-%d", i) || m.Body != fmt.Sprintf("hello %d", i) || m.I != i || m.Seq != int64(i+1) {
			t.Errorf("message %d: %+v", i, m)
		}
	}
	if got[10].ID != "big" || got[10].BodyLen != 300000 {
		t.Errorf("large message: %+v", got[10])
	}
	// Proton settles its accepts first (rcv-settle-mode first): the
	// completes run after the client has moved on.
	waitFor(t, func() bool { return env.counts("interop").Active == 0 })
}
