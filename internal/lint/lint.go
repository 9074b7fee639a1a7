// Package lint holds the repository's own rules as tests: every package has
// a doc comment, the dependency directions of STYLE.md §3.2 hold, and
// forbidden calls (wall-clock time and sleeps outside internal/clock, prints
// outside cmd) stay out of production code.
package lint
