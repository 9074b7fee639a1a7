package push

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// validationWindow is how long a manual validation may take (Azure: 5 min).
const validationWindow = 5 * time.Minute

// handshake validates the endpoint before any delivery, retrying until it
// succeeds or ctx ends; false means ctx ended.
func (m *Manager) handshake(ctx context.Context, s *Subscription, log *slog.Logger) bool {
	for ctx.Err() == nil {
		var ok, manual bool
		code := newID()
		if s.DeliverySchema == SchemaCloudEvents {
			ok = m.optionsHandshake(ctx, s)
		} else {
			ok, manual = m.validationEvent(ctx, s, code)
		}
		if ok {
			log.Info("webhook validated")
			return true
		}
		if manual {
			m.setState(s.Name, "AwaitingManualAction")
			p := &pendingValidation{code: code, done: make(chan struct{})}
			m.mu.Lock()
			m.pending[strings.ToLower(s.Name)] = p
			m.mu.Unlock()
			log.Info("webhook awaits manual validation", "window", validationWindow)
			t := m.cfg.Clock.NewTimer(validationWindow)
			select {
			case <-p.done:
				t.Stop()
				log.Info("webhook validated manually")
				return true
			case <-t.C():
			case <-ctx.Done():
				t.Stop()
				return false
			}
			m.mu.Lock()
			if m.pending[strings.ToLower(s.Name)] == p {
				delete(m.pending, strings.ToLower(s.Name))
			}
			m.mu.Unlock()
		}
		m.setState(s.Name, "Failed")
		log.Warn("webhook validation failed; events wait in the subscription's queue and the handshake is tried again")
		if !m.pause(ctx, m.scaled(time.Minute)) {
			return false
		}
	}
	return false
}

// validationEvent posts a SubscriptionValidationEvent. ok: the endpoint
// echoed the code; manual: it answered 200 without it.
func (m *Manager) validationEvent(ctx context.Context, s *Subscription, code string) (ok, manual bool) {
	data := map[string]string{"validationCode": code}
	if m.cfg.ValidationURL != nil {
		data["validationUrl"] = m.cfg.ValidationURL(s.Name, code)
	}
	ev := []map[string]any{{
		"id": newID(), "topic": s.TopicID, "subject": "", "data": data,
		"eventType": "Microsoft.EventGrid.SubscriptionValidationEvent", "eventTime": m.cfg.Clock.Now().UTC().Format(time.RFC3339Nano),
		"metadataVersion": "1", "dataVersion": "1",
	}}
	body, _ := json.Marshal(ev)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.EndpointURL, bytes.NewReader(body))
	if err != nil {
		return false, false
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("aeg-event-type", "SubscriptionValidation")
	req.Header.Set("aeg-subscription-name", strings.ToUpper(s.Name))
	req.Header.Set("aeg-delivery-count", "0")
	req.Header.Set("aeg-metadata-version", "1")
	req.Header.Set("aeg-data-version", "1")
	resp, err := m.cfg.Client.Do(req)
	if err != nil {
		return false, false
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		return false, false
	}
	var answer map[string]any
	if json.Unmarshal(rb, &answer) == nil {
		for k, v := range answer {
			if strings.EqualFold(k, "validationResponse") && v == code {
				return true, false
			}
		}
	}
	return false, true
}

// optionsHandshake is CloudEvents webhook abuse protection: consent is a
// WebHook-Allowed-Origin of our origin or "*".
func (m *Manager) optionsHandshake(ctx context.Context, s *Subscription) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodOptions, s.EndpointURL, nil)
	if err != nil {
		return false
	}
	req.Header.Set("WebHook-Request-Origin", m.cfg.Origin)
	resp, err := m.cfg.Client.Do(req)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	allowed := resp.Header.Get("WebHook-Allowed-Origin")
	return allowed == "*" || strings.EqualFold(allowed, m.cfg.Origin)
}
