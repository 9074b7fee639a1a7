package push

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func mustEvent(t testing.TB, s Schema, js string) Event {
	t.Helper()
	d := json.NewDecoder(strings.NewReader(js))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		t.Fatal(err)
	}
	return Event{Schema: s, Fields: m}
}

func mustFilter(t testing.TB, js string) *Filter {
	t.Helper()
	var spec FilterSpec
	if err := json.Unmarshal([]byte(js), &spec); err != nil {
		t.Fatal(err)
	}
	f, err := CompileFilter(&spec)
	if err != nil {
		t.Fatalf("CompileFilter(%s): %v", js, err)
	}
	return f
}

// TestFilterOperators is the operator table of spec §2.2, including the
// missing-key, null, array and type-mismatch corners.
func TestEGFilterOperators(t *testing.T) {
	ev := mustEvent(t, SchemaEventGrid, `{"id":"1","subject":"/Orders/EU/7.json","eventType":"Order.Created","topic":"/t",
		"data":{"n":5,"f":0.3,"s":"Hello World","b":true,"nil":null,"arr":[1,"red",true,{"x":1}],"nums":[1,2,3],"empty":[],"obj":{"Deep":{"k":"v"}}}}`)
	cases := []struct {
		filter string
		want   bool
	}{
		{`{"operatorType":"NumberIn","key":"data.n","values":[1,5]}`, true},
		{`{"operatorType":"NumberIn","key":"data.n","values":[1,2]}`, false},
		{`{"operatorType":"NumberIn","key":"data.missing","values":[5]}`, false},
		{`{"operatorType":"NumberNotIn","key":"data.n","values":[1,2]}`, true},
		{`{"operatorType":"NumberNotIn","key":"data.n","values":[5]}`, false},
		{`{"operatorType":"NumberNotIn","key":"data.missing","values":[5]}`, true},
		{`{"operatorType":"NumberNotIn","key":"data.nil","values":[5]}`, true},
		{`{"operatorType":"NumberNotIn","key":"data.s","values":[5]}`, false},
		{`{"operatorType":"NumberLessThan","key":"data.n","value":5.0001}`, true},
		{`{"operatorType":"NumberLessThan","key":"data.n","value":5}`, false},
		{`{"operatorType":"NumberLessThanOrEquals","key":"data.n","value":5}`, true},
		{`{"operatorType":"NumberGreaterThan","key":"data.n","value":4}`, true},
		{`{"operatorType":"NumberGreaterThanOrEquals","key":"data.n","value":6}`, false},
		{`{"operatorType":"NumberInRange","key":"data.f","values":[[0.1,0.3]]}`, true},
		{`{"operatorType":"NumberInRange","key":"data.f","values":[[0.30000000000000001,1]]}`, false},
		{`{"operatorType":"NumberNotInRange","key":"data.n","values":[[0,4],[6,9]]}`, true},
		{`{"operatorType":"NumberNotInRange","key":"data.missing","values":[[0,4]]}`, true},
		{`{"operatorType":"NumberGreaterThan","key":"data.s","value":1}`, false},
		{`{"operatorType":"BoolEquals","key":"data.b","value":true}`, true},
		{`{"operatorType":"BoolEquals","key":"data.b","value":false}`, false},
		{`{"operatorType":"BoolEquals","key":"data.s","value":true}`, false},
		{`{"operatorType":"StringIn","key":"data.s","values":["hello world"]}`, true},
		{`{"operatorType":"StringIn","key":"data.n","values":["5"]}`, true},
		{`{"operatorType":"StringNotIn","key":"data.s","values":["x"]}`, true},
		{`{"operatorType":"StringNotIn","key":"data.missing","values":["x"]}`, true},
		{`{"operatorType":"StringBeginsWith","key":"data.s","values":["no","HELLO"]}`, true},
		{`{"operatorType":"StringEndsWith","key":"data.s","values":["WORLD"]}`, true},
		{`{"operatorType":"StringContains","key":"data.s","values":["o w"]}`, true},
		{`{"operatorType":"StringNotBeginsWith","key":"data.s","values":["hello"]}`, false},
		{`{"operatorType":"StringNotBeginsWith","key":"data.missing","values":["hello"]}`, false},
		{`{"operatorType":"StringNotEndsWith","key":"data.s","values":["x"]}`, true},
		{`{"operatorType":"StringNotContains","key":"data.s","values":["zz","yy"]}`, true},
		{`{"operatorType":"StringNotContains","key":"data.s","values":["zz","lo"]}`, false},
		{`{"operatorType":"IsNullOrUndefined","key":"data.nil"}`, true},
		{`{"operatorType":"IsNullOrUndefined","key":"data.missing"}`, true},
		{`{"operatorType":"IsNullOrUndefined","key":"data.s"}`, false},
		{`{"operatorType":"IsNotNull","key":"data.s"}`, true},
		{`{"operatorType":"IsNotNull","key":"data.nil"}`, false},
		{`{"operatorType":"StringIn","key":"data.obj","values":["v"]}`, false},
		{`{"operatorType":"StringIn","key":"data.obj.deep.K","values":["V"]}`, true},
		{`{"operatorType":"StringIn","key":"Subject","values":["/orders/eu/7.json"]}`, true},
		{`{"operatorType":"StringIn","key":"EventType","values":["order.created"]}`, true},
		{`{"operatorType":"StringIn","key":"Data.S","values":["hello world"]}`, true},
		// Arrays without enableAdvancedFilteringOnArrays never match.
		{`{"operatorType":"StringIn","key":"data.arr","values":["red"]}`, false},
		{`{"operatorType":"NumberIn","key":"data.nums","values":[2]}`, false},
	}
	for _, c := range cases {
		f := mustFilter(t, `{"advancedFilters":[`+c.filter+`]}`)
		if got := f.Match(ev); got != c.want {
			t.Errorf("%s = %v, want %v", c.filter, got, c.want)
		}
	}
	arrays := []struct {
		filter string
		want   bool
	}{
		{`{"operatorType":"StringIn","key":"data.arr","values":["RED"]}`, true},
		{`{"operatorType":"NumberIn","key":"data.arr","values":[1]}`, true},
		{`{"operatorType":"BoolEquals","key":"data.arr","value":true}`, true},
		{`{"operatorType":"NumberIn","key":"data.nums","values":[7]}`, false},
		{`{"operatorType":"NumberNotIn","key":"data.nums","values":[3]}`, false},
		{`{"operatorType":"NumberNotIn","key":"data.nums","values":[4]}`, true},
		{`{"operatorType":"NumberGreaterThan","key":"data.nums","value":2}`, true},
		{`{"operatorType":"StringIn","key":"data.empty","values":["x"]}`, false},
		{`{"operatorType":"StringNotIn","key":"data.empty","values":["x"]}`, true},
	}
	for _, c := range arrays {
		f := mustFilter(t, `{"enableAdvancedFilteringOnArrays":true,"advancedFilters":[`+c.filter+`]}`)
		if got := f.Match(ev); got != c.want {
			t.Errorf("arrays on: %s = %v, want %v", c.filter, got, c.want)
		}
	}
}

