package frames

import (
	"strconv"

	"github.com/batonmq/baton/internal/amqp/encoding"
)

// Symbol is an AMQP symbol (re-exported for convenience).
type Symbol = encoding.Symbol

// Handle identifies a link within a session.
type Handle uint32

// String implements fmt.Stringer.
func (h Handle) String() string { return "handle " + strconv.FormatUint(uint64(h), 10) }

// DeliveryNumber is a delivery-id: a sequence number of a delivery within a
// session.
type DeliveryNumber uint32

// String implements fmt.Stringer.
func (d DeliveryNumber) String() string { return "delivery " + strconv.FormatUint(uint64(d), 10) }

// TransferNumber numbers transfer frames within a session
// (next-incoming-id, next-outgoing-id).
type TransferNumber uint32

// String implements fmt.Stringer.
func (t TransferNumber) String() string { return "transfer " + strconv.FormatUint(uint64(t), 10) }

// SequenceNo is a link delivery-count (RFC 1982 serial number arithmetic).
type SequenceNo uint32

// String implements fmt.Stringer.
func (s SequenceNo) String() string { return strconv.FormatUint(uint64(s), 10) }

// Channel is a session's channel number on a connection.
type Channel uint16

// String implements fmt.Stringer.
func (c Channel) String() string { return "channel " + strconv.FormatUint(uint64(c), 10) }

// Role is a link endpoint's role: false is sender, true is receiver.
type Role bool

// Link roles.
const (
	RoleSender   Role = false
	RoleReceiver Role = true
)

// String implements fmt.Stringer.
func (r Role) String() string {
	if r {
		return "receiver"
	}
	return "sender"
}

// SenderSettleMode is the snd-settle-mode of a link.
type SenderSettleMode uint8

// Sender settle modes.
const (
	SenderSettleUnsettled SenderSettleMode = 0
	SenderSettleSettled   SenderSettleMode = 1
	SenderSettleMixed     SenderSettleMode = 2 // default
)

// String implements fmt.Stringer.
func (m SenderSettleMode) String() string {
	switch m {
	case SenderSettleUnsettled:
		return "unsettled"
	case SenderSettleSettled:
		return "settled"
	case SenderSettleMixed:
		return "mixed"
	}
	return "snd-settle-mode(" + strconv.Itoa(int(m)) + ")"
}

// ReceiverSettleMode is the rcv-settle-mode of a link.
type ReceiverSettleMode uint8

// Receiver settle modes.
const (
	ReceiverSettleFirst  ReceiverSettleMode = 0 // default
	ReceiverSettleSecond ReceiverSettleMode = 1
)

// String implements fmt.Stringer.
func (m ReceiverSettleMode) String() string {
	switch m {
	case ReceiverSettleFirst:
		return "first"
	case ReceiverSettleSecond:
		return "second"
	}
	return "rcv-settle-mode(" + strconv.Itoa(int(m)) + ")"
}

// TerminusDurability is the durable field of a source or target.
type TerminusDurability uint32

// Terminus durabilities.
const (
	DurabilityNone          TerminusDurability = 0 // default
	DurabilityConfiguration TerminusDurability = 1
	DurabilityUnsettled     TerminusDurability = 2
)

// Terminus expiry policies.
const (
	ExpirySessionEnd Symbol = "session-end" // default
	ExpiryLinkDetach Symbol = "link-detach"
	ExpiryConnection Symbol = "connection-close"
	ExpiryNever      Symbol = "never"
)

// SASLCode is the outcome code of a SASL exchange.
type SASLCode uint8

// SASL outcome codes.
const (
	SASLOK      SASLCode = 0
	SASLAuth    SASLCode = 1
	SASLSys     SASLCode = 2
	SASLSysPerm SASLCode = 3
	SASLSysTemp SASLCode = 4
)

// String implements fmt.Stringer.
func (c SASLCode) String() string {
	switch c {
	case SASLOK:
		return "ok"
	case SASLAuth:
		return "auth"
	case SASLSys:
		return "sys"
	case SASLSysPerm:
		return "sys-perm"
	case SASLSysTemp:
		return "sys-temp"
	}
	return "sasl-code(" + strconv.Itoa(int(c)) + ")"
}

// Descriptor codes of the performatives and other composite types.
const (
	DescOpen               uint64 = 0x10
	DescBegin              uint64 = 0x11
	DescAttach             uint64 = 0x12
	DescFlow               uint64 = 0x13
	DescTransfer           uint64 = 0x14
	DescDisposition        uint64 = 0x15
	DescDetach             uint64 = 0x16
	DescEnd                uint64 = 0x17
	DescClose              uint64 = 0x18
	DescError              uint64 = 0x1d
	DescReceived           uint64 = 0x23
	DescAccepted           uint64 = 0x24
	DescRejected           uint64 = 0x25
	DescReleased           uint64 = 0x26
	DescModified           uint64 = 0x27
	DescSource             uint64 = 0x28
	DescTarget             uint64 = 0x29
	DescCoordinator        uint64 = 0x30
	DescDeclared           uint64 = 0x33
	DescTransactionalState uint64 = 0x34
	DescSASLMechanisms     uint64 = 0x40
	DescSASLInit           uint64 = 0x41
	DescSASLChallenge      uint64 = 0x42
	DescSASLResponse       uint64 = 0x43
	DescSASLOutcome        uint64 = 0x44
)

// descriptorByName maps the symbolic descriptors to their codes.
func descriptorByName(name []byte) (uint64, bool) {
	switch string(name) {
	case "amqp:open:list":
		return DescOpen, true
	case "amqp:begin:list":
		return DescBegin, true
	case "amqp:attach:list":
		return DescAttach, true
	case "amqp:flow:list":
		return DescFlow, true
	case "amqp:transfer:list":
		return DescTransfer, true
	case "amqp:disposition:list":
		return DescDisposition, true
	case "amqp:detach:list":
		return DescDetach, true
	case "amqp:end:list":
		return DescEnd, true
	case "amqp:close:list":
		return DescClose, true
	case "amqp:error:list":
		return DescError, true
	case "amqp:received:list":
		return DescReceived, true
	case "amqp:accepted:list":
		return DescAccepted, true
	case "amqp:rejected:list":
		return DescRejected, true
	case "amqp:released:list":
		return DescReleased, true
	case "amqp:modified:list":
		return DescModified, true
	case "amqp:source:list":
		return DescSource, true
	case "amqp:target:list":
		return DescTarget, true
	case "amqp:coordinator:list":
		return DescCoordinator, true
	case "amqp:declared:list":
		return DescDeclared, true
	case "amqp:transactional-state:list":
		return DescTransactionalState, true
	case "amqp:sasl-mechanisms:list":
		return DescSASLMechanisms, true
	case "amqp:sasl-init:list":
		return DescSASLInit, true
	case "amqp:sasl-challenge:list":
		return DescSASLChallenge, true
	case "amqp:sasl-response:list":
		return DescSASLResponse, true
	case "amqp:sasl-outcome:list":
		return DescSASLOutcome, true
	}
	return 0, false
}
