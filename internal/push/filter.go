package push

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"
)

// Schema is an event schema, named as ARM names it.
type Schema uint8

// Event schemas.
const (
	SchemaEventGrid   Schema = iota + 1 // "EventGridSchema"
	SchemaCloudEvents                   // "CloudEventSchemaV1_0"
	SchemaCustom                        // "CustomEventSchema" / "CustomInputSchema"
)

// String returns the ARM name.
func (s Schema) String() string {
	switch s {
	case SchemaEventGrid:
		return "EventGridSchema"
	case SchemaCloudEvents:
		return "CloudEventSchemaV1_0"
	case SchemaCustom:
		return "CustomEventSchema"
	}
	return "Unknown"
}

// ParseSchema reads an ARM schema name (case-insensitive); "" is
// def.
func ParseSchema(s string, def Schema) (Schema, error) {
	switch strings.ToLower(s) {
	case "":
		return def, nil
	case "eventgridschema":
		return SchemaEventGrid, nil
	case "cloudeventschemav1_0":
		return SchemaCloudEvents, nil
	case "customeventschema", "custominputschema":
		return SchemaCustom, nil
	}
	return 0, fmt.Errorf("push: unknown event schema %q (EventGridSchema, CloudEventSchemaV1_0, CustomEventSchema)", s)
}

// Event is one event as filters see it: the decoded JSON object (numbers as
// json.Number) and its schema.
type Event struct {
	Schema Schema
	Fields map[string]any
}

// Type returns the event type (eventType or type), "" for custom events.
func (e Event) Type() string {
	switch e.Schema {
	case SchemaEventGrid:
		return str(lookupFold(e.Fields, "eventType"))
	case SchemaCloudEvents:
		return str(lookupFold(e.Fields, "type"))
	}
	return ""
}

