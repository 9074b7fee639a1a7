package filter_test

import (
	"errors"
	"fmt"

	"github.com/batonmq/baton/internal/filter"
)

// message is a minimal filter.MutableMessage for the examples.
type message struct {
	sys   map[filter.SysProp]filter.Value
	props map[string]filter.Value
}

func (m *message) System(p filter.SysProp) (filter.Value, bool) {
	v, ok := m.sys[p]
	return v, ok
}

func (m *message) Property(name string) (filter.Value, bool) {
	v, ok := m.props[name]
	return v, ok
}

func (m *message) SetSystem(p filter.SysProp, v filter.Value) error {
	m.sys[p] = v
	return nil
}

func (m *message) SetProperty(name string, v filter.Value) error {
	m.props[name] = v
	return nil
}

func (m *message) RemoveProperty(name string) error {
	delete(m.props, name)
	return nil
}

func order() *message {
	return &message{
		sys: map[filter.SysProp]filter.Value{filter.SysLabel: filter.String("order-17")},
		props: map[string]filter.Value{
			"color":    filter.String("red"),
			"quantity": filter.Int(12),
			"priority": filter.String("low"),
		},
	}
}

func ExampleCompile() {
	f, err := filter.Compile("color = 'red' AND quantity > 10 AND sys.Label LIKE 'order%'")
	if err != nil {
		panic(err)
	}
	fmt.Println(f.Match(order()))
	fmt.Println(f)
	// Output:
	// true
	// color = 'red' AND quantity > 10 AND sys.Label LIKE 'order%'
}

func ExampleCompile_syntaxError() {
	_, err := filter.Compile("color = 'red' AND quantity >")
	var se *filter.SyntaxError
	if errors.As(err, &se) {
		fmt.Println(se.Line, se.Column, errors.Is(err, filter.ErrSyntax))
	}
	fmt.Println(err)
	// Output:
	// 1 29 true
	// filter: syntax error at line 1, column 29 (offset 28) at end of input: expression expected
}

func ExampleCompileOptions_parameters() {
	opts := &filter.Options{Parameters: map[string]filter.Value{"@min": filter.Int(10)}}
	f, err := filter.CompileOptions("quantity >= @min", opts)
	if err != nil {
		panic(err)
	}
	fmt.Println(f.Match(order()))
	// Output: true
}

func ExampleAction_Apply() {
	a, err := filter.CompileAction("SET quantity = quantity / 2; REMOVE priority; SET sys.Label = 'routed'")
	if err != nil {
		panic(err)
	}
	m := order()
	if err := a.Apply(m); err != nil {
		panic(err)
	}
	_, hasPriority := m.props["priority"]
	fmt.Println(m.props["quantity"], hasPriority, m.sys[filter.SysLabel])
	// Output: 6 false 'routed'
}

func ExampleCorrelation() {
	c := filter.Correlation{Subject: "order-17", Properties: map[string]filter.Value{"color": filter.String("red")}}
	fmt.Println(c.Match(order()))
	// Output: true
}
