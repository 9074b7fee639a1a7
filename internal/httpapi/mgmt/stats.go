package mgmt

import (
	"context"
	"net/http"
)

// StoreStats are the store's cumulative counters since the server started,
// as GET /api/v1/stats returns them: what a benchmark needs to report
// fsyncs per message (`baton bench`). Read-only; nothing here changes state.
type StoreStats struct {
	// Store names the store: "memory", or "file" with Durability.
	Store      string `json:"store"`
	Durability string `json:"durability,omitempty"` // "fsync" or "buffered" for the file store
	Appends    uint64 `json:"appends"`              // log appends (one per group of records a send or settlement writes)
	Records    uint64 `json:"records"`              // log records written
	Bytes      uint64 `json:"bytes"`                // bytes written to the log
	Syncs      uint64 `json:"syncs"`                // fdatasyncs of the log

	// On the PostgreSQL store: the node's role ("active": it owns the
	// store), whether it runs in an active/standby group, its fencing
	// epoch and its name (docs/scale-out.md).
	Role    string `json:"role,omitempty"`
	Standby bool   `json:"standby,omitempty"`
	Epoch   int64  `json:"epoch,omitempty"`
	Node    string `json:"node,omitempty"`
}

// stats serves GET /api/v1/stats.
func (s *server) stats(w http.ResponseWriter, r *http.Request) {
	var st StoreStats
	if s.storeStats != nil {
		st = s.storeStats()
	}
	writeJSON(w, http.StatusOK, st)
}

// Stats reads the store's counters (GET /api/v1/stats).
func (c *Client) Stats(ctx context.Context) (*StoreStats, error) {
	var out StoreStats
	if err := c.do(ctx, http.MethodGet, "/api/v1/stats", nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
