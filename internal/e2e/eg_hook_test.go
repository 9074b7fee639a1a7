package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
)

// delivery is one webhook request a hook received.
type delivery struct {
	header http.Header
	body   []byte
}

// hook is a real webhook receiver on loopback. It answers validation
// handshakes, and answers deliveries with status(n) where n counts the
// deliveries so far (from 0); every delivery it accepts with a success
// status is kept.
type hook struct {
	t      *testing.T
	srv    *httptest.Server
	status func(n int) int
	// manual makes the validation answer 200 without the code.
	manual bool

	mu            sync.Mutex
	validationURL string
	attempts      int
	tried         []delivery // every delivery, whatever it was answered
	accepted      []delivery
	validations   int
	changed       chan struct{}
}

func newHook(t *testing.T, status func(n int) int) *hook {
	h := &hook{t: t, status: status, changed: make(chan struct{}, 1)}
	if h.status == nil {
		h.status = func(int) int { return http.StatusOK }
	}
	h.srv = httptest.NewServer(http.HandlerFunc(h.serve))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hook) url() string { return h.srv.URL + "/hook?code=secret" }

func (h *hook) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if r.Method == http.MethodOptions {
		w.Header().Set("WebHook-Allowed-Origin", r.Header.Get("WebHook-Request-Origin"))
		w.WriteHeader(http.StatusOK)
		return
	}
	if r.Header.Get("aeg-event-type") == "SubscriptionValidation" {
		h.mu.Lock()
		h.validations++
		h.mu.Unlock()
		var evs []struct {
			Data struct{ ValidationCode, ValidationURL string }
		}
		if err := json.Unmarshal(body, &evs); err != nil || len(evs) != 1 {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		h.mu.Lock()
		h.validationURL = evs[0].Data.ValidationURL
		h.mu.Unlock()
		if h.manual {
			w.WriteHeader(http.StatusOK)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"ValidationResponse": evs[0].Data.ValidationCode})
		return
	}
	h.mu.Lock()
	n := h.attempts
	h.attempts++
	st := h.status(n)
	h.tried = append(h.tried, delivery{header: r.Header.Clone(), body: body})
	if st >= 200 && st <= 204 {
		h.accepted = append(h.accepted, delivery{header: r.Header.Clone(), body: body})
	}
	h.mu.Unlock()
	select {
	case h.changed <- struct{}{}:
	default:
	}
	w.WriteHeader(st)
}

// got returns the accepted deliveries so far.
func (h *hook) got() []delivery {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]delivery(nil), h.accepted...)
}

func (h *hook) tries() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.attempts
}

// triedIDs returns the ids of the events delivered so far, whatever the
// answer, each once.
func (h *hook) triedIDs() []string {
	h.mu.Lock()
	ds := append([]delivery(nil), h.tried...)
	h.mu.Unlock()
	ids := eventIDs(h.t, ds)
	slices.Sort(ids)
	return slices.Compact(ids)
}

// waitFor waits until n deliveries were accepted.
func (h *hook) waitFor(n int) []delivery {
	h.t.Helper()
	egWait(h.t, "webhook deliveries", func() bool { return len(h.got()) >= n })
	return h.got()
}

// eventIDs returns the ids of the events in the deliveries (arrays or
// single CloudEvents objects).
func eventIDs(t *testing.T, ds []delivery) []string {
	t.Helper()
	var ids []string
	for _, d := range ds {
		b := strings.TrimSpace(string(d.body))
		var evs []map[string]any
		if strings.HasPrefix(b, "{") {
			var one map[string]any
			if err := json.Unmarshal(d.body, &one); err != nil {
				t.Fatal(err)
			}
			evs = []map[string]any{one}
		} else if err := json.Unmarshal(d.body, &evs); err != nil {
			t.Fatalf("delivery body %s: %v", d.body, err)
		}
		for _, e := range evs {
			id, _ := e["id"].(string)
			if id == "" {
				if data, ok := e["orderId"].(string); ok {
					id = data
				}
			}
			ids = append(ids, id)
		}
	}
	return ids
}

// sortByID orders single-event deliveries by event id (deliveries run
// concurrently, so their order is not the publish order).
func sortByID(t *testing.T, ds []delivery) []delivery {
	t.Helper()
	ids := eventIDs(t, ds)
	if len(ids) != len(ds) {
		t.Fatalf("%d events in %d deliveries", len(ids), len(ds))
	}
	idx := make([]int, len(ds))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return ids[idx[a]] < ids[idx[b]] })
	out := make([]delivery, len(ds))
	for i, j := range idx {
		out[i] = ds[j]
	}
	return out
}

func (h *hook) validationCount() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.validations
}