func TestEGFilterTypesAndSubject(t *testing.T) {
	ev := mustEvent(t, SchemaCloudEvents, `{"id":"1","source":"/s","specversion":"1.0","type":"Order.Created","subject":"Orders/EU/1","comexampleothervalue":5}`)
	cases := []struct {
		filter string
		want   bool
	}{
		{`{}`, true},
		{`{"includedEventTypes":["All"]}`, true},
		{`{"includedEventTypes":["order.created"]}`, true},
		{`{"includedEventTypes":["Order.Deleted"]}`, false},
		{`{"subjectBeginsWith":"orders/eu"}`, true},
		{`{"subjectBeginsWith":"orders/eu","isSubjectCaseSensitive":true}`, false},
		{`{"subjectEndsWith":"/1"}`, true},
		{`{"subjectBeginsWith":"Orders","subjectEndsWith":"/2"}`, false},
		{`{"filters":[{"operatorType":"StringBeginsWith","key":"comexampleothervalue","values":["5","1"]}]}`, true},
		{`{"filters":[{"operatorType":"NumberIn","key":"comexampleothervalue","values":[5]}]}`, true},
	}
	for _, c := range cases {
		if got := mustFilter(t, c.filter).Match(ev); got != c.want {
			t.Errorf("%s = %v, want %v", c.filter, got, c.want)
		}
	}
	var nilFilter *Filter
	if !nilFilter.Match(ev) {
		t.Error("a nil filter must match")
	}
}

