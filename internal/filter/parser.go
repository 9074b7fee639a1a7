package filter

// The parser is a recursive-descent parser over the grammar in doc.go. It
// builds a tree of *node that eval.go walks. Predicates (comparisons, AND,
// OR, NOT, LIKE, IN, IS NULL, EXISTS) and expressions (constants, properties,
// arithmetic) share one node type; each node records statically whether it
// is a predicate so that arithmetic on a predicate, or a comparison of two
// predicates, is rejected at compile time as the grammar requires. A bare
// expression is accepted where a predicate is expected (a boolean property or
// TRUE): at run time a non-boolean value there is unknown.

import (
	"math"
	"strconv"
	"strings"
)

// op is a node operation.
type op uint8

const (
	opConst op = iota
	opUserProp
	opSysProp
	opPropFunc // property(name) / p(name)
	opNewID
	opNeg
	opPos
	opAdd
	opSub
	opMul
	opDiv
	opMod
	opEq
	opNe
	opLt
	opLe
	opGt
	opGe
	opAnd
	opOr
	opNot
	opIsNull // neg: IS NOT NULL
	opExists
	opIn   // neg: NOT IN
	opLike // neg: NOT LIKE
)

// node is one vertex of a compiled expression tree. Trees are immutable after
// compilation and safe for concurrent evaluation.
type node struct {
	op   op
	pred bool // the node is a predicate
	neg  bool // NOT variant of IS NULL, IN, LIKE
	val  Value
	name string  // user property name
	sys  SysProp // system property
	l, r *node
	esc  *node   // LIKE escape, or nil
	list []*node // IN list
	like *likePattern
	off  int // offset of the operator or operand in the text
}

func (n *node) isConst() bool { return n.op == opConst }

// maxDepth bounds nesting so hostile input cannot exhaust the stack.
const maxDepth = 1000

// parser turns tokens into a tree. One parser compiles one text.
type parser struct {
	lx     lexer
	tok    tok // current token
	peeked bool
	ahead  tok // token after tok, valid when peeked
	depth  int
	opts   *Options
}

func newParser(text string, opts *Options) (*parser, *SyntaxError) {
	p := &parser{lx: lexer{src: text}, opts: opts}
	if err := p.advance(); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *parser) advance() *SyntaxError {
	if p.peeked {
		p.tok = p.ahead
		p.peeked = false
		return nil
	}
	t, err := p.lx.next()
	if err != nil {
		return err
	}
	p.tok = t
	return nil
}

func (p *parser) peek() (tok, *SyntaxError) {
	if !p.peeked {
		t, err := p.lx.next()
		if err != nil {
			return tok{}, err
		}
		p.ahead = t
		p.peeked = true
	}
	return p.ahead, nil
}

func (p *parser) errAt(t tok, class error, msg string) *SyntaxError {
	return newSyntaxError(p.lx.src, t.off, t.text, class, msg)
}

func (p *parser) unexpected(what string) *SyntaxError {
	if p.tok.kind == tokEOF {
		return p.errAt(p.tok, ErrSyntax, what+" expected")
	}
	return p.errAt(p.tok, ErrSyntax, "unexpected token, "+what+" expected")
}

// keywords cannot be used as regular identifiers.
var keywords = [...]string{"AND", "OR", "NOT", "IS", "NULL", "IN", "LIKE", "ESCAPE", "EXISTS", "TRUE", "FALSE"}

func isKeyword(s string) bool {
	for _, k := range keywords {
		if strings.EqualFold(s, k) {
			return true
		}
	}
	return false
}

// isKw reports whether the current token is the keyword kw.
func (p *parser) isKw(kw string) bool {
	return p.tok.kind == tokIdent && strings.EqualFold(p.tok.text, kw)
}

func (p *parser) isOp(s string) bool { return p.tok.kind == tokOp && p.tok.text == s }

func (p *parser) expectOp(s string) *SyntaxError {
	if !p.isOp(s) {
		return p.unexpected(strconv.Quote(s))
	}
	return p.advance()
}

func (p *parser) enter() *SyntaxError {
	p.depth++
	if p.depth > maxDepth {
		return p.errAt(p.tok, ErrTooComplex, "expression nested too deeply")
	}
	return nil
}

func (p *parser) leave() { p.depth-- }

// parsePredicate parses an OR-list: the start symbol of a filter.
func (p *parser) parsePredicate() (*node, *SyntaxError) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	l, err := p.parseAnd()
	if err != nil {
		return nil, err
	}
	for p.isKw("OR") {
		off := p.tok.off
		if err := p.advance(); err != nil {
			return nil, err
		}
		r, err := p.parseAnd()
		if err != nil {
			return nil, err
		}
		l = &node{op: opOr, pred: true, l: l, r: r, off: off}
	}
	return l, nil
}

