package filter

import (
	"errors"
	"testing"
	"time"
)

// result evaluates text against m and returns "T", "F", "U" (unknown) or
// the evaluation error.
func result(t *testing.T, text string, m Message, opts *Options) string {
	t.Helper()
	f, err := CompileOptions(text, opts)
	if err != nil {
		t.Fatalf("Compile(%q): %v", text, err)
	}
	e := evaluator{m: m, newID: f.newID}
	v, err := e.eval(f.root)
	if err != nil {
		return "E:" + err.Error()
	}
	matched, merr := f.Eval(m)
	if merr != nil || matched != (tri(v) == 1) || f.Match(m) != matched {
		t.Fatalf("%q: Eval/Match disagree with tree value %v", text, v)
	}
	switch tri(v) {
	case 1:
		return "T"
	case 0:
		return "F"
	}
	return "U"
}

func testParams() *Options {
	return &Options{
		Parameters: map[string]Value{
			"@stringParam": String("orders"),
			"@dtParam":     Time(t0.Add(time.Minute)),
			"@timespan":    Duration(2 * time.Hour),
			"@param1":      Int(1),
			"@param2":      String("high"),
			"@param":       Time(t0),
			"@f":           Float(1.5),
			"@b":           Bool(true),
		},
		NewIDFunc: func() string { return "00000000-0000-4000-8000-000000000000" },
	}
}

