package pgbroker

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// notifyChannel is the PostgreSQL channel of wake-ups between nodes: its
// payload is a comma-separated list of entity ids in which messages became
// available.
const notifyChannel = "baton_sb"

// wakeups wakes the receivers of this node that wait on an entity, and
// collects the entities to announce to the other nodes.
type wakeups struct {
	mu      sync.Mutex
	waiting map[int64]chan struct{} // closed on the next change of the entity
	pending map[int64]struct{}      // to announce
	kick    chan struct{}           // the notifier has something to send
}

func (w *wakeups) init() {
	w.waiting = map[int64]chan struct{}{}
	w.pending = map[int64]struct{}{}
	w.kick = make(chan struct{}, 1)
}

// watch returns a channel closed at the next change of entity id. Take it
// before looking, then wait on it: a change in between is not missed.
func (w *wakeups) watch(id int64) <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	ch := w.waiting[id]
	if ch == nil {
		ch = make(chan struct{})
		w.waiting[id] = ch
	}
	return ch
}

// wakeLocal wakes this node's waiters on id.
func (w *wakeups) wakeLocal(id int64) {
	w.mu.Lock()
	if ch := w.waiting[id]; ch != nil {
		close(ch)
		delete(w.waiting, id)
	}
	w.mu.Unlock()
}

// changed is called after a commit made messages of entity id available:
// it wakes this node's waiters and queues the announcement for the others.
func (w *wakeups) changed(id int64) {
	w.mu.Lock()
	if ch := w.waiting[id]; ch != nil {
		close(ch)
		delete(w.waiting, id)
	}
	w.pending[id] = struct{}{}
	w.mu.Unlock()
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// take returns and clears the pending announcements as one payload.
func (w *wakeups) take() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var b strings.Builder
	for id := range w.pending {
		if b.Len() > 7000 { // NOTIFY payloads stay under 8000 bytes; the rest goes next
			break
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatInt(id, 10))
		delete(w.pending, id)
	}
	return b.String()
}

// notify sends the pending announcements, one NOTIFY per burst: while one
// is on its way, the changes that follow gather into the next. NOTIFY is
// sent after the data's commit, on its own (a NOTIFY inside the sending
// transaction would take PostgreSQL's global notify lock at every commit).
func (e *Engine) notify() {
	defer e.wg.Done()
	for {
		select {
		case <-e.stop:
			return
		case <-e.wakes.kick:
		}
		for {
			payload := e.wakes.take()
			if payload == "" {
				break
			}
			ctx, cancel := context.WithTimeout(e.ctx, 5*time.Second)
			_, err := e.pool.Exec(ctx, `SELECT pg_notify($1, $2)`, notifyChannel, payload)
			cancel()
			if err != nil && e.ctx.Err() == nil {
				// The others find the messages at their next poll.
				e.log.Debug("pgbroker: notify failed", "err", err)
			}
		}
	}
}

// listen holds a connection that LISTENs for other nodes' announcements and
// wakes the waiters they name. When the connection breaks it reconnects
// (waiters poll meanwhile) and wakes every waiter, since announcements may
// have been lost.
func (e *Engine) listen() {
	defer e.wg.Done()
	retry := e.clk.NewTimer(0)
	defer retry.Stop()
	failing := false
	for {
		select {
		case <-e.stop:
			return
		case <-retry.C():
		}
		err := e.listenOnce()
		if e.ctx.Err() != nil {
			return
		}
		if !failing {
			e.log.Warn("pgbroker: the wake-up listener lost its connection; receivers poll until it is back", "err", err)
			failing = true
		}
		e.wakeAll()
		retry.Reset(e.cfg.PollInterval)
	}
}

// listenOnce listens until the connection fails or the engine closes.
func (e *Engine) listenOnce() error {
	conn, err := e.pool.Acquire(e.ctx)
	if err != nil {
		return err
	}
	// The connection leaves the pool for good: its session is LISTENing.
	c := conn.Hijack()
	defer c.Close(context.Background())
	if _, err := c.Exec(e.ctx, `LISTEN `+pgx.Identifier{notifyChannel}.Sanitize()); err != nil {
		return err
	}
	e.wakeAll() // what was announced before LISTEN took effect
	for {
		n, err := c.WaitForNotification(e.ctx)
		if err != nil {
			return err
		}
		for _, f := range strings.Split(n.Payload, ",") {
			if id, err := strconv.ParseInt(f, 10, 64); err == nil {
				e.wakes.wakeLocal(id)
			}
		}
	}
}

// wakeAll wakes every waiter of this node (they look again).
func (e *Engine) wakeAll() {
	w := &e.wakes
	w.mu.Lock()
	for id, ch := range w.waiting {
		close(ch)
		delete(w.waiting, id)
	}
	w.mu.Unlock()
}
