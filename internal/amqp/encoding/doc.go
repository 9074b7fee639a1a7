// Package encoding implements the AMQP 1.0 type system (OASIS AMQP 1.0 part 1)
// and the message format (part 3): encoding, strict decoding, and the
// split of a transfer payload into message sections.
//
// # Writing
//
// A Buffer appends encoded values to a byte slice that the caller may supply
// and reuse. Typed methods (AppendUint32, AppendString, AppendSymbol, ...)
// choose the most compact encoding and never allocate beyond growing the
// slice. Lists and maps are written between Begin and End calls, which
// back-patch the size and count and shrink to the 8-bit forms when they fit.
// AppendValue encodes any value of the generic representation described
// below; it is meant for management bodies and maps of unknown content, not
// for the per-message hot path.
//
// # Reading
//
// A Reader decodes from a byte slice. Every length is checked against the
// bytes that remain before anything is allocated, the nesting depth is
// limited, and the total number of elements one Reader will materialise is
// bounded by the input size, so a short hostile input can never make the
// decoder allocate a large buffer. Decoding never panics; every failure is a
// *DecodeError carrying the byte offset and a reason, suitable as the
// description of an amqp:decode-error.
//
// Binary values returned by a Reader alias the input: they are sub-slices,
// not copies. Copy them when the input buffer will be reused. Strings and
// symbols are Go strings and therefore always copies.
//
// # Generic values
//
// ReadValue and AppendValue use these Go types:
//
//	null        nil
//	boolean     bool
//	ubyte...    uint8, uint16, uint32, uint64
//	byte...     int8, int16, int32, int64
//	float       float32, float64
//	decimalN    Decimal32, Decimal64, Decimal128 (raw IEEE 754 bytes)
//	char        Char
//	timestamp   time.Time (millisecond precision, UTC)
//	uuid        UUID
//	binary      []byte
//	string      string
//	symbol      Symbol
//	list        []any
//	map         Map (ordered key/value pairs; keys of any type)
//	array       []bool, []uint16, []uint32, []uint64, []int8, []int16,
//	            []int32, []int64, []float32, []float64, []Char,
//	            []time.Time, []UUID, [][]byte, []string, []Symbol,
//	            or Array for every other element type and described arrays
//	described   Described
//
// AppendValue also accepts int and uint (encoded as long and ulong) and Raw
// (bytes that are already encoded and are copied verbatim).
//
// # Messages
//
// ParseMessage splits a transfer payload into its sections and validates all
// of them. The bare message (properties through footer) is kept as one raw
// slice so a broker can store it unchanged; AppendDelivery re-emits a header
// and annotations in front of it, and RewriteAppProperties produces a new
// bare message with modified application-properties.
package encoding