func TestEvalOperators(t *testing.T) {
	t.Parallel()
	m := sampleMsg()
	cases := []struct{ text, want string }{
		// comparison, all operators, ints
		{"quantity = 10", "T"}, {"quantity = 11", "F"},
		{"quantity <> 10", "F"}, {"quantity != 11", "T"},
		{"quantity > 9", "T"}, {"quantity > 10", "F"},
		{"quantity >= 10", "T"}, {"quantity >= 11", "F"},
		{"quantity < 11", "T"}, {"quantity < 10", "F"},
		{"quantity <= 10", "T"}, {"quantity <= 9", "F"},
		// int/float promotion
		{"quantity = 10.0", "T"}, {"price > 9", "T"}, {"price < 9.51", "T"},
		{"price = 9.5", "T"}, {"10 = 1E1", "T"}, {"0.5E-2 = 0.005", "T"}, {"101.5E5 = 10150000", "T"},
		// strings: ordinal, case-sensitive
		{"color = 'red'", "T"}, {"color = 'RED'", "F"}, {"color < 's'", "T"}, {"color >= 'red'", "T"},
		{"name = 'O''Brien'", "T"}, {"'' = ''", "T"},
		// incompatible kinds are unknown
		{"s10 > 5", "U"}, {"s10 = 10", "U"}, {"color = 1", "U"}, {"flag = 1", "U"},
		{"flag = TRUE", "T"}, {"flag <> FALSE", "T"}, {"flag > FALSE", "U"}, {"when = 1", "U"},
		// NULL and missing
		{"missing = 1", "U"}, {"nullprop = 1", "U"}, {"NULL = NULL", "U"}, {"1 = NULL", "U"},
		{"missing + 1 = 2", "U"}, {"-missing = 1", "U"},
		// arithmetic
		{"quantity + 5 = 15", "T"}, {"quantity - 15 = -5", "T"}, {"quantity * 3 = 30", "T"},
		{"quantity / 4 = 2", "T"}, {"quantity % 4 = 2", "T"}, {"quantity / 4.0 = 2.5", "T"},
		{"price * 2 = 19", "T"}, {"7 % 2.5 = 2", "T"}, {"-quantity = -10", "T"}, {"+quantity = 10", "T"},
		{"- -quantity = 10", "T"}, {"2 + 3 * 4 = 14", "T"}, {"(2 + 3) * 4 = 20", "T"}, {"10 - 2 - 3 = 5", "T"},
		{"20 / 2 / 5 = 2", "T"}, {"-9223372036854775808 < 0", "T"}, {"9223372036854775807 + 1 < 0", "T"},
		{"'a' + 'b' = 'ab'", "T"}, {"'a' + 1 = 'a1'", "U"}, {"'a' - 'b' = ''", "U"}, {"flag + 1 = 2", "U"},
		{"-color = 1", "U"}, {"1.0 / 0 > 1000", "T"},
		// time and duration
		{"when < later", "T"}, {"later - when = @timespan", "F"}, {"later - when < @timespan", "T"},
		{"when + @timespan > later", "T"}, {"@timespan + when > later", "T"}, {"later - @timespan < when", "T"},
		{"@timespan - @timespan < @timespan", "T"}, {"-@timespan < @timespan", "T"}, {"when - 1 = when", "U"},
		{"sys.EnqueuedTimeUtc = @param", "T"}, {"sys.EnqueuedTimeUtc < @dtParam", "T"}, {"sys.TimeToLive < @timespan", "T"},
		// logic
		{"color = 'red' AND quantity = 10", "T"}, {"color = 'red' AND quantity = 11", "F"},
		{"color = 'blue' OR quantity = 10", "T"}, {"NOT color = 'blue'", "T"}, {"NOT NOT flag", "T"},
		{"color = 'red' OR quantity = 1 AND region = 'us'", "T"}, {"(color = 'red' OR quantity = 1) AND region = 'us'", "F"},
		{"NOT color = 'red' OR TRUE", "T"}, {"flag", "T"}, {"off", "F"}, {"TRUE", "T"}, {"color", "U"}, {"NOT color", "U"},
		// IS NULL / EXISTS
		{"missing IS NULL", "T"}, {"nullprop IS NULL", "T"}, {"color IS NULL", "F"}, {"color IS NOT NULL", "T"},
		{"missing IS NOT NULL", "F"}, {"sys.SessionId IS NULL", "T"}, {"sys.MessageId IS NOT NULL", "T"},
		{"EXISTS(color)", "T"}, {"EXISTS(missing)", "F"}, {"EXISTS(nullprop)", "T"}, {"NOT EXISTS(missing)", "T"},
		{"EXISTS(sys.SessionId)", "F"}, {"EXISTS(sys.Label)", "T"}, {"EXISTS ( user.color )", "T"},
		// IN
		{"region IN ('eu', 'us')", "T"}, {"region IN ('us')", "F"}, {"region NOT IN ('us', 'ap')", "T"},
		{"region NOT IN ('eu')", "F"}, {"missing IN ('eu')", "U"}, {"missing NOT IN ('eu')", "U"},
		{"quantity IN (1, 10.0)", "T"}, {"quantity IN ('10')", "F"}, {"region IN (NULL, 'eu')", "T"},
		{"region IN (missing)", "F"}, {"quantity IN (5 + 5)", "T"}, {"quantity IN (priority, quantity)", "T"},
		// LIKE
		{"sys.Label LIKE 'order%'", "T"}, {"sys.Label LIKE 'Order%'", "F"}, {"sys.Label LIKE '%42'", "T"},
		{"sys.Label LIKE '%der%'", "T"}, {"sys.Label LIKE 'order-4_'", "T"}, {"sys.Label LIKE 'order-_'", "F"},
		{"sys.Label LIKE '%'", "T"}, {"sys.Label LIKE 'order-42'", "T"}, {"sys.Label LIKE 'o%r%2'", "T"},
		{"sys.Label LIKE 'o%x%2'", "F"}, {"sys.Label NOT LIKE 'x%'", "T"}, {"sys.Label NOT LIKE 'o%'", "F"},
		{"missing LIKE '%'", "U"}, {"quantity LIKE '1%'", "U"}, {"color LIKE NULL", "U"}, {"color LIKE missing", "U"},
		{"pct LIKE 'ABC\\%' ESCAPE '\\'", "T"}, {"'ABCD' LIKE 'ABC\\%' ESCAPE '\\'", "F"}, {"pct LIKE 'ABC%'", "T"},
		{"'a_c' LIKE 'a!_c' ESCAPE '!'", "T"}, {"'abc' LIKE 'a!_c' ESCAPE '!'", "F"}, {"'a!c' LIKE 'a!!c' ESCAPE '!'", "T"},
		{"'%' LIKE '!%' ESCAPE '!'", "T"}, {"color LIKE 'r' + '%'", "T"}, {"color LIKE color", "T"},
		{"'çå' LIKE '__'", "T"}, {"ünï LIKE 'ç_'", "T"}, {"'' LIKE ''", "T"}, {"'' LIKE '_'", "F"},
		{"'aaa' LIKE '%a%a%a%'", "T"}, {"'aa' LIKE '%a%a%a%'", "F"}, {"color LIKE '%' ESCAPE NULL", "U"},
		{"color LIKE pctpat ESCAPE '!'", "U"},
		// identifiers
		{"[Property With Space] = 1", "T"}, {"[HR-EmployeeID] = 'E7'", "T"}, {"\"Contoso & Northwind\" = 'yes'", "T"},
		{"[a.b] = 5", "T"}, {"user.[a.b] = 5", "T"}, {"COLOR = 'red'", "T"}, {"user.Color = 'red'", "T"},
		{"[x]]y] IS NULL", "T"}, {"\"x\"\"y\" IS NULL", "T"},
		// system properties, case-insensitive names and aliases
		{"sys.MessageId = 'm1'", "T"}, {"sys.messageid = 'm1'", "T"}, {"SYS.LABEL = 'order-42'", "T"},
		{"sys.Subject = 'order-42'", "T"}, {"sys.SequenceNumber = 7", "T"}, {"sys.DeliveryCount >= 1", "T"},
		{"sys.To IN ('Store5','Store6')", "T"}, {"sys.CorrelationId LIKE 'c%'", "T"}, {"sys.ContentType = 'application/json'", "T"},
		// functions and parameters
		{"property('color') = 'red'", "T"}, {"p('user.color') = 'red'", "T"}, {"p('sys.Label') = 'order-42'", "T"},
		{"p('sys.Nope') = 1", "U"}, {"p(1) = 1", "U"}, {"p('col' + 'or') = 'red'", "T"},
		{"newid() = '00000000-0000-4000-8000-000000000000'", "T"}, {"NEWID() = NULL", "U"},
		{"@param1 = 1", "T"}, {"@f = 1.5", "T"}, {"@b", "T"}, {"@STRINGPARAM = 'orders'", "T"},
		// keywords case-insensitive
		{"color = 'red' and quantity = 10", "T"}, {"color = 'red' Or quantity = 0", "T"}, {"not missing is null", "F"},
		{"region not in ('us')", "T"}, {"sys.label like 'order%'", "T"}, {"exists(color)", "T"}, {"true", "T"}, {"false", "F"},
	}
	opts := testParams()
	for _, c := range cases {
		if got := result(t, c.text, m, opts); got != c.want {
			t.Errorf("%s: got %s, want %s", c.text, got, c.want)
		}
	}
}

