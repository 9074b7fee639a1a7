package filter

// Evaluation walks the compiled tree. Every node yields a Value; predicates
// yield Bool(true), Bool(false) or Null (UNKNOWN). Nothing here allocates
// except string concatenation with '+' and newid(), so typical filters run
// allocation-free.
//
// Typing follows the documented C# semantics: integers widen to doubles in
// mixed arithmetic and comparison; strings compare ordinally and
// case-sensitively; operands of incompatible kinds (a string against a number,
// a bool against anything but a bool) give UNKNOWN rather than an error, so a
// property sent as the string "10" does not satisfy quantity > 5.

import (
	"math"
	"strings"
	"unicode/utf8"
)

type evaluator struct {
	m     Message
	newID func() string
}

var (
	valTrue  = Bool(true)
	valFalse = Bool(false)
)

// tri converts a value to three-valued logic: 1 true, 0 false, -1 unknown.
func tri(v Value) int {
	if v.kind == KindBool {
		return int(v.bits)
	}
	return -1
}

func fromTri(t int) Value {
	switch t {
	case 1:
		return valTrue
	case 0:
		return valFalse
	}
	return Value{}
}

func (e *evaluator) eval(n *node) (Value, error) {
	switch n.op {
	case opConst:
		return n.val, nil
	case opUserProp:
		if e.m == nil {
			return Value{}, nil
		}
		v, ok := e.m.Property(n.name)
		if !ok {
			return Value{}, nil
		}
		return v, nil
	case opSysProp:
		if e.m == nil {
			return Value{}, nil
		}
		v, ok := e.m.System(n.sys)
		if !ok {
			return Value{}, nil
		}
		return v, nil
	case opPropFunc:
		name, err := e.eval(n.l)
		if err != nil {
			return Value{}, err
		}
		return e.propertyByName(name), nil
	case opNewID:
		if e.newID == nil {
			return String(randomUUID()), nil
		}
		return String(e.newID()), nil
	case opNeg, opPos:
		x, err := e.eval(n.l)
		if err != nil {
			return Value{}, err
		}
		return unary(n.op, x), nil
	case opAdd, opSub, opMul, opDiv, opMod:
		l, err := e.eval(n.l)
		if err != nil {
			return Value{}, err
		}
		r, err := e.eval(n.r)
		if err != nil {
			return Value{}, err
		}
		return arith(n.op, l, r)
	case opEq, opNe, opLt, opLe, opGt, opGe:
		l, err := e.eval(n.l)
		if err != nil {
			return Value{}, err
		}
		r, err := e.eval(n.r)
		if err != nil {
			return Value{}, err
		}
		return compare(n.op, l, r), nil
	case opAnd:
		l, err := e.eval(n.l)
		if err != nil {
			return Value{}, err
		}
		lt := tri(l)
		if lt == 0 {
			return valFalse, nil
		}
		r, err := e.eval(n.r)
		if err != nil {
			return Value{}, err
		}
		rt := tri(r)
		switch {
		case rt == 0:
			return valFalse, nil
		case lt == 1 && rt == 1:
			return valTrue, nil
		}
		return Value{}, nil
	case opOr:
		l, err := e.eval(n.l)
		if err != nil {
			return Value{}, err
		}
		lt := tri(l)
		if lt == 1 {
			return valTrue, nil
		}
		r, err := e.eval(n.r)
		if err != nil {
			return Value{}, err
		}
		rt := tri(r)
		switch {
		case rt == 1:
			return valTrue, nil
		case lt == 0 && rt == 0:
			return valFalse, nil
		}
		return Value{}, nil
	case opNot:
		x, err := e.eval(n.l)
		if err != nil {
			return Value{}, err
		}
		switch tri(x) {
		case 1:
			return valFalse, nil
		case 0:
			return valTrue, nil
		}
		return Value{}, nil
	case opIsNull:
		x, err := e.eval(n.l)
		if err != nil {
			return Value{}, err
		}
		return Bool(x.IsNull() != n.neg), nil
	case opExists:
		return Bool(e.exists(n.l)), nil
	case opIn:
		return e.in(n)
	case opLike:
		return e.likeNode(n)
	}
	panic("filter: unknown node op") // broken invariant: the parser made it
}

