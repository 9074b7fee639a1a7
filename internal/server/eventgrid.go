package server

import (
	"cmp"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/batonmq/baton/internal/config"
	"github.com/batonmq/baton/internal/httpapi/eventgrid"
	"github.com/batonmq/baton/internal/push"
)

// eventGridFace is the running Event Grid face: an HTTPS listener, an
// optional plain-HTTP one, and the push delivery manager.
type eventGridFace struct {
	srvs      []*http.Server
	urls      []string          // https first when on
	topicURLs map[string]string // per-topic listeners by topic name
	handler   *eventgrid.Handler
	push      *push.Manager
}

// startEventGrid starts the Event Grid face on cfg.Listen.EventGrid (HTTPS)
// and cfg.Listen.EventGridHTTP (plain), and the push workers. It runs after
// the other faces, so on error it closes them too (closeAll does not).
func (s *Server) startEventGrid(ctx context.Context) (err error) {
	f := &eventGridFace{}
	defer func() {
		if err != nil {
			f.push.Stop()
			for _, srv := range f.srvs {
				srv.Close()
			}
			if s.queue != nil {
				for _, srv := range s.queue.srvs {
					srv.Close()
				}
			}
			if s.mgmtSrv != nil {
				s.mgmtSrv.Close()
			}
		}
	}()
	secure, plain := s.cfg.Listen.EventGrid, s.cfg.Listen.EventGridHTTP
	if secure == "" && plain == "" {
		return nil
	}
	eg := s.cfg.EventGrid
	var lns []net.Listener
	var schemes []string
	listen := func(addr, scheme string) error {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("server: Event Grid listener on %s (change it with listen.eventGrid or BATON_EVENTGRID_ADDR, \"off\" disables it): %w", addr, err)
		}
		lns, schemes = append(lns, ln), append(schemes, scheme)
		f.urls = append(f.urls, scheme+"://"+ln.Addr().String())
		return nil
	}
	if secure != "" {
		if err := listen(secure, "https"); err != nil {
			return err
		}
	}
	if plain != "" {
		if err := listen(plain, "http"); err != nil {
			for _, ln := range lns {
				ln.Close()
			}
			return err
		}
	}
	closeLns := func() {
		for _, ln := range lns {
			ln.Close()
		}
	}
	topics, subs, err := eventGridTopics(eg)
	if err != nil {
		closeLns()
		return err
	}
	nsTopics, err := eventGridNamespaceTopics(eg)
	if err != nil {
		closeLns()
		return err
	}
	base := f.urls[0]
	var exports []push.Export
	ns := eg.Namespace
	if ns == "" {
		ns = "default"
	}
	for _, t := range nsTopics {
		for _, sub := range t.Subscriptions {
			exports = append(exports, push.Export{Queue: eventgrid.QueueName(ns, t.Name, sub.Name), Path: ns + "/" + t.Name + "/" + sub.Name,
				BaseDeliveries: eventgrid.PropBaseDeliveries})
		}
	}
	pm, err := push.New(push.Config{
		Broker: s.broker, Clock: s.clock, Logger: s.log.With("component", "push"),
		RetryScale: eg.RetryScale, DeadLetterDir: eg.DeadLetterDir, Exports: exports,
		ValidationURL: func(sub, code string) string {
			return base + "/eventsubscriptions/" + url.PathEscape(sub) + "/validate?id=" + url.QueryEscape(code)
		},
	}, subs)
	if err != nil {
		closeLns()
		return fmt.Errorf("server: Event Grid: %w", err)
	}
	h, err := eventgrid.New(ctx, eventgrid.Config{
		Broker: s.broker, Clock: s.clock, Logger: s.log.With("component", "eventgrid"),
		Namespace: eg.Namespace, Topics: topics, NamespaceTopics: nsTopics, Keys: eg.Keys,
		AuthDisabled: eg.AuthDisabled, AcceptBearer: eg.AcceptBearer,
		MaxEventBytes: eg.MaxEventBytes, MaxRequestBytes: eg.MaxRequestBytes,
		Validator: pm.Validate, State: pm.State,
	})
	if err != nil {
		closeLns()
		return fmt.Errorf("server: Event Grid: %w", err)
	}
	f.handler = h
	for i, ln := range lns {
		if schemes[i] == "https" {
			if s.tls == nil {
				b, err := s.tlsBundle()
				if err != nil {
					closeLns()
					return err
				}
				s.tls = b
			}
			ln = tls.NewListener(ln, s.tls.TLSConfig())
		}
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
		f.srvs = append(f.srvs, srv)
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				s.serveErr <- fmt.Errorf("server: Event Grid: %w", err)
			}
		}()
	}
	for _, t := range eg.Topics {
		if t.Listen == "" {
			continue
		}
		th, err := h.ForTopic(t.Name)
		if err != nil {
			return fmt.Errorf("server: Event Grid: %w", err)
		}
		ln, err := net.Listen("tcp", t.Listen)
		if err != nil {
			return fmt.Errorf("server: Event Grid listener of topic %s on %s: %w", t.Name, t.Listen, err)
		}
		if s.tls == nil {
			b, err := s.tlsBundle()
			if err != nil {
				ln.Close()
				return err
			}
			s.tls = b
		}
		if f.topicURLs == nil {
			f.topicURLs = map[string]string{}
		}
		f.topicURLs[t.Name] = "https://" + ln.Addr().String()
		srv := &http.Server{Handler: th, ReadHeaderTimeout: 10 * time.Second}
		f.srvs = append(f.srvs, srv)
		tln := tls.NewListener(ln, s.tls.TLSConfig())
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			if err := srv.Serve(tln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				s.serveErr <- fmt.Errorf("server: Event Grid topic listener: %w", err)
			}
		}()
	}
	f.push = pm
	pm.Start(ctx)
	s.eventGrid = f
	s.log.Info("Event Grid listening", "urls", f.urls, "topics", len(topics), "namespaceTopics", len(nsTopics), "pushSubscriptions", len(subs))
	return nil
}

