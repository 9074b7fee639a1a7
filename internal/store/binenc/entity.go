package binenc

// Entity definitions and subscription rules: both stores write them alike.

import (
	"fmt"

	"github.com/batonmq/baton/internal/broker"
)

// Bits of an entity's flag word.
const (
	FlagDeadLetterOnExpiration = 1 << iota
	FlagDuplicateDetection
	FlagSession
	FlagBatched
	FlagPartitioning
	FlagFilterExceptionsToDLQ
	FlagSupportOrdering
	FlagEnd // the first unknown bit
)

// EntityLayout says what a definition holds, for the older layouts a
// store still reads.
type EntityLayout struct {
	FlagEnd  uint64 // the first unknown flag bit
	Metadata bool   // the metadata map follows the times
	Rules    bool   // the rules follow the metadata
}

// EntityCurrent is the layout Encoder.Entity writes.
var EntityCurrent = EntityLayout{FlagEnd: FlagEnd, Metadata: true, Rules: true}

// Entity appends a definition: name, kind (a byte), the properties
// (durations and sizes as varints, strings, a uvarint flag word), the
// creation and update times, the metadata and the rules. A rule parameter
// of a type Value cannot write is an error, and leaves a partial encoding.
func (e *Encoder) Entity(d *broker.Entity) error {
	e.String(d.Name)
	e.Byte(byte(d.Kind))
	p := &d.Properties
	e.Duration(p.LockDuration)
	e.Varint(int64(p.MaxDeliveryCount))
	e.Duration(p.DefaultMessageTimeToLive)
	e.Duration(p.DuplicateDetectionHistoryTimeWindow)
	e.Varint(p.MaxSizeInMegabytes)
	e.Varint(p.MaxMessageSizeInKilobytes)
	e.Duration(p.AutoDeleteOnIdle)
	e.String(p.ForwardTo)
	e.String(p.ForwardDeadLetteredMessagesTo)
	e.String(string(p.Status))
	e.String(p.UserMetadata)
	var flags uint64
	for _, f := range []struct {
		on  bool
		bit uint64
	}{
		{p.DeadLetteringOnMessageExpiration, FlagDeadLetterOnExpiration},
		{p.RequiresDuplicateDetection, FlagDuplicateDetection},
		{p.RequiresSession, FlagSession},
		{p.EnableBatchedOperations, FlagBatched},
		{p.EnablePartitioning, FlagPartitioning},
		{p.DeadLetteringOnFilterEvaluationExceptions, FlagFilterExceptionsToDLQ},
		{p.SupportOrdering, FlagSupportOrdering},
	} {
		if f.on {
			flags |= f.bit
		}
	}
	e.Uvarint(flags)
	e.Time(d.CreatedAt)
	e.Time(d.UpdatedAt)
	e.Metadata(d.Metadata)
	return e.Rules(d.Rules)
}

// Rules appends a subscription's rules: the count as a uvarint, then each
// rule's name, filter kind (a byte), SQL, parameters, an optional
// correlation filter (a boolean, then its eight strings and properties),
// action, action parameters and creation time.
func (e *Encoder) Rules(rs []broker.Rule) error {
	e.Uvarint(uint64(len(rs)))
	for i := range rs {
		r := &rs[i]
		e.String(r.Name)
		e.Byte(byte(r.Filter.Kind))
		e.String(r.Filter.SQL)
		err := e.Props(r.Filter.Parameters)
		c := r.Filter.Correlation
		e.Bool(c != nil)
		if c != nil && err == nil {
			for _, s := range []string{c.CorrelationID, c.MessageID, c.To, c.ReplyTo, c.Subject, c.SessionID,
				c.ReplyToSessionID, c.ContentType} {
				e.String(s)
			}
			err = e.Props(c.Properties)
		}
		if err == nil {
			e.String(r.Action)
			err = e.Props(r.ActionParameters)
		}
		if err != nil {
			return fmt.Errorf("rule %q: %w", r.Name, err)
		}
		e.Time(r.CreatedAt)
	}
	return nil
}

