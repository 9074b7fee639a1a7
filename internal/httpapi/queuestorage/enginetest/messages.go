package enginetest

// Cases about messages: put, get, peek, delete, update, expiry.

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/batonmq/baton/internal/broker"
	"github.com/batonmq/baton/internal/httpapi/queuestorage"
)

func testPutGetPeekOrder(f *fixture) {
	f.create(queue, nil)
	var put []*queuestorage.Message
	for _, s := range []string{"m1", "m2", "m3", "m4"} {
		m := f.put(queue, s, 0, 0)
		if !uuidRE.MatchString(m.ID) {
			f.t.Fatalf("message id %q is not a canonical lower-case UUID", m.ID)
		}
		f.checkReceipt(m.Receipt)
		if !m.InsertedAt.Equal(Start) || !m.VisibleAt.Equal(Start) || m.DequeueCount != 0 || string(m.Text) != s {
			f.t.Fatalf("Put = %+v", m)
		}
		put = append(put, m)
	}
	if put[0].ID == put[1].ID || put[0].Receipt == put[1].Receipt {
		f.t.Fatal("two Puts gave the same id or receipt")
	}
	ms := f.peek(queue, 32)
	f.wantTexts("Peek", ms, "m1", "m2", "m3", "m4")
	for i, m := range ms {
		if m.ID != put[i].ID || m.Receipt != "" || m.DequeueCount != 0 || !m.VisibleAt.Equal(Start) ||
			!m.InsertedAt.Equal(Start) || !m.ExpiresAt.Equal(Start.Add(broker.SQDefaultTTL)) {
			f.t.Fatalf("Peek[%d] = %+v", i, m)
		}
	}
	f.wantTexts("Peek(0)", f.peek(queue, 0), "m1")
	f.wantTexts("Peek(2)", f.peek(queue, 2), "m1", "m2")

	f.clk.Advance(time.Second)
	got := f.get(queue, 2, 30*time.Second)
	f.wantTexts("Get(2)", got, "m1", "m2")
	for i, m := range got {
		f.checkReceipt(m.Receipt)
		if m.ID != put[i].ID || m.DequeueCount != 1 || !m.VisibleAt.Equal(Start.Add(31*time.Second)) ||
			!m.InsertedAt.Equal(Start) || m.Receipt == put[i].Receipt {
			f.t.Fatalf("Get[%d] = %+v", i, m)
		}
	}
	if got[0].Receipt == got[1].Receipt {
		f.t.Fatal("one Get gave two messages the same receipt")
	}
	f.wantTexts("Peek after Get", f.peek(queue, 32), "m3", "m4")
	f.wantTexts("Get(0)", f.get(queue, 0, time.Second), "m3")
	f.wantTexts("Get(32)", f.get(queue, 32, time.Second), "m4")
	f.wantTexts("Get of an empty queue", f.get(queue, 32, time.Second))
	f.wantTexts("Peek of a queue with nothing visible", f.peek(queue, 32))
}

func testPutVisibility(f *fixture) {
	f.create(queue, nil)
	m := f.put(queue, "later", 10*time.Second, 0)
	if !m.VisibleAt.Equal(Start.Add(10 * time.Second)) {
		f.t.Fatalf("Put VisibleAt = %v", m.VisibleAt)
	}
	f.put(queue, "now", 0, 0)
	f.wantTexts("Peek", f.peek(queue, 32), "now")
	f.clk.Advance(9 * time.Second)
	f.wantTexts("Get before the visibility ends", f.get(queue, 32, time.Minute), "now")
	f.clk.Advance(time.Second)
	got := f.get(queue, 32, time.Minute)
	f.wantTexts("Get once visible", got, "later")
	if got[0].DequeueCount != 1 {
		f.t.Fatalf("dequeue count %d", got[0].DequeueCount)
	}
	// Put's receipt is valid at once: Update and Delete take it.
	m2 := f.put(queue, "hidden", time.Hour, 0)
	if err := f.e.DeleteMessage(f.ctx, queue, m2.ID, m2.Receipt); err != nil {
		f.t.Fatalf("Delete with Put's receipt: %v", err)
	}
}

