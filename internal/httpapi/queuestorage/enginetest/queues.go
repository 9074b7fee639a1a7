package enginetest

// Cases about queues: creation, metadata, listing, deletion, counts.

import (
	"fmt"
	"maps"
	"strings"
	"sync"
	"time"

	"github.com/batonmq/baton/internal/broker"
)

func testCreateQueue(f *fixture) {
	f.create(queue, map[string]string{"k": "v"})
	f.wantCode("CreateQueue again", f.e.CreateQueue(f.ctx, queue, nil), broker.CodeEntityExists)
	f.wantCode("CreateQueue in another case", f.e.CreateQueue(f.ctx, strings.ToUpper(queue), nil), broker.CodeEntityExists)
	q := f.queue(queue)
	if q.Name != queue || !sameMD(q.Metadata, map[string]string{"k": "v"}) || q.ApproximateCount != 0 {
		f.t.Fatalf("Queue = %+v", q)
	}
	if q := f.queue(strings.ToUpper(queue)); q.Name != queue {
		f.t.Fatalf("Queue by another case: name %q; want %q", q.Name, queue)
	}
	for _, bad := range []string{"", "acct/", "/q", "acct//q", "acct/q q", "acct/" + strings.Repeat("x", 300)} {
		f.wantCode("CreateQueue("+bad+")", f.e.CreateQueue(f.ctx, bad, nil), broker.CodeInvalidArgument)
	}
}

func testMetadata(f *fixture) {
	md := map[string]string{
		"$acl":   `[{"Id":"p1","Permission":"raup"}]`,
		"plain":  "value",
		"empty":  "",
		"spaces": "  a  b  ",
		"bytes":  "caf\xc3\xa9 \x80\xff",
	}
	f.create(queue, md)
	if got := f.queue(queue).Metadata; !sameMD(got, md) {
		f.t.Fatalf("metadata after create = %q; want %q", got, md)
	}
	md2 := map[string]string{"$acl": "x", "other": "y"}
	var seen map[string]string
	if err := f.e.UpdateMetadata(f.ctx, queue, func(old map[string]string) map[string]string {
		seen = maps.Clone(old)
		old["scribbled"] = "by the update" // the update's own copy
		return md2
	}); err != nil {
		f.t.Fatal(err)
	}
	if !sameMD(seen, md) {
		f.t.Fatalf("UpdateMetadata was given %q; want the stored %q", seen, md)
	}
	if got := f.queue(queue).Metadata; !sameMD(got, md2) {
		f.t.Fatalf("metadata after UpdateMetadata = %q; want %q (replaced as a whole)", got, md2)
	}
	md2["other"] = "changed by the caller"
	if got := f.queue(queue).Metadata; got["other"] != "y" {
		f.t.Fatalf("the engine kept the caller's map: %q", got)
	}
	if err := f.e.UpdateMetadata(f.ctx, queue, func(map[string]string) map[string]string { return nil }); err != nil {
		f.t.Fatal(err)
	}
	if got := f.queue(queue).Metadata; len(got) != 0 {
		f.t.Fatalf("metadata after an update to none = %q; want none", got)
	}
	f.create("devstoreaccount1/none", nil)
	if got := f.queue("devstoreaccount1/none").Metadata; len(got) != 0 {
		f.t.Fatalf("metadata of a queue created with none = %q", got)
	}
}

func testListByPrefix(f *fixture) {
	for _, n := range []string{"acct/b", "acct/c1", "acct/a", "other/a", "acct/c2", "acctx/a"} {
		f.create(n, map[string]string{"name": n})
	}
	names := func(prefix string) string {
		var out []string
		for _, q := range f.queues(prefix) {
			if q.Metadata["name"] != q.Name {
				f.t.Fatalf("Queues(%q): %q has metadata %q", prefix, q.Name, q.Metadata)
			}
			out = append(out, q.Name)
		}
		return strings.Join(out, ",")
	}
	for prefix, want := range map[string]string{
		"acct/":   "acct/a,acct/b,acct/c1,acct/c2",
		"acct/c":  "acct/c1,acct/c2",
		"acct":    "acct/a,acct/b,acct/c1,acct/c2,acctx/a",
		"":        "acct/a,acct/b,acct/c1,acct/c2,acctx/a,other/a",
		"zzz/":    "",
		"acct/c1": "acct/c1",
	} {
		if got := names(prefix); got != want {
			f.t.Errorf("Queues(%q) = %s; want %s", prefix, got, want)
		}
	}
	f.put("acct/b", "one", 0, 0)
	f.put("acct/b", "two", time.Minute, 0)
	for _, q := range f.queues("acct/b") {
		if q.ApproximateCount != 2 {
			f.t.Errorf("Queues: %s counts %d; want 2", q.Name, q.ApproximateCount)
		}
	}
}

