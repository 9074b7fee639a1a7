package broker

import (
	"errors"
	"fmt"
)

// Code classifies a broker error. Every face maps codes onto its protocol in
// one table (AMQP error conditions, Azure error codes, HTTP statuses).
type Code int

// Error codes.
const (
	CodeUnknown               Code = iota // not a broker error
	CodeNotFound                          // entity not found
	CodeEntityExists                      // entity already exists
	CodeLockLost                          // message lock unknown, expired or already settled
	CodeSessionLockLost                   // session lock unknown or expired
	CodeSessionCannotBeLocked             // session is locked by another receiver, or none is available
	CodeMessageNotFound                   // sequence number unknown or not in the expected state
	CodeMessageTooLarge                   // message larger than the entity allows
	CodeQuotaExceeded                     // entity full, too many entities, ...
	CodeEntityDisabled                    // entity status forbids the operation
	CodeInvalidArgument                   // bad name, bad property value, wrong kind of entity
	CodeNotImplemented                    // feature not implemented yet
	CodeStoreUnavailable                  // the store failed to make the change durable
	CodeClosed                            // broker is shut down
	CodeTimeout                           // nothing became available before the wait ended
)

var codeNames = [...]string{
	CodeUnknown:               "Unknown",
	CodeNotFound:              "NotFound",
	CodeEntityExists:          "EntityExists",
	CodeLockLost:              "LockLost",
	CodeSessionLockLost:       "SessionLockLost",
	CodeSessionCannotBeLocked: "SessionCannotBeLocked",
	CodeMessageNotFound:       "MessageNotFound",
	CodeMessageTooLarge:       "MessageTooLarge",
	CodeQuotaExceeded:         "QuotaExceeded",
	CodeEntityDisabled:        "EntityDisabled",
	CodeInvalidArgument:       "InvalidArgument",
	CodeNotImplemented:        "NotImplemented",
	CodeStoreUnavailable:      "StoreUnavailable",
	CodeClosed:                "Closed",
	CodeTimeout:               "Timeout",
}

// String returns the code's name, as used in the JSON API.
func (c Code) String() string {
	if c >= 0 && int(c) < len(codeNames) {
		return codeNames[c]
	}
	return fmt.Sprintf("Code(%d)", int(c))
}

// Error is the error type returned by the broker.
type Error struct {
	Code    Code
	Message string // human-readable, without the "broker:" prefix
	Err     error  // optional cause
}

func (e *Error) Error() string {
	if e.Err != nil {
		return "broker: " + e.Message + ": " + e.Err.Error()
	}
	return "broker: " + e.Message
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is makes errors.Is(err, &Error{Code: c}) match on the code alone.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Message == "" && t.Err == nil && t.Code == e.Code
}

func errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// CodeOf returns the broker code carried by err, or CodeUnknown.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeUnknown
}

// ErrClosed is returned by every operation after Close.
var ErrClosed = &Error{Code: CodeClosed, Message: "broker is closed"}

func storeErr(err error) error {
	if err == nil {
		return nil
	}
	if CodeOf(err) != CodeUnknown {
		return err
	}
	return &Error{Code: CodeStoreUnavailable, Message: "storage unavailable", Err: err}
}
