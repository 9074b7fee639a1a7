package mgmt

import (
	"context"
	"fmt"
	"net/http"

	"github.com/batonmq/baton/internal/broker"
)

// resubmitBatch bounds how many dead-lettered messages one step locks.
const resubmitBatch = 100

func (s *server) resubmit(w http.ResponseWriter, r *http.Request) {
	name, err := s.queueName(r)
	if err != nil {
		s.fail(w, r, "", err)
		return
	}
	var req ResubmitRequest
	if err := s.decode(w, r, &req); err != nil {
		s.fail(w, r, name, err)
		return
	}
	if req.Max < 0 {
		s.fail(w, r, name, badRequest("max must not be negative"))
		return
	}
	info, err := s.b.GetEntity(name)
	if err != nil {
		s.fail(w, r, name, err)
		return
	}
	limit := req.Max
	if limit == 0 {
		limit = int(info.DeadLettered)
	}
	res, err := s.resubmitDeadLetters(r.Context(), name, limit)
	if err != nil {
		s.fail(w, r, name, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// resubmitDeadLetters moves up to limit messages from the dead-letter
// sub-queue of name back to name: lock a batch, send copies (one atomic
// batch), then complete each original. A crash or a lost lock between the
// send and a complete leaves the message in both places: duplicated, never
// lost. Originals whose copy duplicate detection dropped stay locked until
// the end (so the loop does not take them again) and are then released.
func (s *server) resubmitDeadLetters(ctx context.Context, name string, limit int) (ResubmitResult, error) {
	var res ResubmitResult
	dlq := entityPath(name, true)
	var held []broker.LockToken
	defer func() { s.release(context.WithoutCancel(ctx), dlq, held) }()
	for done := 0; done < limit; {
		msgs, err := s.b.Receive(ctx, dlq, broker.ReceiveOptions{Mode: broker.PeekLock, MaxMessages: min(limit-done, resubmitBatch)})
		if err != nil {
			return res, err
		}
		if len(msgs) == 0 {
			break
		}
		done += len(msgs)
		copies := make([]*broker.Message, len(msgs))
		for i, m := range msgs {
			copies[i] = resubmitCopy(m)
		}
		seqs, err := s.b.Send(ctx, name, copies)
		if err != nil {
			for _, m := range msgs {
				held = append(held, m.LockToken)
			}
			return res, err
		}
		for i, m := range msgs {
			if seqs[i] == 0 {
				held = append(held, m.LockToken)
				res.Skipped++
				continue
			}
			if err := s.b.Settle(ctx, dlq, m.LockToken, broker.Settlement{Disposition: broker.Complete}); err != nil {
				for _, rest := range msgs[i+1:] {
					held = append(held, rest.LockToken)
				}
				return res, fmt.Errorf("message %d was resubmitted as %d but is still dead-lettered: %w", m.SequenceNumber, seqs[i], err)
			}
			res.Resubmitted++
		}
	}
	return res, nil
}

// release gives back message locks without counting a delivery; errors
// (a lock already lost) change nothing.
func (s *server) release(ctx context.Context, path string, tokens []broker.LockToken) {
	for _, t := range tokens {
		if err := s.b.Settle(ctx, path, t, broker.Settlement{Disposition: broker.Release}); err != nil {
			s.log.Debug("mgmt: release after resubmit", "path", path, "err", err)
		}
	}
}

// resubmitCopy is the new message a resubmit sends for dead-lettered m:
// the same body and sender fields, the application properties without the
// dead-letter reason and description.
func resubmitCopy(m *broker.Message) *broker.Message {
	var props map[string]any
	for k, v := range m.Properties {
		if k == "DeadLetterReason" || k == "DeadLetterErrorDescription" {
			continue
		}
		if props == nil {
			props = make(map[string]any, len(m.Properties))
		}
		props[k] = v
	}
	return &broker.Message{
		MessageID:        m.MessageID,
		SessionID:        m.SessionID,
		PartitionKey:     m.PartitionKey,
		CorrelationID:    m.CorrelationID,
		Subject:          m.Subject,
		To:               m.To,
		ReplyTo:          m.ReplyTo,
		ReplyToSessionID: m.ReplyToSessionID,
		ContentType:      m.ContentType,
		TimeToLive:       m.TimeToLive,
		Properties:       props,
		Format:           m.Format,
		Body:             m.Body,
	}
}
