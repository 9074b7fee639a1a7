package mgmt

import (
	"net/http"
	"strings"
	"time"

	"github.com/batonmq/baton/internal/broker"
)

func (s *server) listQueues(w http.ResponseWriter, r *http.Request) {
	infos, err := s.b.Entities(r.Context(), broker.KindQueue)
	if err != nil {
		s.fail(w, r, "", err)
		return
	}
	out := QueueList{Queues: make([]*Queue, 0, len(infos))}
	for _, info := range infos {
		out.Queues = append(out.Queues, queueOf(info))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *server) createQueue(w http.ResponseWriter, r *http.Request) {
	name, err := s.queueName(r)
	if err != nil {
		s.fail(w, r, "", err)
		return
	}
	var in QueueProperties
	if err := s.decode(w, r, &in); err != nil {
		s.fail(w, r, name, err)
		return
	}
	if err := in.check(); err != nil {
		s.fail(w, r, name, err)
		return
	}
	info, err := s.b.CreateQueue(r.Context(), name, in.apply(broker.QueueProperties{}))
	if err != nil {
		s.fail(w, r, name, err)
		return
	}
	w.Header().Set("Location", r.URL.EscapedPath())
	writeJSON(w, http.StatusCreated, queueOf(info))
}

func (s *server) getQueue(w http.ResponseWriter, r *http.Request) {
	name, err := s.queueName(r)
	if err != nil {
		s.fail(w, r, "", err)
		return
	}
	info, err := s.b.GetEntity(name)
	if err != nil {
		s.fail(w, r, name, err)
		return
	}
	if info.Kind != broker.KindQueue {
		s.fail(w, r, name, badRequest("%q is a %s, not a queue", name, info.Kind))
		return
	}
	writeJSON(w, http.StatusOK, queueOf(info))
}

// updateQueue merges the given fields over the current properties. Two
// concurrent PATCHes of different fields may lose one of them (last writer
// wins), as with Service Bus's own update.
func (s *server) updateQueue(w http.ResponseWriter, r *http.Request) {
	name, err := s.queueName(r)
	if err != nil {
		s.fail(w, r, "", err)
		return
	}
	var in QueueProperties
	if err := s.decode(w, r, &in); err != nil {
		s.fail(w, r, name, err)
		return
	}
	if err := in.check(); err != nil {
		s.fail(w, r, name, err)
		return
	}
	cur, err := s.b.GetEntity(name)
	if err != nil {
		s.fail(w, r, name, err)
		return
	}
	if cur.Kind != broker.KindQueue {
		s.fail(w, r, name, badRequest("%q is a %s, not a queue", name, cur.Kind))
		return
	}
	info, err := s.b.UpdateQueue(r.Context(), name, in.apply(cur.Properties))
	if err != nil {
		s.fail(w, r, name, err)
		return
	}
	writeJSON(w, http.StatusOK, queueOf(info))
}

func (s *server) deleteQueue(w http.ResponseWriter, r *http.Request) {
	name, err := s.queueName(r)
	if err != nil {
		s.fail(w, r, "", err)
		return
	}
	if err := s.b.DeleteEntity(r.Context(), name); err != nil {
		s.fail(w, r, name, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// check refuses explicit zero or negative values, which the broker would
// otherwise read as "use the default", and normalizes Status.
func (q *QueueProperties) check() error {
	for _, d := range []struct {
		name string
		v    *Duration
	}{
		{"lockDuration", q.LockDuration},
		{"defaultMessageTimeToLive", q.DefaultMessageTimeToLive},
		{"duplicateDetectionHistoryTimeWindow", q.DuplicateDetectionHistoryTimeWindow},
		{"autoDeleteOnIdle", q.AutoDeleteOnIdle},
	} {
		if d.v != nil && *d.v <= 0 {
			return badRequest("%s must be positive", d.name)
		}
	}
	if q.MaxDeliveryCount != nil && *q.MaxDeliveryCount < 1 {
		return badRequest("maxDeliveryCount must be at least 1")
	}
	if q.MaxSizeInMegabytes != nil && *q.MaxSizeInMegabytes < 1 {
		return badRequest("maxSizeInMegabytes must be at least 1")
	}
	if q.MaxMessageSizeInKilobytes != nil && *q.MaxMessageSizeInKilobytes < 1 {
		return badRequest("maxMessageSizeInKilobytes must be at least 1")
	}
	if q.Status != nil {
		for _, st := range []broker.Status{broker.StatusActive, broker.StatusDisabled, broker.StatusSendDisabled, broker.StatusReceiveDisabled} {
			if strings.EqualFold(*q.Status, string(st)) {
				v := string(st)
				q.Status = &v
				return nil
			}
		}
		return badRequest("status %q is not Active, Disabled, SendDisabled or ReceiveDisabled", truncate(*q.Status, 40))
	}
	return nil
}

// apply returns p with the fields set in q.
func (q *QueueProperties) apply(p broker.QueueProperties) broker.QueueProperties {
	dur := func(dst *time.Duration, src *Duration) {
		if src != nil {
			*dst = time.Duration(*src)
		}
	}
	dur(&p.LockDuration, q.LockDuration)
	dur(&p.DefaultMessageTimeToLive, q.DefaultMessageTimeToLive)
	dur(&p.DuplicateDetectionHistoryTimeWindow, q.DuplicateDetectionHistoryTimeWindow)
	dur(&p.AutoDeleteOnIdle, q.AutoDeleteOnIdle)
	if q.MaxDeliveryCount != nil {
		p.MaxDeliveryCount = *q.MaxDeliveryCount
	}
	if q.DeadLetteringOnMessageExpiration != nil {
		p.DeadLetteringOnMessageExpiration = *q.DeadLetteringOnMessageExpiration
	}
	if q.RequiresDuplicateDetection != nil {
		p.RequiresDuplicateDetection = *q.RequiresDuplicateDetection
	}
	if q.RequiresSession != nil {
		p.RequiresSession = *q.RequiresSession
	}
	if q.MaxSizeInMegabytes != nil {
		p.MaxSizeInMegabytes = *q.MaxSizeInMegabytes
	}
	if q.MaxMessageSizeInKilobytes != nil {
		p.MaxMessageSizeInKilobytes = *q.MaxMessageSizeInKilobytes
	}
	if q.ForwardTo != nil {
		p.ForwardTo = *q.ForwardTo
	}
	if q.ForwardDeadLetteredMessagesTo != nil {
		p.ForwardDeadLetteredMessagesTo = *q.ForwardDeadLetteredMessagesTo
	}
	if q.Status != nil {
		p.Status = broker.Status(*q.Status)
	}
	if q.UserMetadata != nil {
		p.UserMetadata = *q.UserMetadata
	}
	return p
}

func queueOf(info *broker.EntityInfo) *Queue {
	p := &info.Properties
	return &Queue{
		Name:                                info.Name,
		LockDuration:                        Duration(p.LockDuration),
		MaxDeliveryCount:                    p.MaxDeliveryCount,
		DefaultMessageTimeToLive:            Duration(p.DefaultMessageTimeToLive),
		DeadLetteringOnMessageExpiration:    p.DeadLetteringOnMessageExpiration,
		RequiresDuplicateDetection:          p.RequiresDuplicateDetection,
		DuplicateDetectionHistoryTimeWindow: Duration(p.DuplicateDetectionHistoryTimeWindow),
		RequiresSession:                     p.RequiresSession,
		MaxSizeInMegabytes:                  p.MaxSizeInMegabytes,
		MaxMessageSizeInKilobytes:           p.MaxMessageSizeInKilobytes,
		AutoDeleteOnIdle:                    Duration(p.AutoDeleteOnIdle),
		ForwardTo:                           p.ForwardTo,
		ForwardDeadLetteredMessagesTo:       p.ForwardDeadLetteredMessagesTo,
		Status:                              string(p.Status),
		UserMetadata:                        p.UserMetadata,
		ActiveMessageCount:                  info.Active,
		ScheduledMessageCount:               info.Scheduled,
		DeferredMessageCount:                info.Deferred,
		DeadLetterMessageCount:              info.DeadLettered,
		SizeInBytes:                         info.SizeBytes,
		CreatedAt:                           info.CreatedAt,
		UpdatedAt:                           info.UpdatedAt,
		AccessedAt:                          info.AccessedAt,
	}
}
