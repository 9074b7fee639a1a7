// Package e2e holds Baton's end-to-end tests: they build the real binary,
// run it as a child process on loopback ports and drive it with real
// clients, including crash tests that kill it with SIGKILL.
package e2e
