package sbadmin

import (
	"context"
	"encoding/xml"
	"net/http"
	"testing"

	"github.com/batonmq/baton/internal/broker"
)

// failingEngine answers Entities with listErr (when set) and CreateTopic
// with CodeNotImplemented, as an engine that keeps queues only does.
type failingEngine struct {
	broker.Engine
	listErr error
}

const noTopicsDesc = "topics are not available on this engine"

var errNoTopics = &broker.Error{Code: broker.CodeNotImplemented, Message: noTopicsDesc}

func (e failingEngine) Entities(ctx context.Context, k broker.Kind) ([]*broker.EntityInfo, error) {
	if e.listErr != nil {
		return nil, e.listErr
	}
	return e.Engine.Entities(ctx, k)
}

func (failingEngine) CreateTopic(context.Context, string, broker.QueueProperties) (*broker.EntityInfo, error) {
	return nil, errNoTopics
}

// TestEngineErrors: the errors of an engine reach the client as the ATOM
// error document, with 501 for CodeNotImplemented and 503 for
// CodeStoreUnavailable (on a listing, which calls Engine.Entities).
func TestEngineErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name           string
		listErr        error
		method, target string
		body           string
		status         int
		code, detail   string
	}{
		{name: "create topic", method: "PUT", target: "/t", body: entry(`<TopicDescription/>`),
			status: http.StatusNotImplemented, code: "NotImplemented", detail: noTopicsDesc},
		{name: "list topics", listErr: errNoTopics, method: "GET", target: "/$Resources/Topics",
			status: http.StatusNotImplemented, code: "NotImplemented", detail: noTopicsDesc},
		{name: "list queues, store down", listErr: &broker.Error{Code: broker.CodeStoreUnavailable, Message: "the store is unavailable"},
			method: "GET", target: "/$Resources/Queues", status: http.StatusServiceUnavailable, code: "ServerBusy", detail: "the store is unavailable"},
	} {
		f := setup(t, Config{})
		f.h = New(Config{Broker: failingEngine{Engine: f.b, listErr: tc.listErr}, Clock: f.clock, Namespace: "sbtest"})
		w := f.do(tc.method, tc.target, tc.body)
		if w.Code != tc.status || w.Header().Get("x-ms-error-code") != tc.code || w.Header().Get("Content-Type") != contentError {
			t.Errorf("%s: %d %q %q; want %d %q", tc.name, w.Code, w.Header().Get("x-ms-error-code"), w.Header().Get("Content-Type"), tc.status, tc.code)
		}
		var doc struct {
			XMLName xml.Name `xml:"Error"`
			Code    int      `xml:"Code"`
			Detail  string   `xml:"Detail"`
		}
		if err := xml.Unmarshal(w.Body.Bytes(), &doc); err != nil || doc.Code != tc.status || doc.Detail != tc.detail {
			t.Errorf("%s: error body %s (%v); want code %d, detail %q", tc.name, w.Body, err, tc.status, tc.detail)
		}
	}
}
