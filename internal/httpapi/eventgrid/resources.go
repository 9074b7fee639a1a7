package eventgrid

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/batonmq/baton/internal/isodur"
	"github.com/batonmq/baton/internal/push"
)

// manageTopics serves topics[/…].
func (h *Handler) manageTopics(q *mreq) {
	segs, ctx := q.segs, q.r.Context()
	switch len(segs) {
	case 1:
		if q.r.Method != http.MethodGet {
			q.methodNotAllowed("GET")
			return
		}
		out := list{Value: []any{}}
		for _, t := range sortedTopics(h.state()) {
			out.Value = append(out.Value, h.topicResource(q.prefix, t))
		}
		writeJSON(q.w, out)
		return
	case 2:
		name := segs[1]
		switch q.r.Method {
		case http.MethodGet:
			t := h.state().topics[strings.ToLower(name)]
			if t == nil {
				q.notFound("topic " + name)
				return
			}
			writeJSON(q.w, h.topicResource(q.prefix, t))
		case http.MethodPut, http.MethodPatch:
			var spec TopicSpec
			if q.r.Method == http.MethodPatch {
				t := h.state().topics[strings.ToLower(name)]
				if t == nil {
					q.notFound("topic " + name)
					return
				}
				if !q.readPatch(h, name, t.spec, &spec) {
					return
				}
			} else if !q.readSpec(h, name, &spec) {
				return
			}
			spec.Name = name
			h.mu.Lock()
			created, err := h.putTopic(ctx, spec, fromAPI)
			t := h.state().topics[strings.ToLower(name)]
			h.mu.Unlock()
			if err != nil {
				writeError(q.w, q.r, err)
				return
			}
			q.put(created, h.topicResource(q.prefix, t))
		case http.MethodDelete:
			h.mu.Lock()
			ok, err := h.deleteTopic(ctx, name)
			h.mu.Unlock()
			q.deleted(ok, err)
		default:
			q.methodNotAllowed("GET, PUT, PATCH, DELETE")
		}
		return
	}
	t := h.state().topics[strings.ToLower(segs[1])]
	if t == nil {
		q.notFound("topic " + segs[1])
		return
	}
	switch {
	case len(segs) == 3 && strings.EqualFold(segs[2], "listKeys"):
		if q.r.Method != http.MethodPost {
			q.methodNotAllowed("POST")
			return
		}
		keys := append(append([]string(nil), t.Keys...), h.cfg.Keys...)
		out := map[string]string{}
		if len(keys) > 0 {
			out["key1"] = keys[0]
		}
		if len(keys) > 1 {
			out["key2"] = keys[1]
		}
		writeJSON(q.w, out)
	case strings.EqualFold(segs[2], "eventSubscriptions"):
		h.manageSubscriptions(q, t)
	default:
		q.notFound("endpoint")
	}
}

// manageSubscriptions serves topics/{t}/eventSubscriptions[/…].
func (h *Handler) manageSubscriptions(q *mreq, t *Topic) {
	segs, ctx := q.segs, q.r.Context()
	if len(segs) == 3 {
		if q.r.Method != http.MethodGet {
			q.methodNotAllowed("GET")
			return
		}
		out := list{Value: []any{}}
		for i := range t.Subscriptions {
			out.Value = append(out.Value, h.subscriptionResource(q.prefix, t, i))
		}
		writeJSON(q.w, out)
		return
	}
	name := segs[3]
	if len(segs) == 4 {
		switch q.r.Method {
		case http.MethodGet:
			i := h.findSubscription(t.Name, name)
			if i < 0 {
				q.notFound("event subscription " + name)
				return
			}
			writeJSON(q.w, h.subscriptionResource(q.prefix, h.state().topics[strings.ToLower(t.Name)], i))
		case http.MethodPut, http.MethodPatch:
			var spec SubscriptionSpec
			if q.r.Method == http.MethodPatch {
				i := h.findSubscription(t.Name, name)
				if i < 0 {
					q.notFound("event subscription " + name)
					return
				}
				cur := h.state().topics[strings.ToLower(t.Name)].subSpecs[i]
				if !q.readPatch(h, name, cur, &spec) {
					return
				}
			} else if !q.readSpec(h, name, &spec) {
				return
			}
			spec.Name = name
			h.mu.Lock()
			created, err := h.putSubscription(ctx, t.Name, spec, fromAPI)
			nt := h.state().topics[strings.ToLower(t.Name)]
			i := h.findSubscription(t.Name, name)
			h.mu.Unlock()
			if err != nil {
				writeError(q.w, q.r, err)
				return
			}
			q.put(created, h.subscriptionResource(q.prefix, nt, i))
		case http.MethodDelete:
			h.mu.Lock()
			ok, err := h.deleteSubscription(ctx, t.Name, name)
			h.mu.Unlock()
			q.deleted(ok, err)
		default:
			q.methodNotAllowed("GET, PUT, PATCH, DELETE")
		}
		return
	}
	i := h.findSubscription(t.Name, name)
	if i < 0 {
		q.notFound("event subscription " + name)
		return
	}
	sub, spec := t.Subscriptions[i], t.subSpecs[i]
	switch action := strings.ToLower(segs[4]); {
	case len(segs) == 5 && action == "getfullurl":
		if q.r.Method != http.MethodPost {
			q.methodNotAllowed("POST")
			return
		}
		if sub.Destination != push.WebHook {
			writeError(q.w, q.r, newError(http.StatusBadRequest, "BadRequest", "Event subscription "+sub.Name+" has no webhook endpoint."))
			return
		}
		writeJSON(q.w, map[string]string{"endpointUrl": sub.EndpointURL})
	case len(segs) == 5 && action == "getdeliveryattributes":
		if q.r.Method != http.MethodPost {
			q.methodNotAllowed("POST")
			return
		}
		writeJSON(q.w, map[string]any{"value": deliveryAttributes(sub, spec, true)})
	case action == "deadletters":
		h.manageDeadLetters(q, sub.Queue, 4, func(body []byte, id string, props map[string]any) (string, map[string]any) {
			name, _ := props[push.PropSchema].(string)
			schema, _ := push.ParseSchema(name, push.SchemaEventGrid)
			m := push.NewMessage(body, id, schema, h.cfg.Clock.Now())
			return m.ContentType, m.Properties
		})
	default:
		q.notFound("endpoint")
	}
}