// eventGridTopics builds the basic topics and their push subscriptions.
func eventGridTopics(eg config.EventGrid) ([]eventgrid.Topic, []*push.Subscription, error) {
	var topics []eventgrid.Topic
	var all []*push.Subscription
	for _, t := range eg.Topics {
		in, err := push.ParseSchema(t.InputSchema, 0)
		if err != nil {
			return nil, nil, fmt.Errorf("server: Event Grid topic %s: %w", t.Name, err)
		}
		topic := eventgrid.Topic{Name: t.Name, InputSchema: in, Keys: t.Keys}
		var mapping *push.InputMapping
		if len(t.InputSchemaMapping) > 0 {
			var m struct {
				Type       string            `json:"inputSchemaMappingType"`
				Properties push.InputMapping `json:"properties"`
			}
			if err := json.Unmarshal(t.InputSchemaMapping, &m); err != nil {
				return nil, nil, fmt.Errorf("server: Event Grid topic %s: inputSchemaMapping: %w", t.Name, err)
			}
			if m.Type != "" && m.Type != "Json" {
				return nil, nil, fmt.Errorf("server: Event Grid topic %s: inputSchemaMappingType %q is not Json", t.Name, m.Type)
			}
			mapping = &m.Properties
		}
		for _, es := range t.Subscriptions {
			if err := armSubscription(&es); err != nil {
				return nil, nil, fmt.Errorf("server: Event Grid subscription %s: %w", es.Name, err)
			}
			out, err := push.ParseSchema(es.EventDeliverySchema, 0)
			if err != nil {
				return nil, nil, fmt.Errorf("server: Event Grid subscription %s: %w", es.Name, err)
			}
			if out == 0 && in != 0 {
				out = in
			}
			if err := push.CheckSchemas(in, out); err != nil {
				return nil, nil, fmt.Errorf("server: Event Grid subscription %s: %w", es.Name, err)
			}
			var spec *push.FilterSpec
			if len(es.Filter) > 0 {
				spec = new(push.FilterSpec)
				if err := json.Unmarshal(es.Filter, spec); err != nil {
					return nil, nil, fmt.Errorf("server: Event Grid subscription %s: filter: %w", es.Name, err)
				}
			}
			filter, err := push.CompileFilter(spec)
			if err != nil {
				return nil, nil, fmt.Errorf("server: Event Grid subscription %s: %w", es.Name, err)
			}
			sub := &push.Subscription{
				Name: es.Name, Topic: t.Name, TopicID: eventgrid.DefaultResourceIDPrefix + t.Name,
				Queue: eventgrid.TopicQueueName(t.Name, es.Name), EndpointURL: es.EndpointURL,
				DeliverySchema: out, Filter: filter, MaxDeliveryAttempts: es.MaxDeliveryAttempts,
				EventTTL: time.Duration(es.EventTimeToLive) * time.Minute, SkipValidation: es.DisableValidation,
				Headers: es.Headers, DynamicHeaders: es.DynamicHeaders, Mapping: mapping,
				MaxEventsPerBatch: es.MaxEventsPerBatch, PreferredBatchKB: es.PreferredBatchSizeInKilobytes,
			}
			topic.Subscriptions = append(topic.Subscriptions, sub)
			all = append(all, sub)
		}
		topics = append(topics, topic)
	}
	return topics, all, nil
}

