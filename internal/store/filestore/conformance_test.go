package filestore_test

import (
	"testing"

	"github.com/batonmq/baton/internal/broker"
	"github.com/batonmq/baton/internal/broker/brokertest"
	"github.com/batonmq/baton/internal/store/filestore"
	"github.com/batonmq/baton/internal/vfs"
)

// osFactory opens stores on t.TempDir() on the real disk.
func osFactory(cfg filestore.Config) brokertest.Factory {
	dirs := map[broker.Store]string{}
	return brokertest.Factory{
		New: func(t *testing.T) broker.Store {
			dir := t.TempDir()
			s, err := filestore.Open(vfs.OS{}, dir, cfg)
			if err != nil {
				t.Fatal(err)
			}
			dirs[s] = dir
			return s
		},
		Reopen: func(t *testing.T, old broker.Store) broker.Store {
			dir := dirs[old]
			if err := filestore.VerifyIndex(old.(*filestore.Store)); err != nil {
				t.Errorf("index before restart: %v", err)
			}
			if err := old.Close(); err != nil {
				t.Fatal(err)
			}
			s, err := filestore.Open(vfs.OS{}, dir, cfg)
			if err != nil {
				t.Fatal(err)
			}
			dirs[s] = dir
			return s
		},
	}
}

// memFactory opens stores on an in-memory filesystem; Reopen reopens the
// same filesystem (a process restart, not a power loss).
func memFactory(cfg filestore.Config) brokertest.Factory {
	fss := map[broker.Store]*vfs.Mem{}
	return brokertest.Factory{
		New: func(t *testing.T) broker.Store {
			fs := vfs.NewMem()
			s, err := filestore.Open(fs, "/data", cfg)
			if err != nil {
				t.Fatal(err)
			}
			fss[s] = fs
			return s
		},
		Reopen: func(t *testing.T, old broker.Store) broker.Store {
			fs := fss[old]
			if err := filestore.VerifyIndex(old.(*filestore.Store)); err != nil {
				t.Errorf("index before restart: %v", err)
			}
			if err := old.Close(); err != nil {
				t.Fatal(err)
			}
			s, err := filestore.Open(fs, "/data", cfg)
			if err != nil {
				t.Fatal(err)
			}
			fss[s] = fs
			return s
		},
	}
}

func TestConformanceOS(t *testing.T) { brokertest.Run(t, osFactory(filestore.Config{})) }

func TestModelOS(t *testing.T) {
	brokertest.RunModelSeeds(t, osFactory(filestore.Config{}), modelSeeds())
}

// modelSeeds are the model test's seeds: fewer under the race detector,
// where one seed takes several seconds.
func modelSeeds() []uint64 {
	if raceEnabled {
		return []uint64{1, 2}
	}
	return []uint64{1, 2, 3, 4, 5, 6, 7, 8}
}

// The suite and the model on the in-memory FS run with no hot bodies in the
// broker (every delivery reads its body back from the log); on the OS FS
// with the broker's default budget.
func TestConformanceMem(t *testing.T) {
	f := memFactory(filestore.Config{SegmentSize: 4 << 20})
	f.HotBodyBytes = -1
	brokertest.Run(t, f)
}

func TestModelMem(t *testing.T) {
	f := memFactory(filestore.Config{SegmentSize: 4 << 20})
	f.HotBodyBytes = -1
	brokertest.RunModelSeeds(t, f, modelSeeds())
}