// manageNamespace serves namespaces[/{ns}[/topics[/…]]].
func (h *Handler) manageNamespace(q *mreq) {
	segs, ctx := q.segs, q.r.Context()
	nsID := q.prefix + "namespaces/" + h.cfg.Namespace
	nsRes := map[string]any{"id": nsID, "name": h.cfg.Namespace, "type": "Microsoft.EventGrid/namespaces", "location": "local",
		"properties": map[string]any{"provisioningState": "Succeeded", "publicNetworkAccess": "Enabled"}}
	switch {
	case len(segs) <= 2:
		if q.r.Method != http.MethodGet {
			q.methodNotAllowed("GET")
			return
		}
		if len(segs) == 1 {
			writeJSON(q.w, list{Value: []any{nsRes}})
		} else {
			writeJSON(q.w, nsRes)
		}
		return
	case !strings.EqualFold(segs[2], "topics"):
		q.notFound("endpoint")
		return
	case len(segs) == 3:
		if q.r.Method != http.MethodGet {
			q.methodNotAllowed("GET")
			return
		}
		out := list{Value: []any{}}
		for _, t := range sortedNSTopics(h.state()) {
			out.Value = append(out.Value, h.nsTopicResource(nsID, t))
		}
		writeJSON(q.w, out)
		return
	case len(segs) == 4:
		name := segs[3]
		switch q.r.Method {
		case http.MethodGet:
			t := h.state().nsTopics[strings.ToLower(name)]
			if t == nil {
				q.notFound("namespace topic " + name)
				return
			}
			writeJSON(q.w, h.nsTopicResource(nsID, t))
		case http.MethodPut, http.MethodPatch:
			var spec NamespaceTopicSpec
			if q.r.Method == http.MethodPatch {
				t := h.state().nsTopics[strings.ToLower(name)]
				if t == nil {
					q.notFound("namespace topic " + name)
					return
				}
				if !q.readPatch(h, name, t.spec, &spec) {
					return
				}
			} else if !q.readSpec(h, name, &spec) {
				return
			}
			spec.Name = name
			h.mu.Lock()
			created, err := h.putNSTopic(ctx, spec, fromAPI)
			t := h.state().nsTopics[strings.ToLower(name)]
			h.mu.Unlock()
			if err != nil {
				writeError(q.w, q.r, err)
				return
			}
			q.put(created, h.nsTopicResource(nsID, t))
		case http.MethodDelete:
			h.mu.Lock()
			ok, err := h.deleteNSTopic(ctx, name)
			h.mu.Unlock()
			q.deleted(ok, err)
		default:
			q.methodNotAllowed("GET, PUT, PATCH, DELETE")
		}
		return
	}
	t := h.state().nsTopics[strings.ToLower(segs[3])]
	if t == nil {
		q.notFound("namespace topic " + segs[3])
		return
	}
	if !strings.EqualFold(segs[4], "eventSubscriptions") {
		q.notFound("endpoint")
		return
	}
	topicID := nsID + "/topics/" + t.Name
	if len(segs) == 5 {
		if q.r.Method != http.MethodGet {
			q.methodNotAllowed("GET")
			return
		}
		out := list{Value: []any{}}
		for _, s := range t.subs {
			out.Value = append(out.Value, h.nsSubscriptionResource(topicID, s))
		}
		writeJSON(q.w, out)
		return
	}
	name := segs[5]
	key := strings.ToLower(t.Name) + "/" + strings.ToLower(name)
	if len(segs) == 6 {
		switch q.r.Method {
		case http.MethodGet:
			s := h.state().queues[key]
			if s == nil {
				q.notFound("event subscription " + name)
				return
			}
			writeJSON(q.w, h.nsSubscriptionResource(topicID, s))
		case http.MethodPut, http.MethodPatch:
			var spec NamespaceSubscriptionSpec
			if q.r.Method == http.MethodPatch {
				cur := h.state().queues[key]
				if cur == nil {
					q.notFound("event subscription " + name)
					return
				}
				if !q.readPatch(h, name, cur.spec, &spec) {
					return
				}
			} else if !q.readSpec(h, name, &spec) {
				return
			}
			spec.Name = name
			h.mu.Lock()
			created, err := h.putNSSubscription(ctx, t.Name, spec, fromAPI)
			s := h.state().queues[key]
			h.mu.Unlock()
			if err != nil {
				writeError(q.w, q.r, err)
				return
			}
			q.put(created, h.nsSubscriptionResource(topicID, s))
		case http.MethodDelete:
			h.mu.Lock()
			ok, err := h.deleteNSSubscription(ctx, t.Name, name)
			h.mu.Unlock()
			q.deleted(ok, err)
		default:
			q.methodNotAllowed("GET, PUT, PATCH, DELETE")
		}
		return
	}
	s := h.state().queues[key]
	if s == nil {
		q.notFound("event subscription " + name)
		return
	}
	if !strings.EqualFold(segs[6], "deadLetters") {
		q.notFound("endpoint")
		return
	}
	h.manageDeadLetters(q, s.queue, 6, func([]byte, string, map[string]any) (string, map[string]any) {
		return "application/cloudevents+json", nil
	})
}