// TestThreeValuedLogic checks the AND, OR and NOT truth tables from the
// Service Bus documentation.
func TestThreeValuedLogic(t *testing.T) {
	t.Parallel()
	m := sampleMsg()
	operands := map[string]string{"T": "quantity = 10", "F": "quantity = 11", "U": "missing = 1"}
	and := map[[2]string]string{
		{"T", "T"}: "T", {"T", "F"}: "F", {"T", "U"}: "U",
		{"F", "T"}: "F", {"F", "F"}: "F", {"F", "U"}: "F",
		{"U", "T"}: "U", {"U", "F"}: "F", {"U", "U"}: "U",
	}
	or := map[[2]string]string{
		{"T", "T"}: "T", {"T", "F"}: "T", {"T", "U"}: "T",
		{"F", "T"}: "T", {"F", "F"}: "F", {"F", "U"}: "U",
		{"U", "T"}: "T", {"U", "F"}: "U", {"U", "U"}: "U",
	}
	for k, want := range and {
		text := "(" + operands[k[0]] + ") AND (" + operands[k[1]] + ")"
		if got := result(t, text, m, nil); got != want {
			t.Errorf("%s AND %s: got %s want %s", k[0], k[1], got, want)
		}
	}
	for k, want := range or {
		text := "(" + operands[k[0]] + ") OR (" + operands[k[1]] + ")"
		if got := result(t, text, m, nil); got != want {
			t.Errorf("%s OR %s: got %s want %s", k[0], k[1], got, want)
		}
	}
	for in, want := range map[string]string{"T": "F", "F": "T", "U": "U"} {
		if got := result(t, "NOT ("+operands[in]+")", m, nil); got != want {
			t.Errorf("NOT %s: got %s want %s", in, got, want)
		}
	}
}

