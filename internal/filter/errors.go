package filter

import (
	"errors"
	"fmt"
	"strconv"
)

// Compile-time error classes. Every error from Compile and CompileAction is a
// *SyntaxError whose Err is one of these; test with errors.Is.
var (
	// ErrSyntax means the text does not follow the grammar.
	ErrSyntax = errors.New("filter: syntax error")
	// ErrTooLong means the text exceeds Options.MaxLength.
	ErrTooLong = errors.New("filter: expression too long")
	// ErrTooComplex means nesting or the number of action statements exceeds
	// the limits.
	ErrTooComplex = errors.New("filter: expression too complex")
	// ErrUnknownFunction means a call to a function the language lacks.
	ErrUnknownFunction = errors.New("filter: unknown function")
	// ErrUnknownSystemProperty means sys.<name> names no system property.
	ErrUnknownSystemProperty = errors.New("filter: unknown system property")
	// ErrReadOnlyProperty means an action sets or removes a read-only system
	// property such as sys.SequenceNumber.
	ErrReadOnlyProperty = errors.New("filter: read-only system property")
	// ErrUnknownParameter means an @parameter has no value in
	// Options.Parameters.
	ErrUnknownParameter = errors.New("filter: unknown parameter")
)

// Evaluation errors. Service Bus raises a filter exception in these cases; the
// broker may dead-letter the message (DeadLetteringOnFilterEvaluationExceptions)
// or skip the rule. They are returned unwrapped so evaluation stays
// allocation-free.
var (
	// ErrDivideByZero is integer division or remainder by zero.
	ErrDivideByZero = errors.New("filter: integer division by zero")
	// ErrOverflow is MinInt64 / -1.
	ErrOverflow = errors.New("filter: arithmetic overflow")
	// ErrEscape is a LIKE escape that is not exactly one character.
	ErrEscape = errors.New("filter: LIKE escape must be a single character")
	// ErrBadPattern is a LIKE pattern whose escape character is not followed
	// by a character.
	ErrBadPattern = errors.New("filter: invalid LIKE pattern")
	// ErrTypeMismatch is an action storing a value a system property cannot
	// hold, such as a number into sys.Label.
	ErrTypeMismatch = errors.New("filter: type mismatch")
)

// SyntaxError reports a problem found while compiling filter or action text,
// with its position.
type SyntaxError struct {
	Offset int    // byte offset of the offending token in the text
	Line   int    // 1-based line
	Column int    // 1-based column, counted in characters (runes)
	Token  string // the offending token as written; empty at end of input
	Msg    string // what was wrong
	Err    error  // the error class: ErrSyntax, ErrTooLong, …
}

// Error formats the error with its position and token.
func (e *SyntaxError) Error() string {
	near := "at end of input"
	if e.Token != "" {
		near = "near " + strconv.Quote(e.Token)
	}
	prefix := "filter: syntax error"
	if e.Err != nil {
		prefix = e.Err.Error()
	}
	return fmt.Sprintf("%s at line %d, column %d (offset %d) %s: %s", prefix, e.Line, e.Column, e.Offset, near, e.Msg)
}

// Unwrap returns the error class.
func (e *SyntaxError) Unwrap() error { return e.Err }

// position computes the line and column of byte offset off in text.
func position(text string, off int) (line, col int) {
	line, col = 1, 1
	for i, r := range text {
		if i >= off {
			break
		}
		if r == '\n' {
			line++
			col = 1
			continue
		}
		col++
	}
	return line, col
}

func newSyntaxError(text string, off int, tok string, class error, msg string) *SyntaxError {
	if off > len(text) {
		off = len(text)
	}
	line, col := position(text, off)
	return &SyntaxError{Offset: off, Line: line, Column: col, Token: tok, Msg: msg, Err: class}
}
