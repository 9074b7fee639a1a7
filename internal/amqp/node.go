package amqp

import (
	"context"
	"strings"
	"sync"

	"github.com/batonmq/baton/internal/amqp/encoding"
	"github.com/batonmq/baton/internal/amqp/frames"
	"github.com/batonmq/baton/internal/broker"
)

// This file is the seam between links and what their addresses name. When
// a link attaches, the server asks the Resolver for a Node:
//
//   - EntityNode: a broker entity path ("q", "q/$DeadLetterQueue", later
//     "t/Subscriptions/s"). A client sender link maps onto broker.Send, a
//     client receiver link onto broker.Receive driven by credit.
//   - RPCNode: a request/response node ($cbs, <entity>/$management). The
//     client's sender link carries requests; each request is answered by
//     the node's RPCHandler and the response is sent on the client's
//     receiver link chosen by reply-to (service-bus-amqp.md §3.2).
//
// Unknown addresses resolve to an error, sent as the attach rejection
// (amqp:not-found for a broker CodeNotFound).

// Node is what a link address resolves to: *EntityNode or *RPCNode.
type Node interface{ node() }

// EntityNode is a broker entity. Path is the broker path (entity name, or
// name + "/$DeadLetterQueue").
type EntityNode struct {
	Path string
}

// RPCNode is a request/response node.
type RPCNode struct {
	// Name is the node address as the client wrote it ("$cbs",
	// "q/$management").
	Name    string
	Handler RPCHandler
}

func (*EntityNode) node() {}
func (*RPCNode) node()    {}

// AttachRequest describes a link being attached, for the Resolver.
type AttachRequest struct {
	// Address is the source address of a client receiver, or the target
	// address of a client sender.
	Address string
	// ClientSends is true for a client sender link (the broker receives).
	ClientSends bool
	// LinkName is the client's link name.
	LinkName string
	// Properties are the attach properties (com.microsoft:timeout, ...).
	Properties encoding.Map
	// Filter is the source filter set of a client receiver (the session
	// filter of §5.4 lives here).
	Filter encoding.Map
	Conn   *ConnInfo
}

// Resolver maps link addresses onto nodes.
type Resolver interface {
	Resolve(ctx context.Context, req *AttachRequest) (Node, error)
}

// ResolverFunc adapts a function to Resolver.
type ResolverFunc func(ctx context.Context, req *AttachRequest) (Node, error)

// Resolve calls f.
func (f ResolverFunc) Resolve(ctx context.Context, req *AttachRequest) (Node, error) {
	return f(ctx, req)
}

// DefaultResolver resolves "$cbs" to CBS, "<entity>/$management" to
// Management, and every other address to a broker entity that must exist
// (case-insensitive). Its handlers may be replaced: the CBS and management
// implementations plug in here.
type DefaultResolver struct {
	Broker broker.Engine
	// CBS answers $cbs requests; nil accepts every put-token (AcceptAllCBS).
	CBS RPCHandler
	// Management answers <entity>/$management requests; nil answers
	// every request with status 501 and amqp:not-implemented.
	Management RPCHandler
}

const managementSuffix = "/$management"

// Resolve implements Resolver.
func (r *DefaultResolver) Resolve(ctx context.Context, req *AttachRequest) (Node, error) {
	addr := req.Address
	switch {
	case addr == "":
		return nil, &frames.Error{Condition: frames.ErrCondNotFound, Description: "the link has no address"}
	case strings.EqualFold(addr, "$cbs"):
		h := r.CBS
		if h == nil {
			h = AcceptAllCBS
		}
		return &RPCNode{Name: addr, Handler: h}, nil
	case len(addr) > len(managementSuffix) && strings.EqualFold(addr[len(addr)-len(managementSuffix):], managementSuffix):
		entity := addr[:len(addr)-len(managementSuffix)]
		if err := r.checkEntity(entity); err != nil {
			return nil, err
		}
		h := r.Management
		if h == nil {
			h = notImplementedRPC
		}
		return &RPCNode{Name: addr, Handler: h}, nil
	}
	if err := r.checkEntity(addr); err != nil {
		return nil, err
	}
	return &EntityNode{Path: addr}, nil
}

// checkEntity verifies that path names an existing entity or its
// dead-letter sub-queue.
func (r *DefaultResolver) checkEntity(path string) error {
	name, _ := splitDeadLetter(path)
	if _, err := r.Broker.Definition(name); err != nil {
		if broker.CodeOf(err) == broker.CodeNotFound {
			return &frames.Error{Condition: frames.ErrCondNotFound,
				Description: "The messaging entity '" + path + "' could not be found."}
		}
		return err
	}
	return nil
}

// splitDeadLetter splits "<entity>/$DeadLetterQueue" (any case).
func splitDeadLetter(path string) (string, bool) {
	if i := strings.LastIndexByte(path, '/'); i > 0 && strings.EqualFold(path[i+1:], broker.DeadLetterSuffix) {
		return path[:i], true
	}
	return path, false
}

// ConnInfo describes a client connection to RPC handlers and resolvers.
// It also carries per-connection values (for example the claims a CBS
// put-token granted), safe for concurrent use.
type ConnInfo struct {
	// ID is unique per server.
	ID uint64
	// RemoteAddr is the client's address.
	RemoteAddr string
	// ContainerID and Hostname come from the client's open frame.
	ContainerID string
	Hostname    string
	// Mechanism and User come from SASL (empty when SASL was skipped).
	Mechanism string
	User      string

	mu     sync.Mutex
	values map[any]any
	links  map[string]LinkInfo
}

// Value returns the connection value stored under key.
func (c *ConnInfo) Value(key any) any {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.values[key]
}

// SetValue stores a connection value under key.
func (c *ConnInfo) SetValue(key, v any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.values == nil {
		c.values = make(map[any]any)
	}
	c.values[key] = v
}
