package frames

import (
	"github.com/batonmq/baton/internal/amqp/encoding"
)

// Condition is an AMQP error condition symbol.
type Condition string

// Error conditions of the AMQP 1.0 specification (part 2, section 2.8.15
// onward) and of the transaction layer (part 4).
const (
	ErrCondInternalError         Condition = "amqp:internal-error"
	ErrCondNotFound              Condition = "amqp:not-found"
	ErrCondUnauthorizedAccess    Condition = "amqp:unauthorized-access"
	ErrCondDecodeError           Condition = "amqp:decode-error"
	ErrCondResourceLimitExceeded Condition = "amqp:resource-limit-exceeded"
	ErrCondNotAllowed            Condition = "amqp:not-allowed"
	ErrCondInvalidField          Condition = "amqp:invalid-field"
	ErrCondNotImplemented        Condition = "amqp:not-implemented"
	ErrCondResourceLocked        Condition = "amqp:resource-locked"
	ErrCondPreconditionFailed    Condition = "amqp:precondition-failed"
	ErrCondResourceDeleted       Condition = "amqp:resource-deleted"
	ErrCondIllegalState          Condition = "amqp:illegal-state"
	ErrCondFrameSizeTooSmall     Condition = "amqp:frame-size-too-small"

	ErrCondConnectionForced Condition = "amqp:connection:forced"
	ErrCondFramingError     Condition = "amqp:connection:framing-error"
	ErrCondConnRedirect     Condition = "amqp:connection:redirect"

	ErrCondWindowViolation  Condition = "amqp:session:window-violation"
	ErrCondErrantLink       Condition = "amqp:session:errant-link"
	ErrCondHandleInUse      Condition = "amqp:session:handle-in-use"
	ErrCondUnattachedHandle Condition = "amqp:session:unattached-handle"

	ErrCondDetachForced          Condition = "amqp:link:detach-forced"
	ErrCondTransferLimitExceeded Condition = "amqp:link:transfer-limit-exceeded"
	ErrCondMessageSizeExceeded   Condition = "amqp:link:message-size-exceeded"
	ErrCondLinkRedirect          Condition = "amqp:link:redirect"
	ErrCondStolen                Condition = "amqp:link:stolen"

	ErrCondTransactionUnknownID Condition = "amqp:transaction:unknown-id"
	ErrCondTransactionRollback  Condition = "amqp:transaction:rollback"
	ErrCondTransactionTimeout   Condition = "amqp:transaction:timeout"
)

// Service Bus error conditions (service-bus-amqp.md §9).
const (
	ErrCondMessageLockLost         Condition = "com.microsoft:message-lock-lost"
	ErrCondSessionLockLost         Condition = "com.microsoft:session-lock-lost"
	ErrCondSessionCannotBeLocked   Condition = "com.microsoft:session-cannot-be-locked"
	ErrCondEntityDisabled          Condition = "com.microsoft:entity-disabled"
	ErrCondEntityAlreadyExists     Condition = "com.microsoft:entity-already-exists"
	ErrCondMessageNotFound         Condition = "com.microsoft:message-not-found"
	ErrCondServerBusy              Condition = "com.microsoft:server-busy"
	ErrCondTimeout                 Condition = "com.microsoft:timeout"
	ErrCondOperationCancelled      Condition = "com.microsoft:operation-cancelled"
	ErrCondDeadLetter              Condition = "com.microsoft:dead-letter"
	ErrCondArgumentError           Condition = "com.microsoft:argument-error"
	ErrCondArgumentOutOfRange      Condition = "com.microsoft:argument-out-of-range"
	ErrCondNoMatchingSubscription  Condition = "com.microsoft:no-matching-subscription"
	ErrCondPartitionNotOwned       Condition = "com.microsoft:partition-not-owned"
	ErrCondStoreLockLost           Condition = "com.microsoft:store-lock-lost"
	ErrCondPublisherRevoked        Condition = "com.microsoft:publisher-revoked"
	ErrCondMSMessageSizeExceeded   Condition = "com.microsoft:message-size-exceeded"
	ErrCondMSPreconditionFailed    Condition = "com.microsoft:precondition-failed"
	ErrCondAuthorizationFailed     Condition = "com.microsoft:auth-failed"
	ErrCondTransactionNotSupported Condition = "com.microsoft:transaction-not-supported"
)

// Error is the AMQP error composite type (descriptor 0x1d), carried by
// close, end, detach and the rejected outcome.
type Error struct {
	Condition   Condition
	Description string
	// Info is a fields map. Keys are Symbols, or strings when the peer is
	// go-amqp (the Azure Go SDK); use Info.Lookup to read either.
	Info encoding.Map
}

// Error implements the error interface.
func (e *Error) Error() string {
	if e.Description == "" {
		return string(e.Condition)
	}
	return string(e.Condition) + ": " + e.Description
}
