package wal

// The completion path. The writer does not run the appenders' callbacks
// itself: once a group is written (and synced in SyncAlways), it hands the
// group to the completer goroutine and goes straight back to the queue, so
// the next group's write and fdatasync start while the previous group's
// callbacks run (on the other core, when there is one). Releasing a group of
// n appenders costs n callbacks (for filestore: an index update and a
// goroutine wake-up each); on the writer they added that time to every
// group-commit cycle.
//
// The completer runs callbacks one at a time, in the order the writer
// handed them over, which is log order: appends in queue order, and the
// answers of Sync and Rotate after the callbacks of every append queued
// before them. A full hand-off channel blocks the writer (backpressure).

// completionDepth is how many finished groups may wait for the completer.
const completionDepth = 8

// completion is one hand-off from the writer to the completer: either a
// group of appends with their common outcome, or a control request's
// answer.
type completion struct {
	batch []placed    // appends, released together
	ctl   func(error) // or a Sync/Rotate answer
	err   error
}

// startCompleter starts the completer goroutine; stopCompleter (called by
// the writer as it exits) waits for it to finish every queued completion.
func (l *Log) startCompleter() {
	l.compl = make(chan completion, completionDepth)
	l.complFree = make(chan []placed, completionDepth+1)
	l.complDone = make(chan struct{})
	go func() {
		defer close(l.complDone)
		for c := range l.compl {
			l.runCompletion(c)
		}
	}()
}

func (l *Log) stopCompleter() {
	close(l.compl)
	<-l.complDone
}

func (l *Log) runCompletion(c completion) {
	if c.ctl != nil {
		c.ctl(c.err)
		return
	}
	for i := range c.batch {
		p := &c.batch[i]
		if c.err != nil {
			p.r.done(nil, c.err)
		} else {
			p.r.done(p.pos, nil)
		}
		*p = placed{}
	}
	select {
	case l.complFree <- c.batch[:0]:
	default:
	}
}

// handOff gives the writer's current batch to the completer with err and
// gives the writer an empty batch slice.
func (l *Log) handOff(err error) {
	if len(l.w.batch) == 0 {
		return
	}
	l.compl <- completion{batch: l.w.batch, err: err}
	select {
	case b := <-l.complFree:
		l.w.batch = b
	default:
		l.w.batch = make([]placed, 0, cap(l.w.batch))
	}
}

// answer hands a control request's answer to the completer, behind every
// callback already handed over.
func (l *Log) answer(ctl func(error), err error) {
	l.compl <- completion{ctl: ctl, err: err}
}

// failOne reports err to one append request that could not be placed.
func (l *Log) failOne(r *request, err error) {
	l.compl <- completion{batch: []placed{{r: r}}, err: err}
}
