package amqp

import (
	"strings"

	"github.com/batonmq/baton/internal/amqp/frames"
	"github.com/batonmq/baton/internal/servicebus"
)

// ServiceBusRequest turns a request on a $cbs or <entity>/$management node
// into the request internal/servicebus handles: the entity path without
// "/$management", and the session held by the receiver link named in
// associated-link-name (a copy).
func ServiceBusRequest(req *Request) *servicebus.Request {
	r := &servicebus.Request{
		Operation:             req.Operation,
		ApplicationProperties: req.AppProperties,
		Entity:                strings.TrimSuffix(req.Node, managementSuffix),
	}
	if req.HasBody {
		r.Body = req.Body
	}
	if v, ok := req.AppProperties.Lookup("associated-link-name"); ok {
		r.AssociatedLinkName, _ = v.(string)
	}
	if r.AssociatedLinkName != "" && req.Conn != nil {
		if li, ok := req.Conn.Link(r.AssociatedLinkName); ok {
			r.Session = li.Session
		}
	}
	return r
}

// ServiceBusResponse turns a servicebus response into the node's answer.
func ServiceBusResponse(resp *servicebus.Response) *Response {
	return &Response{Status: resp.StatusCode, Description: resp.StatusDescription,
		Condition: frames.Condition(resp.ErrorCondition), Body: resp.Body, HasBody: resp.Body != nil}
}
