package filter

import (
	"errors"
	"strings"
	"testing"
)

// Seed corpora live in testdata/fuzz/FuzzCompile and testdata/fuzz/FuzzEval;
// they hold every documented Azure example (testdata/azure_examples.txt) and
// the crashers fuzzing has found.

func fuzzOptions() *Options {
	o := testParams()
	o.MaxLength = -1
	return o
}

func FuzzCompile(f *testing.F) {
	f.Add("color = 'red' AND quantity > 10")
	f.Fuzz(func(t *testing.T, text string) {
		if len(text) > 4096 {
			return
		}
		opts := fuzzOptions()
		flt, err := CompileOptions(text, opts)
		checkCompileResult(t, text, err)
		if err == nil {
			if flt.String() != text {
				t.Fatalf("String() = %q, want %q", flt.String(), text)
			}
			_, _ = flt.Eval(sampleMsg())
		}
		act, err := CompileActionOptions(text, opts)
		checkCompileResult(t, text, err)
		if err == nil {
			if act.String() != text {
				t.Fatalf("action String() = %q", act.String())
			}
			_ = act.Apply(sampleMsg())
		}
	})
}

// checkCompileResult asserts that a compile error is a well-formed
// *SyntaxError.
func checkCompileResult(t *testing.T, text string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	se, ok := err.(*SyntaxError)
	if !ok {
		t.Fatalf("%q: error %T %v is not *SyntaxError", text, err, err)
	}
	if se.Offset < 0 || se.Offset > len(text) || se.Line < 1 || se.Column < 1 || se.Err == nil {
		t.Fatalf("%q: malformed error %+v", text, se)
	}
	if !strings.HasPrefix(text[se.Offset:], se.Token) {
		t.Fatalf("%q: token %q not at offset %d", text, se.Token, se.Offset)
	}
	line, col := position(text, se.Offset)
	if line != se.Line || col != se.Column {
		t.Fatalf("%q: position %d:%d, want %d:%d", text, se.Line, se.Column, line, col)
	}
	if !errors.Is(err, se.Err) || !strings.HasPrefix(err.Error(), "filter: ") {
		t.Fatalf("%q: bad error chain or text %q", text, err)
	}
}

// fuzzNames are the application property names fuzzed messages carry.
var fuzzNames = [...]string{"a", "b", "color", "quantity", "price", "region", "priority", "x", "StoreId", "tag", "user", "A"}

// msgFromBytes builds a message from fuzz bytes: each property takes a
// selector byte, a kind byte and up to 8 value bytes.
func msgFromBytes(data []byte) *testMsg {
	m := newTestMsg()
	for len(data) >= 2 {
		sel, kind := data[0], data[1]
		data = data[2:]
		var raw int64
		n := min(len(data), 8)
		for _, c := range data[:n] {
			raw = raw<<8 | int64(c)
		}
		str := string(data[:n])
		data = data[n:]
		var v Value
		switch kind % 8 {
		case 0:
			v = Null()
		case 1:
			v = Bool(raw&1 == 1)
		case 2:
			v = Int(raw)
		case 3:
			v = Int(raw % 16)
		case 4:
			v = Float(float64(raw) / 7)
		case 5:
			v = String(str)
		case 6:
			v = TimeTicks(raw)
		case 7:
			v = DurationTicks(raw)
		}
		if int(sel)%2 == 0 {
			m.props[fuzzNames[int(sel/2)%len(fuzzNames)]] = v
		} else {
			p := SysProp(1 + int(sel/2)%int(numSysProps-1))
			m.sys[p] = v
		}
	}
	return m
}