// declaredIn names an origin for the baton block of a resource.
func declaredIn(o origin) string {
	if o == fromConfig {
		return "config"
	}
	return "api"
}

// counts returns a queue's pending (active and scheduled) and
// dead-lettered events.
func (h *Handler) counts(queue string) (int64, int64) {
	info, err := h.cfg.Broker.GetEntity(queue)
	if err != nil {
		return 0, 0
	}
	return info.Active + info.Scheduled, info.DeadLettered
}

func (h *Handler) topicResource(prefix string, t *Topic) map[string]any {
	props := map[string]any{"provisioningState": "Succeeded", "publicNetworkAccess": "Enabled",
		"inputSchema": cmpString(t.spec.InputSchema, "EventGridSchema")}
	if h.cfg.BaseURL != "" {
		props["endpoint"] = h.cfg.BaseURL + "/" + t.Name + "/api/events"
	}
	if len(t.spec.InputSchemaMapping) > 0 {
		props["inputSchemaMapping"] = t.spec.InputSchemaMapping
	}
	if t.System {
		props["topicType"] = t.spec.TopicType
	}
	props["baton"] = map[string]any{"declaredIn": declaredIn(t.from), "eventSubscriptions": len(t.Subscriptions), "hasKeys": len(t.Keys) > 0}
	return map[string]any{"id": prefix + "topics/" + t.Name, "name": t.Name, "type": "Microsoft.EventGrid/topics", "location": "local", "properties": props}
}

