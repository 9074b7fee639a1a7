package filter

import (
	"bufio"
	"os"
	"strings"
	"testing"
	"time"
)

// docsMsg is the message the documented examples run against.
func docsMsg() *testMsg {
	m := sampleMsg()
	m.sys[SysLabel] = String("servicebus")
	m.sys[SysCorrelationID] = String("abc-email")
	m.sys[SysReplyTo] = String("johndoe@contoso.com")
	m.props["tag"] = String("queue")
	m.props["StoreId"] = String("Store8")
	m.props["source"] = String("orders")
	m.props["MessageProperty"] = String("A")
	m.props["NumericProperty"] = Int(1)
	m.props["MessageProperty2"] = Int(3)
	m.props["SuperHero"] = String("SuperMan of Steel")
	m.props["http://schemas.microsoft.com/xrm/2011/Claims/EntityLogicalName"] = String("account")
	m.props["DateTimeMp"] = Time(t0)
	m.props["DateTimeMp1"] = Time(t0)
	m.props["DateTimeMp2"] = Time(t0.Add(time.Hour))
	m.props["property"] = String("ABC%")
	m.props["Constant"] = Int(1894)
	m.props["Priority"] = Int(1)
	m.props["Level"] = String("high")
	return m
}

type corpusEntry struct {
	kind, expected, text string
}

func readCorpus(t testing.TB) []corpusEntry {
	t.Helper()
	f, err := os.Open("testdata/azure_examples.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []corpusEntry
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		parts := strings.SplitN(line, "|", 3)
		if len(parts) != 3 {
			t.Fatalf("bad corpus line %q", line)
		}
		out = append(out, corpusEntry{parts[0], parts[1], parts[2]})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestAzureDocExamples(t *testing.T) {
	t.Parallel()
	entries := readCorpus(t)
	if len(entries) < 40 {
		t.Fatalf("corpus has only %d entries", len(entries))
	}
	for _, e := range entries {
		switch e.kind {
		case "filter":
			if e.expected == "-" {
				if _, err := CompileOptions(e.text, testParams()); err != nil {
					t.Errorf("%q: %v", e.text, err)
				}
				continue
			}
			if got := result(t, e.text, docsMsg(), testParams()); got != e.expected {
				t.Errorf("%q: got %s want %s", e.text, got, e.expected)
			}
		case "action":
			a, err := CompileActionOptions(e.text, testParams())
			if err != nil {
				t.Errorf("%q: %v", e.text, err)
				continue
			}
			if err := a.Apply(docsMsg()); err != nil {
				t.Errorf("%q: Apply: %v", e.text, err)
			}
		default:
			t.Fatalf("unknown kind %q", e.kind)
		}
	}
}
