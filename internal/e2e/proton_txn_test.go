package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/batonmq/baton/internal/httpapi/mgmt"
)

// amqpLine is where `baton serve` prints its plain AMQP address.
var amqpLine = regexp.MustCompile(`Service Bus:\s+sb://(\S+)`)

// TestProtonTxnKill9 kills `baton serve` with SIGKILL in the middle of a
// transaction driven by Qpid Proton (which accepts a received message and
// sends a new one in it) and checks the promise across the restart:
//
//   - killed after both operations were staged, before the discharge: the
//     original is still there (its lock, in memory only, is gone) and the
//     new message is absent;
//   - killed right after the commit's discharge was acknowledged: the
//     original is gone and the new message is there.
func TestProtonTxnKill9(t *testing.T) {
	const python = "/usr/bin/python3"
	if err := exec.Command(python, "-c", "import proton").Run(); err != nil {
		missingJS(t, "python3-qpid-proton is not installed (apt-get install -y python3-qpid-proton; ./test.sh does): "+err.Error())
	}
	script, err := filepath.Abs("../amqp/testdata/proton_txn.py")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		mode, event string
		wantIn      []string
		wantOut     []string
	}{
		{"stage", "staged", []string{"orig"}, nil},
		{"commit-wait", "committed", nil, []string{"new"}},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			dir := t.TempDir()
			p := startBaton(t, "--data-dir", dir, "--amqp-addr", "127.0.0.1:0")
			m := amqpLine.FindStringSubmatch(p.out.String())
			if m == nil {
				t.Fatalf("no AMQP address in\n%s", p.out.String())
			}
			ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
			defer cancel()
			c, err := mgmt.NewClient(p.mgmtURL, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, q := range []string{"in", "out"} {
				if _, err := c.CreateQueue(ctx, q, mgmt.QueueProperties{}); err != nil {
					t.Fatal(err)
				}
			}
			body := "orig"
			if _, err := c.Send(ctx, "in", mgmt.SendMessage{Body: &body}); err != nil {
				t.Fatal(err)
			}

			cmd := exec.CommandContext(ctx, python, script, m[1], "in", "out", tc.mode)
			cmd.Stderr = os.Stderr
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			sc := bufio.NewScanner(stdout)
			got := ""
			for got != tc.event && sc.Scan() {
				var ev struct{ Event string }
				if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
					t.Fatalf("proton output %q: %v", sc.Bytes(), err)
				}
				got = ev.Event
			}
			if got != tc.event {
				cmd.Wait()
				t.Fatalf("proton client ended without %q\n--- baton output ---\n%s", tc.event, p.out.String())
			}
			p.kill()
			_ = cmd.Process.Kill()
			_ = cmd.Wait()

			p = startBaton(t, "--data-dir", dir)
			c, err = mgmt.NewClient(p.mgmtURL, nil)
			if err != nil {
				t.Fatal(err)
			}
			for q, want := range map[string][]string{"in": tc.wantIn, "out": tc.wantOut} {
				msgs, err := c.Peek(ctx, q, mgmt.PeekOptions{Max: 10})
				if err != nil {
					t.Fatal(err)
				}
				var bodies []string
				for _, m := range msgs {
					if m.Body == nil {
						t.Fatalf("%s: message %+v without a text body", q, m)
					}
					bodies = append(bodies, *m.Body)
				}
				if len(bodies) != len(want) || len(want) > 0 && bodies[0] != want[0] {
					t.Fatalf("after kill -9 and restart, %s holds %q; want %q", q, bodies, want)
				}
			}
		})
	}
}