func testPutArguments(f *fixture) {
	f.create(queue, nil)
	for _, tc := range []struct {
		vis, ttl time.Duration
	}{
		{-time.Second, 0},
		{broker.SQMaxVisibility + time.Second, -1},
		{time.Minute, time.Minute},
		{2 * time.Minute, time.Minute},
	} {
		_, err := f.e.Put(f.ctx, queue, []byte("x"), tc.vis, tc.ttl)
		f.wantCode("Put(vis "+tc.vis.String()+", ttl "+tc.ttl.String()+")", err, broker.CodeInvalidArgument)
	}
	// A visibility as long as the default TTL, with no expiry, is fine.
	if _, err := f.e.Put(f.ctx, queue, []byte("x"), broker.SQMaxVisibility, -1); err != nil {
		f.t.Fatal(err)
	}
	_, err := f.e.Put(f.ctx, queue, bytes.Repeat([]byte("x"), 256<<10+1), 0, 0)
	f.wantCode("Put of 256 KiB + 1", err, broker.CodeMessageTooLarge)
	if _, err := f.e.Put(f.ctx, queue, bytes.Repeat([]byte("y"), 256<<10), 0, 0); err != nil {
		f.t.Fatalf("Put of 256 KiB: %v", err)
	}
	m := f.put(queue, "", 0, 0)
	if m.Text == nil || len(m.Text) != 0 {
		f.t.Fatalf("Put of an empty text returned %q", m.Text)
	}
	if f.count(queue) != 3 {
		f.t.Fatalf("count %d; want 3", f.count(queue))
	}
}

func testGetHidesThenReappears(f *fixture) {
	f.create(queue, nil)
	put := f.put(queue, "m", 0, 0)
	first := f.get(queue, 1, 30*time.Second)
	f.wantTexts("first Get", first, "m")
	f.clk.Advance(29 * time.Second)
	f.wantTexts("Get while hidden", f.get(queue, 1, time.Second))
	f.wantTexts("Peek while hidden", f.peek(queue, 1))
	f.clk.Advance(time.Second)
	again := f.get(queue, 1, 30*time.Second)
	f.wantTexts("Get after the visibility ends", again, "m")
	if again[0].ID != put.ID || again[0].DequeueCount != 2 || again[0].Receipt == first[0].Receipt {
		f.t.Fatalf("second Get = %+v (first %+v)", again[0], first[0])
	}
	f.wantCode("Delete with the first Get's receipt", f.e.DeleteMessage(f.ctx, queue, put.ID, first[0].Receipt), broker.CodeMessageNotFound)
	f.wantCode("Delete with Put's receipt", f.e.DeleteMessage(f.ctx, queue, put.ID, put.Receipt), broker.CodeMessageNotFound)
	if err := f.e.DeleteMessage(f.ctx, queue, put.ID, again[0].Receipt); err != nil {
		f.t.Fatal(err)
	}
	if f.count(queue) != 0 {
		f.t.Fatal("message still counted after Delete")
	}
}

func testOrderAfterReappearing(f *fixture) {
	f.create(queue, nil)
	f.put(queue, "a", 0, 0)
	f.put(queue, "b", 0, 0)
	f.put(queue, "c", 3*time.Second, 0)
	f.wantTexts("Get", f.get(queue, 1, 5*time.Second), "a")
	f.clk.Advance(10 * time.Second)
	f.put(queue, "d", 0, 0)
	// Visible since: b Start, c Start+3s, a Start+5s, d Start+10s.
	f.wantTexts("Peek", f.peek(queue, 32), "b", "c", "a", "d")
	f.wantTexts("Get", f.get(queue, 32, time.Minute), "b", "c", "a", "d")
}