// armSubscription folds ARM's shape (destination, retryPolicy) into the
// flat fields; a field set both ways must agree.
func armSubscription(es *config.EGSubscription) error {
	if d := es.Destination; d != nil {
		if d.EndpointType != "" && d.EndpointType != "WebHook" {
			return fmt.Errorf("destination endpointType %q is not supported (WebHook only)", d.EndpointType)
		}
		p := d.Properties
		if es.EndpointURL != "" && p.EndpointURL != "" && es.EndpointURL != p.EndpointURL {
			return fmt.Errorf("endpointUrl and destination.properties.endpointUrl differ")
		}
		if p.EndpointURL != "" {
			es.EndpointURL = p.EndpointURL
		}
		if p.MaxEventsPerBatch != 0 {
			es.MaxEventsPerBatch = p.MaxEventsPerBatch
		}
		if p.PreferredBatchSizeInKilobytes != 0 {
			es.PreferredBatchSizeInKilobytes = p.PreferredBatchSizeInKilobytes
		}
		for _, a := range p.DeliveryAttributeMappings {
			switch a.Type {
			case "Static":
				if es.Headers == nil {
					es.Headers = map[string]string{}
				}
				es.Headers[a.Name] = a.Properties.Value
			case "Dynamic":
				if es.DynamicHeaders == nil {
					es.DynamicHeaders = map[string]string{}
				}
				es.DynamicHeaders[a.Name] = a.Properties.SourceField
			default:
				return fmt.Errorf("delivery attribute %q: type %q is not Static or Dynamic", a.Name, a.Type)
			}
		}
	}
	if r := es.RetryPolicy; r != nil {
		if r.MaxDeliveryAttempts != 0 {
			es.MaxDeliveryAttempts = r.MaxDeliveryAttempts
		}
		if r.EventTimeToLiveInMinutes != 0 {
			es.EventTimeToLive = r.EventTimeToLiveInMinutes
		}
	}
	return nil
}

