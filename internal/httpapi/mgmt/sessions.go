package mgmt

import (
	"net/http"
	"strconv"
	"time"

	"github.com/batonmq/baton/internal/broker"
)

func (s *server) listSessions(w http.ResponseWriter, r *http.Request) {
	name, err := s.queueName(r)
	if err != nil {
		s.fail(w, r, "", err)
		return
	}
	var skip, top int
	var since time.Time
	for k, v := range r.URL.Query() {
		if len(v) != 1 {
			s.fail(w, r, name, badRequest("query parameter %q is given %d times", k, len(v)))
			return
		}
		var err error
		switch k {
		case "skip":
			skip, err = strconv.Atoi(v[0])
		case "top":
			top, err = strconv.Atoi(v[0])
		case "updatedSince":
			since, err = time.Parse(time.RFC3339Nano, v[0])
		default:
			s.fail(w, r, name, badRequest("unknown query parameter %q; sessions takes skip, top and updatedSince", truncate(k, 40)))
			return
		}
		if err != nil {
			s.fail(w, r, name, badRequest("query parameter %s=%q is not valid", k, truncate(v[0], 40)))
			return
		}
	}
	ids, err := s.b.ListSessions(r.Context(), name, since, skip, top)
	if err != nil {
		s.fail(w, r, name, err)
		return
	}
	if ids == nil {
		ids = []string{}
	}
	writeJSON(w, http.StatusOK, SessionList{Sessions: ids})
}

func (s *server) acceptSession(w http.ResponseWriter, r *http.Request) {
	name, err := s.queueName(r)
	if err != nil {
		s.fail(w, r, "", err)
		return
	}
	var req AcceptSessionRequest
	if err := s.decode(w, r, &req); err != nil {
		s.fail(w, r, name, err)
		return
	}
	wait, err := parseWait(req.Wait)
	if err != nil {
		s.fail(w, r, name, err)
		return
	}
	l, err := s.b.AcceptSession(r.Context(), name, req.SessionID, wait)
	if err != nil {
		s.fail(w, r, name, err)
		return
	}
	writeJSON(w, http.StatusOK, sessionLockOf(l))
}

func sessionLockOf(l *broker.SessionLock) SessionLock {
	return SessionLock{SessionID: l.SessionID, LockToken: l.Token.String(), LockedUntil: l.LockedUntil}
}

// pathSession returns the queue name and the session lock named by the
// path's {id} and the lockToken (from the query or the body).
func (s *server) pathSession(r *http.Request, token string) (string, *broker.SessionLock, error) {
	name, err := s.queueName(r)
	if err != nil {
		return "", nil, err
	}
	if q := r.URL.Query().Get("lockToken"); q != "" {
		if token != "" && token != q {
			return name, nil, badRequest("lockToken differs between the query and the body")
		}
		token = q
	}
	t, err := parseToken("lockToken", token)
	if err != nil {
		return name, nil, err
	}
	// A queue without sessions is the broker's CodeInvalidArgument.
	return name, &broker.SessionLock{SessionID: r.PathValue("id"), Token: t}, nil
}

func (s *server) renewSession(w http.ResponseWriter, r *http.Request) {
	var req SessionLockRequest
	if err := s.decode(w, r, &req); err != nil {
		s.fail(w, r, "", err)
		return
	}
	name, l, err := s.pathSession(r, req.LockToken)
	if err != nil {
		s.fail(w, r, name, err)
		return
	}
	until, err := s.b.RenewSessionLock(r.Context(), name, l)
	if err != nil {
		s.fail(w, r, name, err)
		return
	}
	l.LockedUntil = until
	writeJSON(w, http.StatusOK, sessionLockOf(l))
}

func (s *server) releaseSession(w http.ResponseWriter, r *http.Request) {
	var req SessionLockRequest
	if err := s.decode(w, r, &req); err != nil {
		s.fail(w, r, "", err)
		return
	}
	name, l, err := s.pathSession(r, req.LockToken)
	if err != nil {
		s.fail(w, r, name, err)
		return
	}
	if err := s.b.ReleaseSession(r.Context(), name, l); err != nil {
		s.fail(w, r, name, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *server) getSessionState(w http.ResponseWriter, r *http.Request) {
	var req SessionLockRequest
	if err := s.decode(w, r, &req); err != nil {
		s.fail(w, r, "", err)
		return
	}
	name, l, err := s.pathSession(r, req.LockToken)
	if err != nil {
		s.fail(w, r, name, err)
		return
	}
	state, err := s.b.GetSessionState(r.Context(), name, l)
	if err != nil {
		s.fail(w, r, name, err)
		return
	}
	var out SessionState
	if state != nil {
		out.State, out.StateBase64 = textOrBase64(state)
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *server) setSessionState(w http.ResponseWriter, r *http.Request) {
	var req SessionState
	if err := s.decode(w, r, &req); err != nil {
		s.fail(w, r, "", err)
		return
	}
	name, l, err := s.pathSession(r, req.LockToken)
	if err != nil {
		s.fail(w, r, name, err)
		return
	}
	var state []byte
	switch {
	case req.State != nil && req.StateBase64 != "":
		s.fail(w, r, name, badRequest("state and stateBase64 are both set; send one"))
		return
	case req.State != nil:
		state = []byte(*req.State)
	case req.StateBase64 != "":
		if state, err = decodeBase64("stateBase64", req.StateBase64); err != nil {
			s.fail(w, r, name, err)
			return
		}
	}
	if err := s.b.SetSessionState(r.Context(), name, l, state); err != nil {
		s.fail(w, r, name, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
