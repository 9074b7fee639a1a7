package filter

// LIKE matching. '%' matches any run of characters (including none), '_'
// matches exactly one character, and an ESCAPE character makes the next
// pattern character literal. Matching is case-sensitive and works on Unicode
// code points. The matcher is iterative (greedy with backtracking to the last
// '%'), so it runs in O(len(s)·len(pattern)) worst case without recursion or
// allocation.
//
// Constant patterns are analysed at compile time: the common shapes 'abc',
// 'abc%', '%abc' and '%abc%' become strings.HasPrefix/HasSuffix/Contains.

import (
	"strings"
	"unicode/utf8"
)

type likeShape uint8

const (
	likeGeneral likeShape = iota
	likeExact
	likePrefix
	likeSuffix
	likeContains
	likeAny
)

// likePattern is a precompiled constant LIKE pattern.
type likePattern struct {
	null    bool // pattern or escape is NULL or not a string: result is UNKNOWN
	shape   likeShape
	lit     string // literal for the fast shapes
	pattern string // full pattern for likeGeneral
	esc     rune   // escape rune, or -1
}

// compileLike validates and analyses a constant pattern and escape.
func compileLike(pat, esc Value, hasEsc bool) (*likePattern, error) {
	ps, ok := pat.Str()
	if !ok {
		return &likePattern{null: true}, nil
	}
	escRune := rune(-1)
	if hasEsc {
		es, ok := esc.Str()
		if !ok {
			return &likePattern{null: true}, nil
		}
		r, size := utf8.DecodeRuneInString(es)
		if size == 0 || size != len(es) {
			return nil, ErrEscape
		}
		escRune = r
	}
	if err := validateLike(ps, escRune); err != nil {
		return nil, err
	}
	lp := &likePattern{shape: likeGeneral, pattern: ps, esc: escRune}
	if escRune >= 0 && strings.ContainsRune(ps, escRune) {
		return lp, nil
	}
	if strings.ContainsRune(ps, '_') {
		return lp, nil
	}
	core := strings.Trim(ps, "%")
	if strings.Contains(core, "%") {
		return lp, nil
	}
	lead := strings.HasPrefix(ps, "%")
	trail := strings.HasSuffix(ps, "%")
	lp.lit = core
	switch {
	case core == "" && (lead || trail):
		lp.shape = likeAny
	case lead && trail:
		lp.shape = likeContains
	case lead:
		lp.shape = likeSuffix
	case trail:
		lp.shape = likePrefix
	default:
		lp.shape = likeExact
	}
	return lp, nil
}

// validateLike checks that every escape character in p is followed by a
// character.
func validateLike(p string, esc rune) error {
	if esc < 0 {
		return nil
	}
	for i := 0; i < len(p); {
		r, n := utf8.DecodeRuneInString(p[i:])
		i += n
		if r == esc {
			if i >= len(p) {
				return ErrBadPattern
			}
			_, n2 := utf8.DecodeRuneInString(p[i:])
			i += n2
		}
	}
	return nil
}

func (lp *likePattern) match(s string) bool {
	switch lp.shape {
	case likeExact:
		return s == lp.lit
	case likePrefix:
		return strings.HasPrefix(s, lp.lit)
	case likeSuffix:
		return strings.HasSuffix(s, lp.lit)
	case likeContains:
		return strings.Contains(s, lp.lit)
	case likeAny:
		return true
	}
	ok, _ := likeMatch(s, lp.pattern, lp.esc) // validated at compile time
	return ok
}

// pattern element kinds
const (
	elemLit = iota
	elemOne
	elemAny
)

// likeElem decodes the pattern element at p[i:]: its kind, literal rune and
// width in bytes.
func likeElem(p string, i int, esc rune) (kind int, r rune, width int, err error) {
	r, n := utf8.DecodeRuneInString(p[i:])
	switch {
	case esc >= 0 && r == esc:
		if i+n >= len(p) {
			return 0, 0, 0, ErrBadPattern
		}
		r2, n2 := utf8.DecodeRuneInString(p[i+n:])
		return elemLit, r2, n + n2, nil
	case r == '%':
		return elemAny, 0, n, nil
	case r == '_':
		return elemOne, 0, n, nil
	}
	return elemLit, r, n, nil
}

// likeMatch reports whether s matches pattern p with escape rune esc (-1 for
// none).
func likeMatch(s, p string, esc rune) (bool, error) {
	si, pi := 0, 0
	starP, starS := -1, 0
	for si < len(s) {
		if pi < len(p) {
			kind, r, w, err := likeElem(p, pi, esc)
			if err != nil {
				return false, err
			}
			if kind == elemAny {
				starP, starS = pi+w, si
				pi += w
				continue
			}
			sr, sw := utf8.DecodeRuneInString(s[si:])
			if kind == elemOne || r == sr {
				si += sw
				pi += w
				continue
			}
		}
		if starP < 0 {
			return false, nil
		}
		_, sw := utf8.DecodeRuneInString(s[starS:])
		starS += sw
		si, pi = starS, starP
	}
	for pi < len(p) {
		kind, _, w, err := likeElem(p, pi, esc)
		if err != nil {
			return false, err
		}
		if kind != elemAny {
			return false, nil
		}
		pi += w
	}
	return true, nil
}
