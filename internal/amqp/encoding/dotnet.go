package encoding

import "time"

// Service Bus clients exchange two .NET representations that are plain
// byte and integer transformations (service-bus-amqp.md §5.4 and §6.3).

// DotNetBytes returns the uuid in .NET Guid.ToByteArray order, the order of
// a Service Bus lock token used as a delivery tag: bytes 0–3 reversed,
// 4–5 swapped, 6–7 swapped, 8–15 unchanged.
func (u UUID) DotNetBytes() [16]byte {
	return [16]byte{
		u[3], u[2], u[1], u[0],
		u[5], u[4],
		u[7], u[6],
		u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15],
	}
}

// UUIDFromDotNetBytes is the inverse of DotNetBytes. It reports false when
// b is not 16 bytes long.
func UUIDFromDotNetBytes(b []byte) (UUID, bool) {
	if len(b) != 16 {
		return UUID{}, false
	}
	var d UUID
	copy(d[:], b)
	return UUID(d.DotNetBytes()), true // the permutation is its own inverse
}

// dotNetEpochTicks is 0001-01-01T00:00:00Z to the Unix epoch in 100 ns ticks.
const dotNetEpochTicks = 621355968000000000

// DotNetTicks converts t to .NET ticks (100 ns units since 0001-01-01 UTC)
// at millisecond precision, as com.microsoft:locked-until-utc requires:
// Unix milliseconds × 10000 + 621355968000000000. Encode the result with
// AppendInt64Wide.
func DotNetTicks(t time.Time) int64 {
	return t.UnixMilli()*10000 + dotNetEpochTicks
}

// TimeFromDotNetTicks converts .NET ticks to a UTC time at millisecond
// precision.
func TimeFromDotNetTicks(ticks int64) time.Time {
	return time.UnixMilli((ticks - dotNetEpochTicks) / 10000).UTC()
}
