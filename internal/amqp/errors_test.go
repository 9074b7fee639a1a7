package amqp

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/batonmq/baton/internal/amqp/frames"
	"github.com/batonmq/baton/internal/broker"
)

// TestConditionTableCoversEveryCode: every broker code maps to a condition.
func TestConditionTableCoversEveryCode(t *testing.T) {
	t.Parallel()
	for code := broker.CodeUnknown; code <= broker.CodeTimeout; code++ {
		if _, ok := conditionByCode[code]; !ok {
			t.Errorf("broker code %v has no AMQP condition", code)
		}
	}
	if len(conditionByCode) != int(broker.CodeTimeout)+1 {
		t.Errorf("table has %d rows for %d codes: a new broker code needs a row", len(conditionByCode), int(broker.CodeTimeout)+1)
	}
}

func TestAMQPError(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		err  error
		want frames.Condition
	}{
		{&broker.Error{Code: broker.CodeLockLost, Message: "x"}, frames.ErrCondMessageLockLost},
		{fmt.Errorf("wrapped: %w", &broker.Error{Code: broker.CodeQuotaExceeded}), frames.ErrCondResourceLimitExceeded},
		{&broker.Error{Code: broker.CodeMessageTooLarge}, frames.ErrCondMessageSizeExceeded},
		{&broker.Error{Code: broker.CodeSessionLockLost}, frames.ErrCondSessionLockLost},
		{&broker.Error{Code: broker.CodeEntityDisabled}, frames.ErrCondEntityDisabled},
		{&broker.Error{Code: broker.CodeNotImplemented, Message: "topics are not available on this engine"}, frames.ErrCondNotImplemented},
		{&broker.Error{Code: broker.CodeStoreUnavailable}, frames.ErrCondServerBusy},
		{&frames.Error{Condition: frames.ErrCondNotFound}, frames.ErrCondNotFound},
		{context.Canceled, frames.ErrCondDetachForced},
		{errors.New("boom"), frames.ErrCondInternalError},
	} {
		if got := amqpError(tc.err); got.Condition != tc.want {
			t.Errorf("amqpError(%v) = %v, want %v", tc.err, got.Condition, tc.want)
		}
	}
	if got := amqpError(&broker.Error{Code: broker.CodeNotImplemented, Message: "topics are not available on this engine"}); got.Description != "topics are not available on this engine" {
		t.Errorf("not-implemented description %q", got.Description)
	}
	if amqpError(nil) != nil {
		t.Error("amqpError(nil) != nil")
	}
}
