package config

import (
	"fmt"
	"strings"
	"time"
)

// validate checks the eventGrid section: names, duplicates and the ranges
// Azure allows, so that a mistake is reported at start with its place in
// the file rather than by the face later.
func (eg EventGrid) validate() []error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf("eventGrid: "+format, a...)) }
	name := func(n string, max int) bool {
		if len(n) < 3 || len(n) > max {
			return false
		}
		for i := 0; i < len(n); i++ {
			c := n[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
		return true
	}
	schema := func(s string, delivery bool) bool {
		switch strings.ToLower(s) {
		case "", "eventgridschema", "cloudeventschemav1_0", "customeventschema":
			return true
		case "custominputschema":
			return delivery
		}
		return false
	}
	if eg.RetryScale < 0 {
		bad("retryScale %v must not be negative", eg.RetryScale)
	}
	if eg.MaxEventBytes < 0 || eg.MaxRequestBytes < 0 {
		bad("maxEventBytes and maxRequestBytes must not be negative")
	}
	if eg.SystemEventsInterval < 0 {
		bad("systemEventsInterval %v must not be negative", time.Duration(eg.SystemEventsInterval))
	}
	for i, k := range eg.Keys {
		if k == "" {
			bad("keys[%d] is empty", i)
		}
	}
	topics := map[string]bool{}
	pushSubs := map[string]string{} // push subscription names are unique across topics
	for i, t := range eg.Topics {
		at := fmt.Sprintf("topics[%d] %q", i, t.Name)
		if !name(t.Name, 50) {
			bad("%s: a topic name is 3–50 letters, digits and '-'", at)
		}
		if topics[strings.ToLower(t.Name)] {
			bad("%s is declared twice", at)
		}
		topics[strings.ToLower(t.Name)] = true
		if !schema(t.InputSchema, false) {
			bad("%s: inputSchema %q is not EventGridSchema, CloudEventSchemaV1_0 or CustomEventSchema", at, t.InputSchema)
		}
		if t.TopicType != "" && t.TopicType != "Microsoft.ServiceBus.Namespaces" {
			bad("%s: topicType %q is not Microsoft.ServiceBus.Namespaces", at, t.TopicType)
		}
		if t.Source != "" && !strings.Contains(strings.ToLower(t.Source), "/providers/microsoft.servicebus/namespaces/") {
			bad("%s: source %q is not a Service Bus namespace resource id", at, t.Source)
		}
		for j, k := range t.Keys {
			if k == "" {
				bad("%s: keys[%d] is empty", at, j)
			}
		}
		subs := map[string]bool{}
		for j, s := range t.Subscriptions {
			as := fmt.Sprintf("%s eventSubscriptions[%d] %q", at, j, s.Name)
			if !name(s.Name, 64) {
				bad("%s: a subscription name is 3–64 letters, digits and '-'", as)
			}
			if subs[strings.ToLower(s.Name)] {
				bad("%s is declared twice", as)
			}
			subs[strings.ToLower(s.Name)] = true
			if other, ok := pushSubs[strings.ToLower(s.Name)]; ok {
				bad("%s: topic %q has a subscription of the same name (push subscription names are unique across topics)", as, other)
			}
			pushSubs[strings.ToLower(s.Name)] = t.Name
			endpoint, kind := s.EndpointURL, "WebHook"
			if d := s.Destination; d != nil {
				kind = d.EndpointType
				if d.Properties.EndpointURL != "" {
					endpoint = d.Properties.EndpointURL
				}
			}
			switch strings.ToLower(kind) {
			case "", "webhook":
				if !strings.HasPrefix(endpoint, "http://") && !strings.HasPrefix(endpoint, "https://") {
					bad("%s: endpointUrl %q is not an http(s) URL", as, endpoint)
				}
			case "servicebusqueue", "servicebustopic":
				if s.Destination.Properties.ResourceID == "" {
					bad("%s: a %s destination needs properties.resourceId", as, kind)
				}
			case "storagequeue":
				if s.Destination.Properties.ResourceID == "" || s.Destination.Properties.QueueName == "" {
					bad("%s: a StorageQueue destination needs properties.resourceId and properties.queueName", as)
				}
			default:
				bad("%s: destination endpointType %q is not WebHook, ServiceBusQueue, ServiceBusTopic or StorageQueue", as, kind)
			}
			if !schema(s.EventDeliverySchema, true) {
				bad("%s: eventDeliverySchema %q is not EventGridSchema, CloudEventSchemaV1_0 or CustomInputSchema", as, s.EventDeliverySchema)
			}
			attempts, ttl := s.MaxDeliveryAttempts, s.EventTimeToLive
			if r := s.RetryPolicy; r != nil {
				attempts, ttl = max(attempts, r.MaxDeliveryAttempts), max(ttl, r.EventTimeToLiveInMinutes)
			}
			if attempts < 0 || attempts > 30 {
				bad("%s: maxDeliveryAttempts %d is not within 1–30", as, attempts)
			}
			if ttl < 0 || ttl > 1440 {
				bad("%s: eventTimeToLiveInMinutes %d is not within 1–1440", as, ttl)
			}
		}
	}
	nsTopics := map[string]bool{}
	for i, t := range eg.NamespaceTopics {
		at := fmt.Sprintf("namespaceTopics[%d] %q", i, t.Name)
		if !name(t.Name, 50) {
			bad("%s: a topic name is 3–50 letters, digits and '-'", at)
		}
		if nsTopics[strings.ToLower(t.Name)] {
			bad("%s is declared twice", at)
		}
		nsTopics[strings.ToLower(t.Name)] = true
		subs := map[string]bool{}
		for j, s := range t.Subscriptions {
			as := fmt.Sprintf("%s eventSubscriptions[%d] %q", at, j, s.Name)
			if !name(s.Name, 50) {
				bad("%s: a subscription name is 3–50 letters, digits and '-'", as)
			}
			if subs[strings.ToLower(s.Name)] {
				bad("%s is declared twice", as)
			}
			subs[strings.ToLower(s.Name)] = true
			lock, mdc, ttl := s.ReceiveLockDurationInSeconds, s.MaxDeliveryCount, time.Duration(s.EventTimeToLive)
			if dc := s.DeliveryConfiguration; dc != nil {
				if dc.DeliveryMode != "" && dc.DeliveryMode != "Queue" {
					bad("%s: deliveryMode %q is not Queue (the only one Baton serves)", as, dc.DeliveryMode)
				}
				if q := dc.Queue; q != nil {
					lock, mdc, ttl = max(lock, q.ReceiveLockDurationInSeconds), max(mdc, q.MaxDeliveryCount), max(ttl, time.Duration(q.EventTimeToLive))
				}
			}
			if lock != 0 && (lock < 60 || lock > 300) {
				bad("%s: receiveLockDurationInSeconds %d is not within 60–300", as, lock)
			}
			if mdc < 0 || mdc > 10 {
				bad("%s: maxDeliveryCount %d is not within 1–10", as, mdc)
			}
			if ttl != 0 && ttl < time.Minute {
				bad("%s: eventTimeToLive %v is shorter than PT1M", as, ttl)
			}
			if s.EventDeliverySchema != "" && s.EventDeliverySchema != "CloudEventSchemaV1_0" {
				bad("%s: eventDeliverySchema must be CloudEventSchemaV1_0", as)
			}
		}
	}
	return errs
}
