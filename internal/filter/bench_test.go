package filter

import "testing"

var benchFilters = []struct{ name, text string }{
	{"EqAndGt", "color = 'red' AND quantity > 10"},
	{"LikePrefix", "sys.Label LIKE 'order%'"},
	{"InAndGe", "region IN ('eu','us') AND priority >= 3"},
	{"LikeGeneral", "sys.Label LIKE 'o_der-%2'"},
	{"Arithmetic", "quantity * 2 + price / 3 > 10 OR missing IS NULL"},
	{"TrueFilter", "1=1"},
}

// BenchmarkMatch measures evaluation of compiled filters against a message.
// Typical rules must report 0 allocs/op.
func BenchmarkMatch(b *testing.B) {
	m := sampleMsg()
	m.props["quantity"] = Int(12)
	for _, bf := range benchFilters {
		f, err := Compile(bf.text)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(bf.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if !f.Match(m) {
					b.Fatal("no match")
				}
			}
		})
	}
}

func BenchmarkCorrelationMatch(b *testing.B) {
	m := sampleMsg()
	c := &Correlation{CorrelationID: "c1", Subject: "order-42", Properties: map[string]Value{"color": String("red"), "quantity": Int(10)}}
	b.ReportAllocs()
	for b.Loop() {
		if !c.Match(m) {
			b.Fatal("no match")
		}
	}
}

func BenchmarkCompile(b *testing.B) {
	for _, bf := range benchFilters {
		b.Run(bf.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Compile(bf.text); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkActionApply(b *testing.B) {
	a, err := CompileAction("SET quantity = quantity + 1; SET sys.Label = 'routed'; REMOVE priority")
	if err != nil {
		b.Fatal(err)
	}
	m := sampleMsg()
	b.ReportAllocs()
	for b.Loop() {
		if err := a.Apply(m); err != nil {
			b.Fatal(err)
		}
	}
}

// TestMatchDoesNotAllocate pins the allocation-free property of typical
// rules so a regression fails the ordinary test run.
//
// Not parallel: testing.AllocsPerRun counts allocations process-wide, so
// concurrent tests would inflate the figure.
func TestMatchDoesNotAllocate(t *testing.T) {
	m := sampleMsg()
	m.props["quantity"] = Int(12)
	for _, bf := range benchFilters {
		f, err := Compile(bf.text)
		if err != nil {
			t.Fatal(err)
		}
		if n := testing.AllocsPerRun(100, func() { f.Match(m) }); n != 0 {
			t.Errorf("%s: %v allocs per Match", bf.name, n)
		}
	}
}