func (p *parser) parseAnd() (*node, *SyntaxError) {
	l, err := p.parseNot()
	if err != nil {
		return nil, err
	}
	for p.isKw("AND") {
		off := p.tok.off
		if err := p.advance(); err != nil {
			return nil, err
		}
		r, err := p.parseNot()
		if err != nil {
			return nil, err
		}
		l = &node{op: opAnd, pred: true, l: l, r: r, off: off}
	}
	return l, nil
}

func (p *parser) parseNot() (*node, *SyntaxError) {
	if !p.isKw("NOT") {
		return p.parseCondition()
	}
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	off := p.tok.off
	if err := p.advance(); err != nil {
		return nil, err
	}
	x, err := p.parseNot()
	if err != nil {
		return nil, err
	}
	return &node{op: opNot, pred: true, l: x, off: off}, nil
}

var comparisons = map[string]op{"=": opEq, "<>": opNe, "!=": opNe, "<": opLt, "<=": opLe, ">": opGt, ">=": opGe}

// parseCondition parses EXISTS, a comparison, IS [NOT] NULL, [NOT] IN,
// [NOT] LIKE, or a bare expression / parenthesized predicate.
func (p *parser) parseCondition() (*node, *SyntaxError) {
	if p.isKw("EXISTS") {
		off := p.tok.off
		if err := p.advance(); err != nil {
			return nil, err
		}
		if err := p.expectOp("("); err != nil {
			return nil, err
		}
		prop, err := p.parseProperty()
		if err != nil {
			return nil, err
		}
		if err := p.expectOp(")"); err != nil {
			return nil, err
		}
		return &node{op: opExists, pred: true, l: prop, off: off}, nil
	}
	lt := p.tok
	l, err := p.parseAdditive()
	if err != nil {
		return nil, err
	}
	if p.tok.kind == tokOp {
		if o, ok := comparisons[p.tok.text]; ok {
			if l.pred {
				return nil, p.errAt(p.tok, ErrSyntax, "a predicate cannot be compared")
			}
			off := p.tok.off
			if err := p.advance(); err != nil {
				return nil, err
			}
			rt := p.tok
			r, err := p.parseAdditive()
			if err != nil {
				return nil, err
			}
			if r.pred {
				return nil, p.errAt(rt, ErrSyntax, "a predicate cannot be compared")
			}
			return &node{op: o, pred: true, l: l, r: r, off: off}, nil
		}
		return l, nil
	}
	if p.isKw("IS") {
		off := p.tok.off
		if l.op != opUserProp && l.op != opSysProp {
			return nil, p.errAt(lt, ErrSyntax, "IS NULL applies to a property")
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
		n := &node{op: opIsNull, pred: true, l: l, off: off}
		if p.isKw("NOT") {
			n.neg = true
			if err := p.advance(); err != nil {
				return nil, err
			}
		}
		if !p.isKw("NULL") {
			return nil, p.unexpected("NULL")
		}
		return n, p.advance()
	}
	neg := false
	if p.isKw("NOT") {
		nt, err := p.peek()
		if err != nil {
			return nil, err
		}
		if nt.kind != tokIdent || !(strings.EqualFold(nt.text, "IN") || strings.EqualFold(nt.text, "LIKE")) {
			return nil, newSyntaxError(p.lx.src, nt.off, nt.text, ErrSyntax, "IN or LIKE expected after NOT")
		}
		neg = true
		if err := p.advance(); err != nil {
			return nil, err
		}
	}
	switch {
	case p.isKw("IN"):
		return p.parseIn(l, lt, neg)
	case p.isKw("LIKE"):
		return p.parseLike(l, lt, neg)
	}
	return l, nil
}

func (p *parser) parseIn(l *node, lt tok, neg bool) (*node, *SyntaxError) {
	if l.pred {
		return nil, p.errAt(lt, ErrSyntax, "IN applies to an expression, not a predicate")
	}
	n := &node{op: opIn, pred: true, neg: neg, l: l, off: p.tok.off}
	if err := p.advance(); err != nil {
		return nil, err
	}
	if err := p.expectOp("("); err != nil {
		return nil, err
	}
	for {
		it := p.tok
		x, err := p.parseAdditive()
		if err != nil {
			return nil, err
		}
		if x.pred {
			return nil, p.errAt(it, ErrSyntax, "IN list items must be expressions")
		}
		n.list = append(n.list, x)
		if p.isOp(",") {
			if err := p.advance(); err != nil {
				return nil, err
			}
			continue
		}
		if err := p.expectOp(")"); err != nil {
			return nil, err
		}
		return n, nil
	}
}

func (p *parser) parseLike(l *node, lt tok, neg bool) (*node, *SyntaxError) {
	if l.pred {
		return nil, p.errAt(lt, ErrSyntax, "LIKE applies to an expression, not a predicate")
	}
	n := &node{op: opLike, pred: true, neg: neg, l: l, off: p.tok.off}
	if err := p.advance(); err != nil {
		return nil, err
	}
	pt := p.tok
	pat, err := p.parseAdditive()
	if err != nil {
		return nil, err
	}
	if pat.pred {
		return nil, p.errAt(pt, ErrSyntax, "LIKE pattern must be an expression")
	}
	n.r = pat
	et := pt
	if p.isKw("ESCAPE") {
		if err := p.advance(); err != nil {
			return nil, err
		}
		et = p.tok
		esc, err := p.parseAdditive()
		if err != nil {
			return nil, err
		}
		if esc.pred {
			return nil, p.errAt(et, ErrSyntax, "LIKE escape must be an expression")
		}
		n.esc = esc
	}
	// Validate and precompile constant patterns.
	if p.opts != nil && p.opts.noFold {
		return n, nil
	}
	pat, esc := foldNode(n.r), n.esc
	if esc != nil {
		esc = foldNode(esc)
	}
	if pat.isConst() && (esc == nil || esc.isConst()) {
		escVal := Null()
		if esc != nil {
			escVal = esc.val
		}
		lp, err := compileLike(pat.val, escVal, esc != nil)
		if err != nil {
			if err == ErrEscape {
				return nil, p.errAt(et, err, "the escape must be exactly one character")
			}
			return nil, p.errAt(pt, err, "the pattern ends with the escape character")
		}
		n.like = lp
	}
	return n, nil
}

func (p *parser) parseAdditive() (*node, *SyntaxError) {
	l, err := p.parseMultiplicative()
	if err != nil {
		return nil, err
	}
	for p.isOp("+") || p.isOp("-") {
		o := opAdd
		if p.tok.text == "-" {
			o = opSub
		}
		opTok := p.tok
		if err := p.advance(); err != nil {
			return nil, err
		}
		rt := p.tok
		r, err := p.parseMultiplicative()
		if err != nil {
			return nil, err
		}
		if l.pred {
			return nil, p.errAt(opTok, ErrSyntax, "arithmetic on a predicate")
		}
		if r.pred {
			return nil, p.errAt(rt, ErrSyntax, "arithmetic on a predicate")
		}
		l = &node{op: o, l: l, r: r, off: opTok.off}
	}
	return l, nil
}

func (p *parser) parseMultiplicative() (*node, *SyntaxError) {
	l, err := p.parseUnary()
	if err != nil {
		return nil, err
	}
	for p.isOp("*") || p.isOp("/") || p.isOp("%") {
		o := opMul
		switch p.tok.text {
		case "/":
			o = opDiv
		case "%":
			o = opMod
		}
		opTok := p.tok
		if err := p.advance(); err != nil {
			return nil, err
		}
		rt := p.tok
		r, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		if l.pred {
			return nil, p.errAt(opTok, ErrSyntax, "arithmetic on a predicate")
		}
		if r.pred {
			return nil, p.errAt(rt, ErrSyntax, "arithmetic on a predicate")
		}
		l = &node{op: o, l: l, r: r, off: opTok.off}
	}
	return l, nil
}

func (p *parser) parseUnary() (*node, *SyntaxError) {
	if !p.isOp("-") && !p.isOp("+") {
		return p.parsePrimary()
	}
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	opTok := p.tok
	if err := p.advance(); err != nil {
		return nil, err
	}
	// -9223372036854775808 is representable only as a whole.
	if opTok.text == "-" && p.tok.kind == tokInt && p.tok.text == "9223372036854775808" {
		n := &node{op: opConst, val: Int(math.MinInt64), off: opTok.off}
		return n, p.advance()
	}
	xt := p.tok
	x, err := p.parseUnary()
	if err != nil {
		return nil, err
	}
	if x.pred {
		return nil, p.errAt(xt, ErrSyntax, "arithmetic on a predicate")
	}
	o := opNeg
	if opTok.text == "+" {
		o = opPos
	}
	return &node{op: o, l: x, off: opTok.off}, nil
}

func (p *parser) parsePrimary() (*node, *SyntaxError) {
	t := p.tok
	switch t.kind {
	case tokEOF:
		return nil, p.unexpected("expression")
	case tokString:
		return &node{op: opConst, val: String(t.val), off: t.off}, p.advance()
	case tokInt:
		i, err := strconv.ParseInt(t.text, 10, 64)
		if err != nil {
			return nil, p.errAt(t, ErrSyntax, "integer constant out of range")
		}
		return &node{op: opConst, val: Int(i), off: t.off}, p.advance()
	case tokDecimal:
		f, err := strconv.ParseFloat(t.text, 64)
		if err != nil || math.IsInf(f, 0) {
			return nil, p.errAt(t, ErrSyntax, "numeric constant out of range")
		}
		return &node{op: opConst, val: Float(f), off: t.off}, p.advance()
	case tokParam:
		v, ok := p.opts.lookupParam(t.text)
		if !ok {
			return nil, p.errAt(t, ErrUnknownParameter, "no value for parameter "+t.text)
		}
		return &node{op: opConst, val: v, off: t.off}, p.advance()
	case tokQuoted, tokBracket:
		return p.parseProperty()
	case tokOp:
		if t.text == "(" {
			if err := p.advance(); err != nil {
				return nil, err
			}
			x, err := p.parsePredicate()
			if err != nil {
				return nil, err
			}
			return x, p.expectOp(")")
		}
		return nil, p.unexpected("expression")
	}
	// Identifier: keyword constant, function call or property.
	switch {
	case strings.EqualFold(t.text, "TRUE"):
		return &node{op: opConst, val: Bool(true), off: t.off}, p.advance()
	case strings.EqualFold(t.text, "FALSE"):
		return &node{op: opConst, val: Bool(false), off: t.off}, p.advance()
	case strings.EqualFold(t.text, "NULL"):
		return &node{op: opConst, off: t.off}, p.advance()
	}
	nt, err := p.peek()
	if err != nil {
		return nil, err
	}
	if nt.kind == tokOp && nt.text == "(" && !isKeyword(t.text) {
		return p.parseCall()
	}
	return p.parseProperty()
}

// parseCall parses newid(), property(expr) and p(expr).
func (p *parser) parseCall() (*node, *SyntaxError) {
	t := p.tok
	name := strings.ToLower(t.text)
	if err := p.advance(); err != nil { // name
		return nil, err
	}
	if err := p.advance(); err != nil { // (
		return nil, err
	}
	switch name {
	case "newid":
		if err := p.expectOp(")"); err != nil {
			return nil, err
		}
		return &node{op: opNewID, off: t.off}, nil
	case "property", "p":
		at := p.tok
		x, err := p.parseAdditive()
		if err != nil {
			return nil, err
		}
		if x.pred {
			return nil, p.errAt(at, ErrSyntax, "property name must be an expression")
		}
		if err := p.expectOp(")"); err != nil {
			return nil, err
		}
		return &node{op: opPropFunc, l: x, off: t.off}, nil
	}
	return nil, p.errAt(t, ErrUnknownFunction, "unknown function "+t.text+"()")
}

// parseProperty parses [sys. | user.] name, where name is a regular,
// quoted or delimited identifier.
func (p *parser) parseProperty() (*node, *SyntaxError) {
	t := p.tok
	scope := ""
	if t.kind == tokIdent && (strings.EqualFold(t.text, "sys") || strings.EqualFold(t.text, "user")) {
		nt, err := p.peek()
		if err != nil {
			return nil, err
		}
		if nt.kind == tokOp && nt.text == "." {
			scope = strings.ToLower(t.text)
			if err := p.advance(); err != nil {
				return nil, err
			}
			if err := p.advance(); err != nil {
				return nil, err
			}
		}
	}
	nt := p.tok
	switch nt.kind {
	case tokIdent:
		if scope == "" && isKeyword(nt.text) {
			return nil, p.errAt(nt, ErrSyntax, "reserved keyword "+strings.ToUpper(nt.text)+" cannot be a property name")
		}
	case tokQuoted, tokBracket:
	default:
		return nil, p.unexpected("property name")
	}
	if err := p.advance(); err != nil {
		return nil, err
	}
	if p.isOp(".") {
		return nil, p.errAt(p.tok, ErrSyntax, "unexpected '.'; use [delimited] identifiers for names containing dots")
	}
	if scope == "sys" {
		sp, ok := LookupSysProp(nt.val)
		if !ok {
			return nil, p.errAt(nt, ErrUnknownSystemProperty, "unknown system property sys."+nt.val)
		}
		return &node{op: opSysProp, sys: sp, off: t.off}, nil
	}
	return &node{op: opUserProp, name: nt.val, off: t.off}, nil
}
