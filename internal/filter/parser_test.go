package filter

import (
	"errors"
	"strings"
	"testing"
)

func TestSyntaxErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		text   string
		offset int
		line   int
		col    int
		token  string
		class  error
	}{
		{"", 0, 1, 1, "", ErrSyntax},
		{"   ", 3, 1, 4, "", ErrSyntax},
		{"color =", 7, 1, 8, "", ErrSyntax},
		{"color = 'red", 8, 1, 9, "'red", ErrSyntax},
		{"color == 'red'", 7, 1, 8, "=", ErrSyntax},
		{"a = 1 b = 2", 6, 1, 7, "b", ErrSyntax},
		{"a = 1 AND", 9, 1, 10, "", ErrSyntax},
		{"(a = 1", 6, 1, 7, "", ErrSyntax},
		{"a = 1)", 5, 1, 6, ")", ErrSyntax},
		{"a IN ()", 6, 1, 7, ")", ErrSyntax},
		{"a IN ('x',)", 10, 1, 11, ")", ErrSyntax},
		{"a IN 'x'", 5, 1, 6, "'x'", ErrSyntax},
		{"a NOT = 1", 6, 1, 7, "=", ErrSyntax},
		{"a IS 1", 5, 1, 6, "1", ErrSyntax},
		{"1 IS NULL", 0, 1, 1, "1", ErrSyntax},
		{"EXISTS(1)", 7, 1, 8, "1", ErrSyntax},
		{"EXISTS a", 7, 1, 8, "a", ErrSyntax},
		{"a = 1 = 2", 6, 1, 7, "=", ErrSyntax},
		{"(a = 1) = TRUE", 8, 1, 9, "=", ErrSyntax},
		{"(a = 1) + 1 = 2", 8, 1, 9, "+", ErrSyntax},
		{"a = 1 + (b = 2)", 8, 1, 9, "(", ErrSyntax},
		{"-(a = 1)", 1, 1, 2, "(", ErrSyntax},
		{"a LIKE 'x' ESCAPE 'ab'", 18, 1, 19, "'ab'", ErrEscape},
		{"a LIKE 'x!' ESCAPE '!'", 7, 1, 8, "'x!'", ErrBadPattern},
		{"foo(1) = 1", 0, 1, 1, "foo", ErrUnknownFunction},
		{"a = upper('x')", 4, 1, 5, "upper", ErrUnknownFunction},
		{"sys.Nope = 1", 4, 1, 5, "Nope", ErrUnknownSystemProperty},
		{"sys. = 1", 5, 1, 6, "=", ErrSyntax},
		{"a.b = 1", 1, 1, 2, ".", ErrSyntax},
		{"AND = 1", 0, 1, 1, "AND", ErrSyntax},
		{"like = 1", 0, 1, 1, "like", ErrSyntax},
		{"a = 99999999999999999999", 4, 1, 5, "99999999999999999999", ErrSyntax},
		{"a = 1e999", 4, 1, 5, "1e999", ErrSyntax},
		{"a = 1e", 4, 1, 5, "1e", ErrSyntax},
		{"a = 12abc", 4, 1, 5, "12a", ErrSyntax},
		{"a = 1.2.3", 4, 1, 5, "1.2.", ErrSyntax},
		{"a = @", 4, 1, 5, "@", ErrSyntax},
		{"a = @nope", 4, 1, 5, "@nope", ErrUnknownParameter},
		{"a = #", 4, 1, 5, "#", ErrSyntax},
		{"a = [x", 4, 1, 5, "[x", ErrSyntax},
		{"a = \"x", 4, 1, 5, "\"x", ErrSyntax},
		{"_a = 1", 0, 1, 1, "_", ErrSyntax},
		{"a = 1\nAND b = 'x\n", 14, 2, 9, "'x\n", ErrSyntax},
		{"a = 1 AND\n  ÿ = ", 17, 2, 7, "", ErrSyntax},
		{"newid(1) = 1", 6, 1, 7, "1", ErrSyntax},
		{"a = \xff", 4, 1, 5, "\xff", ErrSyntax},
		{"NOT", 3, 1, 4, "", ErrSyntax},
		{"a LIKE", 6, 1, 7, "", ErrSyntax},
	}
	for _, c := range cases {
		_, err := Compile(c.text)
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("%q: got %v, want *SyntaxError", c.text, err)
			continue
		}
		if se.Offset != c.offset || se.Line != c.line || se.Column != c.col || se.Token != c.token || !errors.Is(err, c.class) {
			t.Errorf("%q: got offset %d line %d col %d token %q class %v (%v); want %d %d %d %q %v",
				c.text, se.Offset, se.Line, se.Column, se.Token, se.Err, err, c.offset, c.line, c.col, c.token, c.class)
		}
		if !strings.HasPrefix(err.Error(), "filter: ") {
			t.Errorf("%q: error %q lacks the filter: prefix", c.text, err)
		}
	}
}

func TestLengthLimit(t *testing.T) {
	t.Parallel()
	long := "a = '" + strings.Repeat("x", 1020) + "'"
	if len(long) != 1026 {
		t.Fatal(len(long))
	}
	_, err := Compile(long)
	var se *SyntaxError
	if !errors.As(err, &se) || !errors.Is(err, ErrTooLong) || se.Offset != 1024 {
		t.Fatalf("got %v", err)
	}
	ok := "a = '" + strings.Repeat("x", 1018) + "'"
	if _, err := Compile(ok); err != nil {
		t.Fatalf("1024 characters rejected: %v", err)
	}
	// Characters, not bytes.
	if _, err := Compile("a = '" + strings.Repeat("é", 1018) + "'"); err != nil {
		t.Fatalf("1024 characters of 2 bytes rejected: %v", err)
	}
	if _, err := CompileOptions(long, &Options{MaxLength: -1}); err != nil {
		t.Fatalf("unlimited: %v", err)
	}
	if _, err := CompileOptions("a = 1", &Options{MaxLength: 3}); !errors.Is(err, ErrTooLong) {
		t.Fatalf("custom limit: %v", err)
	}
}

func TestNestingLimit(t *testing.T) {
	t.Parallel()
	deep := strings.Repeat("(", 5000) + "1=1" + strings.Repeat(")", 5000)
	_, err := CompileOptions(deep, &Options{MaxLength: -1})
	if !errors.Is(err, ErrTooComplex) {
		t.Fatalf("got %v", err)
	}
	neg := strings.Repeat("-", 5000) + "1 = 1"
	if _, err := CompileOptions(neg, &Options{MaxLength: -1}); !errors.Is(err, ErrTooComplex) {
		t.Fatalf("unary: got %v", err)
	}
	nots := strings.Repeat("NOT ", 3000) + "1 = 1"
	if _, err := CompileOptions(nots, &Options{MaxLength: -1}); !errors.Is(err, ErrTooComplex) {
		t.Fatalf("NOT: got %v", err)
	}
	ok := strings.Repeat("(", 300) + "1=1" + strings.Repeat(")", 300)
	if _, err := Compile(ok); err != nil {
		t.Fatal(err)
	}
}

func TestParameterLookup(t *testing.T) {
	t.Parallel()
	opts := &Options{Parameters: map[string]Value{"p1": Int(4)}}
	f, err := CompileOptions("quantity > @p1", opts)
	if err != nil {
		t.Fatal(err)
	}
	if !f.Match(sampleMsg()) {
		t.Error("parameter without @ in key not applied")
	}
}
