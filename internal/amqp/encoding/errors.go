package encoding

import (
	"errors"
	"fmt"
)

// Sentinel causes of a DecodeError. Match them with errors.Is.
var (
	// ErrTruncated means a value or a length runs past the end of the input.
	ErrTruncated = errors.New("encoding: truncated input")
	// ErrInvalid means the bytes are not a valid AMQP encoding (unknown format
	// code, bad boolean, invalid UTF-8, inconsistent size and count, ...).
	ErrInvalid = errors.New("encoding: invalid encoding")
	// ErrUnexpectedType means a valid value of a type other than the one
	// required at that position.
	ErrUnexpectedType = errors.New("encoding: unexpected type")
	// ErrLimit means a nesting depth or element count limit was exceeded.
	ErrLimit = errors.New("encoding: limit exceeded")
	// ErrUnsupportedType is returned by AppendValue for a Go value it cannot
	// encode.
	ErrUnsupportedType = errors.New("encoding: unsupported Go type")
)

// DecodeError describes why and where decoding failed. Its Error text is
// safe to send to a peer as the description of an amqp:decode-error.
type DecodeError struct {
	// Offset is the byte offset, within the Reader's input, where the
	// problem was found.
	Offset int
	// Reason is a short description of the problem.
	Reason string
	// Err is the sentinel cause (ErrTruncated, ErrInvalid, ...).
	Err error
}

// Error implements the error interface.
func (e *DecodeError) Error() string {
	return fmt.Sprintf("amqp decode error at offset %d: %s", e.Offset, e.Reason)
}

// Unwrap returns the sentinel cause.
func (e *DecodeError) Unwrap() error { return e.Err }

// Condition returns the AMQP error condition for a decode error.
func (e *DecodeError) Condition() string { return "amqp:decode-error" }
