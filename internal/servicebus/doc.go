// Package servicebus holds the Azure Service Bus semantics that Baton's AMQP
// server needs beyond plain AMQP 1.0 (service-bus-amqp.md): the management
// operations of an entity's "$management" node, the claims-based security
// of the "$cbs" node, and the mapping between AMQP messages and
// broker.Message.
//
// The package knows nothing about connections, sessions or links. The AMQP
// server parses a request message into a Request, calls Management.Handle
// or CBS.PutToken, and encodes the Response (status-code and statusCode as
// int, the descriptions, error-condition and errorCondition on errors, the
// Body as an amqp-value). On the message path it calls FromAMQP for every
// transferred message and AppendDelivery for every delivery.
//
// # Management
//
// Handle answers every operation of §8: peek-message, renew-lock,
// receive-by-sequence-number, update-disposition, schedule-message,
// cancel-scheduled-message, renew-session-lock, get-session-state,
// set-session-state, get-message-sessions, and the rule operations of a
// subscription (add-rule, remove-rule, enumerate-rules). Request bodies are checked strictly by kind
// (an integer field takes any AMQP integer type that fits, a lock-token
// field takes array<uuid> or a list of uuids, ...); anything else is a 400
// with com.microsoft:argument-error. Response bodies use exactly the types
// the Go SDK asserts: array<long>, array<timestamp>, lists of maps, int32
// statuses, and never an empty map. Broker errors become a status and a
// condition through one table (errors.go).
//
// # CBS
//
// A CBS verifies put-token requests: SAS tokens signed with a configured
// key, unexpired, whose resource covers the audience; and records the
// claim so that the server can ask Authorized before attaching a link. It
// holds the claims of one connection: make one per AMQP connection.
//
// # Messages
//
// FromAMQP keeps the bare message (properties through footer) as the
// broker.Message body and extracts the fields the broker needs;
// AppendDelivery rebuilds a header and message annotations from the
// broker's state in front of it. The lock token of a peek-lock delivery
// travels as the delivery tag in .NET byte order (DeliveryTag) and, in
// receive-by-sequence-number, as the delivery annotation x-opt-lock-token.
//
// Codec is the broker.MessageCodec of AMQP bodies: it reads the
// application properties of a stored bare message for subscription
// filters, and writes a new bare message for a copy a rule action changed.
package servicebus
