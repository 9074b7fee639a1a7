package servicebus

import (
	"context"
	"testing"

	"github.com/batonmq/baton/internal/amqp/encoding"
	"github.com/batonmq/baton/internal/broker"
)

// noRulesEngine is a broker engine without rules, as an engine that keeps
// queues only answers: CodeNotImplemented.
type noRulesEngine struct{ broker.Engine }

const noRulesDesc = "rules are not available on this engine"

func (noRulesEngine) Rules(string, string) ([]broker.Rule, error) {
	return nil, &broker.Error{Code: broker.CodeNotImplemented, Message: noRulesDesc}
}

func (noRulesEngine) AddRule(context.Context, string, string, broker.Rule, bool) (*broker.Rule, error) {
	return nil, &broker.Error{Code: broker.CodeNotImplemented, Message: noRulesDesc}
}

func (noRulesEngine) RemoveRule(context.Context, string, string, string) error {
	return &broker.Error{Code: broker.CodeNotImplemented, Message: noRulesDesc}
}

// TestEngineNotImplemented: an engine's CodeNotImplemented reaches the
// client as 501 amqp:not-implemented with the engine's description.
func TestEngineNotImplemented(t *testing.T) {
	t.Parallel()
	e := setup(t)
	m, err := NewManagement(Config{Broker: noRulesEngine{e.Broker}, Clock: e.Clock})
	if err != nil {
		t.Fatal(err)
	}
	const sub = "t/Subscriptions/s"
	for _, req := range []*Request{
		{Operation: OpAddRule, Entity: sub, Body: addRuleBody("r", sqlDesc("color = 'red'"))},
		{Operation: OpRemoveRule, Entity: sub, Body: encoding.Map{{Key: "rule-name", Value: "r"}}},
		{Operation: OpEnumerateRules, Entity: sub, Body: encoding.Map{{Key: "top", Value: int32(10)}, {Key: "skip", Value: int32(0)}}},
	} {
		resp := m.Handle(context.Background(), req)
		wantError(t, resp, StatusNotImplemented, condNotImpl)
		if resp.StatusDescription != noRulesDesc {
			t.Errorf("%s: description %q, want %q", req.Operation, resp.StatusDescription, noRulesDesc)
		}
	}
}
