package encoding

// SkipValue validates and skips the next value without materialising it. It
// checks everything ReadValue checks (lengths, counts, UTF-8, booleans,
// chars, nesting depth) but allocates nothing.
func (r *Reader) SkipValue() error {
	c, err := r.readCode()
	if err != nil {
		return err
	}
	if c == CodeDescribed {
		if err := r.enter(); err != nil {
			return err
		}
		if _, _, err := r.descriptorBody(); err != nil {
			return err
		}
		if err := r.SkipValue(); err != nil {
			return err
		}
		r.leave()
		return nil
	}
	return r.skipBody(c)
}

// RawValue validates the next value and returns its encoded bytes
// (aliasing the input).
func (r *Reader) RawValue() ([]byte, error) {
	start := r.off
	if err := r.SkipValue(); err != nil {
		return nil, err
	}
	return r.buf[start:r.off:r.off], nil
}

func (r *Reader) skipBody(c byte) error {
	switch c {
	case CodeTrue, CodeFalse, CodeBool:
		_, err := r.boolBody(c)
		return err
	case CodeChar:
		_, err := r.charBody()
		return err
	case CodeVbin8, CodeVbin32, CodeSym8, CodeSym32:
		_, err := r.variableBody(c)
		return err
	case CodeStr8, CodeStr32:
		_, err := r.stringBody(c)
		return err
	case CodeList0:
		return nil
	case CodeList8, CodeList32, CodeMap8, CodeMap32:
		n, end, err := r.compositeHeader(c)
		if err != nil {
			return err
		}
		if err := r.enter(); err != nil {
			return err
		}
		for range n {
			if err := r.SkipValue(); err != nil {
				return err
			}
		}
		r.leave()
		return r.checkEnd(end, codeName(c))
	case CodeArray8, CodeArray32:
		n, end, elem, _, err := r.arrayHeader(c)
		if err != nil {
			return err
		}
		if err := r.enter(); err != nil {
			return err
		}
		if err := r.skipElements(n, end, elem); err != nil {
			return err
		}
		r.leave()
		return r.checkEnd(end, "array")
	}
	if w, ok := fixedWidth(c); ok {
		_, err := r.take(w)
		return err
	}
	r.off--
	return r.fail(ErrInvalid, "unknown format code")
}

func (r *Reader) skipElements(n, end int, elem byte) error {
	switch elem {
	case CodeBool:
		for _, b := range r.buf[r.off:end] {
			if b > 1 {
				return r.fail(ErrInvalid, "boolean value is neither 0 nor 1")
			}
		}
		r.off = end
		return nil
	case CodeChar:
		for range n {
			if _, err := r.charBody(); err != nil {
				return err
			}
		}
		return nil
	case CodeStr8, CodeStr32, CodeVbin8, CodeVbin32, CodeSym8, CodeSym32,
		CodeList8, CodeList32, CodeMap8, CodeMap32, CodeArray8, CodeArray32:
		for range n {
			if err := r.skipBody(elem); err != nil {
				return err
			}
		}
		return nil
	}
	// Other fixed-width elements need no validation; arrayHeader already
	// checked that count*width equals the array size.
	r.off = end
	return nil
}

// Fields reads the field list of a composite type (a described list such as
// a performative or a message section). Use Next before each field: it
// reports false when the field is absent (encoded as null, or beyond the
// end of a shortened list), true when a value follows and must be read.
type Fields struct {
	r    *Reader
	left int
	end  int
}

// ReadFields reads a list header and returns a Fields iterator over it.
func (r *Reader) ReadFields() (Fields, error) {
	n, end, err := r.ReadListHeader()
	if err != nil {
		return Fields{}, err
	}
	return Fields{r: r, left: n, end: end}, nil
}

// Next advances to the next field and reports whether a non-null value is
// there to be read.
func (f *Fields) Next() bool {
	if f.left == 0 {
		return false
	}
	f.left--
	return !f.r.ReadNull()
}

// Remaining returns the number of fields not yet visited.
func (f *Fields) Remaining() int { return f.left }

// Finish validates and skips any fields not read (fields this
// implementation does not know) and checks that the list ended where its
// size said.
func (f *Fields) Finish() error {
	for ; f.left > 0; f.left-- {
		if err := f.r.SkipValue(); err != nil {
			return err
		}
	}
	return f.r.checkEnd(f.end, "list")
}
