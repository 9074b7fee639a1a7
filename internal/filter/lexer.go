package filter

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// tokKind classifies a token.
type tokKind uint8

const (
	tokEOF     tokKind = iota
	tokIdent           // regular identifier or keyword
	tokQuoted          // "quoted identifier"
	tokBracket         // [delimited identifier]
	tokString          // 'string constant'
	tokInt             // integer constant
	tokDecimal         // decimal or approximate number constant
	tokParam           // @parameter
	tokOp              // operator or punctuation; see tok.text
)

// tok is one lexical token. text is the token exactly as written; val is the
// decoded value for identifiers and strings.
type tok struct {
	kind tokKind
	off  int
	text string
	val  string
}

// lexer splits filter text into tokens. It is used once, by one parser.
type lexer struct {
	src string
	pos int
}

func isIdentStart(r rune) bool { return unicode.IsLetter(r) }

func isIdentPart(r rune) bool { return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) }

func isASCIIDigit(c byte) bool { return c >= '0' && c <= '9' }

// next returns the next token or a syntax error.
func (lx *lexer) next() (tok, *SyntaxError) {
	src := lx.src
	// Skip white space.
	for lx.pos < len(src) {
		r, n := utf8.DecodeRuneInString(src[lx.pos:])
		if !unicode.IsSpace(r) {
			break
		}
		lx.pos += n
	}
	start := lx.pos
	if start >= len(src) {
		return tok{kind: tokEOF, off: start}, nil
	}
	c := src[start]
	switch {
	case c == '\'':
		return lx.quoted('\'', '\'', tokString, "unterminated string constant")
	case c == '"':
		return lx.quoted('"', '"', tokQuoted, "unterminated quoted identifier")
	case c == '[':
		return lx.quoted('[', ']', tokBracket, "unterminated delimited identifier")
	case isASCIIDigit(c) || (c == '.' && start+1 < len(src) && isASCIIDigit(src[start+1])):
		return lx.number()
	case c == '@':
		lx.pos++
		for lx.pos < len(src) {
			r, n := utf8.DecodeRuneInString(src[lx.pos:])
			if !isIdentPart(r) {
				break
			}
			lx.pos += n
		}
		if lx.pos == start+1 {
			return tok{}, newSyntaxError(src, start, "@", ErrSyntax, "parameter name expected after @")
		}
		return tok{kind: tokParam, off: start, text: src[start:lx.pos], val: src[start:lx.pos]}, nil
	}
	r, n := utf8.DecodeRuneInString(src[start:])
	if isIdentStart(r) {
		lx.pos += n
		for lx.pos < len(src) {
			r, n := utf8.DecodeRuneInString(src[lx.pos:])
			if !isIdentPart(r) {
				break
			}
			lx.pos += n
		}
		t := src[start:lx.pos]
		return tok{kind: tokIdent, off: start, text: t, val: t}, nil
	}
	// Operators.
	two := ""
	if start+2 <= len(src) {
		two = src[start : start+2]
	}
	switch two {
	case "<>", "!=", ">=", "<=":
		lx.pos += 2
		return tok{kind: tokOp, off: start, text: two}, nil
	}
	switch c {
	case '=', '<', '>', '+', '-', '*', '/', '%', '(', ')', ',', ';', '.':
		lx.pos++
		return tok{kind: tokOp, off: start, text: src[start : start+1]}, nil
	}
	bad := src[start : start+n]
	if r == utf8.RuneError && n == 1 {
		return tok{}, newSyntaxError(src, start, bad, ErrSyntax, "invalid UTF-8")
	}
	return tok{}, newSyntaxError(src, start, bad, ErrSyntax, "unexpected character")
}

// quoted scans a token enclosed in open…close where a doubled close stands
// for one close character.
func (lx *lexer) quoted(open, close byte, kind tokKind, unterminated string) (tok, *SyntaxError) {
	src := lx.src
	start := lx.pos
	i := start + 1
	var b strings.Builder
	simple := true // no doubled closers: val is a substring
	for {
		j := strings.IndexByte(src[i:], close)
		if j < 0 {
			lx.pos = len(src)
			return tok{}, newSyntaxError(src, start, src[start:], ErrSyntax, unterminated)
		}
		j += i
		if j+1 < len(src) && src[j+1] == close {
			simple = false
			b.WriteString(src[i : j+1])
			i = j + 2
			continue
		}
		lx.pos = j + 1
		var val string
		if simple {
			val = src[start+1 : j]
		} else {
			b.WriteString(src[i:j])
			val = b.String()
		}
		if !utf8.ValidString(val) {
			return tok{}, newSyntaxError(src, start, src[start:lx.pos], ErrSyntax, "invalid UTF-8")
		}
		return tok{kind: kind, off: start, text: src[start:lx.pos], val: val}, nil
	}
}

// number scans an integer, decimal or approximate-number constant.
func (lx *lexer) number() (tok, *SyntaxError) {
	src := lx.src
	start := lx.pos
	i := start
	for i < len(src) && isASCIIDigit(src[i]) {
		i++
	}
	kind := tokInt
	if i < len(src) && src[i] == '.' {
		kind = tokDecimal
		i++
		for i < len(src) && isASCIIDigit(src[i]) {
			i++
		}
	}
	if i < len(src) && (src[i] == 'e' || src[i] == 'E') {
		j := i + 1
		if j < len(src) && (src[j] == '+' || src[j] == '-') {
			j++
		}
		if j < len(src) && isASCIIDigit(src[j]) {
			kind = tokDecimal
			for j < len(src) && isASCIIDigit(src[j]) {
				j++
			}
			i = j
		} else {
			lx.pos = j
			return tok{}, newSyntaxError(src, start, src[start:j], ErrSyntax, "exponent digits expected")
		}
	}
	lx.pos = i
	if i < len(src) {
		r, n := utf8.DecodeRuneInString(src[i:])
		if isIdentPart(r) || r == '.' {
			return tok{}, newSyntaxError(src, start, src[start:i+n], ErrSyntax, "invalid number")
		}
	}
	return tok{kind: kind, off: start, text: src[start:i]}, nil
}
