package frames

import (
	"github.com/batonmq/baton/internal/amqp/encoding"
)

// SASLMechanisms is the sasl-mechanisms frame (0x40).
type SASLMechanisms struct {
	Mechanisms []Symbol // mandatory
}

// SASLInit is the sasl-init frame (0x41).
type SASLInit struct {
	Mechanism Symbol // mandatory
	// InitialResponse is nil when absent; it aliases the frame.
	InitialResponse []byte
	Hostname        string
}

// SASLChallenge is the sasl-challenge frame (0x42).
type SASLChallenge struct {
	Challenge []byte // mandatory
}

// SASLResponse is the sasl-response frame (0x43).
type SASLResponse struct {
	Response []byte // mandatory
}

// SASLOutcome is the sasl-outcome frame (0x44).
type SASLOutcome struct {
	Code           SASLCode // mandatory
	AdditionalData []byte
}

// Descriptor returns DescSASLMechanisms.
func (*SASLMechanisms) Descriptor() uint64 { return DescSASLMechanisms }

// Descriptor returns DescSASLInit.
func (*SASLInit) Descriptor() uint64 { return DescSASLInit }

// Descriptor returns DescSASLChallenge.
func (*SASLChallenge) Descriptor() uint64 { return DescSASLChallenge }

// Descriptor returns DescSASLResponse.
func (*SASLResponse) Descriptor() uint64 { return DescSASLResponse }

// Descriptor returns DescSASLOutcome.
func (*SASLOutcome) Descriptor() uint64 { return DescSASLOutcome }

// AppendTo encodes the frame body.
func (m *SASLMechanisms) AppendTo(w *encoding.Buffer) error {
	w.AppendDescriptor(DescSASLMechanisms)
	c := w.BeginFields()
	mechs := m.Mechanisms
	if mechs == nil {
		mechs = []Symbol{}
	}
	_ = w.AppendValue(mechs)
	w.Field(&c)
	w.EndFields(c)
	return nil
}

// AppendTo encodes the frame body.
func (i *SASLInit) AppendTo(w *encoding.Buffer) error {
	w.AppendDescriptor(DescSASLInit)
	c := w.BeginFields()
	w.AppendSymbol(string(i.Mechanism))
	w.Field(&c)
	putBinary(w, &c, i.InitialResponse)
	putString(w, &c, i.Hostname)
	w.EndFields(c)
	return nil
}

func appendMandatoryBinary(w *encoding.Buffer, desc uint64, p []byte) error {
	w.AppendDescriptor(desc)
	c := w.BeginFields()
	w.AppendBinary(p)
	w.Field(&c)
	w.EndFields(c)
	return nil
}

// AppendTo encodes the frame body.
func (ch *SASLChallenge) AppendTo(w *encoding.Buffer) error {
	return appendMandatoryBinary(w, DescSASLChallenge, ch.Challenge)
}

// AppendTo encodes the frame body.
func (re *SASLResponse) AppendTo(w *encoding.Buffer) error {
	return appendMandatoryBinary(w, DescSASLResponse, re.Response)
}

// AppendTo encodes the frame body.
func (o *SASLOutcome) AppendTo(w *encoding.Buffer) error {
	w.AppendDescriptor(DescSASLOutcome)
	c := w.BeginFields()
	w.AppendUint8(uint8(o.Code))
	w.Field(&c)
	putBinary(w, &c, o.AdditionalData)
	w.EndFields(c)
	return nil
}

func (m *SASLMechanisms) decode(r *encoding.Reader) (err error) {
	f, err := r.ReadFields()
	if err != nil {
		return err
	}
	if !f.Next() {
		return missing(r, "sasl-mechanisms", "sasl-server-mechanisms")
	}
	if m.Mechanisms, err = r.ReadSymbolMulti(); err != nil {
		return err
	}
	return f.Finish()
}

func (i *SASLInit) decode(r *encoding.Reader) (err error) {
	f, err := r.ReadFields()
	if err != nil {
		return err
	}
	if !f.Next() {
		return missing(r, "sasl-init", "mechanism")
	}
	if i.Mechanism, err = r.ReadSymbol(); err != nil {
		return err
	}
	if f.Next() {
		if i.InitialResponse, err = r.ReadBinary(); err != nil {
			return err
		}
		if i.InitialResponse == nil {
			i.InitialResponse = []byte{}
		}
	}
	if err := readString(r, &f, &i.Hostname); err != nil {
		return err
	}
	return f.Finish()
}

func decodeMandatoryBinary(r *encoding.Reader, what, field string, dst *[]byte) (err error) {
	f, err := r.ReadFields()
	if err != nil {
		return err
	}
	if !f.Next() {
		return missing(r, what, field)
	}
	if *dst, err = r.ReadBinary(); err != nil {
		return err
	}
	if *dst == nil {
		*dst = []byte{}
	}
	return f.Finish()
}

func (ch *SASLChallenge) decode(r *encoding.Reader) error {
	return decodeMandatoryBinary(r, "sasl-challenge", "challenge", &ch.Challenge)
}

func (re *SASLResponse) decode(r *encoding.Reader) error {
	return decodeMandatoryBinary(r, "sasl-response", "response", &re.Response)
}

func (o *SASLOutcome) decode(r *encoding.Reader) (err error) {
	f, err := r.ReadFields()
	if err != nil {
		return err
	}
	if !f.Next() {
		return missing(r, "sasl-outcome", "code")
	}
	code, err := r.ReadUint8()
	if err != nil {
		return err
	}
	o.Code = SASLCode(code)
	if f.Next() {
		if o.AdditionalData, err = r.ReadBinary(); err != nil {
			return err
		}
		if o.AdditionalData == nil {
			o.AdditionalData = []byte{}
		}
	}
	return f.Finish()
}
