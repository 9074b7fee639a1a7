package frames

import (
	"math/rand/v2"
	"reflect"
	"testing"
)

func randState(rng *rand.Rand) DeliveryState {
	switch rng.IntN(7) {
	case 0:
		return nil
	case 1:
		return Accepted{}
	case 2:
		return Released{}
	case 3:
		return Rejected{Error: &Error{Condition: ErrCondMessageLockLost, Description: "d"}}
	case 4:
		return Modified{DeliveryFailed: rng.IntN(2) == 0, UndeliverableHere: rng.IntN(2) == 0}
	case 5:
		return Received{SectionNumber: rng.Uint32(), SectionOffset: rng.Uint64()}
	default:
		return TransactionalState{TxnID: []byte{byte(rng.Uint32())}, Outcome: Accepted{}}
	}
}

// TestPropertyHotPerformatives round-trips random flow, transfer and
// disposition frames, the per-message performatives, through encode and
// decode.
func TestPropertyHotPerformatives(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(7, 8))
	flag := func() bool { return rng.IntN(2) == 0 }
	u32 := func() uint32 { return rng.Uint32() >> (rng.IntN(4) * 8) }
	for i := range 3000 {
		var body Body
		switch i % 3 {
		case 0:
			fl := &Flow{IncomingWindow: u32(), NextOutgoingID: TransferNumber(u32()), OutgoingWindow: u32(), Drain: flag(), Echo: flag()}
			if flag() {
				fl.NextIncomingID, fl.HasNextIncomingID = TransferNumber(u32()), true
			}
			if flag() {
				fl.Handle, fl.HasHandle = Handle(u32()), true
				fl.DeliveryCount, fl.HasDeliveryCount = SequenceNo(u32()), true
				fl.LinkCredit, fl.HasLinkCredit = u32(), true
			}
			if flag() {
				fl.Available, fl.HasAvailable = u32(), true
			}
			body = fl
		case 1:
			tr := &Transfer{Handle: Handle(u32()), More: flag(), State: randState(rng), Resume: flag(), Aborted: flag(), Batchable: flag()}
			if flag() {
				tr.DeliveryID, tr.HasDeliveryID = DeliveryNumber(u32()), true
				tr.DeliveryTag = make([]byte, rng.IntN(33))
				tr.MessageFormat, tr.HasMessageFormat = u32(), true
			}
			if flag() {
				tr.Settled, tr.HasSettled = flag(), true
			}
			if flag() {
				tr.RcvSettleMode, tr.HasRcvSettleMode = ReceiverSettleMode(rng.IntN(2)), true
			}
			body = tr
		default:
			d := &Disposition{Role: Role(flag()), First: DeliveryNumber(u32()), Settled: flag(), State: randState(rng), Batchable: flag()}
			if flag() {
				d.Last, d.HasLast = DeliveryNumber(u32()), true
			}
			body = d
		}
		frame, err := AppendFrame(nil, TypeAMQP, uint16(rng.Uint32()), body, nil)
		if err != nil {
			t.Fatal(err)
		}
		f, _, err := ParseFrame(frame, 0)
		if err != nil {
			t.Fatalf("#%d %#v: %v", i, body, err)
		}
		if !reflect.DeepEqual(f.Body, body) {
			t.Fatalf("#%d:\n got %#v\nwant %#v", i, f.Body, body)
		}
	}
}