// eventGridNamespaceTopics builds the namespace topics.
func eventGridNamespaceTopics(eg config.EventGrid) ([]eventgrid.NamespaceTopic, error) {
	var out []eventgrid.NamespaceTopic
	for _, t := range eg.NamespaceTopics {
		nt := eventgrid.NamespaceTopic{Name: t.Name, Keys: t.Keys}
		for _, s := range t.Subscriptions {
			if dc := s.DeliveryConfiguration; dc != nil {
				if dc.DeliveryMode != "" && dc.DeliveryMode != "Queue" {
					return nil, fmt.Errorf("server: Event Grid namespace subscription %s/%s: deliveryMode %q is not supported (Queue only)", t.Name, s.Name, dc.DeliveryMode)
				}
				if q := dc.Queue; q != nil {
					s.ReceiveLockDurationInSeconds = cmp.Or(q.ReceiveLockDurationInSeconds, s.ReceiveLockDurationInSeconds)
					s.MaxDeliveryCount = cmp.Or(q.MaxDeliveryCount, s.MaxDeliveryCount)
					s.EventTimeToLive = cmp.Or(q.EventTimeToLive, s.EventTimeToLive)
				}
			}
			if s.EventDeliverySchema != "" && s.EventDeliverySchema != "CloudEventSchemaV1_0" {
				return nil, fmt.Errorf("server: Event Grid namespace subscription %s/%s: eventDeliverySchema must be CloudEventSchemaV1_0", t.Name, s.Name)
			}
			var spec *push.FilterSpec
			if len(s.FiltersConfiguration) > 0 {
				spec = new(push.FilterSpec)
				if err := json.Unmarshal(s.FiltersConfiguration, spec); err != nil {
					return nil, fmt.Errorf("server: Event Grid namespace subscription %s/%s: filtersConfiguration: %w", t.Name, s.Name, err)
				}
			}
			filter, err := push.CompileFilter(spec)
			if err != nil {
				return nil, fmt.Errorf("server: Event Grid namespace subscription %s/%s: %w", t.Name, s.Name, err)
			}
			nt.Subscriptions = append(nt.Subscriptions, eventgrid.NamespaceSubscription{
				Name: s.Name, Filter: filter, LockDuration: time.Duration(s.ReceiveLockDurationInSeconds) * time.Second,
				MaxDeliveryCount: s.MaxDeliveryCount, EventTimeToLive: time.Duration(s.EventTimeToLive),
			})
		}
		out = append(out, nt)
	}
	return out, nil
}

// stopEventGrid stops the push workers, then the listeners, letting
// requests finish until ctx ends.
func (s *Server) stopEventGrid(ctx context.Context) error {
	f := s.eventGrid
	if f == nil {
		return nil
	}
	f.push.Stop()
	var errs []error
	for _, srv := range f.srvs {
		if err := srv.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("server: Event Grid shutdown: %w", err))
			srv.Close()
		}
	}
	s.eventGrid = nil
	return errors.Join(errs...)
}

// EventGridURL returns the Event Grid face's HTTPS base URL, or "" when it
// is off.
func (s *Server) EventGridURL() string { return s.eventGridURL("https") }

// EventGridHTTPURL returns the plain-HTTP base URL, or "" when it is off.
func (s *Server) EventGridHTTPURL() string { return s.eventGridURL("http") }

func (s *Server) eventGridURL(scheme string) string {
	if s.eventGrid == nil {
		return ""
	}
	for _, u := range s.eventGrid.urls {
		if len(u) > len(scheme)+3 && u[:len(scheme)+3] == scheme+"://" {
			return u
		}
	}
	return ""
}

// EventGridTopicURL returns the HTTPS base URL of a topic's own listener
// (EGTopic.Listen), or "".
func (s *Server) EventGridTopicURL(topic string) string {
	if s.eventGrid == nil {
		return ""
	}
	return s.eventGrid.topicURLs[topic]
}

// PushState returns an Event Grid push subscription's provisioning state
// (Creating, AwaitingManualAction, Succeeded, Failed), "" when unknown.
func (s *Server) PushState(name string) string {
	if s.eventGrid == nil {
		return ""
	}
	return s.eventGrid.push.State(name)
}
