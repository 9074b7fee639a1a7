package mgmt

import (
	"encoding/base64"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/batonmq/baton/internal/amqp/encoding"
	"github.com/batonmq/baton/internal/broker"
)

// amqpView fills the body and properties of out from a message that came
// in over AMQP (broker.FormatAMQP: Body is the bare AMQP message). The body
// shown is the payload of its one data section, or its amqp-value when that
// is a string or binary; any other body (several data sections, amqp-value
// of another type, amqp-sequence) is shown as the whole bare message in
// base64. Properties are the message's application-properties with the
// broker's changes (abandon, defer, dead-letter) merged over them, as an
// AMQP receiver sees them.
func amqpView(out *Message, m *broker.Message) {
	out.Format = "amqp"
	out.Body, out.BodyBase64 = nil, base64.StdEncoding.EncodeToString(m.Body)
	var v encoding.MessageView
	if err := v.Parse(m.Body); err != nil {
		return
	}
	if data, ok := v.Data(); ok {
		out.Body, out.BodyBase64 = textOrBase64(data)
	} else if val, ok, err := v.Value(); ok && err == nil {
		switch val := val.(type) {
		case string:
			out.Body, out.BodyBase64 = &val, ""
		case []byte:
			out.Body, out.BodyBase64 = textOrBase64(val)
		}
	}
	ap, err := v.AppProperties()
	if err != nil || len(ap) == 0 {
		return
	}
	props := make(map[string]any, len(ap)+len(out.Properties))
	for _, kv := range ap {
		props[amqpString(kv.Key)] = amqpJSON(kv.Value)
	}
	for k, val := range out.Properties {
		props[k] = val
	}
	out.Properties = props
}

// amqpString renders an AMQP map key.
func amqpString(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case encoding.Symbol:
		return string(v)
	}
	return fmt.Sprint(v)
}

// amqpJSON renders an AMQP value as a JSON-safe value.
func amqpJSON(v any) any {
	switch v := v.(type) {
	case nil, bool, string, int8, int16, int32, int64, uint8, uint16, uint32, uint64, time.Time:
		return v
	case []byte:
		return base64.StdEncoding.EncodeToString(v)
	case encoding.Symbol:
		return string(v)
	case encoding.UUID:
		return broker.LockToken(v).String()
	case float32:
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return strconv.FormatFloat(float64(v), 'g', -1, 32)
		}
		return v
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return strconv.FormatFloat(v, 'g', -1, 64)
		}
		return v
	}
	return fmt.Sprint(v)
}
