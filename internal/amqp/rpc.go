package amqp

import (
	"context"
	"fmt"

	"github.com/batonmq/baton/internal/amqp/encoding"
	"github.com/batonmq/baton/internal/amqp/frames"
)

// This file holds the request/response plumbing shared by $cbs and
// <entity>/$management (service-bus-amqp.md §3).
//
// A request arrives on a client sender link attached to an RPCNode. The
// session settles it with accepted at once, parses it into a Request and
// runs the node's handler on a goroutine the session owns. The Response is
// encoded with correlation-id = the request's message-id (same AMQP type)
// and status-code/statusCode (int), status-description/statusDescription
// and, on errors, error-condition/errorCondition. The connection routes it
// to the client receiver link whose target address equals reply-to, or
// failing that whose link name equals reply-to, or failing that the
// receiver link of the same node on the request's session; that link's
// session sends it presettled when the link has credit.

// RPCHandler answers one request. It runs on its own goroutine; ctx ends
// when the request's session or connection ends. Returning nil sends no
// response.
type RPCHandler func(ctx context.Context, req *Request) *Response

// Request is one request message.
type Request struct {
	// Node is the node address the request link attached to.
	Node string
	// LinkName is the name of the client's request (sender) link.
	LinkName string
	// Operation is application-properties["operation"] when a string.
	Operation string
	MessageID encoding.MessageID
	ReplyTo   string
	// AppProperties are the request's application-properties.
	AppProperties encoding.Map
	// Message is the whole parsed request; the server does not reuse it.
	Message *encoding.MessageView
	// Body is the decoded amqp-value body, when HasBody.
	Body    any
	HasBody bool
	Conn    *ConnInfo
}

// Response is the answer to a Request.
type Response struct {
	// Status is the status code (200, 202, 404, 410, ...), sent as int.
	Status      int32
	Description string
	// Condition is sent as error-condition/errorCondition when set.
	Condition frames.Condition
	// AppProperties are extra application-properties.
	AppProperties encoding.Map
	// Body is sent as an amqp-value section when HasBody.
	Body    any
	HasBody bool
}

// AcceptAllCBS is the built-in $cbs handler: it accepts every put-token
// with status 202, so that clients that insist on CBS can connect. The
// real CBS replaces it through DefaultResolver.CBS.
func AcceptAllCBS(_ context.Context, req *Request) *Response {
	if req.Operation != "put-token" {
		return &Response{Status: 400, Description: fmt.Sprintf("unsupported $cbs operation %q", req.Operation),
			Condition: frames.ErrCondNotImplemented}
	}
	return &Response{Status: 202, Description: "Accepted"}
}

func notImplementedRPC(_ context.Context, req *Request) *Response {
	return &Response{Status: 501, Description: fmt.Sprintf("operation %q on %s is not implemented", req.Operation, req.Node),
		Condition: frames.ErrCondNotImplemented}
}

// parseRequest builds a Request from an owned payload.
func parseRequest(payload []byte, node, linkName string, ci *ConnInfo) (*Request, error) {
	view, err := encoding.ParseMessage(payload)
	if err != nil {
		return nil, fmt.Errorf("amqp: parse request: %w", err)
	}
	req := &Request{Node: node, LinkName: linkName, Message: view, Conn: ci,
		MessageID: view.Properties.MessageID, ReplyTo: view.Properties.ReplyTo}
	if req.AppProperties, err = view.AppProperties(); err != nil {
		return nil, fmt.Errorf("amqp: parse request properties: %w", err)
	}
	if op, ok := req.AppProperties.Get("operation"); ok {
		req.Operation, _ = op.(string)
	}
	if view.Body == encoding.BodyValue {
		if req.Body, req.HasBody, err = view.Value(); err != nil {
			return nil, fmt.Errorf("amqp: parse request body: %w", err)
		}
	}
	return req, nil
}

// encodeResponse encodes resp as the answer to req.
func encodeResponse(req *Request, resp *Response) ([]byte, error) {
	props := make(encoding.Map, 0, len(resp.AppProperties)+6)
	props = append(props,
		encoding.KV{Key: "status-code", Value: resp.Status},
		encoding.KV{Key: "statusCode", Value: resp.Status},
		encoding.KV{Key: "status-description", Value: resp.Description},
		encoding.KV{Key: "statusDescription", Value: resp.Description})
	if resp.Condition != "" {
		props = append(props,
			encoding.KV{Key: "error-condition", Value: encoding.Symbol(resp.Condition)},
			encoding.KV{Key: "errorCondition", Value: encoding.Symbol(resp.Condition)})
	}
	props = append(props, resp.AppProperties...)
	m := &encoding.Message{
		Properties:            &encoding.Properties{CorrelationID: req.MessageID, To: req.ReplyTo},
		ApplicationProperties: props,
		Value:                 resp.Body,
		HasValue:              resp.HasBody,
	}
	b, err := encoding.AppendMessage(nil, m)
	if err != nil {
		return nil, fmt.Errorf("amqp: encode response: %w", err)
	}
	return b, nil
}
