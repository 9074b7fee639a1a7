package server

// GET /api/v1/node: a node's own role, answered by the node itself. The
// active node's management API serves it; a standby, which forwards its
// management port like every face, answers it locally: it reads the
// first request line of each management connection and keeps the
// connection for itself when it asks for this path (the rest is forwarded
// untouched). /api/v1/node/active answers 503 on a standby, for load
// balancers that should send clients to the active node only.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/batonmq/baton/internal/clock"
)

const (
	nodePath       = "/api/v1/node"
	nodeActivePath = "/api/v1/node/active"
	// sniffTimeout bounds the wait for a management request line.
	sniffTimeout = 10 * time.Second
)

func isNodePath(p string) bool { return p == nodePath || p == nodeActivePath }

// NodeStatus is the answer to GET /api/v1/node.
type NodeStatus struct {
	Role  string `json:"role"` // "active" or "standby"
	Node  string `json:"node"`
	Epoch int64  `json:"epoch,omitempty"` // the active node's fencing epoch
	// Active is, on a standby, the node it forwards to (nil: none known).
	Active *ActiveNode `json:"active,omitempty"`
}

// ActiveNode is the active node as a standby sees it.
type ActiveNode struct {
	Node      string            `json:"node"`
	Epoch     int64             `json:"epoch"`
	Endpoints map[string]string `json:"endpoints"`
}

// nodeStatus reports this node's role.
func (sb *standby) nodeStatus(ctx context.Context) NodeStatus {
	if sb.active.Load() {
		return NodeStatus{Role: "active", Node: sb.node, Epoch: sb.epoch.Load()}
	}
	st := NodeStatus{Role: "standby", Node: sb.node}
	ctx, cancel := context.WithTimeout(ctx, forwardDialTimeout)
	defer cancel()
	if w, err := sb.obs.Owner(ctx); err == nil && w.Endpoints != nil {
		st.Active = &ActiveNode{Node: w.Node, Epoch: w.Epoch, Endpoints: w.Endpoints}
	}
	return st
}

// nodeResponse is the status code and body for path.
func (sb *standby) nodeResponse(ctx context.Context, path string) (int, []byte) {
	st := sb.nodeStatus(ctx)
	code := http.StatusOK
	if path == nodeActivePath && st.Role != "active" {
		code = http.StatusServiceUnavailable
	}
	b, _ := json.Marshal(st) // plain fields: cannot fail
	return code, b
}

// serveNode answers GET /api/v1/node on the active node's management API.
func (sb *standby) serveNode(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	code, b := sb.nodeResponse(r.Context(), r.URL.Path)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	if r.Method == http.MethodGet {
		_, _ = w.Write(b)
	}
}

// nodeRequest reports whether b, the start of an HTTP request, is a GET
// or HEAD of one of the node paths, and which.
func nodeRequest(b []byte) (path string, ok bool) {
	line, _, _ := bytes.Cut(b, []byte("\n"))
	method, rest, _ := strings.Cut(strings.TrimSpace(string(line)), " ")
	target, _, _ := strings.Cut(rest, " ")
	path, _, _ = strings.Cut(target, "?")
	if (method != http.MethodGet && method != http.MethodHead) || !isNodePath(path) {
		return "", false
	}
	return path, true
}

// sniffNode reads the first request line of a management connection. It
// returns the reader to forward from (holding what was read), or nil when
// it answered the request itself (c is then done with).
func (sb *standby) sniffNode(c net.Conn) *bufio.Reader {
	br := bufio.NewReaderSize(c, 1024)
	// A socket deadline is read by the kernel against the wall clock.
	_ = c.SetReadDeadline(clock.Real{}.Now().Add(sniffTimeout))
	for {
		b, _ := br.Peek(br.Buffered())
		if bytes.IndexByte(b, '\n') >= 0 || len(b) >= 512 {
			break
		}
		if _, err := br.Peek(len(b) + 1); err != nil {
			break // forward what came; the active node answers the rest
		}
	}
	_ = c.SetReadDeadline(time.Time{})
	b, _ := br.Peek(br.Buffered())
	path, ok := nodeRequest(b)
	if !ok {
		return br
	}
	req, err := http.ReadRequest(br)
	if err != nil {
		return nil
	}
	code, body := sb.nodeResponse(sb.ctx, path)
	hdr := "HTTP/1.1 " + strconv.Itoa(code) + " " + http.StatusText(code) + "\r\nContent-Type: application/json\r\nContent-Length: " +
		strconv.Itoa(len(body)) + "\r\nConnection: close\r\n\r\n"
	if req.Method == http.MethodHead {
		body = nil
	}
	_, _ = c.Write(append([]byte(hdr), body...))
	return nil
}
