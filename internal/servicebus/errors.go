package servicebus

import (
	"context"
	"errors"
	"fmt"

	"github.com/batonmq/baton/internal/amqp/encoding"
	"github.com/batonmq/baton/internal/amqp/frames"
	"github.com/batonmq/baton/internal/broker"
)

// Status codes of management and CBS responses (service-bus-amqp.md §3.3).
// They travel as AMQP int (int32).
const (
	StatusOK                  int32 = 200
	StatusAccepted            int32 = 202
	StatusNoContent           int32 = 204
	StatusBadRequest          int32 = 400
	StatusUnauthorized        int32 = 401
	StatusForbidden           int32 = 403
	StatusNotFound            int32 = 404
	StatusRequestTimeout      int32 = 408
	StatusConflict            int32 = 409
	StatusGone                int32 = 410
	StatusEntityTooLarge      int32 = 413
	StatusInternalServerError int32 = 500
	StatusNotImplemented      int32 = 501
	StatusServiceUnavailable  int32 = 503
)

// ErrArgument is wrapped by every error about a malformed request: a
// missing field, a field of the wrong type, a value out of range. It maps
// to 400 with com.microsoft:argument-error.
var ErrArgument = errors.New("servicebus: invalid argument")

func argErrorf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrArgument}, args...)...)
}

// errorStatus is a status code and an error condition.
type errorStatus struct {
	status    int32
	condition frames.Condition
}

// statusByCode is the one table that maps broker error codes onto
// management response statuses and conditions (§3.3, §9.3). Go decides
// its retry behaviour from the status: 404, 410 and 401 are fatal, 408,
// 500 and 503 are retried, any other non-2xx makes it rebuild the
// connection. JS decides from the condition. Every broker.Code has a row;
// errors_test.go checks it.
var statusByCode = map[broker.Code]errorStatus{
	broker.CodeUnknown:               {StatusInternalServerError, frames.ErrCondInternalError},
	broker.CodeNotFound:              {StatusNotFound, frames.ErrCondNotFound},
	broker.CodeEntityExists:          {StatusConflict, frames.ErrCondEntityAlreadyExists},
	broker.CodeLockLost:              {StatusGone, frames.ErrCondMessageLockLost},
	broker.CodeSessionLockLost:       {StatusGone, frames.ErrCondSessionLockLost},
	broker.CodeSessionCannotBeLocked: {StatusGone, frames.ErrCondSessionCannotBeLocked},
	broker.CodeMessageNotFound:       {StatusNotFound, frames.ErrCondMessageNotFound},
	broker.CodeMessageTooLarge:       {StatusEntityTooLarge, frames.ErrCondMessageSizeExceeded},
	broker.CodeQuotaExceeded:         {StatusForbidden, frames.ErrCondResourceLimitExceeded},
	broker.CodeEntityDisabled:        {StatusForbidden, frames.ErrCondEntityDisabled},
	broker.CodeInvalidArgument:       {StatusBadRequest, frames.ErrCondArgumentError},
	broker.CodeNotImplemented:        {StatusNotImplemented, frames.ErrCondNotImplemented},
	broker.CodeStoreUnavailable:      {StatusServiceUnavailable, frames.ErrCondServerBusy},
	broker.CodeClosed:                {StatusServiceUnavailable, frames.ErrCondServerBusy},
	broker.CodeTimeout:               {StatusRequestTimeout, frames.ErrCondTimeout},
}

// errorResponse maps err onto a response. entity is the entity path the
// request addressed, for the not-found description that JS recognises
// ("The messaging entity '…' could not be found.").
func errorResponse(err error, entity string) *Response {
	var be *broker.Error
	var de *encoding.DecodeError
	switch {
	case errors.As(err, &be):
		st, ok := statusByCode[be.Code]
		if !ok {
			st = statusByCode[broker.CodeUnknown]
		}
		desc := be.Message
		if desc == "" {
			desc = be.Code.String()
		}
		if be.Code == broker.CodeNotFound {
			desc = notFoundDescription(entity)
		}
		return &Response{StatusCode: st.status, StatusDescription: desc, ErrorCondition: string(st.condition)}
	case errors.Is(err, ErrArgument), errors.As(err, &de), errors.Is(err, ErrInvalidMessage):
		return &Response{StatusCode: StatusBadRequest, StatusDescription: err.Error(),
			ErrorCondition: string(frames.ErrCondArgumentError)}
	case errors.Is(err, context.DeadlineExceeded):
		return &Response{StatusCode: StatusRequestTimeout, StatusDescription: "the operation did not finish in time",
			ErrorCondition: string(frames.ErrCondTimeout)}
	case errors.Is(err, context.Canceled):
		return &Response{StatusCode: StatusInternalServerError, StatusDescription: "the operation was cancelled",
			ErrorCondition: string(frames.ErrCondOperationCancelled)}
	}
	return &Response{StatusCode: StatusInternalServerError, StatusDescription: err.Error(),
		ErrorCondition: string(frames.ErrCondInternalError)}
}

func notFoundDescription(entity string) string {
	return "The messaging entity '" + entity + "' could not be found."
}
