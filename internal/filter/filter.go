package filter

import (
	"crypto/rand"
	"encoding/hex"
	"strings"
	"unicode/utf8"
)

// DefaultMaxLength is Azure Service Bus's limit on the length of SQL filter
// and action text, in characters.
const DefaultMaxLength = 1024

// DefaultMaxActionStatements is Azure Service Bus's limit on the number of
// statements (SET/REMOVE) in one SQL rule action.
const DefaultMaxActionStatements = 32

// Options tunes compilation. The zero value (or nil) gives Azure's limits and
// no parameters.
type Options struct {
	// MaxLength limits the text length in characters. Zero means
	// DefaultMaxLength; negative means no limit.
	MaxLength int
	// MaxActionStatements limits the SET/REMOVE statements in one action.
	// Zero means DefaultMaxActionStatements; negative means no limit.
	MaxActionStatements int
	// Parameters supplies values for @name references, as SqlFilter.Parameters
	// and SqlRuleAction.Parameters do. Keys include the leading '@'; lookup
	// falls back to a case-insensitive match.
	Parameters map[string]Value
	// NewIDFunc generates the value of newid(). Nil means a random version 4
	// UUID in canonical lowercase form from crypto/rand.
	NewIDFunc func() string

	// noFold disables constant folding and LIKE precompilation, so tests can
	// compare optimized and unoptimized evaluation.
	noFold bool
}

func (o *Options) maxLength() int {
	if o == nil || o.MaxLength == 0 {
		return DefaultMaxLength
	}
	return o.MaxLength
}

func (o *Options) maxStatements() int {
	if o == nil || o.MaxActionStatements == 0 {
		return DefaultMaxActionStatements
	}
	return o.MaxActionStatements
}

func (o *Options) lookupParam(name string) (Value, bool) {
	if o == nil {
		return Value{}, false
	}
	if v, ok := o.Parameters[name]; ok {
		return v, true
	}
	for k, v := range o.Parameters {
		if strings.EqualFold(k, name) || strings.EqualFold("@"+k, name) {
			return v, true
		}
	}
	return Value{}, false
}

func (o *Options) newIDFunc() func() string {
	if o != nil && o.NewIDFunc != nil {
		return o.NewIDFunc
	}
	return randomUUID
}

func randomUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:], b[10:])
	return string(out[:])
}

// checkLength enforces MaxLength.
func checkLength(text string, opts *Options) *SyntaxError {
	limit := opts.maxLength()
	if limit < 0 {
		return nil
	}
	if n := utf8.RuneCountInString(text); n > limit {
		// Point at the first character past the limit.
		off, count := 0, 0
		for i := range text {
			if count == limit {
				off = i
				break
			}
			count++
		}
		return newSyntaxError(text, off, "", ErrTooLong, "text is longer than the limit of "+itoa(limit)+" characters")
	}
	return nil
}

func itoa(i int) string {
	return Int(int64(i)).String()
}

// Filter is a compiled SQL filter. It is immutable and safe for concurrent
// use by many goroutines.
type Filter struct {
	text  string
	root  *node
	newID func() string
}

// Compile parses a SQL filter expression with the default options.
func Compile(text string) (*Filter, error) {
	return CompileOptions(text, nil)
}

// CompileOptions parses a SQL filter expression. Every error it returns is a
// *SyntaxError carrying the position and token; errors.Is tells the class
// (ErrSyntax, ErrTooLong, ErrUnknownFunction, …).
func CompileOptions(text string, opts *Options) (*Filter, error) {
	f, err := compileFilter(text, opts)
	if err != nil {
		return nil, err
	}
	return f, nil
}

func compileFilter(text string, opts *Options) (*Filter, *SyntaxError) {
	if err := checkLength(text, opts); err != nil {
		return nil, err
	}
	p, err := newParser(text, opts)
	if err != nil {
		return nil, err
	}
	if p.tok.kind == tokEOF {
		return nil, p.unexpected("predicate")
	}
	root, err := p.parsePredicate()
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tokEOF {
		return nil, p.unexpected("end of filter, AND or OR")
	}
	if opts == nil || !opts.noFold {
		root = foldNode(root)
	}
	return &Filter{text: text, root: root, newID: opts.newIDFunc()}, nil
}

// True returns the TrueFilter: SQL text "1=1", matching every message.
func True() *Filter {
	return &Filter{text: "1=1", root: &node{op: opConst, pred: true, val: Bool(true)}}
}

// False returns the FalseFilter: SQL text "1=0", matching no message.
func False() *Filter {
	return &Filter{text: "1=0", root: &node{op: opConst, pred: true, val: Bool(false)}}
}

// String returns the filter text exactly as compiled, for round-tripping to
// clients.
func (f *Filter) String() string { return f.text }

// IsTrue reports whether the filter is constantly true (such as "1=1"), so
// the broker can skip evaluation or report a TrueFilter.
func (f *Filter) IsTrue() bool {
	b, ok := f.root.val.Bool()
	return f.root.isConst() && ok && b
}

// IsFalse reports whether the filter can never match (such as "1=0").
func (f *Filter) IsFalse() bool {
	if !f.root.isConst() {
		return false
	}
	b, ok := f.root.val.Bool()
	return !ok || !b
}

// Match reports whether m satisfies the filter. An unknown result and an
// evaluation error both count as no match; use Eval to see the error.
func (f *Filter) Match(m Message) bool {
	ok, _ := f.Eval(m)
	return ok
}

// Eval evaluates the filter against m. It returns true only when the filter
// is TRUE under three-valued logic; FALSE and UNKNOWN give false. The error is
// one of the evaluation errors (ErrDivideByZero, ErrOverflow, ErrEscape,
// ErrBadPattern), which Service Bus reports as a filter exception.
func (f *Filter) Eval(m Message) (bool, error) {
	e := evaluator{m: m, newID: f.newID}
	v, err := e.eval(f.root)
	if err != nil {
		return false, err
	}
	b, ok := v.Bool()
	return ok && b, nil
}
