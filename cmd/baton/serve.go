package main

import (
	"context"
	"io"
)

// runServe is filled in by internal/server wiring.
func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return &usageError{"serve: not wired yet"}
}
