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
// payload is a comma-separated list of "<entity id>:<count>", the number of
// messages that became available in the entity (0: any number).
const notifyChannel = "baton_sb"

// wakeAny stands for "wake every waiter" (counts unknown, or waiters that
// want different things: session receivers and accepts).
const wakeAny = 0

// wakeups wakes the receivers of this node that wait on an entity — as
// many as messages became available, the longest waiting first — and
// collects the entities to announce to the other nodes.
type wakeups struct {
	mu      sync.Mutex
	waiting map[int64][]*waiter // by entity, oldest first
	pending map[int64]int       // to announce: entity → count (wakeAny: all)
	kick    chan struct{}       // the notifier has something to send
}

// waiter is one waiting receive or accept.
type waiter struct {
	ch    chan struct{} // closed when woken
	woken bool          // under wakeups.mu
}

func (w *wakeups) init() {
	w.waiting = map[int64][]*waiter{}
	w.pending = map[int64]int{}
	w.kick = make(chan struct{}, 1)
}

// watch registers a waiter on entity id. Register before looking, then wait
// on its channel: a change in between is not missed. Every waiter ends
// with done.
func (w *wakeups) watch(id int64) *waiter {
	wt := &waiter{ch: make(chan struct{})}
	w.mu.Lock()
	w.waiting[id] = append(w.waiting[id], wt)
	w.mu.Unlock()
	return wt
}

// done removes waiter wt of entity id. A waiter that was woken but found
// nothing for itself (it looked before the wake, or it is leaving) passes
// the wake on: passOn says so.
func (w *wakeups) done(id int64, wt *waiter, passOn bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !wt.woken {
		l := w.waiting[id]
		for i, x := range l {
			if x == wt {
				l = append(l[:i], l[i+1:]...)
				break
			}
		}
		if len(l) == 0 {
			delete(w.waiting, id)
		} else {
			w.waiting[id] = l
		}
		return
	}
	if passOn {
		w.wakeLocked(id, 1)
	}
}

// wakeLocked wakes up to n waiters of id (wakeAny: all). REQUIRES: w.mu.
func (w *wakeups) wakeLocked(id int64, n int) {
	l := w.waiting[id]
	if n == wakeAny || n > len(l) {
		n = len(l)
	}
	for _, wt := range l[:n] {
		wt.woken = true
		close(wt.ch)
	}
	if n == len(l) {
		delete(w.waiting, id)
	} else {
		w.waiting[id] = l[n:]
	}
}

// wakeLocal wakes up to n of this node's waiters on id.
func (w *wakeups) wakeLocal(id int64, n int) {
	w.mu.Lock()
	w.wakeLocked(id, n)
	w.mu.Unlock()
}

// changed is called after a commit made n messages of entity id available
// (wakeAny: an unknown number, or for waiters that want different
// things): it wakes as many of this node's waiters and queues the
// announcement for the others.
func (w *wakeups) changed(id int64, n int) {
	w.mu.Lock()
	w.wakeLocked(id, n)
	if old, ok := w.pending[id]; !ok {
		w.pending[id] = n
	} else if old != wakeAny {
		if n == wakeAny {
			w.pending[id] = wakeAny
		} else {
			w.pending[id] = old + n
		}
	}
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
	for id, n := range w.pending {
		if b.Len() > 7000 { // NOTIFY payloads stay under 8000 bytes; the rest goes next
			break
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatInt(id, 10))
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(n))
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
			ids, ns, _ := strings.Cut(f, ":")
			id, err := strconv.ParseInt(ids, 10, 64)
			count, err2 := strconv.Atoi(ns)
			if err == nil && err2 == nil && count >= 0 {
				e.wakes.wakeLocal(id, count)
			}
		}
	}
}

// wakeAll wakes every waiter of this node (they look again).
func (e *Engine) wakeAll() {
	w := &e.wakes
	w.mu.Lock()
	for id := range w.waiting {
		w.wakeLocked(id, wakeAny)
	}
	w.mu.Unlock()
}
