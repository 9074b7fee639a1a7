package sbadmin

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/batonmq/baton/internal/broker"
	"github.com/batonmq/baton/internal/clock"
	"github.com/batonmq/baton/internal/isodur"
	"github.com/batonmq/baton/internal/store/memstore"
)

// FuzzDecodeEntry feeds PUT bodies to the decoder and, through the whole
// handler, to the broker. The seeds in testdata/fuzz/FuzzDecodeEntry are
// bodies the Go SDK sent (queue create and update with every property,
// topic, subscription and rule creates).
//
// Properties: decoding never panics; a body that decodes is either a 400
// with a detail or creates a queue whose description reads back with the
// same durations (at tick precision); the handler never answers 5xx.
func FuzzDecodeEntry(f *testing.F) {
	f.Add([]byte(fullEntry))
	f.Add([]byte(`<entry><content><QueueDescription><LockDuration>PT1M</LockDuration></QueueDescription></content></entry>`))
	f.Add([]byte(`<entry><content><QueueDescription><LockDuration>P10675199DT2H48M5.4775807S</LockDuration></QueueDescription></content></entry>`))
	f.Add([]byte(`<a:entry xmlns:a="http://www.w3.org/2005/Atom"><a:content><QueueDescription><MaxDeliveryCount> 3 </MaxDeliveryCount></QueueDescription></a:content></a:entry>`))
	f.Add([]byte(`<entry><content><QueueDescription><Status>Disabled</Status></QueueDescription></content></entry><!-- c -->`))
	f.Add([]byte(`<!DOCTYPE entry [<!ENTITY x "y">]><entry>&x;</entry>`))
	f.Add([]byte(``))

	st := memstore.New()
	b, err := broker.New(broker.Config{Store: st, Clock: clock.NewFake(epoch)})
	if err != nil {
		f.Fatal(err)
	}
	if err := b.Open(context.Background()); err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() {
		b.Close()
		st.Close()
	})
	fx := &fixture{clock: clock.NewFake(epoch), b: b}
	fx.h = New(Config{Broker: b, Clock: fx.clock})

	f.Fuzz(func(t *testing.T, body []byte) {
		fx.t = t
		kind, desc, err := decodeEntry(body)
		if err != nil {
			if kind != 0 || desc != nil {
				t.Fatalf("error %v with a result", err)
			}
		} else if kind == bodyQueue {
			if desc == nil {
				t.Fatal("queue body without a description")
			}
			if props, err := desc.toProperties(); err == nil {
				for _, d := range []time.Duration{props.LockDuration, props.DefaultMessageTimeToLive, props.DuplicateDetectionHistoryTimeWindow, props.AutoDeleteOnIdle} {
					if d == 0 {
						continue
					}
					back, err := isodur.Parse(isodur.Format(d))
					want := d / 100 * 100
					if d == broker.MaxDuration {
						want = d
					}
					if err != nil || back != want {
						t.Fatalf("duration %v formats as %q, which reads back as %v, %v", d, isodur.Format(d), back, err)
					}
				}
			}
		}

		w := fx.do("PUT", "/fuzz", string(body))
		if w.Code >= 500 && w.Code != http.StatusNotImplemented {
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
		if w.Code == http.StatusBadRequest && !strings.Contains(w.Body.String(), "<Detail>") {
			t.Fatalf("400 without a detail: %s", w.Body)
		}
		if w.Code == http.StatusCreated {
			if err := b.DeleteEntity(context.Background(), "fuzz"); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// FuzzParseDuration checks that parsing never panics and that whatever
// parses formats to text that parses back to the same tick count.
func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"PT1M", "P1DT2H3M4.5S", isodur.Never, "P1Y2M3W4D", "PT0.0000001S", "-PT1S", "P", "PT1,5S"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := isodur.Parse(s)
		if err != nil {
			return
		}
		if d < 0 {
			t.Fatalf("%q parsed as negative %v", s, d)
		}
		text := isodur.Format(d)
		back, err := isodur.Parse(text)
		want := d / 100 * 100
		if d == broker.MaxDuration {
			want = d
		}
		if err != nil || back != want {
			t.Fatalf("%q → %v → %q → %v, %v", s, d, text, back, err)
		}
	})
}
