// Package frames implements AMQP 1.0 framing (OASIS AMQP 1.0 part 2): the
// frame header, the protocol headers, the connection, session and link
// performatives, the SASL frames (part 5), the error type and the delivery
// states (part 3), and the terminus types source, target and coordinator.
//
// Every performative is a Go struct with every field of the spec. Decoding
// fills in the spec's defaults for absent fields; encoding omits fields
// that are absent or equal to their default and drops trailing nulls.
// Optional fields whose absence matters to a peer are pointers on the
// connection-level and attach performatives, and value-plus-Has flags on
// the per-message performatives (flow, transfer, disposition), which
// decode without extra allocations.
//
// ParseFrame splits one frame from a byte slice and Reader reads frames
// from a stream; both enforce a maximum frame size and report malformed
// headers as *FramingError (condition amqp:connection:framing-error).
// Malformed bodies are *encoding.DecodeError (condition amqp:decode-error).
// Byte slices in decoded frames (transfer payloads, delivery tags, binary
// fields) alias the input buffer.
package frames