func cmpString(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// subscriptionResource renders t's subscription i as ARM does: the
// webhook's full URL and secret delivery attributes are left out.
func (h *Handler) subscriptionResource(prefix string, t *Topic, i int) map[string]any {
	sub, spec := t.Subscriptions[i], t.subSpecs[i]
	topicID := prefix + "topics/" + t.Name
	state := "Succeeded"
	if sub.Destination == push.WebHook && h.cfg.State != nil {
		state = cmpString(h.cfg.State(sub.Name), "Creating")
	}
	dest := map[string]any{"endpointType": sub.Destination.String()}
	dp := map[string]any{}
	switch sub.Destination {
	case push.WebHook:
		dp["endpointBaseUrl"] = baseURL(sub.EndpointURL)
		dp["maxEventsPerBatch"] = sub.MaxEventsPerBatch
		dp["preferredBatchSizeInKilobytes"] = cmpInt(sub.PreferredBatchKB, 64)
	default:
		dp["resourceId"] = spec.Destination.Properties.ResourceID
		if sub.Destination == push.StorageQueue {
			dp["queueName"] = spec.Destination.Properties.QueueName
			ttl := int64(sub.QueueMessageTTL / time.Second)
			if sub.QueueMessageTTL == 0 {
				ttl = 7 * 24 * 3600
			}
			dp["queueMessageTimeToLiveInSeconds"] = ttl
		}
	}
	if attrs := deliveryAttributes(sub, spec, false); len(attrs) > 0 {
		dp["deliveryAttributeMappings"] = attrs
	}
	dest["properties"] = dp
	props := map[string]any{
		"topic": topicID, "provisioningState": state, "destination": dest,
		"eventDeliverySchema": deliverySchemaName(sub.DeliverySchema),
		"retryPolicy":         map[string]any{"maxDeliveryAttempts": sub.MaxDeliveryAttempts, "eventTimeToLiveInMinutes": int(sub.EventTTL / time.Minute)},
		"filter":              rawOr(spec.Filter, `{}`),
		"labels":              rawOr(spec.Labels, `null`),
	}
	if len(spec.DeadLetterDestination) > 0 {
		props["deadLetterDestination"] = spec.DeadLetterDestination
	}
	if len(spec.ExpirationTimeUtc) > 0 {
		props["expirationTimeUtc"] = spec.ExpirationTimeUtc
	}
	pending, dead := h.counts(sub.Queue)
	props["baton"] = map[string]any{"declaredIn": declaredIn(t.subFrom[i]), "queue": sub.Queue, "pendingEvents": pending, "deadLetteredEvents": dead,
		"disableValidation": sub.SkipValidation}
	return map[string]any{"id": topicID + "/providers/Microsoft.EventGrid/eventSubscriptions/" + sub.Name, "name": sub.Name,
		"type": "Microsoft.EventGrid/eventSubscriptions", "properties": props}
}

func cmpInt(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

func rawOr(raw json.RawMessage, def string) json.RawMessage {
	if len(raw) == 0 {
		return json.RawMessage(def)
	}
	return raw
}

// deliverySchemaName is ARM's name of a delivery schema.
func deliverySchemaName(s push.Schema) string {
	if s == push.SchemaCustom {
		return "CustomInputSchema"
	}
	if s == 0 {
		return "EventGridSchema"
	}
	return s.String()
}

// deliveryAttributes renders a subscription's delivery properties as
// ARM's deliveryAttributeMappings; secret values only with secrets.
func deliveryAttributes(sub *push.Subscription, spec SubscriptionSpec, secrets bool) []any {
	secret := map[string]bool{}
	if spec.Destination != nil {
		for _, a := range spec.Destination.Properties.DeliveryAttributeMappings {
			if a.Properties.IsSecret {
				secret[strings.ToLower(a.Name)] = true
			}
		}
	}
	var out []any
	for name, v := range sub.Headers {
		p := map[string]any{"isSecret": secret[strings.ToLower(name)]}
		if secrets || !secret[strings.ToLower(name)] {
			p["value"] = v
		}
		out = append(out, map[string]any{"name": name, "type": "Static", "properties": p})
	}
	for name, src := range sub.DynamicHeaders {
		out = append(out, map[string]any{"name": name, "type": "Dynamic", "properties": map[string]any{"sourceField": src}})
	}
	return out
}

func (h *Handler) nsTopicResource(nsID string, t *nsTopic) map[string]any {
	props := map[string]any{"provisioningState": "Succeeded", "publisherType": "Custom", "inputSchema": "CloudEventSchemaV1_0",
		"eventRetentionInDays": cmpInt(t.spec.EventRetentionInDays, 7),
		"baton":                map[string]any{"declaredIn": declaredIn(t.from), "eventSubscriptions": len(t.subs), "hasKeys": len(t.Keys) > 0}}
	return map[string]any{"id": nsID + "/topics/" + t.Name, "name": t.Name, "type": "Microsoft.EventGrid/namespaces/topics", "properties": props}
}

func (h *Handler) nsSubscriptionResource(topicID string, s *nsSubscription) map[string]any {
	pending, dead := h.counts(s.queue)
	props := map[string]any{
		"provisioningState": "Succeeded",
		"deliveryConfiguration": map[string]any{"deliveryMode": "Queue", "queue": map[string]any{
			"receiveLockDurationInSeconds": int(s.LockDuration / time.Second), "maxDeliveryCount": s.MaxDeliveryCount,
			"eventTimeToLive": isodur.Format(s.EventTimeToLive)}},
		"eventDeliverySchema":  "CloudEventSchemaV1_0",
		"filtersConfiguration": rawOr(s.spec.FiltersConfiguration, `{}`),
		"baton":                map[string]any{"declaredIn": declaredIn(s.from), "queue": s.queue, "pendingEvents": pending, "deadLetteredEvents": dead},
	}
	return map[string]any{"id": topicID + "/eventSubscriptions/" + s.Name, "name": s.Name,
		"type": "Microsoft.EventGrid/namespaces/topics/eventSubscriptions", "properties": props}
}
