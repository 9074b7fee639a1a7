package frames

import (
	"fmt"

	"github.com/batonmq/baton/internal/amqp/encoding"
)

// missing reports an absent mandatory field.
func missing(r *encoding.Reader, what, field string) error {
	return r.Errorf(encoding.ErrInvalid, what+": mandatory field "+field+" is absent")
}

// readDescriptor reads a described-type constructor and returns its code,
// mapping symbolic descriptors to codes.
func readDescriptor(r *encoding.Reader) (uint64, error) {
	start := r.Offset()
	code, name, err := r.ReadDescriptor()
	if err != nil {
		return 0, err
	}
	if name != nil {
		var ok bool
		if code, ok = descriptorByName(name); !ok {
			_ = r.Seek(start)
			return 0, r.Errorf(encoding.ErrInvalid, "unknown descriptor "+string(name))
		}
	}
	return code, nil
}

// expectDescriptor reads a descriptor and checks it is want.
func expectDescriptor(r *encoding.Reader, want uint64, what string) error {
	start := r.Offset()
	code, err := readDescriptor(r)
	if err != nil {
		return err
	}
	if code != want {
		_ = r.Seek(start)
		return r.Errorf(encoding.ErrUnexpectedType, "expected "+what)
	}
	return nil
}

// readFieldsMap reads a fields map. The spec requires symbol keys, but
// go-amqp (used by the Azure Go SDK) writes the info map of an error, for
// example the dead-letter reason of a rejected outcome, with string keys.
// Both are accepted and kept as they came; use Map.Lookup to find a key
// of either type. Any other key type is an error.
func readFieldsMap(r *encoding.Reader) (encoding.Map, error) {
	start := r.Offset()
	m, err := r.ReadMap()
	if err != nil {
		return nil, err
	}
	for _, kv := range m {
		switch kv.Key.(type) {
		case encoding.Symbol, string:
		default:
			_ = r.Seek(start)
			return nil, r.Errorf(encoding.ErrUnexpectedType, "fields map key is neither a symbol nor a string")
		}
	}
	return m, nil
}

func readBool(r *encoding.Reader, f *encoding.Fields, dst *bool) error {
	if !f.Next() {
		return nil
	}
	v, err := r.ReadBool()
	*dst = v
	return err
}

func readUint32(r *encoding.Reader, f *encoding.Fields, dst *uint32, has *bool) error {
	if !f.Next() {
		return nil
	}
	v, err := r.ReadUint32()
	*dst = v
	if has != nil {
		*has = err == nil
	}
	return err
}

func readString(r *encoding.Reader, f *encoding.Fields, dst *string) error {
	if !f.Next() {
		return nil
	}
	v, err := r.ReadString()
	*dst = v
	return err
}

func readSymbols(r *encoding.Reader, f *encoding.Fields, dst *[]Symbol) error {
	if !f.Next() {
		return nil
	}
	v, err := r.ReadSymbolMulti()
	*dst = v
	return err
}

func readMapField(r *encoding.Reader, f *encoding.Fields, dst *encoding.Map) error {
	if !f.Next() {
		return nil
	}
	v, err := readFieldsMap(r)
	*dst = v
	return err
}

func readErrorField(r *encoding.Reader, f *encoding.Fields, dst **Error) error {
	if !f.Next() {
		return nil
	}
	e := new(Error)
	if err := e.decode(r); err != nil {
		return err
	}
	*dst = e
	return nil
}

// Encoding helpers: each writes the field or a null and records it in c.

func putBool(w *encoding.Buffer, c *encoding.Composite, v bool) {
	if !v {
		w.Null(c)
		return
	}
	w.AppendBool(true)
	w.Field(c)
}

func putUint32(w *encoding.Buffer, c *encoding.Composite, v uint32, present bool) {
	if !present {
		w.Null(c)
		return
	}
	w.AppendUint32(v)
	w.Field(c)
}

func putString(w *encoding.Buffer, c *encoding.Composite, s string) {
	if s == "" {
		w.Null(c)
		return
	}
	w.AppendString(s)
	w.Field(c)
}

func putSymbol(w *encoding.Buffer, c *encoding.Composite, s Symbol) {
	if s == "" {
		w.Null(c)
		return
	}
	w.AppendSymbol(string(s))
	w.Field(c)
}

func putBinary(w *encoding.Buffer, c *encoding.Composite, p []byte) {
	if p == nil {
		w.Null(c)
		return
	}
	w.AppendBinary(p)
	w.Field(c)
}

// putSymbols writes a "multiple" symbol field as an array of symbols.
func putSymbols(w *encoding.Buffer, c *encoding.Composite, s []Symbol) {
	if len(s) == 0 {
		w.Null(c)
		return
	}
	_ = w.AppendValue(s) // []Symbol always encodes
	w.Field(c)
}

func putMap(w *encoding.Buffer, c *encoding.Composite, m encoding.Map) error {
	if m == nil {
		w.Null(c)
		return nil
	}
	if err := w.AppendAnnotations(m); err != nil {
		return err
	}
	w.Field(c)
	return nil
}

func putError(w *encoding.Buffer, c *encoding.Composite, e *Error) error {
	if e == nil {
		w.Null(c)
		return nil
	}
	if err := e.AppendTo(w); err != nil {
		return err
	}
	w.Field(c)
	return nil
}

func putState(w *encoding.Buffer, c *encoding.Composite, s DeliveryState) error {
	if s == nil {
		w.Null(c)
		return nil
	}
	if err := appendState(w, s); err != nil {
		return err
	}
	w.Field(c)
	return nil
}

// appendState calls AppendTo through the concrete type, so that w does not
// escape to the heap through an interface call.
func appendState(w *encoding.Buffer, s DeliveryState) error {
	switch s := s.(type) {
	case Accepted:
		return s.AppendTo(w)
	case Released:
		return s.AppendTo(w)
	case Rejected:
		return s.AppendTo(w)
	case Modified:
		return s.AppendTo(w)
	case Received:
		return s.AppendTo(w)
	case Declared:
		return s.AppendTo(w)
	case TransactionalState:
		return s.AppendTo(w)
	}
	// DeliveryState is sealed (it has an unexported method), so only a
	// type embedding the interface can get here.
	return fmt.Errorf("%w: delivery state %T", encoding.ErrUnsupportedType, s)
}

// Descriptor returns DescError.
func (e *Error) Descriptor() uint64 { return DescError }

// AppendTo encodes the error.
func (e *Error) AppendTo(w *encoding.Buffer) error {
	w.AppendDescriptor(DescError)
	c := w.BeginFields()
	w.AppendSymbol(string(e.Condition))
	w.Field(&c)
	putString(w, &c, e.Description)
	if err := putMap(w, &c, e.Info); err != nil {
		return err
	}
	w.EndFields(c)
	return nil
}

func (e *Error) decode(r *encoding.Reader) error {
	if err := expectDescriptor(r, DescError, "error"); err != nil {
		return err
	}
	f, err := r.ReadFields()
	if err != nil {
		return err
	}
	if !f.Next() {
		return missing(r, "error", "condition")
	}
	s, err := r.ReadSymbol()
	if err != nil {
		return err
	}
	e.Condition = Condition(s)
	if err := readString(r, &f, &e.Description); err != nil {
		return err
	}
	if err := readMapField(r, &f, &e.Info); err != nil {
		return err
	}
	return f.Finish()
}