func testGetArguments(f *fixture) {
	f.create(queue, nil)
	f.put(queue, "m", 0, 0)
	_, err := f.e.Get(f.ctx, queue, 1, -time.Second)
	f.wantCode("Get(vis -1s)", err, broker.CodeInvalidArgument)
	_, err = f.e.Get(f.ctx, queue, 1, broker.SQMaxVisibility+time.Second)
	f.wantCode("Get(vis 7d+1s)", err, broker.CodeInvalidArgument)
	_, err = f.e.Get(f.ctx, queue, 5001, time.Second)
	f.wantCode("Get(5001)", err, broker.CodeInvalidArgument)
	_, err = f.e.Peek(f.ctx, queue, 5001)
	f.wantCode("Peek(5001)", err, broker.CodeInvalidArgument)
	// Visibility 0 leaves the message visible, but counts the dequeue.
	g := f.get(queue, 1, 0)
	f.wantTexts("Get(vis 0)", g, "m")
	g = f.get(queue, 1, broker.SQMaxVisibility)
	if g[0].DequeueCount != 2 || !g[0].VisibleAt.Equal(Start.Add(broker.SQMaxVisibility)) {
		f.t.Fatalf("Get = %+v", g[0])
	}
}

func testDeleteReceipts(f *fixture) {
	f.create(queue, nil)
	m := f.put(queue, "m", 0, 0)
	g := f.get(queue, 1, 10*time.Second)[0]
	f.wantCode("Delete with a stale receipt", f.e.DeleteMessage(f.ctx, queue, m.ID, m.Receipt), broker.CodeMessageNotFound)
	other := base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte{7}, 16))
	f.wantCode("Delete with a receipt never issued", f.e.DeleteMessage(f.ctx, queue, m.ID, other), broker.CodeMessageNotFound)
	f.wantCode("Delete of an unknown id", f.e.DeleteMessage(f.ctx, queue, "0f8fad5b-d9cb-469f-a165-70867728950e", g.Receipt), broker.CodeMessageNotFound)
	f.wantCode("Delete of a malformed id", f.e.DeleteMessage(f.ctx, queue, "not-a-uuid'; DROP TABLE x; --", g.Receipt), broker.CodeMessageNotFound)
	// The receipt outlives the visibility timeout until the next Get.
	f.clk.Advance(time.Minute)
	f.wantTexts("Peek after the visibility", f.peek(queue, 1), "m")
	if err := f.e.DeleteMessage(f.ctx, queue, strings.ToUpper(g.ID), g.Receipt); err != nil {
		f.t.Fatalf("Delete (id in upper case) with a lapsed but current receipt: %v", err)
	}
	f.wantCode("Delete again", f.e.DeleteMessage(f.ctx, queue, m.ID, g.Receipt), broker.CodeMessageNotFound)
	if f.count(queue) != 0 {
		f.t.Fatal("count after Delete")
	}
}

func testMalformedReceipts(f *fixture) {
	f.create(queue, nil)
	m := f.put(queue, "m", 0, 0)
	valid := m.Receipt
	for _, bad := range []string{
		"!!!",
		"AAAAAAAAAAAAAAAAAAAAAA", // 16 zero bytes
		valid + "A",
		valid[:len(valid)-1],
		valid + "==",
		strings.ReplaceAll(strings.ReplaceAll(valid, "-", "+"), "_", "/") + "==",
		"' OR 1=1 --",
		"\x00\x01\x02",
		strings.Repeat("A", 1000),
	} {
		if bad == valid {
			continue
		}
		f.wantCode("Delete with receipt "+bad, f.e.DeleteMessage(f.ctx, queue, m.ID, bad), broker.CodeInvalidArgument)
		_, err := f.e.Update(f.ctx, queue, m.ID, bad, 0, nil)
		f.wantCode("Update with receipt "+bad, err, broker.CodeInvalidArgument)
	}
	// A receipt whose last character carries non-zero padding bits is not
	// canonical.
	last := valid[len(valid)-1]
	alt := map[byte]byte{'A': 'B', 'Q': 'R', 'g': 'h', 'w': 'x'}[last]
	if alt != 0 {
		bad := valid[:len(valid)-1] + string(alt)
		f.wantCode("Delete with a non-canonical receipt", f.e.DeleteMessage(f.ctx, queue, m.ID, bad), broker.CodeInvalidArgument)
	}
	if err := f.e.DeleteMessage(f.ctx, queue, m.ID, valid); err != nil {
		f.t.Fatalf("the message was changed by a malformed receipt: %v", err)
	}
}

