// Package goldentest compares the encodings a store's codec writes with a
// checked-in golden file, so that an on-disk format cannot drift. Tests
// only.
package goldentest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Check compares got, one hex encoding a line, with the golden file (a
// slash-separated path), line by line, and returns the golden lines. With
// BATON_WRITE_GOLDEN set it first rewrites the file from got.
func Check(t *testing.T, file, got string) []string {
	t.Helper()
	if os.Getenv("BATON_WRITE_GOLDEN") != "" {
		if err := os.WriteFile(filepath.FromSlash(file), []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(filepath.FromSlash(file))
	if err != nil {
		t.Fatal(err)
	}
	gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
	if len(gl) != len(wl) {
		t.Fatalf("%d encodings, golden file has %d", len(gl), len(wl))
	}
	for i := range gl {
		if gl[i] != wl[i] {
			t.Errorf("encoding %d:\n got %s\nwant %s", i, gl[i], wl[i])
		}
	}
	return wl
}