// Subject returns the event subject, "" when absent.
func (e Event) Subject() string {
	if e.Schema == SchemaCustom {
		return ""
	}
	return str(lookupFold(e.Fields, "subject"))
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// FilterSpec is a subscription filter in ARM's JSON shape (event
// subscriptions' "filter", and namespace subscriptions'
// "filtersConfiguration", whose "filters" are the same objects as
// "advancedFilters").
type FilterSpec struct {
	IncludedEventTypes              []string       `json:"includedEventTypes,omitempty"`
	SubjectBeginsWith               string         `json:"subjectBeginsWith,omitempty"`
	SubjectEndsWith                 string         `json:"subjectEndsWith,omitempty"`
	IsSubjectCaseSensitive          bool           `json:"isSubjectCaseSensitive,omitempty"`
	EnableAdvancedFilteringOnArrays bool           `json:"enableAdvancedFilteringOnArrays,omitempty"`
	AdvancedFilters                 []AdvancedSpec `json:"advancedFilters,omitempty"`
	Filters                         []AdvancedSpec `json:"filters,omitempty"`
}

// AdvancedSpec is one advanced filter: {operatorType, key, value|values}.
type AdvancedSpec struct {
	OperatorType string          `json:"operatorType"`
	Key          string          `json:"key"`
	Value        json.RawMessage `json:"value,omitempty"`
	Values       json.RawMessage `json:"values,omitempty"`
}

// Filter limits (Azure's current ones).
const (
	MaxAdvancedFilters = 25
	MaxFilterValues    = 25
	MaxFilterString    = 512
)

// ErrFilter marks an invalid filter specification.
var ErrFilter = errors.New("push: invalid filter")

// Filter is a compiled subscription filter. The zero Filter (and nil)
// matches every event.
type Filter struct {
	types         []string
	begins, ends  string
	caseSensitive bool
	arrays        bool
	advanced      []advanced
}

type op uint8

const (
	opNumberIn op = iota + 1
	opNumberNotIn
	opNumberLessThan
	opNumberGreaterThan
	opNumberLessThanOrEquals
	opNumberGreaterThanOrEquals
	opNumberInRange
	opNumberNotInRange
	opBoolEquals
	opStringIn
	opStringNotIn
	opStringBeginsWith
	opStringEndsWith
	opStringContains
	opStringNotBeginsWith
	opStringNotEndsWith
	opStringNotContains
	opIsNullOrUndefined
	opIsNotNull
)

var opNames = map[string]op{
	"numberin": opNumberIn, "numbernotin": opNumberNotIn,
	"numberlessthan": opNumberLessThan, "numbergreaterthan": opNumberGreaterThan,
	"numberlessthanorequals": opNumberLessThanOrEquals, "numbergreaterthanorequals": opNumberGreaterThanOrEquals,
	"numberinrange": opNumberInRange, "numbernotinrange": opNumberNotInRange,
	"boolequals": opBoolEquals,
	"stringin":   opStringIn, "stringnotin": opStringNotIn,
	"stringbeginswith": opStringBeginsWith, "stringendswith": opStringEndsWith, "stringcontains": opStringContains,
	"stringnotbeginswith": opStringNotBeginsWith, "stringnotendswith": opStringNotEndsWith, "stringnotcontains": opStringNotContains,
	"isnullorundefined": opIsNullOrUndefined, "isnotnull": opIsNotNull,
}

// negative operators: every value must fail to match, and arrays fail when
// any element matches.
func (o op) negative() bool {
	switch o {
	case opNumberNotIn, opNumberNotInRange, opStringNotIn, opStringNotBeginsWith, opStringNotEndsWith, opStringNotContains:
		return true
	}
	return false
}

// positive returns the operator a negative one negates.
func (o op) positive() op {
	switch o {
	case opNumberNotIn:
		return opNumberIn
	case opNumberNotInRange:
		return opNumberInRange
	case opStringNotIn:
		return opStringIn
	case opStringNotBeginsWith:
		return opStringBeginsWith
	case opStringNotEndsWith:
		return opStringEndsWith
	case opStringNotContains:
		return opStringContains
	}
	return o
}

// matchesMissing says whether a missing or null key matches.
func (o op) matchesMissing() bool {
	switch o {
	case opNumberNotIn, opNumberNotInRange, opStringNotIn, opIsNullOrUndefined:
		return true
	}
	return false
}

type advanced struct {
	op     op
	path   []string // key split on '.'
	nums   []*big.Rat
	ranges [][2]*big.Rat
	strs   []string // lower-cased
	b      bool
}

// CompileFilter checks spec against Azure's rules and limits and compiles
// it. A nil spec matches everything.
func CompileFilter(spec *FilterSpec) (*Filter, error) {
	if spec == nil {
		return nil, nil
	}
	f := &Filter{begins: spec.SubjectBeginsWith, ends: spec.SubjectEndsWith, caseSensitive: spec.IsSubjectCaseSensitive, arrays: spec.EnableAdvancedFilteringOnArrays}
	for _, t := range spec.IncludedEventTypes {
		if strings.EqualFold(t, "All") {
			f.types = nil
			break
		}
		f.types = append(f.types, t)
	}
	all := append(append([]AdvancedSpec(nil), spec.AdvancedFilters...), spec.Filters...)
	if len(all) > MaxAdvancedFilters {
		return nil, fmt.Errorf("%w: %d advanced filters; at most %d are allowed", ErrFilter, len(all), MaxAdvancedFilters)
	}
	total := 0
	for i, a := range all {
		c, n, err := compileAdvanced(a)
		if err != nil {
			return nil, fmt.Errorf("%w: advanced filter %d (%s on %q): %w", ErrFilter, i, a.OperatorType, a.Key, err)
		}
		total += n
		f.advanced = append(f.advanced, c)
	}
	if total > MaxFilterValues {
		return nil, fmt.Errorf("%w: %d filter values in total; at most %d are allowed", ErrFilter, total, MaxFilterValues)
	}
	return f, nil
}

func compileAdvanced(a AdvancedSpec) (advanced, int, error) {
	o, ok := opNames[strings.ToLower(a.OperatorType)]
	if !ok {
		return advanced{}, 0, fmt.Errorf("unknown operatorType %q", a.OperatorType)
	}
	if a.Key == "" {
		return advanced{}, 0, errors.New("key is empty")
	}
	c := advanced{op: o, path: strings.Split(a.Key, ".")}
	dec := func(raw json.RawMessage, into any) error {
		if len(raw) == 0 {
			return errors.New("value/values is missing")
		}
		d := json.NewDecoder(strings.NewReader(string(raw)))
		d.UseNumber()
		return d.Decode(into)
	}
	switch o {
	case opNumberIn, opNumberNotIn:
		var vs []json.Number
		if err := dec(a.Values, &vs); err != nil {
			return c, 0, fmt.Errorf("values must be an array of numbers: %w", err)
		}
		for _, v := range vs {
			r, ok := parseNum(string(v))
			if !ok {
				return c, 0, fmt.Errorf("%q is not a number", v)
			}
			c.nums = append(c.nums, r)
		}
		return c, len(vs), nil
	case opNumberLessThan, opNumberGreaterThan, opNumberLessThanOrEquals, opNumberGreaterThanOrEquals:
		var v json.Number
		if err := dec(a.Value, &v); err != nil {
			return c, 0, fmt.Errorf("value must be a number: %w", err)
		}
		r, ok := parseNum(string(v))
		if !ok {
			return c, 0, fmt.Errorf("%q is not a number", v)
		}
		c.nums = []*big.Rat{r}
		return c, 1, nil
	case opNumberInRange, opNumberNotInRange:
		var vs [][]json.Number
		if err := dec(a.Values, &vs); err != nil {
			return c, 0, fmt.Errorf("values must be an array of [low, high] pairs: %w", err)
		}
		for _, p := range vs {
			if len(p) != 2 {
				return c, 0, errors.New("each range must be [low, high]")
			}
			lo, ok1 := parseNum(string(p[0]))
			hi, ok2 := parseNum(string(p[1]))
			if !ok1 || !ok2 {
				return c, 0, errors.New("range bounds must be numbers")
			}
			c.ranges = append(c.ranges, [2]*big.Rat{lo, hi})
		}
		return c, len(vs), nil
	case opBoolEquals:
		if err := dec(a.Value, &c.b); err != nil {
			return c, 0, fmt.Errorf("value must be true or false: %w", err)
		}
		return c, 1, nil
	case opIsNullOrUndefined, opIsNotNull:
		return c, 0, nil
	}
	var vs []string
	if err := dec(a.Values, &vs); err != nil {
		return c, 0, fmt.Errorf("values must be an array of strings: %w", err)
	}
	for _, v := range vs {
		if len([]rune(v)) > MaxFilterString {
			return c, 0, fmt.Errorf("a string value is longer than %d characters", MaxFilterString)
		}
		c.strs = append(c.strs, strings.ToLower(v))
	}
	return c, len(vs), nil
}

// Match reports whether ev passes the filter: event type, then subject,
// then every advanced filter.
func (f *Filter) Match(ev Event) bool {
	if f == nil {
		return true
	}
	if len(f.types) > 0 {
		t := ev.Type()
		ok := false
		for _, want := range f.types {
			if strings.EqualFold(t, want) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	if f.begins != "" || f.ends != "" {
		subj, b, e := ev.Subject(), f.begins, f.ends
		if !f.caseSensitive {
			subj, b, e = strings.ToLower(subj), strings.ToLower(b), strings.ToLower(e)
		}
		if !strings.HasPrefix(subj, b) || !strings.HasSuffix(subj, e) {
			return false
		}
	}
	for i := range f.advanced {
		if !f.advanced[i].match(ev, f.arrays) {
			return false
		}
	}
	return true
}

// resolve finds the value at the filter's key.
func (a *advanced) resolve(ev Event) (any, bool) { return lookupPath(ev.Fields, a.path) }

// LookupField finds the value at a dot-separated key ("data.a.b") in a
// decoded event: top-level names and "data" in any case, names below data
// exactly first, then in any case. Null counts as missing.
func LookupField(fields map[string]any, key string) (any, bool) {
	return lookupPath(fields, strings.Split(key, "."))
}

func lookupPath(fields map[string]any, path []string) (any, bool) {
	var cur any = fields
	for i, seg := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if i == 0 || !strings.EqualFold(path[0], "data") {
			cur, ok = lookupFoldOK(m, seg)
		} else {
			cur, ok = m[seg]
			if !ok {
				cur, ok = lookupFoldOK(m, seg)
			}
		}
		if !ok {
			return nil, false
		}
	}
	return cur, cur != nil
}

func lookupFold(m map[string]any, k string) any {
	v, _ := lookupFoldOK(m, k)
	return v
}

func lookupFoldOK(m map[string]any, k string) (any, bool) {
	if v, ok := m[k]; ok {
		return v, true
	}
	for mk, v := range m {
		if strings.EqualFold(mk, k) {
			return v, true
		}
	}
	return nil, false
}

func (a *advanced) match(ev Event, arrays bool) bool {
	v, ok := a.resolve(ev)
	switch a.op {
	case opIsNullOrUndefined:
		return !ok
	case opIsNotNull:
		return ok
	}
	if !ok {
		return a.op.matchesMissing()
	}
	if arr, isArr := v.([]any); isArr {
		if !arrays {
			return false
		}
		pos := a.op.positive()
		hit := false
		for _, el := range arr {
			if _, obj := el.(map[string]any); obj {
				continue
			}
			if _, nested := el.([]any); nested {
				continue
			}
			if a.scalar(pos, el) {
				hit = true
				break
			}
		}
		if a.op.negative() {
			return !hit
		}
		return hit
	}
	if _, obj := v.(map[string]any); obj {
		return false
	}
	if a.op.negative() {
		if !a.typeFits(v) {
			return false
		}
		return !a.scalar(a.op.positive(), v)
	}
	return a.scalar(a.op, v)
}

// typeFits says whether a scalar can be compared by the operator at all;
// a numeric operator on a non-number never matches.
func (a *advanced) typeFits(v any) bool {
	switch a.op.positive() {
	case opNumberIn, opNumberInRange:
		_, ok := v.(json.Number)
		return ok
	}
	return true
}

// scalar evaluates a positive operator on one scalar value.
func (a *advanced) scalar(o op, v any) bool {
	switch o {
	case opNumberIn, opNumberLessThan, opNumberGreaterThan, opNumberLessThanOrEquals, opNumberGreaterThanOrEquals, opNumberInRange:
		n, ok := v.(json.Number)
		if !ok {
			return false
		}
		r, ok := parseNum(string(n))
		if !ok {
			return false
		}
		switch o {
		case opNumberIn:
			for _, x := range a.nums {
				if r.Cmp(x) == 0 {
					return true
				}
			}
			return false
		case opNumberLessThan:
			return r.Cmp(a.nums[0]) < 0
		case opNumberGreaterThan:
			return r.Cmp(a.nums[0]) > 0
		case opNumberLessThanOrEquals:
			return r.Cmp(a.nums[0]) <= 0
		case opNumberGreaterThanOrEquals:
			return r.Cmp(a.nums[0]) >= 0
		case opNumberInRange:
			for _, p := range a.ranges {
				if r.Cmp(p[0]) >= 0 && r.Cmp(p[1]) <= 0 {
					return true
				}
			}
			return false
		}
	case opBoolEquals:
		b, ok := v.(bool)
		return ok && b == a.b
	case opStringIn, opStringBeginsWith, opStringEndsWith, opStringContains:
		s, ok := textOf(v)
		if !ok {
			return false
		}
		s = strings.ToLower(s)
		for _, x := range a.strs {
			switch o {
			case opStringIn:
				if s == x {
					return true
				}
			case opStringBeginsWith:
				if strings.HasPrefix(s, x) {
					return true
				}
			case opStringEndsWith:
				if strings.HasSuffix(s, x) {
					return true
				}
			case opStringContains:
				if strings.Contains(s, x) {
					return true
				}
			}
		}
	}
	return false
}

// textOf is a scalar's text for string operators: strings as they are,
// numbers and booleans as their JSON text.
func textOf(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case json.Number:
		return string(x), true
	case bool:
		return strconv.FormatBool(x), true
	}
	return "", false
}

// maxExponent bounds a number's decimal exponent: beyond it a value is
// clamped, so that "1e999999999" in an event cannot make the evaluator
// build a billion-digit rational.
const maxExponent = 400

var (
	hugeRat = new(big.Rat).SetFrac(new(big.Int).Exp(big.NewInt(10), big.NewInt(maxExponent+1), nil), big.NewInt(1))
	tinyRat = new(big.Rat).SetFrac(big.NewInt(1), new(big.Int).Exp(big.NewInt(10), big.NewInt(maxExponent+1), nil))
)

// parseNum parses a JSON number exactly (as .NET's decimal compares, not
// float64), clamping absurd exponents.
func parseNum(s string) (*big.Rat, bool) {
	mant, exp := s, ""
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		mant, exp = s[:i], s[i+1:]
	}
	if exp != "" {
		e, err := strconv.Atoi(strings.TrimPrefix(exp, "+"))
		if err != nil || e > maxExponent || e < -maxExponent {
			if _, ok := new(big.Rat).SetString(mant); !ok {
				return nil, false
			}
			neg := strings.HasPrefix(mant, "-")
			zero := strings.Trim(strings.TrimPrefix(mant, "-"), "0.") == ""
			var r *big.Rat
			switch {
			case zero:
				r = new(big.Rat)
			case e < 0 || (err != nil && strings.HasPrefix(exp, "-")):
				r = new(big.Rat).Set(tinyRat)
			default:
				r = new(big.Rat).Set(hugeRat)
			}
			if neg {
				r.Neg(r)
			}
			return r, true
		}
	}
	return new(big.Rat).SetString(s)
}
