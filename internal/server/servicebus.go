package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/batonmq/baton/internal/amqp"
	"github.com/batonmq/baton/internal/amqp/frames"
	"github.com/batonmq/baton/internal/broker"
	"github.com/batonmq/baton/internal/devtls"
	"github.com/batonmq/baton/internal/httpapi/sbadmin"
	"github.com/batonmq/baton/internal/servicebus"
)

// startServiceBus starts the Service Bus face on cfg.Listen.AMQP: AMQP 1.0
// with CBS and $management, and the administration API over HTTPS on the
// same port (first byte 0x16).
func (s *Server) startServiceBus(ctx context.Context) error {
	addr := s.cfg.Listen.AMQP
	if addr == "" {
		return nil
	}
	bundle, err := s.tlsBundle()
	if err != nil {
		return err
	}
	s.tls = bundle
	mgmtOps, err := servicebus.NewManagement(servicebus.Config{Broker: s.sbEngine(), Clock: s.clock, Logger: s.log.With("component", "sb-management")})
	if err != nil {
		return fmt.Errorf("server: %w", err)
	}
	admin := sbadmin.New(sbadmin.Config{Broker: s.sbEngine(), Logger: s.log.With("component", "sbadmin"), Clock: s.clock, Keys: s.cfg.Keys})
	res := &sbResolver{
		keys: s.cfg.Keys,
		s:    s,
		DefaultResolver: amqp.DefaultResolver{
			Broker: s.sbEngine(),
			CBS:    s.cbsHandler,
			Management: func(ctx context.Context, req *amqp.Request) *amqp.Response {
				return amqp.ServiceBusResponse(mgmtOps.Handle(ctx, amqp.ServiceBusRequest(req)))
			},
		},
	}
	srv, err := amqp.NewServer(amqp.Config{
		Broker:    s.sbEngine(),
		Logger:    s.log.With("component", "amqp"),
		Clock:     s.clock,
		TLSConfig: bundle.TLSConfig(),
		HTTPS:     admin,
		Resolver:  res,
	})
	if err != nil {
		return fmt.Errorf("server: %w", err)
	}
	ln, err := s.listen(faceAMQP, addr)
	if err != nil {
		return fmt.Errorf("server: Service Bus (AMQP) listener: %w", err)
	}
	s.amqpLn, s.amqpSrv = ln, srv
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := srv.Serve(ln); err != nil && !errors.Is(err, net.ErrClosed) && !errors.Is(err, amqp.ErrServerClosed) {
			s.serveErr <- fmt.Errorf("server: AMQP: %w", err)
		}
	}()
	return s.startAMQPS(srv, admin, bundle.TLSConfig())
}

// tlsBundle returns the user's certificate, or the development CA's in
// DataDir/tls (created on first use).
func (s *Server) tlsBundle() (*devtls.Bundle, error) {
	if s.cfg.TLS.CertFile != "" {
		b, err := devtls.Load(s.cfg.TLS.CertFile, s.cfg.TLS.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("server: TLS certificate: %w", err)
		}
		return b, nil
	}
	b, err := devtls.Ensure(devtls.Dir(s.cfg.DataDir), s.cfg.TLS.Names, s.clock.Now())
	if err != nil {
		return nil, fmt.Errorf("server: development CA: %w", err)
	}
	return b, nil
}

type cbsKey struct{}

// cbsHandler answers $cbs with the connection's own CBS (its claims).
func (s *Server) cbsHandler(ctx context.Context, req *amqp.Request) *amqp.Response {
	return amqp.ServiceBusResponse(s.connCBS(req.Conn).PutToken(amqp.ServiceBusRequest(req)))
}

func (s *Server) connCBS(ci *amqp.ConnInfo) *servicebus.CBS {
	if c, ok := ci.Value(cbsKey{}).(*servicebus.CBS); ok {
		return c
	}
	c := servicebus.NewCBS(servicebus.CBSConfig{Keys: s.cfg.Keys, Clock: s.clock, Broker: s.sbEngine()})
	ci.SetValue(cbsKey{}, c)
	return c
}

