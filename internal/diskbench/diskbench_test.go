package diskbench

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"

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

func TestClosedLoop(t *testing.T) {
	for _, fs := range []struct {
		name string
		fs   vfs.FS
		dir  string
	}{{"mem", vfs.NewMem(), "/d"}, {"disk", nil, t.TempDir()}} {
		t.Run(fs.name, func(t *testing.T) {
			res, err := ClosedLoop(t.Context(), LoopConfig{FS: fs.fs, Dir: fs.dir, Senders: 8, Duration: 100 * time.Millisecond, FileSize: 1 << 20})
			if err != nil {
				t.Fatal(err)
			}
			if res.Messages == 0 || res.Syncs == 0 || res.MsgsPerSync() > 8 || res.Messages < res.Syncs {
				t.Fatalf("result %+v: want messages, syncs, at most 8 messages per sync", res)
			}
			var buf bytes.Buffer
			res.Report(&buf)
			if !strings.Contains(buf.String(), "closed loop, 8 senders") {
				t.Fatalf("report: %s", buf.String())
			}
		})
	}
}

func TestClosedLoopErrors(t *testing.T) {
	if _, err := ClosedLoop(t.Context(), LoopConfig{}); err == nil {
		t.Fatal("no directory accepted")
	}
	if _, err := ClosedLoop(t.Context(), LoopConfig{FS: vfs.NewMem(), Dir: "/d", Senders: 4, MessageSize: 1 << 20, FileSize: 1 << 20}); err == nil {
		t.Fatal("a file too small for one group accepted")
	}
	// The zeroing sync succeeds; a later fdatasync fails and is reported
	// (the senders are released, nothing hangs).
	efs2 := vfs.NewErrorFS(vfs.NewMem())
	var mu sync.Mutex
	syncs := 0
	efs2.SetInjector(vfs.InjectorFunc(func(op vfs.Op, path string) error {
		mu.Lock()
		defer mu.Unlock()
		if op == vfs.OpSync {
			syncs++
			if syncs > 3 {
				return vfs.ErrInjectedIO
			}
		}
		return nil
	}))
	if _, err := ClosedLoop(t.Context(), LoopConfig{FS: efs2, Dir: "/d", Senders: 4, Duration: time.Hour, FileSize: 1 << 20}); err == nil {
		t.Fatal("a failed fdatasync was not reported")
	}
}
