package server

import (
	"net/http"
	"sync/atomic"

	"github.com/batonmq/baton/internal/httpapi/eventgrid"
)

// egMgmtMux serves the Event Grid management API (/api/v1/eventgrid/… and
// ARM's /subscriptions/…/providers/Microsoft.EventGrid/…) on the
// management listener beside the broker's JSON API. The Event Grid face
// starts after the management listener, so its handler is set later.
type egMgmtMux struct {
	base http.Handler
	eg   atomic.Pointer[http.Handler] // nil while the Event Grid face is off
	node http.Handler                 // standby mode: GET /api/v1/node (standby.go); set before serving
}

// withEventGridMgmt wraps the management API handler.
func withEventGridMgmt(base http.Handler) http.Handler { return &egMgmtMux{base: base} }

func (m *egMgmtMux) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if m.node != nil && isNodePath(r.URL.Path) {
		m.node.ServeHTTP(w, r)
		return
	}
	if eventgrid.IsManagementPath(r.URL.Path) {
		if h := m.eg.Load(); h != nil {
			(*h).ServeHTTP(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"error":{"code":"NotFound","message":"the Event Grid face is off (listen.eventGrid)"}}`))
		return
	}
	m.base.ServeHTTP(w, r)
}

// setEventGridMgmt plugs (or, with nil, unplugs) the Event Grid
// management API into the management listener.
func (s *Server) setEventGridMgmt(h http.Handler) {
	if s.mgmtSrv == nil {
		return
	}
	mm, ok := s.mgmtSrv.Handler.(*egMgmtMux)
	if !ok {
		return
	}
	if h == nil {
		mm.eg.Store(nil)
		return
	}
	mm.eg.Store(&h)
}
