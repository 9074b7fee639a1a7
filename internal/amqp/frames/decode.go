package frames

import (
	"github.com/batonmq/baton/internal/amqp/encoding"
)

// DecodeBody decodes a frame body (the bytes after the frame header and
// extended header). It returns the performative and, for transfer frames,
// the payload that follows it (aliasing body). A performative of the wrong
// frame type (an AMQP performative in a SASL frame or the reverse), an
// unknown descriptor or bytes after a non-transfer performative are
// errors.
func DecodeBody(typ Type, body []byte) (Body, []byte, error) {
	var r encoding.Reader
	r.Reset(body)
	code, err := readDescriptor(&r)
	if err != nil {
		return nil, nil, err
	}
	// Concrete calls (not an interface) keep r on the stack.
	var b Body
	switch {
	case typ == TypeAMQP && code == DescTransfer:
		v := new(Transfer)
		b, err = v, v.decode(&r)
	case typ == TypeAMQP && code == DescDisposition:
		v := new(Disposition)
		b, err = v, v.decode(&r)
	case typ == TypeAMQP && code == DescFlow:
		v := new(Flow)
		b, err = v, v.decode(&r)
	case typ == TypeAMQP && code == DescOpen:
		v := new(Open)
		b, err = v, v.decode(&r)
	case typ == TypeAMQP && code == DescBegin:
		v := new(Begin)
		b, err = v, v.decode(&r)
	case typ == TypeAMQP && code == DescAttach:
		v := new(Attach)
		b, err = v, v.decode(&r)
	case typ == TypeAMQP && code == DescDetach:
		v := new(Detach)
		b, err = v, v.decode(&r)
	case typ == TypeAMQP && code == DescEnd:
		v := new(End)
		b, err = v, v.decode(&r)
	case typ == TypeAMQP && code == DescClose:
		v := new(Close)
		b, err = v, v.decode(&r)
	case typ == TypeSASL && code == DescSASLMechanisms:
		v := new(SASLMechanisms)
		b, err = v, v.decode(&r)
	case typ == TypeSASL && code == DescSASLInit:
		v := new(SASLInit)
		b, err = v, v.decode(&r)
	case typ == TypeSASL && code == DescSASLChallenge:
		v := new(SASLChallenge)
		b, err = v, v.decode(&r)
	case typ == TypeSASL && code == DescSASLResponse:
		v := new(SASLResponse)
		b, err = v, v.decode(&r)
	case typ == TypeSASL && code == DescSASLOutcome:
		v := new(SASLOutcome)
		b, err = v, v.decode(&r)
	default:
		_ = r.Seek(0)
		return nil, nil, r.Errorf(encoding.ErrUnexpectedType, "descriptor is not a "+typ.String()+" frame body")
	}
	if err != nil {
		return nil, nil, err
	}
	rest := r.Rest()
	if code == DescTransfer {
		return b, rest, nil
	}
	if len(rest) != 0 {
		return nil, nil, r.Errorf(encoding.ErrInvalid, "bytes after the performative")
	}
	return b, nil, nil
}