// sbResolver is the default resolver plus authorization: with SAS keys
// configured, a link to an entity (or its $management node) needs a valid
// CBS token for it first.
type sbResolver struct {
	amqp.DefaultResolver
	keys map[string]string
	s    *Server
}

func (r *sbResolver) Resolve(ctx context.Context, req *amqp.AttachRequest) (amqp.Node, error) {
	n, err := r.DefaultResolver.Resolve(ctx, req)
	if err != nil {
		return nil, err
	}
	if err := r.authorize(req, n); err != nil {
		return nil, err
	}
	if en, isEntity := n.(*amqp.EntityNode); isEntity {
		if err := r.checkLinkTarget(en.Path, req.ClientSends); err != nil {
			return nil, err
		}
	}
	return n, nil
}

// checkLinkTarget refuses links Service Bus refuses: a receiver on a topic
// (messages are received from its subscriptions), a topic's dead-letter
// queue (topics have none), and a sender to a subscription (senders target
// queues and topics).
func (r *sbResolver) checkLinkTarget(path string, clientSends bool) error {
	name, dlq := path, false
	if i := strings.LastIndexByte(path, '/'); i > 0 && strings.EqualFold(path[i+1:], broker.DeadLetterSuffix) {
		name, dlq = path[:i], true
	}
	info, err := r.Broker.Definition(name)
	if err != nil {
		return nil // the attach goes on and fails the usual way
	}
	notAllowed := func(desc string) error {
		return &frames.Error{Condition: frames.ErrCondNotAllowed, Description: desc}
	}
	switch info.Kind {
	case broker.KindTopic:
		if dlq {
			return notAllowed("The messaging entity '" + path + "' does not exist: a topic has no dead-letter queue; each of its subscriptions has one (" +
				info.Name + "/Subscriptions/<subscription>/$DeadLetterQueue).")
		}
		if !clientSends {
			return notAllowed("Cannot receive from '" + path + "': it is a topic. Receive from one of its subscriptions (" +
				info.Name + "/Subscriptions/<subscription>).")
		}
	case broker.KindSubscription:
		if clientSends {
			return notAllowed("Cannot send to '" + path + "': it is a subscription. Senders can only target queues and topics.")
		}
	}
	return nil
}

// authorize checks, when SAS keys are configured, that the connection
// holds a CBS claim covering the node.
func (r *sbResolver) authorize(req *amqp.AttachRequest, n amqp.Node) error {
	if len(r.keys) == 0 {
		return nil
	}
	path := ""
	switch n := n.(type) {
	case *amqp.EntityNode:
		path = n.Path
	case *amqp.RPCNode:
		if strings.EqualFold(n.Name, "$cbs") {
			return nil
		}
		path = strings.TrimSuffix(n.Name, "/$management")
	}
	if req.Conn == nil || !r.s.connCBS(req.Conn).Authorized(path, r.s.clock.Now()) {
		return &frames.Error{Condition: frames.ErrCondUnauthorizedAccess,
			Description: "Unauthorized access. A valid CBS token for '" + path + "' is required (put-token on $cbs first)."}
	}
	return nil
}

// AMQPAddr returns the Service Bus face's address ("127.0.0.1:5672"), or ""
// when it is off.
func (s *Server) AMQPAddr() string {
	if s.sb != nil && !s.cfg.SharedServiceBus {
		return s.sb.addr(faceAMQP)
	}
	if s.amqpLn == nil {
		return ""
	}
	return s.amqpLn.Addr().String()
}

// CAFile returns the path of the CA certificate clients must trust for the
// HTTPS faces, or "" when none.
func (s *Server) CAFile() string {
	if s.sb != nil {
		return s.sb.caFile
	}
	if s.tls == nil {
		return ""
	}
	return s.tls.CAFile
}

var _ http.Handler = (*sbadmin.Handler)(nil)

// serviceBusCodec lets the broker read the application properties of AMQP
// bodies (subscription rules) and rewrite them (rule actions).
func serviceBusCodec() broker.MessageCodec { return servicebus.Codec{} }
