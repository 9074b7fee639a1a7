package servicebus

import (
	"context"
	"testing"
	"time"

	goamqp "github.com/Azure/go-amqp"

	"github.com/batonmq/baton/internal/amqp/encoding"
	"github.com/batonmq/baton/internal/broker"
	"github.com/batonmq/baton/internal/broker/brokertest"
	"github.com/batonmq/baton/internal/store/memstore"
)

func memFactory() brokertest.Factory {
	return brokertest.Factory{
		New: func(t *testing.T) broker.Store { return memstore.New() },
		Reopen: func(t *testing.T, old broker.Store) broker.Store {
			s := old.(*memstore.Store)
			s.Close()
			s.Reopen()
			return s
		},
	}
}

// env is a broker on memstore with a fake clock and a Management over it.
type env struct {
	*brokertest.Env
	m *Management
}

func setup(t *testing.T) *env {
	t.Helper()
	b := brokertest.NewEnv(t, memFactory())
	m, err := NewManagement(Config{Broker: b.Broker, Clock: b.Clock})
	if err != nil {
		t.Fatal(err)
	}
	return &env{Env: b, m: m}
}

// amqpMsg encodes a message as a client would send it.
func amqpMsg(t testing.TB, m *encoding.Message) []byte {
	t.Helper()
	b, err := encoding.AppendMessage(nil, m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sendAMQP sends messages through FromAMQP, as the transfer path does.
func (e *env) sendAMQP(path string, msgs ...*encoding.Message) []int64 {
	e.T.Helper()
	bms := make([]*broker.Message, len(msgs))
	for i, m := range msgs {
		bm, err := FromAMQP(amqpMsg(e.T, m))
		if err != nil {
			e.T.Fatal(err)
		}
		bms[i] = bm
	}
	return e.SendMsgs(path, bms...)
}

// simple returns a message with a string message-id, a data body and
// optionally a session.
func simple(id, body, session string) *encoding.Message {
	return &encoding.Message{
		Properties: &encoding.Properties{MessageID: encoding.StringID(id), GroupID: session},
		Data:       [][]byte{[]byte(body)},
	}
}

// do runs one management request on entity.
func (e *env) do(op, entity string, body any, sess *broker.SessionLock) *Response {
	e.T.Helper()
	return e.m.Handle(context.Background(), &Request{Operation: op, Entity: entity, Body: body,
		AssociatedLinkName: "receiver-link", Session: sess})
}

// goResponse encodes resp as the AMQP server would and decodes it with
// go-amqp, the library the Go SDK uses, so that tests see the Go types the
// SDK type-asserts. It checks the status keys as rpc.go reads them.
func goResponse(t testing.TB, resp *Response) *goamqp.Message {
	t.Helper()
	if resp == nil {
		t.Fatal("nil response")
	}
	props := encoding.Map{
		{Key: "status-code", Value: resp.StatusCode},
		{Key: "statusCode", Value: resp.StatusCode},
		{Key: "status-description", Value: resp.StatusDescription},
		{Key: "statusDescription", Value: resp.StatusDescription},
	}
	if resp.ErrorCondition != "" {
		props = append(props, encoding.KV{Key: "error-condition", Value: encoding.Symbol(resp.ErrorCondition)})
	}
	b, err := encoding.AppendMessage(nil, &encoding.Message{
		Properties:            &encoding.Properties{CorrelationID: encoding.StringID("id")},
		ApplicationProperties: props,
		Value:                 resp.Body,
		HasValue:              resp.Body != nil,
	})
	if err != nil {
		t.Fatalf("encode response: %v", err)
	}
	var m goamqp.Message
	if err := m.UnmarshalBinary(b); err != nil {
		t.Fatalf("go-amqp cannot decode the response: %v", err)
	}
	code, isInt32 := m.ApplicationProperties["status-code"].(int32)
	if !isInt32 || code != resp.StatusCode {
		t.Fatalf("status-code decodes as %T %v; Go requires int32", m.ApplicationProperties["status-code"], m.ApplicationProperties["status-code"])
	}
	return &m
}

// goBody decodes a successful response body as map[string]any, as every
// Go SDK operation requires.
func goBody(t testing.TB, resp *Response) map[string]any {
	t.Helper()
	if resp.StatusCode != StatusOK {
		t.Fatalf("status %d (%s: %s), want 200", resp.StatusCode, resp.ErrorCondition, resp.StatusDescription)
	}
	m := goResponse(t, resp)
	body, isMap := m.Value.(map[string]any)
	if !isMap {
		t.Fatalf("body decodes as %T; Go requires map[string]any", m.Value)
	}
	return body
}

// goMessages decodes the messages list of a peek or receive response the
// way mgmt.go does.
func goMessages(t testing.TB, body map[string]any) ([]*goamqp.Message, []map[string]any) {
	t.Helper()
	list, isList := body["messages"].([]any)
	if !isList {
		t.Fatalf("messages decodes as %T; Go requires []any", body["messages"])
	}
	var out []*goamqp.Message
	var entries []map[string]any
	for i, e := range list {
		entry, isMap := e.(map[string]any)
		if !isMap {
			t.Fatalf("messages[%d] decodes as %T; Go requires map[string]any", i, e)
		}
		bin, isBin := entry["message"].([]byte)
		if !isBin {
			t.Fatalf("messages[%d].message decodes as %T; Go requires []byte", i, entry["message"])
		}
		var m goamqp.Message
		if err := m.UnmarshalBinary(bin); err != nil {
			t.Fatalf("messages[%d]: go-amqp cannot decode: %v", i, err)
		}
		out = append(out, &m)
		entries = append(entries, entry)
	}
	return out, entries
}

// checkGoMessage applies the type assertions of the Go SDK's
// newReceivedMessage, which panic on a wrong type, and returns the
// sequence number.
func checkGoMessage(t testing.TB, m *goamqp.Message) int64 {
	t.Helper()
	if m.Properties == nil || m.Header == nil {
		t.Fatalf("message lacks properties (%v) or header (%v)", m.Properties != nil, m.Header != nil)
	}
	seq, isLong := m.Annotations["x-opt-sequence-number"].(int64)
	if !isLong {
		t.Fatalf("x-opt-sequence-number is %T; Go requires int64", m.Annotations["x-opt-sequence-number"])
	}
	if _, isTime := m.Annotations["x-opt-enqueued-time"].(time.Time); !isTime {
		t.Fatalf("x-opt-enqueued-time is %T; Go requires time.Time", m.Annotations["x-opt-enqueued-time"])
	}
	for _, k := range []string{"x-opt-locked-until", "x-opt-scheduled-enqueue-time"} {
		if v, ok := m.Annotations[k]; ok {
			if _, isTime := v.(time.Time); !isTime {
				t.Fatalf("%s is %T; Go requires time.Time", k, v)
			}
		}
	}
	for _, k := range []string{"x-opt-partition-key", "x-opt-deadletter-source"} {
		if v, ok := m.Annotations[k]; ok && v != nil {
			if _, isString := v.(string); !isString {
				t.Fatalf("%s is %T; Go requires string", k, v)
			}
		}
	}
	if _, isInt := m.Annotations["x-opt-message-state"].(int32); !isInt {
		t.Fatalf("x-opt-message-state is %T; want int32", m.Annotations["x-opt-message-state"])
	}
	for _, k := range []string{PropDeadLetterReason, PropDeadLetterDescription} {
		if v, ok := m.ApplicationProperties[k]; ok {
			if _, isString := v.(string); !isString {
				t.Fatalf("application property %s is %T; Go requires string", k, v)
			}
		}
	}
	return seq
}

// wantError checks an error response.
func wantError(t testing.TB, resp *Response, status int32, condition string) {
	t.Helper()
	if resp.StatusCode != status || resp.ErrorCondition != condition {
		t.Fatalf("got %d %q (%s), want %d %q", resp.StatusCode, resp.ErrorCondition, resp.StatusDescription, status, condition)
	}
	if resp.StatusDescription == "" {
		t.Fatal("error response without a description")
	}
	if resp.Body != nil {
		t.Fatalf("error response with a body %#v", resp.Body)
	}
	goResponse(t, resp)
}

// goRequest encodes a request body with go-amqp exactly as the Go SDK
// builds it (mgmt.go) and decodes it with Baton's codec, as the server
// hands it to Handle.
func goRequest(t testing.TB, value map[string]any) any {
	t.Helper()
	b, err := (&goamqp.Message{Value: value}).MarshalBinary()
	if err != nil {
		t.Fatalf("go-amqp encode: %v", err)
	}
	view, err := encoding.ParseMessage(b)
	if err != nil {
		t.Fatalf("parse request: %v", err)
	}
	v, ok, err := view.Value()
	if err != nil || !ok {
		t.Fatalf("request value: %v %v", ok, err)
	}
	return v
}

// goUUID converts a broker lock token for a go-amqp request.
func goUUID(tok broker.LockToken) goamqp.UUID { return goamqp.UUID(tok) }