func TestEvalErrors(t *testing.T) {
	t.Parallel()
	m := sampleMsg()
	cases := []struct {
		text string
		want error
	}{
		{"quantity / zero = 1", ErrDivideByZero},
		{"quantity % zero = 1", ErrDivideByZero},
		{"1 / 0 = 1", ErrDivideByZero},
		{"-9223372036854775808 / -1 = 1", ErrOverflow},
		{"-9223372036854775808 % -1 = 0", ErrOverflow},
		{"color LIKE '%' ESCAPE color", ErrEscape},
		{"color LIKE pct + '!' ESCAPE '!'", ErrBadPattern},
		{"color IN (1 / zero)", ErrDivideByZero},
	}
	for _, c := range cases {
		f, err := Compile(c.text)
		if err != nil {
			t.Fatalf("Compile(%q): %v", c.text, err)
		}
		ok, err := f.Eval(m)
		if ok || !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, %v; want error %v", c.text, ok, err, c.want)
		}
		if f.Match(m) {
			t.Errorf("%s: Match true despite error", c.text)
		}
	}
	// Short-circuit: the erroring side is not evaluated.
	if got := result(t, "quantity = 1 AND 1 / zero = 1", m, nil); got != "F" {
		t.Errorf("AND short-circuit: %s", got)
	}
	if got := result(t, "quantity = 10 OR 1 / zero = 1", m, nil); got != "T" {
		t.Errorf("OR short-circuit: %s", got)
	}
}

func TestTrueFalseFilters(t *testing.T) {
	t.Parallel()
	m := sampleMsg()
	if !True().Match(m) || False().Match(m) || True().String() != "1=1" || False().String() != "1=0" {
		t.Fatal("True/False")
	}
	if !True().IsTrue() || !False().IsFalse() {
		t.Fatal("IsTrue/IsFalse")
	}
	for text, isTrue := range map[string]bool{"1=1": true, "1 = 1": true, "1=0": false, "TRUE": true} {
		f, err := Compile(text)
		if err != nil {
			t.Fatal(err)
		}
		if f.IsTrue() != isTrue || f.IsFalse() == isTrue {
			t.Errorf("%s: IsTrue %v IsFalse %v", text, f.IsTrue(), f.IsFalse())
		}
	}
	f, _ := Compile("color = 'red'")
	if f.IsTrue() || f.IsFalse() {
		t.Error("non-constant filter reported constant")
	}
	if f.Match(nil) {
		t.Error("nil message matched")
	}
}

func TestStringRoundTrip(t *testing.T) {
	t.Parallel()
	for _, text := range []string{"  color='red'  AND quantity>10 ", "sys.Label LIKE 'a%'\n"} {
		f, err := Compile(text)
		if err != nil {
			t.Fatal(err)
		}
		if f.String() != text {
			t.Errorf("String() = %q, want %q", f.String(), text)
		}
	}
}

func TestConcurrentMatch(t *testing.T) {
	t.Parallel()
	f, err := Compile("color = 'red' AND quantity > 5 AND sys.Label LIKE 'order%' AND region IN ('eu','us')")
	if err != nil {
		t.Fatal(err)
	}
	m := sampleMsg()
	done := make(chan bool)
	for range 4 {
		go func() {
			ok := true
			for range 1000 {
				ok = ok && f.Match(m)
			}
			done <- ok
		}()
	}
	for range 4 {
		if !<-done {
			t.Error("concurrent Match failed")
		}
	}
}