func testDeleteQueue(f *fixture) {
	f.create(queue, nil)
	m := f.put(queue, "a", 0, 0)
	f.put(queue, "b", 0, 0)
	if err := f.e.DeleteQueue(f.ctx, queue); err != nil {
		f.t.Fatal(err)
	}
	_, err := f.e.Queue(f.ctx, queue)
	f.wantCode("Queue after delete", err, broker.CodeNotFound)
	_, err = f.e.Get(f.ctx, queue, 1, time.Second)
	f.wantCode("Get after delete", err, broker.CodeNotFound)
	f.wantCode("DeleteQueue again", f.e.DeleteQueue(f.ctx, queue), broker.CodeNotFound)
	if qs := f.queues(queue); len(qs) != 0 {
		f.t.Fatalf("Queues lists a deleted queue: %v", qs)
	}
	// A new queue of the same name starts empty.
	f.create(queue, nil)
	if c := f.count(queue); c != 0 {
		f.t.Fatalf("recreated queue counts %d messages", c)
	}
	if ms := f.peek(queue, 32); len(ms) != 0 {
		f.t.Fatalf("recreated queue shows %q", texts(ms))
	}
	f.wantCode("Delete of the old queue's message", f.e.DeleteMessage(f.ctx, queue, m.ID, m.Receipt), broker.CodeMessageNotFound)
}

func testClear(f *fixture) {
	f.create(queue, nil)
	f.create(queue+"2", nil)
	f.put(queue, "a", 0, 0)
	f.put(queue, "b", time.Hour, 0)
	g := f.get(queue, 1, time.Minute)[0]
	f.put(queue+"2", "other", 0, 0)
	if err := f.e.Clear(f.ctx, queue); err != nil {
		f.t.Fatal(err)
	}
	if c := f.count(queue); c != 0 {
		f.t.Fatalf("count after Clear %d", c)
	}
	f.clk.Advance(2 * time.Hour)
	f.wantTexts("Peek after Clear", f.peek(queue, 32))
	f.wantCode("Delete after Clear", f.e.DeleteMessage(f.ctx, queue, g.ID, g.Receipt), broker.CodeMessageNotFound)
	f.wantTexts("the other queue", f.peek(queue+"2", 32), "other")
	if err := f.e.Clear(f.ctx, queue); err != nil {
		f.t.Fatalf("Clear of an empty queue: %v", err)
	}
	f.put(queue, "after", 0, 0)
	f.wantTexts("Peek after a Put", f.peek(queue, 32), "after")
}

func testApproximateCount(f *fixture) {
	f.create(queue, nil)
	f.put(queue, "visible", 0, 0)
	f.put(queue, "hidden", time.Hour, 0)
	f.put(queue, "got", 0, 0)
	f.put(queue, "never", 0, -1)
	if c := f.count(queue); c != 4 {
		f.t.Fatalf("count %d; want 4", c)
	}
	f.get(queue, 1, time.Hour)
	if c := f.count(queue); c != 4 {
		f.t.Fatalf("count after Get %d; want 4 (invisible messages count)", c)
	}
}

func testMissingQueue(f *fixture) {
	f.create(queue, nil)
	m := f.put(queue, "m", 0, 0)
	const missing = "devstoreaccount1/missing"
	code := broker.CodeNotFound
	_, err := f.e.Queue(f.ctx, missing)
	f.wantCode("Queue", err, code)
	f.wantCode("DeleteQueue", f.e.DeleteQueue(f.ctx, missing), code)
	f.wantCode("UpdateMetadata", f.e.UpdateMetadata(f.ctx, missing, func(map[string]string) map[string]string {
		f.t.Error("UpdateMetadata of a missing queue called its update")
		return nil
	}), code)
	_, err = f.e.Put(f.ctx, missing, []byte("x"), 0, 0)
	f.wantCode("Put", err, code)
	_, err = f.e.Put(f.ctx, missing, []byte("x"), -time.Second, 0)
	f.wantCode("Put with a bad visibility", err, code)
	_, err = f.e.Get(f.ctx, missing, 1, time.Second)
	f.wantCode("Get", err, code)
	_, err = f.e.Get(f.ctx, missing, 1, -time.Second)
	f.wantCode("Get with a bad visibility", err, code)
	_, err = f.e.Peek(f.ctx, missing, 1)
	f.wantCode("Peek", err, code)
	f.wantCode("DeleteMessage", f.e.DeleteMessage(f.ctx, missing, m.ID, m.Receipt), code)
	f.wantCode("DeleteMessage with a malformed receipt", f.e.DeleteMessage(f.ctx, missing, m.ID, "!"), code)
	f.wantCode("DeleteMessage with a malformed id", f.e.DeleteMessage(f.ctx, missing, "x", m.Receipt), code)
	_, err = f.e.Update(f.ctx, missing, m.ID, m.Receipt, 0, nil)
	f.wantCode("Update", err, code)
	_, err = f.e.Update(f.ctx, missing, m.ID, "!", 0, nil)
	f.wantCode("Update with a malformed receipt", err, code)
	f.wantCode("Clear", f.e.Clear(f.ctx, missing), code)
	// The message of the queue that exists is untouched.
	f.wantTexts("Peek", f.peek(queue, 32), "m")
}

// testConcurrentMetadataUpdates: updates that each add their own key,
// all at once, leave every key: none is lost between a read and a write.
func testConcurrentMetadataUpdates(f *fixture) {
	f.create(queue, nil)
	const n = 16
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- f.e.UpdateMetadata(f.ctx, queue, func(old map[string]string) map[string]string {
				if old == nil {
					old = map[string]string{}
				}
				old[fmt.Sprint("k", i)] = "v"
				return old
			})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			f.t.Fatal(err)
		}
	}
	if got := f.queue(queue).Metadata; len(got) != n {
		f.t.Fatalf("after %d concurrent updates each adding a key, the metadata has %d keys: %q", n, len(got), got)
	}
}
