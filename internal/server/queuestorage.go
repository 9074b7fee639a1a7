package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"github.com/batonmq/baton/internal/httpapi/queuestorage"
)

// queueFace is the running Azure Queue Storage face: a plain-HTTP listener
// and, optionally, an HTTPS one, serving one handler.
type queueFace struct {
	lns  []net.Listener
	srvs []*http.Server
	urls []string // base URLs, plain first
}

// startQueueStorage starts the Queue Storage face on cfg.Listen.QueueStorage
// (plain HTTP) and cfg.Listen.QueueStorageHTTPS (TLS with the dev CA or the
// user's certificate); an empty address turns a listener off.
//
// It runs last in Start, so on error it closes what Start opened before it
// and closeAll does not (the management server), and its own listeners.
func (s *Server) startQueueStorage(ctx context.Context) (err error) {
	defer func() {
		if err != nil {
			if s.queue != nil {
				for _, srv := range s.queue.srvs {
					srv.Close()
				}
				s.queue = nil
			}
			if s.mgmtSrv != nil {
				s.mgmtSrv.Close()
			}
		}
	}()
	plain, secure := s.cfg.Listen.QueueStorage, s.cfg.Listen.QueueStorageHTTPS
	if plain == "" && secure == "" {
		return nil
	}
	stateDir := ""
	if !s.cfg.Memory {
		stateDir = filepath.Join(s.cfg.DataDir, "queuestorage")
	}
	var engine queuestorage.Engine
	if s.sharedSQ != nil {
		engine = s.sharedSQ
	} else {
		engine = queuestorage.NewBrokerEngine(s.broker)
	}
	h, err := queuestorage.New(queuestorage.Config{
		Engine:         engine,
		Accounts:       s.cfg.Accounts,
		AllowAnonymous: s.cfg.AllowAnonymous,
		StateDir:       stateDir,
		Clock:          s.clock,
		Logger:         s.log.With("component", "queuestorage"),
	})
	if err != nil {
		return fmt.Errorf("server: Queue Storage: %w", err)
	}
	f := &queueFace{}
	s.queue = f
	serve := func(face, addr, scheme string, tlsCfg *tls.Config) error {
		ln, err := s.listen(face, addr)
		if err != nil {
			return fmt.Errorf("server: Queue Storage listener on %s (change it with listen.queueStorage or BATON_QUEUE_ADDR, \"off\" disables it): %w", addr, err)
		}
		if tlsCfg != nil {
			ln = tls.NewListener(ln, tlsCfg)
		}
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
		f.lns, f.srvs = append(f.lns, ln), append(f.srvs, srv)
		f.urls = append(f.urls, scheme+"://"+ln.Addr().String())
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				s.serveErr <- fmt.Errorf("server: Queue Storage: %w", err)
			}
		}()
		s.log.Info("Queue Storage listening", "url", scheme+"://"+ln.Addr().String()+"/"+queuestorage.DevAccount, "accounts", h.Accounts())
		return nil
	}
	if plain != "" {
		if err := serve(faceQueue, plain, "http", nil); err != nil {
			return err
		}
	}
	if secure != "" {
		if s.tls == nil {
			b, err := s.tlsBundle()
			if err != nil {
				return err
			}
			s.tls = b
		}
		if err := serve(faceQueueHTTPS, secure, "https", s.tls.TLSConfig()); err != nil {
			return err
		}
	}
	return nil
}

// shutdown stops the face's servers, letting requests finish until ctx ends.
func (f *queueFace) shutdown(ctx context.Context) error {
	if f == nil {
		return nil
	}
	var errs []error
	for _, srv := range f.srvs {
		if err := srv.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("server: Queue Storage shutdown: %w", err))
			srv.Close()
		}
	}
	return errors.Join(errs...)
}

// QueueStorageURL returns the Queue Storage face's plain-HTTP base URL
// ("http://127.0.0.1:10001"; accounts are path segments below it), or "" when
// it is off.
func (s *Server) QueueStorageURL() string { return s.queueURL("http") }

// QueueStorageHTTPSURL returns the HTTPS base URL, or "" when it is off.
func (s *Server) QueueStorageHTTPSURL() string { return s.queueURL("https") }

func (s *Server) queueURL(scheme string) string {
	if s.sb != nil && !s.cfg.SharedStorageQueues {
		if scheme == "https" {
			return s.sb.url(faceQueueHTTPS, scheme)
		}
		return s.sb.url(faceQueue, scheme)
	}
	if s.queue == nil {
		return ""
	}
	for _, u := range s.queue.urls {
		if len(u) > len(scheme) && u[:len(scheme)+3] == scheme+"://" {
			return u
		}
	}
	return ""
}
