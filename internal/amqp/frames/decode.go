package frames

import (
	"github.com/batonmq/baton/internal/amqp/encoding"
)

// decoder is implemented by every frame body.
type decoder interface {
	Body
	decode(r *encoding.Reader) error
}

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
	var d decoder
	switch typ {
	case TypeAMQP:
		switch code {
		case DescOpen:
			d = new(Open)
		case DescBegin:
			d = new(Begin)
		case DescAttach:
			d = new(Attach)
		case DescFlow:
			d = new(Flow)
		case DescTransfer:
			d = new(Transfer)
		case DescDisposition:
			d = new(Disposition)
		case DescDetach:
			d = new(Detach)
		case DescEnd:
			d = new(End)
		case DescClose:
			d = new(Close)
		}
	case TypeSASL:
		switch code {
		case DescSASLMechanisms:
			d = new(SASLMechanisms)
		case DescSASLInit:
			d = new(SASLInit)
		case DescSASLChallenge:
			d = new(SASLChallenge)
		case DescSASLResponse:
			d = new(SASLResponse)
		case DescSASLOutcome:
			d = new(SASLOutcome)
		}
	}
	if d == nil {
		_ = r.Seek(0)
		return nil, nil, r.Errorf(encoding.ErrUnexpectedType, "descriptor is not a "+typ.String()+" frame body")
	}
	if err := d.decode(&r); err != nil {
		return nil, nil, err
	}
	rest := r.Rest()
	if code == DescTransfer {
		return d, rest, nil
	}
	if len(rest) != 0 {
		return nil, nil, r.Errorf(encoding.ErrInvalid, "bytes after the performative")
	}
	return d, nil, nil
}