func (e *evaluator) exists(prop *node) bool {
	if e.m == nil {
		return false
	}
	switch prop.op {
	case opUserProp:
		_, ok := e.m.Property(prop.name)
		return ok
	case opSysProp:
		_, ok := e.m.System(prop.sys)
		return ok
	}
	return false
}

// propertyByName implements property(name): "sys.X" reads a system property,
// "user.X" or a bare name reads an application property.
func (e *evaluator) propertyByName(name Value) Value {
	s, ok := name.Str()
	if !ok || e.m == nil {
		return Value{}
	}
	if len(s) > 4 && strings.EqualFold(s[:4], "sys.") {
		sp, ok := LookupSysProp(s)
		if !ok {
			return Value{}
		}
		v, _ := e.m.System(sp)
		return v
	}
	if len(s) > 5 && strings.EqualFold(s[:5], "user.") {
		s = s[5:]
	}
	v, _ := e.m.Property(s)
	return v
}

func (e *evaluator) in(n *node) (Value, error) {
	l, err := e.eval(n.l)
	if err != nil {
		return Value{}, err
	}
	if l.IsNull() {
		return Value{}, nil
	}
	found := false
	for _, item := range n.list {
		v, err := e.eval(item)
		if err != nil {
			return Value{}, err
		}
		if c := compare(opEq, l, v); c.kind == KindBool && c.bits == 1 {
			found = true
			break
		}
	}
	return Bool(found != n.neg), nil
}

func (e *evaluator) likeNode(n *node) (Value, error) {
	l, err := e.eval(n.l)
	if err != nil {
		return Value{}, err
	}
	if n.like != nil {
		s, ok := l.Str()
		if !ok || n.like.null {
			return Value{}, nil
		}
		return Bool(n.like.match(s) != n.neg), nil
	}
	pat, err := e.eval(n.r)
	if err != nil {
		return Value{}, err
	}
	escVal := Value{}
	if n.esc != nil {
		if escVal, err = e.eval(n.esc); err != nil {
			return Value{}, err
		}
	}
	s, ok := l.Str()
	ps, pok := pat.Str()
	if !ok || !pok || (n.esc != nil && escVal.kind != KindString) {
		return Value{}, nil
	}
	esc := rune(-1)
	if n.esc != nil {
		r, size := utf8.DecodeRuneInString(escVal.str)
		if size == 0 || size != len(escVal.str) {
			return Value{}, ErrEscape
		}
		esc = r
	}
	if err := validateLike(ps, esc); err != nil {
		return Value{}, err
	}
	matched, err := likeMatch(s, ps, esc)
	if err != nil {
		return Value{}, err
	}
	return Bool(matched != n.neg), nil
}

// unary applies unary minus or plus. Non-numeric operands give UNKNOWN.
func unary(o op, x Value) Value {
	switch x.kind {
	case KindInt:
		if o == opNeg {
			return Int(-x.bits) // wraps for MinInt64, as unchecked C# does
		}
		return x
	case KindFloat:
		if o == opNeg {
			f, _ := x.Float()
			return Float(-f)
		}
		return x
	case KindDuration:
		if o == opNeg {
			return DurationTicks(-x.bits)
		}
		return x
	}
	return Value{}
}

