package server

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/batonmq/baton/internal/broker"
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
	sysStop   context.CancelFunc // stops the Service Bus system events
	sysDone   chan struct{}
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
	listen := func(face, addr, scheme string) error {
		ln, err := s.listen(face, addr)
		if err != nil {
			return fmt.Errorf("server: Event Grid listener on %s (change it with listen.eventGrid or BATON_EVENTGRID_ADDR, \"off\" disables it): %w", addr, err)
		}
		lns, schemes = append(lns, ln), append(schemes, scheme)
		f.urls = append(f.urls, scheme+"://"+ln.Addr().String())
		return nil
	}
	if secure != "" {
		if err := listen(faceEventGrid, secure, "https"); err != nil {
			return err
		}
	}
	if plain != "" {
		if err := listen(faceEventGridHTTP, plain, "http"); err != nil {
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
	var topics []eventgrid.TopicSpec
	var nsTopics []eventgrid.NamespaceTopicSpec
	if err := convertSpecs(eg.Topics, &topics); err != nil {
		closeLns()
		return err
	}
	if err := convertSpecs(eg.NamespaceTopics, &nsTopics); err != nil {
		closeLns()
		return err
	}
	base := f.urls[0]
	var sqPut func(context.Context, string, []byte, time.Duration) error
	if e := s.sharedSQ; e != nil {
		sqPut = func(ctx context.Context, queue string, text []byte, ttl time.Duration) error {
			_, err := e.Put(ctx, queue, text, 0, ttl)
			return err
		}
	}
	var sbSend func(context.Context, string, []*broker.Message) ([]int64, error)
	if e := s.sharedSB; e != nil {
		sbSend = e.Send
	}
	pm, err := push.New(push.Config{
		Broker: s.broker, Clock: s.clock, Logger: s.log.With("component", "push"), StorageQueuePut: sqPut, ServiceBusSend: sbSend,
		RetryScale: eg.RetryScale, DeadLetterDir: eg.DeadLetterDir,
		ValidationURL: func(sub, code string) string {
			return base + "/eventsubscriptions/" + url.PathEscape(sub) + "/validate?id=" + url.QueryEscape(code)
		},
	}, nil)
	if err != nil {
		closeLns()
		return fmt.Errorf("server: Event Grid: %w", err)
	}
	f.push = pm
	h, err := eventgrid.New(ctx, eventgrid.Config{
		Broker: s.broker, Clock: s.clock, Logger: s.log.With("component", "eventgrid"),
		Namespace: eg.Namespace, Topics: topics, NamespaceTopics: nsTopics, Push: pm, Keys: eg.Keys,
		AuthDisabled: eg.AuthDisabled, AcceptBearer: eg.AcceptBearer,
		MaxEventBytes: eg.MaxEventBytes, MaxRequestBytes: eg.MaxRequestBytes,
		Validator: pm.Validate, State: pm.State, BaseURL: base,
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
		ln, err := s.listen(faceEventGridTopic+t.Name, t.Listen)
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
	pm.Start(ctx)
	interval := time.Duration(eg.SystemEventsInterval)
	if interval <= 0 {
		interval = 30 * time.Second
	}
	sysCtx, sysStop := context.WithCancel(context.WithoutCancel(ctx))
	f.sysStop, f.sysDone = sysStop, make(chan struct{})
	go func() {
		defer close(f.sysDone)
		(&sbEvents{b: s.broker, h: h, clock: s.clock, log: s.log.With("component", "eventgrid-system"), interval: interval}).run(sysCtx)
	}()
	s.eventGrid = f
	s.setEventGridMgmt(h.Management(false))
	s.log.Info("Event Grid listening", "urls", f.urls, "topics", len(topics), "namespaceTopics", len(nsTopics))
	return nil
}

// convertSpecs turns the config file's Event Grid declarations into the
// face's (the same JSON: ARM's properties beside a name).
func convertSpecs(from, to any) error {
	b, err := json.Marshal(from)
	if err != nil {
		return fmt.Errorf("server: Event Grid declarations: %w", err)
	}
	if err := json.Unmarshal(b, to); err != nil {
		return fmt.Errorf("server: Event Grid declarations: %w", err)
	}
	return nil
}

// stopEventGrid stops the push workers, then the listeners, letting
// requests finish until ctx ends.
func (s *Server) stopEventGrid(ctx context.Context) error {
	f := s.eventGrid
	if f == nil {
		return nil
	}
	s.setEventGridMgmt(nil)
	f.sysStop()
	<-f.sysDone
	f.push.Stop()
	f.handler.Close()
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
	if s.sb != nil {
		if scheme == "https" {
			return s.sb.url(faceEventGrid, scheme)
		}
		return s.sb.url(faceEventGridHTTP, scheme)
	}
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
