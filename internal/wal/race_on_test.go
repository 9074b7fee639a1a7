//go:build race

package wal

// raceEnabled is true when the race detector is on; slow randomised tests
// run fewer iterations then.
const raceEnabled = true
