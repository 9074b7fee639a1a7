package broker

import (
	"context"
	"time"
)

// Engine is what the Service Bus faces — AMQP with its $management and $cbs
// nodes, and the ATOM administration API — ask of a broker. *Broker
// implements it with its state in memory; a second engine keeps its state in
// PostgreSQL so that several nodes can serve the same entities at once
// (internal/pgbroker). Both answer with this package's types and error
// codes, so a face cannot tell them apart; an engine that lacks a feature
// answers CodeNotImplemented.
type Engine interface {
	Now() time.Time
	Limits() Limits

	// Entities. Definition is GetEntity without the counts, for the
	// checks faces make on every attach and token (an engine whose counts
	// cost a query keeps this cheap).
	Definition(name string) (*Entity, error)
	GetEntity(name string) (*EntityInfo, error)
	Entities(ctx context.Context, k Kind) ([]*EntityInfo, error)
	CreateQueue(ctx context.Context, name string, props QueueProperties) (*EntityInfo, error)
	UpdateQueue(ctx context.Context, name string, props QueueProperties) (*EntityInfo, error)
	DeleteEntity(ctx context.Context, name string) error
	CreateTopic(ctx context.Context, name string, props QueueProperties) (*EntityInfo, error)
	UpdateTopic(ctx context.Context, name string, props QueueProperties) (*EntityInfo, error)
	CreateSubscription(ctx context.Context, topic, sub string, props QueueProperties, rule *Rule) (*EntityInfo, error)
	UpdateSubscription(ctx context.Context, topic, sub string, props QueueProperties) (*EntityInfo, error)
	ListSubscriptions(topic string) ([]*EntityInfo, error)
	Rules(topic, sub string) ([]Rule, error)
	AddRule(ctx context.Context, topic, sub string, r Rule, replace bool) (*Rule, error)
	RemoveRule(ctx context.Context, topic, sub, name string) error

	// Messages.
	Send(ctx context.Context, path string, msgs []*Message) ([]int64, error)
	Schedule(ctx context.Context, path string, msgs []*Message, t time.Time) ([]int64, error)
	CancelScheduled(ctx context.Context, path string, seqs []int64) error
	Receive(ctx context.Context, path string, opts ReceiveOptions) ([]*Message, error)
	ReceiveDeferred(ctx context.Context, path string, seqs []int64, mode ReceiveMode, sess *SessionLock) ([]*Message, error)
	Peek(ctx context.Context, path string, from int64, max int, sessionID string) ([]*Message, error)
	Settle(ctx context.Context, path string, token LockToken, s Settlement) error
	SettleMany(ctx context.Context, reqs []SettleRequest) []error
	RenewLock(ctx context.Context, path string, tokens []LockToken) ([]time.Time, error)

	// Sessions.
	AcceptSession(ctx context.Context, path, sessionID string, wait time.Duration) (*SessionLock, error)
	RenewSessionLock(ctx context.Context, path string, l *SessionLock) (time.Time, error)
	ReleaseSession(ctx context.Context, path string, l *SessionLock) error
	GetSessionState(ctx context.Context, path string, l *SessionLock) ([]byte, error)
	SetSessionState(ctx context.Context, path string, l *SessionLock, state []byte) error
	ListSessions(ctx context.Context, path string, updatedSince time.Time, skip, top int) ([]string, error)
}

// Transactor is an Engine that runs AMQP transactions. Faces check for it
// and answer "not implemented" to a transaction's declare on an engine
// without it.
type Transactor interface {
	BeginTx(opts TxnOptions) Tx
}

// Tx is one transaction: sends and settlements staged until Commit makes
// them durable and visible together, or Rollback drops them. *Txn is the
// broker's.
type Tx interface {
	Send(ctx context.Context, path string, msgs []*Message) error
	Settle(ctx context.Context, path string, token LockToken, s Settlement) error
	Commit(ctx context.Context) error
	Rollback() error
}

// BeginTx is BeginTxn for Transactor.
func (b *Broker) BeginTx(opts TxnOptions) Tx { return b.BeginTxn(opts) }

var (
	_ Engine     = (*Broker)(nil)
	_ Transactor = (*Broker)(nil)
)

// Definition returns entity name's definition (GetEntity without the
// counts).
func (b *Broker) Definition(name string) (*Entity, error) {
	info, err := b.GetEntity(name)
	if err != nil {
		return nil, err
	}
	return &info.Entity, nil
}

// Entities returns the entities of kind k (0: all), sorted by name. The
// in-memory broker cannot fail; the method exists for Engine.
func (b *Broker) Entities(_ context.Context, k Kind) ([]*EntityInfo, error) {
	return b.ListEntities(k), nil
}

// Validate checks p, with its defaults filled, against l: the checks every
// create and update makes, for engines that keep entities elsewhere.
func (p QueueProperties) Validate(l Limits) error { return p.validate(l) }
