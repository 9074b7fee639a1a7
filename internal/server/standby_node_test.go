package server

import (
	"bufio"
	"bytes"
	"net/http"
	"testing"
)

func TestNodeRequest(t *testing.T) {
	for _, c := range []struct {
		in   string
		path string
	}{
		{"GET /api/v1/node HTTP/1.1\r\nHost: x\r\n\r\n", nodePath},
		{"HEAD /api/v1/node/active?x=1 HTTP/1.1\r\n", nodeActivePath},
		{"GET /api/v1/node", nodePath}, // the line so far
		{"GET /api/v1/nodes HTTP/1.1\r\n", ""},
		{"POST /api/v1/node HTTP/1.1\r\n", ""},
		{"GET /api/v1/stats HTTP/1.1\r\n", ""},
		{"\x16\x03\x01", ""},
		{"", ""},
	} {
		path, ok := nodeRequest([]byte(c.in))
		if ok != (c.path != "") || path != c.path {
			t.Errorf("nodeRequest(%q) = %q, %v; want %q", c.in, path, ok, c.path)
		}
	}
}

// FuzzNodeRequest: any bytes a client sends first are classified without
// a panic; a request the standby keeps for itself is one net/http reads
// as a GET or HEAD of that path when it is complete.
func FuzzNodeRequest(f *testing.F) {
	f.Add([]byte("GET /api/v1/node HTTP/1.1\r\nHost: x\r\n\r\n"))
	f.Add([]byte("HEAD /api/v1/node/active HTTP/1.0\r\n\r\n"))
	f.Add([]byte("GET /api/v1/stats HTTP/1.1\r\n\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		path, ok := nodeRequest(b)
		if !ok {
			return
		}
		if !isNodePath(path) {
			t.Fatalf("path %q", path)
		}
		req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(b)))
		if err != nil {
			return // incomplete or malformed: the standby answers nothing
		}
		if (req.Method != http.MethodGet && req.Method != http.MethodHead) || req.URL.Path != path {
			t.Fatalf("kept %q as %s %s; net/http reads %s %s", b, "GET/HEAD", path, req.Method, req.URL.Path)
		}
	})
}
