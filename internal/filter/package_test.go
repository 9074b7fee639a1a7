package filter

import (
	goparser "go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestStandardLibraryOnly keeps the package a leaf: production files import
// only the standard library.
func TestStandardLibraryOnly(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := goparser.ParseFile(fset, name, nil, goparser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if first, _, _ := strings.Cut(path, "/"); strings.Contains(first, ".") {
				t.Errorf("%s imports non-standard package %s", name, path)
			}
		}
	}
}

func TestSentinelPrefixes(t *testing.T) {
	t.Parallel()
	for _, err := range []error{
		ErrSyntax, ErrTooLong, ErrTooComplex, ErrUnknownFunction, ErrUnknownSystemProperty,
		ErrReadOnlyProperty, ErrUnknownParameter, ErrDivideByZero, ErrOverflow, ErrEscape,
		ErrBadPattern, ErrTypeMismatch, ErrEmptyCorrelation,
	} {
		if !strings.HasPrefix(err.Error(), "filter: ") {
			t.Errorf("%q lacks the filter: prefix", err)
		}
	}
}