func TestEGFilterLimits(t *testing.T) {
	many := make([]string, 26)
	for i := range many {
		many[i] = `{"operatorType":"IsNotNull","key":"data.x"}`
	}
	vals := make([]string, 26)
	for i := range vals {
		vals[i] = `"v"`
	}
	bad := []string{
		`{"advancedFilters":[` + strings.Join(many, ",") + `]}`,
		`{"advancedFilters":[{"operatorType":"StringIn","key":"data.x","values":[` + strings.Join(vals, ",") + `]}]}`,
		`{"advancedFilters":[{"operatorType":"StringIn","key":"data.x","values":["` + strings.Repeat("x", 513) + `"]}]}`,
		`{"advancedFilters":[{"operatorType":"Regex","key":"data.x","values":["x"]}]}`,
		`{"advancedFilters":[{"operatorType":"NumberIn","key":"data.x","values":["x"]}]}`,
		`{"advancedFilters":[{"operatorType":"NumberInRange","key":"data.x","values":[[1]]}]}`,
		`{"advancedFilters":[{"operatorType":"NumberLessThan","key":"data.x"}]}`,
		`{"advancedFilters":[{"operatorType":"StringIn","key":"","values":["x"]}]}`,
	}
	for _, js := range bad {
		var spec FilterSpec
		if err := json.Unmarshal([]byte(js), &spec); err != nil {
			t.Fatal(err)
		}
		if _, err := CompileFilter(&spec); !errors.Is(err, ErrFilter) {
			t.Errorf("CompileFilter(%.80s…) = %v, want ErrFilter", js, err)
		}
	}
	if _, err := CompileFilter(&FilterSpec{AdvancedFilters: []AdvancedSpec{{OperatorType: "StringIn", Key: "data.x", Values: json.RawMessage(`[` + strings.Join(vals[:25], ",") + `]`)}}}); err != nil {
		t.Errorf("25 values must be accepted: %v", err)
	}
}

// FuzzFilter compiles any filter and evaluates it on any event: it must
// never panic.
func FuzzEGFilter(f *testing.F) {
	f.Add(`{"advancedFilters":[{"operatorType":"NumberInRange","key":"data.a.b","values":[[1,2]]}]}`, `{"data":{"a":{"b":1.5}}}`)
	f.Add(`{"enableAdvancedFilteringOnArrays":true,"advancedFilters":[{"operatorType":"StringNotContains","key":"data.t","values":["x"]}]}`, `{"data":{"t":["ax",1,null,{"a":1},[2]]}}`)
	f.Add(`{"includedEventTypes":["A"],"subjectBeginsWith":"s","advancedFilters":[{"operatorType":"IsNullOrUndefined","key":"data"}]}`, `{"eventType":"a","subject":"S"}`)
	f.Add(`{"advancedFilters":[{"operatorType":"NumberIn","key":"data.n","values":[1e400,-0]}]}`, `{"data":{"n":1e-400}}`)
	f.Fuzz(func(t *testing.T, filter, event string) {
		var spec FilterSpec
		if json.Unmarshal([]byte(filter), &spec) != nil {
			return
		}
		flt, err := CompileFilter(&spec)
		if err != nil {
			return
		}
		d := json.NewDecoder(strings.NewReader(event))
		d.UseNumber()
		var m map[string]any
		if d.Decode(&m) != nil {
			return
		}
		for _, s := range []Schema{SchemaEventGrid, SchemaCloudEvents, SchemaCustom} {
			flt.Match(Event{Schema: s, Fields: m})
		}
	})
}