func FuzzEval(f *testing.F) {
	f.Add("color = 'red' AND quantity > 10", []byte{4, 5, 'r', 'e', 'd', 6, 3, 11})
	f.Fuzz(func(t *testing.T, text string, data []byte) {
		if len(text) > 4096 || len(data) > 4096 {
			return
		}
		opts := fuzzOptions()
		m := msgFromBytes(data)
		flt, err := CompileOptions(text, opts)
		if err == nil {
			ok, evalErr := flt.Eval(m)
			if flt.Match(m) != (ok && evalErr == nil) {
				t.Fatalf("%q: Match disagrees with Eval", text)
			}
			e := evaluator{m: m, newID: flt.newID}
			v, err1 := e.eval(flt.root)
			// Three-valued NOT must invert TRUE and FALSE and keep UNKNOWN.
			not := &node{op: opNot, pred: true, l: flt.root}
			nv, err2 := e.eval(not)
			if (err1 == nil) != (err2 == nil) || (err1 == nil && tri(nv) != map[int]int{1: 0, 0: 1, -1: -1}[tri(v)]) {
				t.Fatalf("%q: NOT of %v gave %v", text, v, nv)
			}
			// Parenthesizing a filter must not change its meaning.
			paren, err := CompileOptions("("+text+")", opts)
			if err != nil && !errors.Is(err, ErrTooComplex) {
				t.Fatalf("%q compiles but not in parentheses: %v", text, err)
			}
			if err == nil {
				qe := evaluator{m: m, newID: paren.newID}
				qv, errq := qe.eval(paren.root)
				if errq != err1 || (err1 == nil && !sameValue(v, qv)) {
					t.Fatalf("%q: %v, %v; parenthesized %v, %v", text, v, err1, qv, errq)
				}
			}
			// Constant folding and LIKE precompilation must not change
			// results.
			plainOpts := fuzzOptions()
			plainOpts.noFold = true
			plain, err := CompileOptions(text, plainOpts)
			if err != nil {
				t.Fatalf("%q: compiles folded but not plain: %v", text, err)
			}
			pe := evaluator{m: m, newID: plain.newID}
			pv, err3 := pe.eval(plain.root)
			if err1 != err3 || (err1 == nil && !sameValue(v, pv)) {
				t.Fatalf("%q: folded %v, %v; plain %v, %v", text, v, err1, pv, err3)
			}
		}
		if act, err := CompileActionOptions(text, opts); err == nil {
			_ = act.Apply(m)
		}
	})
}

// sameValue is Value.Equal that also treats NaN as equal to NaN.
func sameValue(a, b Value) bool { return a.Equal(b) }

// TestLikeMatchesReference cross-checks the iterative LIKE matcher against
// a simple recursive definition.
func TestLikeMatchesReference(t *testing.T) {
	t.Parallel()
	alphabet := []string{"a", "b", "%", "_", "!"}
	var patterns []string
	var gen func(prefix string, depth int)
	gen = func(prefix string, depth int) {
		patterns = append(patterns, prefix)
		if depth == 0 {
			return
		}
		for _, c := range alphabet {
			gen(prefix+c, depth-1)
		}
	}
	gen("", 4)
	subjects := []string{"", "a", "b", "ab", "ba", "aab", "abab", "a!b", "!", "%", "_a", "é", "aé"}
	for _, p := range patterns {
		for _, esc := range []rune{-1, '!'} {
			for _, s := range subjects {
				err := validateLike(p, esc)
				got := false
				if err == nil {
					got, err = likeMatch(s, p, esc)
				}
				want, werr := refLike([]rune(s), []rune(p), esc)
				if (err != nil) != werr || (err == nil && got != want) {
					t.Fatalf("likeMatch(%q, %q, %q) = %v, %v; want %v, %v", s, p, esc, got, err, want, werr)
				}
				if err == nil && esc < 0 {
					lp, cerr := compileLike(String(p), Null(), false)
					if cerr != nil || lp.match(s) != want {
						t.Fatalf("compiled %q on %q: %v", p, s, cerr)
					}
				}
			}
		}
	}
}

func refLike(s, p []rune, esc rune) (bool, bool) {
	if len(p) == 0 {
		return len(s) == 0, false
	}
	switch {
	case esc >= 0 && p[0] == esc:
		if len(p) < 2 {
			return false, true
		}
		if len(s) == 0 || s[0] != p[1] {
			_, bad := refLike(nil, p[2:], esc) // validate the rest
			return false, bad
		}
		return refLike(s[1:], p[2:], esc)
	case p[0] == '%':
		for i := 0; i <= len(s); i++ {
			ok, bad := refLike(s[i:], p[1:], esc)
			if bad || ok {
				return ok, bad
			}
		}
		return false, false
	case len(s) == 0:
		_, bad := refLike(nil, p[1:], esc)
		return false, bad
	case p[0] == '_' || p[0] == s[0]:
		return refLike(s[1:], p[1:], esc)
	}
	_, bad := refLike(nil, p[1:], esc)
	return false, bad
}
