// Package brokertest is the conformance suite every broker.Store passes, and
// the model-based randomized test of the engine. A store's test calls Run
// (and RunModel) with a Factory; memstore, filestore and pgstore all run the
// same tests, so the semantics cannot drift between stores.
//
// Tests use a fake clock: time moves only when a test advances it.
package brokertest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/batonmq/baton/internal/broker"
	"github.com/batonmq/baton/internal/clock"
)

// Factory makes stores for the suite.
type Factory struct {
	// New returns a new, empty store; the suite closes it.
	New func(t *testing.T) broker.Store
	// Reopen closes old and returns a store over the same durable state, as
	// a process restart would find it.
	Reopen func(t *testing.T, old broker.Store) broker.Store
	// HotBodyBytes is the brokers' Config.HotBodyBytes (0: the default).
	// A store that keeps bodies should be run with -1 too, so that every
	// delivery reads its body back through Store.ReadBody.
	HotBodyBytes int64
}

// Epoch is where the suite's fake clock starts.
var Epoch = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// Env is one broker under test with its clock and store.
type Env struct {
	T       *testing.T
	F       Factory
	Clock   *clock.Fake
	Store   broker.Store
	Broker  *broker.Broker
	Ctx     context.Context
	Limits  broker.Limits
	stopped bool
}

// NewEnv opens a broker over a new store from f.
func NewEnv(t *testing.T, f Factory) *Env {
	t.Helper()
	env := &Env{T: t, F: f, Clock: clock.NewFake(Epoch), Ctx: t.Context()}
	env.Store = f.New(t)
	env.open()
	t.Cleanup(func() {
		env.Broker.Close()
		env.Store.Close()
	})
	return env
}

func (env *Env) open() {
	env.T.Helper()
	b, err := broker.New(broker.Config{Store: env.Store, Clock: env.Clock, Limits: env.Limits, HotBodyBytes: env.F.HotBodyBytes})
	if err != nil {
		env.T.Fatalf("broker.New: %v", err)
	}
	if err := b.Open(env.Ctx); err != nil {
		env.T.Fatalf("broker.Open: %v", err)
	}
	env.Broker = b
}

// Restart closes the broker and its store and opens both again over the same
// durable state.
func (env *Env) Restart() {
	env.T.Helper()
	env.Broker.Close()
	env.Store = env.F.Reopen(env.T, env.Store)
	env.open()
}

// Advance moves the fake clock.
func (env *Env) Advance(d time.Duration) { env.Clock.Advance(d) }

// Queue creates a queue with props, failing the test on error.
func (env *Env) Queue(name string, props broker.QueueProperties) {
	env.T.Helper()
	if _, err := env.Broker.CreateQueue(env.Ctx, name, props); err != nil {
		env.T.Fatalf("CreateQueue(%q): %v", name, err)
	}
}

// Send sends one message per body, failing the test on error.
func (env *Env) Send(path string, bodies ...string) []int64 {
	env.T.Helper()
	msgs := make([]*broker.Message, len(bodies))
	for i, b := range bodies {
		msgs[i] = &broker.Message{Body: []byte(b)}
	}
	seqs, err := env.Broker.Send(env.Ctx, path, msgs)
	if err != nil {
		env.T.Fatalf("Send(%q): %v", path, err)
	}
	return seqs
}

// SendMsgs sends messages, failing the test on error.
func (env *Env) SendMsgs(path string, msgs ...*broker.Message) []int64 {
	env.T.Helper()
	seqs, err := env.Broker.Send(env.Ctx, path, msgs)
	if err != nil {
		env.T.Fatalf("Send(%q): %v", path, err)
	}
	return seqs
}

// Receive receives without waiting, failing the test on error.
func (env *Env) Receive(path string, max int, mode broker.ReceiveMode) []*broker.Message {
	env.T.Helper()
	msgs, err := env.Broker.Receive(env.Ctx, path, broker.ReceiveOptions{Mode: mode, MaxMessages: max})
	if err != nil {
		env.T.Fatalf("Receive(%q): %v", path, err)
	}
	return msgs
}

// Settle settles, failing the test on error.
func (env *Env) Settle(path string, m *broker.Message, s broker.Settlement) {
	env.T.Helper()
	if err := env.Broker.Settle(env.Ctx, path, m.LockToken, s); err != nil {
		env.T.Fatalf("Settle(%q, %d, %v): %v", path, m.SequenceNumber, s.Disposition, err)
	}
}

// Counts returns an entity's counts.
func (env *Env) Counts(name string) broker.Counts {
	env.T.Helper()
	info, err := env.Broker.GetEntity(name)
	if err != nil {
		env.T.Fatalf("GetEntity(%q): %v", name, err)
	}
	return info.Counts
}

// WantCounts checks an entity's active, scheduled, deferred and
// dead-lettered counts.
func (env *Env) WantCounts(name string, active, scheduled, deferred, dead int64) {
	env.T.Helper()
	c := env.Counts(name)
	if c.Active != active || c.Scheduled != scheduled || c.Deferred != deferred || c.DeadLettered != dead {
		env.T.Fatalf("counts of %q = active %d scheduled %d deferred %d dead %d; want %d %d %d %d",
			name, c.Active, c.Scheduled, c.Deferred, c.DeadLettered, active, scheduled, deferred, dead)
	}
}

// WantCode checks that err carries code.
func WantCode(t *testing.T, err error, code broker.Code) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error; want %v", code)
	}
	if got := broker.CodeOf(err); got != code {
		t.Fatalf("got error %v (code %v); want code %v", err, got, code)
	}
}

// Bodies returns the bodies of msgs as strings.
func Bodies(msgs []*broker.Message) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = string(m.Body)
	}
	return out
}

// FailingStore wraps a store and fails Submit while Fail is set, so tests can
// check that a failed write changes nothing.
type FailingStore struct {
	broker.Store
	Fail error
}

// Submit fails with Fail when set, else passes through.
func (s *FailingStore) Submit(recs []broker.Record, done func(error)) {
	if s.Fail != nil {
		done(s.Fail)
		return
	}
	s.Store.Submit(recs, done)
}

// errInjected is what FailingStore returns in the suite.
var errInjected = errors.New("brokertest: injected store failure")
