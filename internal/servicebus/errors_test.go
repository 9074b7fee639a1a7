package servicebus

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/batonmq/baton/internal/amqp/encoding"
	"github.com/batonmq/baton/internal/broker"
)

// Every broker code maps to a non-2xx status and a condition.
func TestStatusByCodeIsComplete(t *testing.T) {
	t.Parallel()
	for c := broker.CodeUnknown; c.String() != fmt.Sprintf("Code(%d)", int(c)); c++ {
		st, ok := statusByCode[c]
		if !ok {
			t.Errorf("broker code %s has no row in statusByCode", c)
			continue
		}
		if st.status < 400 || st.condition == "" {
			t.Errorf("broker code %s maps to %d %q", c, st.status, st.condition)
		}
	}
}

func TestErrorResponse(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		err    error
		status int32
		cond   string
	}{
		{&broker.Error{Code: broker.CodeLockLost, Message: "m"}, 410, "com.microsoft:message-lock-lost"},
		{fmt.Errorf("wrapped: %w", &broker.Error{Code: broker.CodeSessionLockLost}), 410, "com.microsoft:session-lock-lost"},
		{&broker.Error{Code: broker.CodeMessageNotFound}, 404, "com.microsoft:message-not-found"},
		{&broker.Error{Code: broker.CodeNotFound}, 404, "amqp:not-found"},
		{&broker.Error{Code: broker.CodeTimeout}, 408, "com.microsoft:timeout"},
		{&broker.Error{Code: broker.CodeStoreUnavailable}, 503, "com.microsoft:server-busy"},
		{&broker.Error{Code: broker.CodeQuotaExceeded}, 403, "amqp:resource-limit-exceeded"},
		{&broker.Error{Code: broker.CodeMessageTooLarge}, 413, "amqp:link:message-size-exceeded"},
		{&broker.Error{Code: broker.CodeInvalidArgument}, 400, "com.microsoft:argument-error"},
		{&broker.Error{Code: broker.CodeNotImplemented, Message: "rules are not available on this engine"}, 501, "amqp:not-implemented"},
		{&broker.Error{Code: broker.Code(99)}, 500, "amqp:internal-error"},
		{argErrorf("x"), 400, "com.microsoft:argument-error"},
		{&encoding.DecodeError{Reason: "bad", Err: encoding.ErrInvalid}, 400, "com.microsoft:argument-error"},
		{context.DeadlineExceeded, 408, "com.microsoft:timeout"},
		{context.Canceled, 500, "com.microsoft:operation-cancelled"},
		{errors.New("boom"), 500, "amqp:internal-error"},
	} {
		resp := errorResponse(tc.err, "q")
		if resp.StatusCode != tc.status || resp.ErrorCondition != tc.cond || resp.StatusDescription == "" || resp.Body != nil {
			t.Errorf("%v: got %+v, want %d %s", tc.err, resp, tc.status, tc.cond)
		}
	}
	if d := errorResponse(&broker.Error{Code: broker.CodeNotImplemented, Message: "rules are not available on this engine"}, "t/Subscriptions/s").StatusDescription; d != "rules are not available on this engine" {
		t.Errorf("not-implemented description %q", d)
	}
	if d := errorResponse(&broker.Error{Code: broker.CodeNotFound, Message: "entity \"q\" not found"}, "q/$DeadLetterQueue").StatusDescription; d != "The messaging entity 'q/$DeadLetterQueue' could not be found." {
		t.Errorf("not-found description %q", d)
	}
}