func testUpdate(f *fixture) {
	f.create(queue, nil)
	m := f.put(queue, "text", 0, 0)
	g := f.get(queue, 1, time.Minute)[0]
	f.clk.Advance(time.Second)
	u, err := f.e.Update(f.ctx, queue, m.ID, g.Receipt, 20*time.Second, nil)
	if err != nil {
		f.t.Fatal(err)
	}
	f.checkReceipt(u.Receipt)
	if u.ID != m.ID || u.Text != nil || u.Receipt == g.Receipt || u.DequeueCount != 1 ||
		!u.VisibleAt.Equal(Start.Add(21*time.Second)) || !u.InsertedAt.Equal(Start) || !u.ExpiresAt.Equal(m.ExpiresAt) {
		f.t.Fatalf("Update = %+v", u)
	}
	_, err = f.e.Update(f.ctx, queue, m.ID, g.Receipt, 0, nil)
	f.wantCode("Update with the replaced receipt", err, broker.CodeMessageNotFound)
	f.wantCode("Delete with the replaced receipt", f.e.DeleteMessage(f.ctx, queue, m.ID, g.Receipt), broker.CodeMessageNotFound)
	f.wantTexts("Peek while hidden by Update", f.peek(queue, 1))
	// Visibility 0 makes it visible now; the text is kept.
	u2, err := f.e.Update(f.ctx, queue, m.ID, u.Receipt, 0, nil)
	if err != nil {
		f.t.Fatal(err)
	}
	if !u2.VisibleAt.Equal(Start.Add(time.Second)) {
		f.t.Fatalf("Update(0) VisibleAt = %v", u2.VisibleAt)
	}
	p := f.peek(queue, 1)
	f.wantTexts("Peek after Update(0)", p, "text")
	if p[0].DequeueCount != 1 {
		f.t.Fatalf("Update changed the dequeue count: %d", p[0].DequeueCount)
	}
	_, err = f.e.Update(f.ctx, queue, m.ID, u2.Receipt, -time.Second, nil)
	f.wantCode("Update(vis -1s)", err, broker.CodeInvalidArgument)
	_, err = f.e.Update(f.ctx, queue, m.ID, u2.Receipt, broker.SQMaxVisibility+time.Second, nil)
	f.wantCode("Update(vis 7d+1s)", err, broker.CodeInvalidArgument)
	_, err = f.e.Update(f.ctx, queue, "0f8fad5b-d9cb-469f-a165-70867728950e", u2.Receipt, 0, nil)
	f.wantCode("Update of an unknown id", err, broker.CodeMessageNotFound)
	_, err = f.e.Update(f.ctx, queue, "nope", u2.Receipt, 0, nil)
	f.wantCode("Update of a malformed id", err, broker.CodeMessageNotFound)
	// A Get replaces an Update's receipt too.
	g2 := f.get(queue, 1, time.Second)[0]
	if g2.DequeueCount != 2 {
		f.t.Fatalf("dequeue count %d", g2.DequeueCount)
	}
	_, err = f.e.Update(f.ctx, queue, m.ID, u2.Receipt, 0, nil)
	f.wantCode("Update with a receipt a Get replaced", err, broker.CodeMessageNotFound)
	if err := f.e.DeleteMessage(f.ctx, queue, m.ID, g2.Receipt); err != nil {
		f.t.Fatal(err)
	}
}

