package filestore

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
)

// TestMain fails the run if a test leaves a store's goroutines (its
// maintenance goroutine or its log's writer) behind: every Open must be
// matched by a Close that stops them.
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if leaked := storeGoroutines(); leaked != "" {
			fmt.Fprintf(os.Stderr, "filestore: goroutines left running after the tests:\n%s\n", leaked)
			code = 1
		}
	}
	os.Exit(code)
}

func storeGoroutines() string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var leaked []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "filestore.(*Store).maintain") || strings.Contains(g, "internal/wal.(*Log).run") {
			leaked = append(leaked, g)
		}
	}
	return strings.Join(leaked, "\n\n")
}