// Entity reads what Encoder.Entity wrote in layout l.
func (d *Decoder) Entity(l EntityLayout) *broker.Entity {
	def := &broker.Entity{}
	def.Name = d.String()
	def.Kind = broker.Kind(d.Byte())
	p := &def.Properties
	p.LockDuration = d.Duration()
	p.MaxDeliveryCount = d.Int32()
	p.DefaultMessageTimeToLive = d.Duration()
	p.DuplicateDetectionHistoryTimeWindow = d.Duration()
	p.MaxSizeInMegabytes = d.Varint()
	p.MaxMessageSizeInKilobytes = d.Varint()
	p.AutoDeleteOnIdle = d.Duration()
	p.ForwardTo = d.String()
	p.ForwardDeadLetteredMessagesTo = d.String()
	p.Status = broker.Status(d.String())
	p.UserMetadata = d.String()
	flags := d.Uvarint()
	if flags >= l.FlagEnd {
		d.Fail(fmt.Errorf("unknown entity flags %#x", flags))
	}
	p.DeadLetteringOnMessageExpiration = flags&FlagDeadLetterOnExpiration != 0
	p.RequiresDuplicateDetection = flags&FlagDuplicateDetection != 0
	p.RequiresSession = flags&FlagSession != 0
	p.EnableBatchedOperations = flags&FlagBatched != 0
	p.EnablePartitioning = flags&FlagPartitioning != 0
	p.DeadLetteringOnFilterEvaluationExceptions = flags&FlagFilterExceptionsToDLQ != 0
	p.SupportOrdering = flags&FlagSupportOrdering != 0
	def.CreatedAt = d.Time()
	def.UpdatedAt = d.Time()
	if l.Metadata {
		def.Metadata = d.Metadata()
	}
	if l.Rules {
		def.Rules = d.Rules()
	}
	return def
}

// minRule is the fewest bytes a rule takes (name, kind, SQL, parameters,
// correlation flag, action, action parameters, time).
const minRule = 8

// Rules reads what Encoder.Rules wrote.
func (d *Decoder) Rules() []broker.Rule {
	n := d.Uvarint()
	if n == 0 || d.err != nil {
		return nil
	}
	if n > uint64(d.Left())/minRule {
		d.Fail(ErrShort)
		return nil
	}
	rs := make([]broker.Rule, n)
	for i := range rs {
		r := &rs[i]
		r.Name = d.String()
		r.Filter.Kind = broker.FilterKind(d.Byte())
		r.Filter.SQL = d.String()
		r.Filter.Parameters = d.Props()
		if d.Bool() {
			c := &broker.CorrelationFilter{}
			for _, s := range []*string{&c.CorrelationID, &c.MessageID, &c.To, &c.ReplyTo, &c.Subject, &c.SessionID,
				&c.ReplyToSessionID, &c.ContentType} {
				*s = d.String()
			}
			c.Properties = d.Props()
			r.Filter.Correlation = c
		}
		r.Action = d.String()
		r.ActionParameters = d.Props()
		r.CreatedAt = d.Time()
		if d.err != nil {
			return nil
		}
	}
	return rs
}

// Update writes the fields of a message that a settlement changes, in the
// order both stores' formats keep them: delivery count, state, the
// dead-letter flag, reason, description and source, the properties, the
// storage queue visibility time and pop receipt. A property of a type
// Value cannot write is an error, and leaves a partial encoding.
func (e *Encoder) Update(u *broker.MessageUpdate) error {
	e.Varint(int64(u.DeliveryCount))
	e.Varint(int64(u.State))
	e.Bool(u.DeadLettered)
	e.String(u.DeadLetterReason)
	e.String(u.DeadLetterDescription)
	e.String(u.DeadLetterSource)
	if err := e.Props(u.Properties); err != nil {
		return err
	}
	e.Time(u.VisibleAt)
	e.Token(u.PopReceipt)
	return nil
}
