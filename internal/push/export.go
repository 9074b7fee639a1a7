package push

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/batonmq/baton/internal/broker"
)

// Export moves a namespace subscription's dead-lettered events out of its
// broker dead-letter sub-queue into files in Azure's namespace dead-letter
// layout: <Dir>/<Path>/<yyyy>/<m>/<d>/<h>/<guid>.json, each holding
// {"event":…, "customDeliveryProperties":{}, "deadletterProperties":{…}}.
// A file is written and synced before its event is completed, so a crash
// may leave an event both in a file and in the queue, never in neither.
type Export struct {
	Queue string // the subscription's queue; its dead-letter sub-queue is read
	Path  string // "<namespace>/<topic>/<subscription>"
	// BaseDeliveries names an int32 message property holding deliveries
	// made before the message was copied (a delayed release), if any.
	BaseDeliveries string
}

// export runs one Export until ctx ends.
func (m *Manager) export(ctx context.Context, x Export) {
	dlq := x.Queue + "/" + broker.DeadLetterSuffix
	log := m.log.With("export", x.Path)
	for ctx.Err() == nil {
		start := m.cfg.Clock.Now()
		msgs, err := m.cfg.Broker.Receive(ctx, dlq, broker.ReceiveOptions{Mode: broker.PeekLock, MaxMessages: 16, Wait: receiveWait})
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			log.Warn("reading dead-lettered events failed", "err", err)
			m.pause(ctx, time.Second)
			continue
		}
		if len(msgs) == 0 {
			if m.cfg.Clock.Now().Sub(start) < receiveWait/2 {
				m.pause(ctx, time.Second)
			}
			continue
		}
		for _, msg := range msgs {
			if err := m.writeNamespaceDeadLetter(x, msg); err != nil {
				log.Warn("writing a dead-lettered event failed; it stays in the dead-letter queue", "err", err)
				_ = m.cfg.Broker.Settle(ctx, dlq, msg.LockToken, broker.Settlement{Disposition: broker.Release})
				m.pause(ctx, 5*time.Second)
				continue
			}
			if err := m.cfg.Broker.Settle(ctx, dlq, msg.LockToken, broker.Settlement{Disposition: broker.Complete}); err != nil && ctx.Err() == nil {
				log.Warn("completing an exported dead-lettered event failed; it may be exported twice", "err", err)
			}
		}
	}
}

func (m *Manager) writeNamespaceDeadLetter(x Export, msg *broker.Message) error {
	deliveries := msg.DeliveryCount
	if x.BaseDeliveries != "" {
		base, _ := msg.Properties[x.BaseDeliveries].(int32)
		deliveries += base
	}
	if msg.DeadLetterReason == "Rejected" {
		deliveries++ // rejected while locked: that delivery was not counted as failed
	}
	doc := map[string]any{
		"event":                    json.RawMessage(msg.Body),
		"customDeliveryProperties": map[string]any{},
		"deadletterProperties": map[string]any{
			"deadletterreason":   msg.DeadLetterReason,
			"deliveryattempts":   deliveries,
			"deliveryresult":     msg.DeadLetterDescription,
			"publishutc":         msg.EnqueuedTime.UTC().Format(time.RFC3339Nano),
			"deliveryattemptutc": m.cfg.Clock.Now().UTC().Format(time.RFC3339Nano),
		},
	}
	body, err := json.Marshal(doc)
	if err != nil {
		return fmt.Errorf("push: dead-letter document: %w", err)
	}
	t := m.cfg.Clock.Now().UTC()
	dir := filepath.Join(m.cfg.DeadLetterDir, filepath.FromSlash(x.Path), strconv.Itoa(t.Year()), strconv.Itoa(int(t.Month())), strconv.Itoa(t.Day()), strconv.Itoa(t.Hour()))
	return writeFileSync(dir, newID()+".json", body)
}

// writeFileSync writes name in dir durably: a temporary file, synced, then
// renamed, then the directory synced.
func writeFileSync(dir, name string, body []byte) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("push: dead-letter directory: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return fmt.Errorf("push: dead-letter file: %w", err)
	}
	_, werr := tmp.Write(body)
	serr := tmp.Sync()
	cerr := tmp.Close()
	if werr != nil || serr != nil || cerr != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("push: dead-letter file: %w", firstErr(werr, serr, cerr))
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, name)); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("push: dead-letter file: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