func testUpdateText(f *fixture) {
	f.create(queue, nil)
	m := f.put(queue, "old", 0, 0)
	u, err := f.e.Update(f.ctx, queue, m.ID, m.Receipt, 0, []byte("new"))
	if err != nil {
		f.t.Fatal(err)
	}
	if string(u.Text) != "new" {
		f.t.Fatalf("Update returned text %q", u.Text)
	}
	f.wantTexts("Peek after Update", f.peek(queue, 1), "new")
	u, err = f.e.Update(f.ctx, queue, m.ID, u.Receipt, 0, []byte{})
	if err != nil {
		f.t.Fatal(err)
	}
	if u.Text == nil || len(u.Text) != 0 {
		f.t.Fatalf("Update with an empty text returned %q", u.Text)
	}
	f.wantTexts("Peek after blanking", f.peek(queue, 1), "")
	_, err = f.e.Update(f.ctx, queue, m.ID, u.Receipt, 0, bytes.Repeat([]byte("x"), 256<<10+1))
	f.wantCode("Update with 256 KiB + 1", err, broker.CodeMessageTooLarge)
	_, err = f.e.Update(f.ctx, queue, m.ID, m.Receipt, 0, bytes.Repeat([]byte("x"), 256<<10+1))
	f.wantCode("Update with 256 KiB + 1 and a stale receipt", err, broker.CodeMessageNotFound)
	if _, err := f.e.Update(f.ctx, queue, m.ID, u.Receipt, 0, nil); err != nil {
		f.t.Fatalf("Update after a refused Update: %v", err)
	}
}

func testUpdateCappedAtExpiry(f *fixture) {
	f.create(queue, nil)
	m := f.put(queue, "m", 0, time.Minute)
	u, err := f.e.Update(f.ctx, queue, m.ID, m.Receipt, time.Hour, nil)
	if err != nil {
		f.t.Fatal(err)
	}
	if !u.VisibleAt.Equal(m.ExpiresAt) {
		f.t.Fatalf("Update past the expiry: VisibleAt %v; want the expiry %v", u.VisibleAt, m.ExpiresAt)
	}
	// A Get may hide a message past its expiry.
	m2 := f.put(queue, "m2", 0, time.Minute)
	g := f.get(queue, 1, time.Hour)[0]
	if g.ID != m2.ID || !g.VisibleAt.Equal(Start.Add(time.Hour)) {
		f.t.Fatalf("Get = %+v", g)
	}
}

func testTTLExpiry(f *fixture) {
	f.create(queue, nil)
	m := f.put(queue, "short", 0, time.Minute)
	f.put(queue, "long", 0, 0)
	if !m.ExpiresAt.Equal(Start.Add(time.Minute)) {
		f.t.Fatalf("ExpiresAt = %v", m.ExpiresAt)
	}
	g := f.get(queue, 1, 10*time.Second)[0]
	f.clk.Advance(59 * time.Second)
	f.wantTexts("Peek before expiry", f.peek(queue, 32), "long", "short")
	if c := f.count(queue); c != 2 {
		f.t.Fatalf("count before expiry %d", c)
	}
	f.clk.Advance(time.Second)
	f.wantTexts("Peek at expiry", f.peek(queue, 32), "long")
	if c := f.count(queue); c != 1 {
		f.t.Fatalf("count at expiry %d; want 1 (the expired message is not counted)", c)
	}
	for _, q := range f.queues(queue) {
		if q.ApproximateCount != 1 {
			f.t.Fatalf("Queues counts %d", q.ApproximateCount)
		}
	}
	f.wantCode("Delete of an expired message", f.e.DeleteMessage(f.ctx, queue, m.ID, g.Receipt), broker.CodeMessageNotFound)
	_, err := f.e.Update(f.ctx, queue, m.ID, g.Receipt, 0, nil)
	f.wantCode("Update of an expired message", err, broker.CodeMessageNotFound)
	f.wantTexts("Get at expiry", f.get(queue, 32, time.Second), "long")
	f.clk.Advance(time.Hour)
	f.wantTexts("Get long after", f.get(queue, 32, time.Second), "long")
}

