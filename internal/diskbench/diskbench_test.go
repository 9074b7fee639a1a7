package diskbench

import (
	"bytes"
	"strings"
	"testing"

	"github.com/batonmq/baton/internal/vfs"
)

func TestRunOnMemFS(t *testing.T) {
	res, err := Run(t.Context(), Config{FS: vfs.NewMem(), Dir: "/d", MaxSyncs: 50, FileSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if res.Syncs != 50 || len(res.Latencies) != 50 {
		t.Fatalf("syncs = %d", res.Syncs)
	}
	var buf bytes.Buffer
	res.Report(&buf)
	for _, want := range []string{"fdatasync latency", "256 senders"} {
		if !strings.Contains(buf.String(), want) {
			t.Fatalf("report lacks %q:\n%s", want, buf.String())
		}
	}
}

func TestRunOnDisk(t *testing.T) {
	res, err := Run(t.Context(), Config{Dir: t.TempDir(), MaxSyncs: 20, FileSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if res.Syncs != 20 || res.Quantile(0.5) <= 0 {
		t.Fatalf("result = %+v", res)
	}
}

func TestErrors(t *testing.T) {
	if _, err := Run(t.Context(), Config{}); err == nil {
		t.Fatal("no directory accepted")
	}
	efs := vfs.NewErrorFS(vfs.NewMem())
	efs.SetInjector(vfs.FailOn(vfs.ErrInjectedIO, vfs.OpSync))
	if _, err := Run(t.Context(), Config{FS: efs, Dir: "/d", MaxSyncs: 5, FileSize: 1 << 20}); err == nil {
		t.Fatal("sync error not reported")
	}
}
