package amqp

import (
	"context"
	"errors"

	"github.com/batonmq/baton/internal/amqp/encoding"
	"github.com/batonmq/baton/internal/amqp/frames"
	"github.com/batonmq/baton/internal/broker"
)

// ErrServerClosed is returned by Serve after Shutdown.
var ErrServerClosed = errors.New("amqp: server closed")

// conditionByCode is the one table that maps broker error codes onto AMQP
// error conditions (service-bus-amqp.md §9). Every broker.Code has a row;
// errors_test.go checks it.
var conditionByCode = map[broker.Code]frames.Condition{
	broker.CodeUnknown:               frames.ErrCondInternalError,
	broker.CodeNotFound:              frames.ErrCondNotFound,
	broker.CodeEntityExists:          frames.ErrCondEntityAlreadyExists,
	broker.CodeLockLost:              frames.ErrCondMessageLockLost,
	broker.CodeSessionLockLost:       frames.ErrCondSessionLockLost,
	broker.CodeSessionCannotBeLocked: frames.ErrCondSessionCannotBeLocked,
	broker.CodeMessageNotFound:       frames.ErrCondMessageNotFound,
	broker.CodeMessageTooLarge:       frames.ErrCondMessageSizeExceeded,
	broker.CodeQuotaExceeded:         frames.ErrCondResourceLimitExceeded,
	broker.CodeEntityDisabled:        frames.ErrCondEntityDisabled,
	// Go treats amqp:not-allowed as fatal without reconnecting, which is
	// right for bad input (§4.2); amqp:invalid-field would make it redial.
	broker.CodeInvalidArgument:  frames.ErrCondNotAllowed,
	broker.CodeNotImplemented:   frames.ErrCondNotImplemented,
	broker.CodeStoreUnavailable: frames.ErrCondServerBusy,
	broker.CodeClosed:           frames.ErrCondDetachForced,
	broker.CodeTimeout:          frames.ErrCondTimeout,
}

// amqpError converts any error into an AMQP error for a detach, a rejected
// outcome or an attach rejection. Broker errors go through conditionByCode;
// an *frames.Error passes unchanged; context cancellation (shutdown) becomes
// amqp:link:detach-forced; anything else is amqp:internal-error.
func amqpError(err error) *frames.Error {
	if err == nil {
		return nil
	}
	var fe *frames.Error
	if errors.As(err, &fe) {
		return fe
	}
	var be *broker.Error
	if errors.As(err, &be) {
		cond, ok := conditionByCode[be.Code]
		if !ok {
			cond = frames.ErrCondInternalError
		}
		return &frames.Error{Condition: cond, Description: be.Message}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &frames.Error{Condition: frames.ErrCondDetachForced, Description: err.Error()}
	}
	var de *encoding.DecodeError
	if errors.As(err, &de) {
		return &frames.Error{Condition: frames.ErrCondDecodeError, Description: de.Error()}
	}
	return &frames.Error{Condition: frames.ErrCondInternalError, Description: err.Error()}
}

// connError is a reason to close the connection with an AMQP error.
type connError struct {
	cond frames.Condition
	desc string
}

func (e *connError) Error() string { return "amqp: " + string(e.cond) + ": " + e.desc }

func newConnError(cond frames.Condition, desc string) *connError {
	return &connError{cond: cond, desc: desc}
}

// closeErrorOf chooses the error sent in the close frame for err: framing
// and decode errors carry their own condition; a connError carries its own;
// I/O errors get none (the peer is gone).
func closeErrorOf(err error) *frames.Error {
	var ce *connError
	if errors.As(err, &ce) {
		return &frames.Error{Condition: ce.cond, Description: ce.desc}
	}
	var fe *frames.FramingError
	if errors.As(err, &fe) {
		return &frames.Error{Condition: frames.ErrCondFramingError, Description: fe.Error()}
	}
	var de *encoding.DecodeError
	if errors.As(err, &de) {
		return &frames.Error{Condition: frames.ErrCondDecodeError, Description: de.Error()}
	}
	return nil
}
