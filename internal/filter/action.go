package filter

// SQL rule actions: SET <property> = <expression> and REMOVE <property>,
// applied in order to the message copy a subscription receives. Statements
// are separated by ';' (optional, as documented) and one SET may assign
// several properties separated by ','.

type stmtKind uint8

const (
	stmtSet stmtKind = iota
	stmtRemove
)

type stmt struct {
	kind stmtKind
	prop *node // opUserProp or opSysProp
	expr *node // SET only
}

// Action is a compiled SQL rule action. It is immutable and safe for
// concurrent use.
type Action struct {
	text  string
	stmts []stmt
	newID func() string
}

// CompileAction parses a SQL rule action with the default options.
func CompileAction(text string) (*Action, error) {
	return CompileActionOptions(text, nil)
}

// CompileActionOptions parses a SQL rule action. Every error it returns is a
// *SyntaxError.
func CompileActionOptions(text string, opts *Options) (*Action, error) {
	a, err := compileAction(text, opts)
	if err != nil {
		return nil, err
	}
	return a, nil
}

func compileAction(text string, opts *Options) (*Action, *SyntaxError) {
	if err := checkLength(text, opts); err != nil {
		return nil, err
	}
	p, err := newParser(text, opts)
	if err != nil {
		return nil, err
	}
	a := &Action{text: text, newID: opts.newIDFunc()}
	limit := opts.maxStatements()
	for {
		for p.isOp(";") {
			if err := p.advance(); err != nil {
				return nil, err
			}
		}
		if p.tok.kind == tokEOF {
			break
		}
		switch {
		case p.isKw("SET"):
			if err := p.advance(); err != nil {
				return nil, err
			}
			for {
				st, err := p.parseAssignment()
				if err != nil {
					return nil, err
				}
				a.stmts = append(a.stmts, st)
				if !p.isOp(",") {
					break
				}
				if err := p.advance(); err != nil {
					return nil, err
				}
			}
		case p.isKw("REMOVE"):
			if err := p.advance(); err != nil {
				return nil, err
			}
			pt := p.tok
			prop, err := p.parseProperty()
			if err != nil {
				return nil, err
			}
			if err := p.checkWritable(prop, pt); err != nil {
				return nil, err
			}
			a.stmts = append(a.stmts, stmt{kind: stmtRemove, prop: prop})
		default:
			return nil, p.unexpected("SET or REMOVE")
		}
		if limit >= 0 && len(a.stmts) > limit {
			return nil, p.errAt(p.tok, ErrTooComplex, "more than "+itoa(limit)+" action statements")
		}
		if p.tok.kind != tokEOF && !p.isOp(";") && !p.isKw("SET") && !p.isKw("REMOVE") {
			return nil, p.unexpected("';', SET or REMOVE")
		}
	}
	if len(a.stmts) == 0 {
		return nil, p.unexpected("SET or REMOVE")
	}
	return a, nil
}

func (p *parser) parseAssignment() (stmt, *SyntaxError) {
	pt := p.tok
	prop, err := p.parseProperty()
	if err != nil {
		return stmt{}, err
	}
	if err := p.checkWritable(prop, pt); err != nil {
		return stmt{}, err
	}
	if err := p.expectOp("="); err != nil {
		return stmt{}, err
	}
	et := p.tok
	x, err := p.parseAdditive()
	if err != nil {
		return stmt{}, err
	}
	if x.pred {
		return stmt{}, p.errAt(et, ErrSyntax, "SET needs an expression, not a predicate")
	}
	return stmt{kind: stmtSet, prop: prop, expr: foldNode(x)}, nil
}

func (p *parser) checkWritable(prop *node, t tok) *SyntaxError {
	if prop.op == opSysProp && !prop.sys.Writable() {
		return p.errAt(t, ErrReadOnlyProperty, "sys."+prop.sys.String()+" cannot be changed by an action")
	}
	return nil
}

// String returns the action text exactly as compiled.
func (a *Action) String() string { return a.text }

// Apply runs the statements in order against m. Expressions see the effects
// of earlier statements. A SET whose value is UNKNOWN stores NULL. On error,
// statements already applied stay applied; the broker should discard the
// copy.
func (a *Action) Apply(m MutableMessage) error {
	e := evaluator{m: m, newID: a.newID}
	for i := range a.stmts {
		st := &a.stmts[i]
		switch st.kind {
		case stmtRemove:
			var err error
			if st.prop.op == opSysProp {
				err = m.SetSystem(st.prop.sys, Value{})
			} else {
				err = m.RemoveProperty(st.prop.name)
			}
			if err != nil {
				return err
			}
		case stmtSet:
			v, err := e.eval(st.expr)
			if err != nil {
				return err
			}
			if st.prop.op == opSysProp {
				v, err = convertForSys(st.prop.sys, v)
				if err != nil {
					return err
				}
				if err := m.SetSystem(st.prop.sys, v); err != nil {
					return err
				}
				continue
			}
			if old, ok := m.Property(st.prop.name); ok {
				v = convertLike(old, v)
			}
			if err := m.SetProperty(st.prop.name, v); err != nil {
				return err
			}
		}
	}
	return nil
}

// convertForSys converts v to the kind a system property holds, using only
// implicit (widening) conversions.
func convertForSys(p SysProp, v Value) (Value, error) {
	want := p.Kind()
	switch {
	case v.kind == KindNull || v.kind == want:
		return v, nil
	case want == KindFloat && v.kind == KindInt:
		return Float(float64(v.bits)), nil
	}
	return Value{}, ErrTypeMismatch
}

// convertLike applies the implicit conversion SET performs when a user
// property already exists with a different type: an integer stored into a
// float property becomes a float. Other combinations replace the type.
func convertLike(old, v Value) Value {
	if old.kind == KindFloat && v.kind == KindInt {
		return Float(float64(v.bits))
	}
	return v
}
