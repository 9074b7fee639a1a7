package mgmt

import (
	"bytes"
	"testing"

	"github.com/batonmq/baton/internal/broker"
)

// FuzzDecodeRule decodes arbitrary rule bodies as PUT .../rules/{rule}
// does: never a panic, errors are 4xx, and a rule that decodes has a known
// filter kind with the fields of that kind only.
func FuzzDecodeRule(f *testing.F) {
	for _, s := range []string{
		`{"filter":{"type":"SqlFilter","sqlExpression":"color = @c AND qty > 10","parameters":{"@c":"red"}}}`,
		`{"name":"r","filter":{"type":"correlation","correlationId":"id","label":"L","properties":{"n":1,"f":1.5,"b":true,"t":{"type":"datetime","value":"2026-01-02T03:04:05Z"}}}}`,
		`{"filter":{"type":"true"},"action":{"sqlExpression":"SET sys.Label = @l","parameters":{"l":{"type":"timespan","value":"PT1H"}}}}`,
		`{"filter":{"type":"FalseFilter","sqlExpression":"1=1"}}`,
		`{"filter":{"type":"sql","parameters":{"p":{"type":"long","value":"x"}}}}`,
		`{"filter":{"type":"correlation"}}`,
		`{"filter":{"type":"other"}}`,
		`{"name":"other","filter":{"type":"true"}}`,
		`{"filter":{"type":"sql","sqlExpression":"a=1","parameters":{"":1}}}`,
		`{"filter":{"type":"correlation","properties":{"x":{"type":"double","value":1,"extra":2}}}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := decodeRule(bytes.NewReader(data), "rule")
		if err != nil {
			checkAPIError(t, err)
			return
		}
		if r.Name != "rule" {
			t.Fatalf("name %q", r.Name)
		}
		switch r.Filter.Kind {
		case broker.FilterSQL:
			if r.Filter.SQL == "" || r.Filter.Correlation != nil {
				t.Fatalf("bad SQL filter %+v", r.Filter)
			}
		case broker.FilterCorrelation:
			if r.Filter.Correlation == nil || r.Filter.SQL != "" || len(r.Filter.Parameters) > 0 {
				t.Fatalf("bad correlation filter %+v", r.Filter)
			}
		case broker.FilterTrue, broker.FilterFalse:
			if r.Filter.Correlation != nil || r.Filter.SQL != "" || len(r.Filter.Parameters) > 0 {
				t.Fatalf("bad %s %+v", r.Filter.Kind, r.Filter)
			}
		default:
			t.Fatalf("kind %v", r.Filter.Kind)
		}
		for _, m := range []map[string]any{r.Filter.Parameters, r.ActionParameters} {
			for k, v := range m {
				if _, ok := broker.FilterValue(v); !ok {
					t.Fatalf("value %q has type %T, which filters cannot use", k, v)
				}
			}
		}
	})
}

// FuzzDecodeTopicRequests decodes arbitrary topic and subscription
// property bodies: never a panic, errors are 4xx.
func FuzzDecodeTopicRequests(f *testing.F) {
	for i, s := range []string{
		`{"defaultMessageTimeToLive":"PT1H","requiresDuplicateDetection":true,"duplicateDetectionHistoryTimeWindow":"PT10M","status":"sendDisabled"}`,
		`{"lockDuration":"PT30S","maxDeliveryCount":3,"requiresSession":true,"forwardTo":"q","defaultRule":{"filter":{"type":"sql","sqlExpression":"a > 1"}}}`,
		`{"maxSizeInMegabytes":0}`,
		`{"lockDuration":"0s","status":"paused"}`,
	} {
		f.Add(uint8(i), []byte(s))
	}
	f.Fuzz(func(t *testing.T, kind uint8, data []byte) {
		var err error
		if kind%2 == 0 {
			var p TopicProperties
			if err = decodeJSON(bytes.NewReader(data), &p); err == nil {
				err = p.check()
			}
		} else {
			var p SubscriptionProperties
			if err = decodeJSON(bytes.NewReader(data), &p); err == nil {
				err = p.check()
				if err == nil && p.DefaultRule != nil {
					_, err = p.DefaultRule.toBroker("")
				}
			}
		}
		if err != nil {
			checkAPIError(t, err)
		}
	})
}