// arith applies a binary arithmetic operator.
func arith(o op, l, r Value) (Value, error) {
	if l.kind == KindNull || r.kind == KindNull {
		return Value{}, nil
	}
	switch {
	case l.kind == KindInt && r.kind == KindInt:
		a, b := l.bits, r.bits
		switch o {
		case opAdd:
			return Int(a + b), nil
		case opSub:
			return Int(a - b), nil
		case opMul:
			return Int(a * b), nil
		case opDiv, opMod:
			if b == 0 {
				return Value{}, ErrDivideByZero
			}
			if a == math.MinInt64 && b == -1 {
				return Value{}, ErrOverflow
			}
			if o == opDiv {
				return Int(a / b), nil
			}
			return Int(a % b), nil
		}
	case isNumber(l) && isNumber(r):
		a, b := toFloat(l), toFloat(r)
		switch o {
		case opAdd:
			return Float(a + b), nil
		case opSub:
			return Float(a - b), nil
		case opMul:
			return Float(a * b), nil
		case opDiv:
			return Float(a / b), nil
		case opMod:
			return Float(math.Mod(a, b)), nil
		}
	case l.kind == KindString && r.kind == KindString:
		if o == opAdd {
			return String(l.str + r.str), nil
		}
	case l.kind == KindTime && r.kind == KindDuration:
		switch o {
		case opAdd:
			return TimeTicks(l.bits + r.bits), nil
		case opSub:
			return TimeTicks(l.bits - r.bits), nil
		}
	case l.kind == KindDuration && r.kind == KindTime:
		if o == opAdd {
			return TimeTicks(l.bits + r.bits), nil
		}
	case l.kind == KindTime && r.kind == KindTime:
		if o == opSub {
			return DurationTicks(l.bits - r.bits), nil
		}
	case l.kind == KindDuration && r.kind == KindDuration:
		switch o {
		case opAdd:
			return DurationTicks(l.bits + r.bits), nil
		case opSub:
			return DurationTicks(l.bits - r.bits), nil
		}
	}
	return Value{}, nil
}

func isNumber(v Value) bool { return v.kind == KindInt || v.kind == KindFloat }

func toFloat(v Value) float64 {
	if v.kind == KindInt {
		return float64(v.bits)
	}
	f, _ := v.Float()
	return f
}

// compare applies a comparison operator with SQL semantics: NULL or
// incompatible operands give UNKNOWN.
func compare(o op, l, r Value) Value {
	if l.kind == KindNull || r.kind == KindNull {
		return Value{}
	}
	var c int
	switch {
	case l.kind == KindInt && r.kind == KindInt:
		c = cmpInt(l.bits, r.bits)
	case isNumber(l) && isNumber(r):
		a, b := toFloat(l), toFloat(r)
		if a != a || b != b { // NaN: only <> holds
			return Bool(o == opNe)
		}
		switch {
		case a < b:
			c = -1
		case a > b:
			c = 1
		}
	case l.kind == KindString && r.kind == KindString:
		c = strings.Compare(l.str, r.str)
	case l.kind == KindBool && r.kind == KindBool:
		if o != opEq && o != opNe {
			return Value{}
		}
		c = cmpInt(l.bits, r.bits)
	case (l.kind == KindTime && r.kind == KindTime) || (l.kind == KindDuration && r.kind == KindDuration):
		c = cmpInt(l.bits, r.bits)
	default:
		return Value{}
	}
	switch o {
	case opEq:
		return Bool(c == 0)
	case opNe:
		return Bool(c != 0)
	case opLt:
		return Bool(c < 0)
	case opLe:
		return Bool(c <= 0)
	case opGt:
		return Bool(c > 0)
	case opGe:
		return Bool(c >= 0)
	}
	return Value{}
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// foldNode replaces constant subtrees with their value. Subtrees whose
// evaluation fails (1/0) are left for run time, where the error surfaces.
func foldNode(n *node) *node {
	if n == nil {
		return nil
	}
	n.l = foldNode(n.l)
	n.r = foldNode(n.r)
	n.esc = foldNode(n.esc)
	for i := range n.list {
		n.list[i] = foldNode(n.list[i])
	}
	if n.op == opConst || !foldable(n) {
		return n
	}
	e := evaluator{}
	v, err := e.eval(n)
	if err != nil {
		return n
	}
	return &node{op: opConst, pred: n.pred, val: v, off: n.off}
}

// foldable reports whether n is a pure operator whose operands are constant.
func foldable(n *node) bool {
	switch n.op {
	case opUserProp, opSysProp, opPropFunc, opNewID, opIsNull, opExists:
		return false
	}
	for _, c := range [...]*node{n.l, n.r, n.esc} {
		if c != nil && !c.isConst() {
			return false
		}
	}
	for _, c := range n.list {
		if !c.isConst() {
			return false
		}
	}
	return true
}