func testTTLDefaultsAndNever(f *fixture) {
	f.create(queue, nil)
	def := f.put(queue, "default", 0, 0)
	if !def.ExpiresAt.Equal(Start.Add(broker.SQDefaultTTL)) {
		f.t.Fatalf("ttl 0: ExpiresAt %v; want Put + 7 days", def.ExpiresAt)
	}
	never := f.put(queue, "never", 0, -1)
	if !never.ExpiresAt.IsZero() {
		f.t.Fatalf("ttl -1: ExpiresAt %v; want zero (never)", never.ExpiresAt)
	}
	// A ttl of broker.MaxDuration/2 or more is never, as for Service Bus.
	far := f.put(queue, "far", 0, broker.MaxDuration/2)
	if !far.ExpiresAt.IsZero() {
		f.t.Fatalf("ttl MaxDuration/2: ExpiresAt %v; want zero", far.ExpiresAt)
	}
	f.clk.Advance(broker.SQDefaultTTL)
	f.wantTexts("Peek after 7 days", f.peek(queue, 32), "never", "far")
	f.clk.Advance(300 * 24 * time.Hour)
	f.wantTexts("Peek after 307 days", f.peek(queue, 32), "never", "far")
	if c := f.count(queue); c != 2 {
		f.t.Fatalf("count %d; want 2", c)
	}
	for _, m := range f.peek(queue, 32) {
		if !m.ExpiresAt.IsZero() {
			f.t.Fatalf("Peek: %s expires at %v", m.Text, m.ExpiresAt)
		}
	}
	// Azure's last instant, 9999-12-31T23:59:59Z, is an expiry; later is
	// never.
	last := time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)
	f.setClock(last.Add(-time.Hour))
	edge := f.put(queue, "edge", 0, time.Hour)
	if !edge.ExpiresAt.Equal(last) {
		f.t.Fatalf("an expiry at %v: ExpiresAt %v", last, edge.ExpiresAt)
	}
	past := f.put(queue, "past", 0, time.Hour+time.Second)
	if !past.ExpiresAt.IsZero() {
		f.t.Fatalf("an expiry after %v: ExpiresAt %v; want zero (never)", last, past.ExpiresAt)
	}
	f.setClock(last)
	f.wantTexts("Peek at the last instant", f.peek(queue, 32), "never", "far", "past")
}

func testTextNotKept(f *fixture) {
	f.create(queue, nil)
	buf := []byte("original")
	m, err := f.e.Put(f.ctx, queue, buf, 0, 0)
	if err != nil {
		f.t.Fatal(err)
	}
	copy(buf, "XXXXXXXX")
	f.wantTexts("Peek after the caller reused Put's buffer", f.peek(queue, 1), "original")
	buf2 := []byte("updated")
	if _, err := f.e.Update(f.ctx, queue, m.ID, m.Receipt, 0, buf2); err != nil {
		f.t.Fatal(err)
	}
	copy(buf2, "YYYYYYY")
	f.wantTexts("Peek after the caller reused Update's buffer", f.peek(queue, 1), "updated")
}

func testConcurrentGets(f *fixture) {
	const total, workers = 300, 8
	f.create(queue, nil)
	for i := range total {
		f.put(queue, fmt.Sprint(i), 0, -1)
	}
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		claims = map[string]string{} // id → receipt
		errs   []string
	)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				ms, err := f.e.Get(f.ctx, queue, 1+w%4*3, time.Hour)
				if err == nil && len(ms) == 0 {
					var pm []*queuestorage.Message
					if pm, err = f.e.Peek(f.ctx, queue, 1); err == nil && len(pm) == 0 {
						return
					}
				}
				mu.Lock()
				if err != nil {
					errs = append(errs, err.Error())
					mu.Unlock()
					return
				}
				for _, m := range ms {
					if _, dup := claims[m.ID]; dup || m.DequeueCount != 1 {
						errs = append(errs, fmt.Sprintf("%s claimed twice (dequeue count %d)", m.ID, m.DequeueCount))
					}
					claims[m.ID] = m.Receipt
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		f.t.Fatal(errs)
	}
	if len(claims) != total {
		f.t.Fatalf("%d messages claimed; want %d", len(claims), total)
	}
	for id, r := range claims {
		if err := f.e.DeleteMessage(f.ctx, queue, id, r); err != nil {
			f.t.Fatal(err)
		}
	}
	if c := f.count(queue); c != 0 {
		f.t.Fatalf("count %d after deleting every claim", c)
	}
}
