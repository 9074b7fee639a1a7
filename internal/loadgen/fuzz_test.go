package loadgen

import "testing"

// FuzzParseProc feeds arbitrary /proc/PID/stat and /proc/PID/status
// contents to the parsers and the body stamp reader: each returns an error
// or a plausible value, and never panics.
func FuzzParseProc(f *testing.F) {
	f.Add([]byte("4242 (baton) S 1 4242 4242 0 -1 4194560 1234 0 0 0 250 75 0 0 20 0 12 0 100 1000000 2000"), []byte("Name:\tbaton\nVmRSS:\t   2048 kB\n"))
	f.Add([]byte("1 (a) b) R 1 1 1 0 -1 0 0 0 0 0 99999999999999999999 1 0"), []byte("VmRSS:\t-5 kB\n"))
	f.Fuzz(func(t *testing.T, stat, status []byte) {
		if cpu, err := parseStatCPU(stat); err == nil && cpu < 0 {
			t.Errorf("negative CPU time %v from %q", cpu, stat)
		}
		if rss, err := parseStatusRSS(status); err == nil && rss < 0 {
			t.Errorf("negative RSS %d from %q", rss, status)
		}
		if _, ok := stampOf(stat); ok != (len(stat) >= 8) {
			t.Errorf("stampOf(%d bytes) ok = %v", len(stat), ok)
		}
	})
}
