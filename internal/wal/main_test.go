package wal

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestMain fails the run if a test leaves a log's goroutines behind: every
// Open must be matched by a Close that stops them.
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		// A goroutine that has just signalled its WaitGroup may still be on
		// its way out: give stragglers a moment before calling it a leak.
		leaked := walGoroutines()
		for i := 0; i < 100 && leaked != ""; i++ {
			time.Sleep(10 * time.Millisecond)
			leaked = walGoroutines()
		}
		if leaked != "" {
			fmt.Fprintf(os.Stderr, "wal: goroutines left running after the tests:\n%s\n", leaked)
			code = 1
		}
	}
	os.Exit(code)
}

func walGoroutines() string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var leaked []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "internal/wal.(*Log).run") || strings.Contains(g, "internal/wal.(*Log).startPreparing") {
			leaked = append(leaked, g)
		}
	}
	return strings.Join(leaked, "\n\n")
}
