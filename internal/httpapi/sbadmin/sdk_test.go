package sbadmin_test

// End-to-end tests: the official Go administration client, unchanged and
// through its public API only, against the handler on a real TLS listener
// on 127.0.0.1:0 with a devtls certificate, trusted through the client's
// transport only.

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus/admin"

	"github.com/batonmq/baton/internal/broker"
	"github.com/batonmq/baton/internal/clock"
	"github.com/batonmq/baton/internal/devtls"
	"github.com/batonmq/baton/internal/httpapi/sbadmin"
	"github.com/batonmq/baton/internal/store/memstore"
)

type sdkFixture struct {
	b      *broker.Broker
	clock  *clock.Fake
	srv    *httptest.Server
	bundle *devtls.Bundle
	start  time.Time
}

func setupSDK(t *testing.T, keys map[string]string) *sdkFixture {
	t.Helper()
	return setupSDKEngine(t, keys, nil)
}

// setupSDKEngine is setupSDK with the handler over wrap(broker) when wrap
// is not nil.
func setupSDKEngine(t *testing.T, keys map[string]string, wrap func(broker.Engine) broker.Engine) *sdkFixture {
	t.Helper()
	// The fake clock runs at about the real time: the SDK signs its tokens
	// with the wall clock.
	start := time.Now().UTC().Truncate(time.Second)
	f := &sdkFixture{clock: clock.NewFake(start), start: start}
	st := memstore.New()
	b, err := broker.New(broker.Config{Store: st, Clock: f.clock})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Open(t.Context()); err != nil {
		t.Fatal(err)
	}
	f.b = b
	f.bundle, err = devtls.Ensure(t.TempDir(), nil, start)
	if err != nil {
		t.Fatal(err)
	}
	var e broker.Engine = b
	if wrap != nil {
		e = wrap(b)
	}
	h := sbadmin.New(sbadmin.Config{Broker: e, Clock: f.clock, Namespace: "sbtest", Keys: keys})
	f.srv = httptest.NewUnstartedServer(h)
	f.srv.TLS = f.bundle.TLSConfig()
	f.srv.StartTLS()
	t.Cleanup(func() {
		f.srv.Close()
		b.Close()
		st.Close()
	})
	return f
}

func (f *sdkFixture) client(t *testing.T, key string) *admin.Client {
	t.Helper()
	addr := strings.TrimPrefix(f.srv.URL, "https://")
	cs := fmt.Sprintf("Endpoint=sb://%s;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=%s;UseDevelopmentEmulator=true", addr, key)
	transport := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: f.bundle.CertPool()}}
	t.Cleanup(transport.CloseIdleConnections)
	c, err := admin.NewClientFromConnectionString(cs, &admin.ClientOptions{
		ClientOptions: azcore.ClientOptions{
			Transport: &http.Client{Transport: transport},
			Retry:     policy.RetryOptions{MaxRetries: -1},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func ptr[T any](v T) *T { return &v }

func statusOf(t *testing.T, err error) int {
	t.Helper()
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		t.Fatalf("error %v (%T) is not an *azcore.ResponseError", err, err)
	}
	return re.StatusCode
}

// everyProperty sets every property of admin.QueueProperties that Baton
// keeps (AuthorizationRules are not kept; see the package doc).
func everyProperty() admin.QueueProperties {
	return admin.QueueProperties{
		LockDuration:                        ptr("PT45S"),
		MaxSizeInMegabytes:                  ptr[int32](2048),
		RequiresDuplicateDetection:          ptr(true),
		RequiresSession:                     ptr(true),
		DefaultMessageTimeToLive:            ptr("P14DT12H"),
		DeadLetteringOnMessageExpiration:    ptr(true),
		DuplicateDetectionHistoryTimeWindow: ptr("PT20M"),
		MaxDeliveryCount:                    ptr[int32](7),
		EnableBatchedOperations:             ptr(false),
		Status:                              ptr(admin.EntityStatusActive),
		AutoDeleteOnIdle:                    ptr("P7D"),
		EnablePartitioning:                  ptr(true),
		ForwardTo:                           ptr("archive"),
		ForwardDeadLetteredMessagesTo:       ptr("dlq-archive"),
		UserMetadata:                        ptr(`hello <&> "world"`),
		MaxMessageSizeInKilobytes:           ptr[int64](1024),
	}
}

func TestSDKQueueLifecycle(t *testing.T) {
	t.Parallel()
	f := setupSDK(t, nil)
	c := f.client(t, "any")
	ctx := t.Context()

	ns, err := c.GetNamespaceProperties(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ns.Name != "sbtest" || ns.SKU != "Standard" || !ns.CreatedTime.Equal(f.start) {
		t.Fatalf("namespace properties %+v", ns.NamespaceProperties)
	}

	// Create with every property: the response and a GET give them back
	// exactly. The forwarding destinations must exist.
	for _, n := range []string{"archive", "dlq-archive"} {
		if _, err := c.CreateQueue(ctx, n, nil); err != nil {
			t.Fatal(err)
		}
	}
	want := everyProperty()
	created, err := c.CreateQueue(ctx, "orders", &admin.CreateQueueOptions{Properties: &want})
	if err != nil {
		t.Fatal(err)
	}
	if created.QueueName != "orders" || !reflect.DeepEqual(created.QueueProperties, want) {
		t.Fatalf("created:\n got %s\nwant %s", dump(created.QueueProperties), dump(want))
	}
	got, err := c.GetQueue(ctx, "orders", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got == nil || got.QueueName != "orders" || !reflect.DeepEqual(got.QueueProperties, want) {
		t.Fatalf("get:\n got %+v\nwant %s", got, dump(want))
	}

	// Defaults, as Service Bus has them.
	plain, err := c.CreateQueue(ctx, "plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	defaults := admin.QueueProperties{
		LockDuration:                        ptr("PT1M"),
		MaxSizeInMegabytes:                  ptr[int32](1024),
		RequiresDuplicateDetection:          ptr(false),
		RequiresSession:                     ptr(false),
		DefaultMessageTimeToLive:            ptr("P10675199DT2H48M5.4775807S"),
		DeadLetteringOnMessageExpiration:    ptr(false),
		DuplicateDetectionHistoryTimeWindow: ptr("PT10M"),
		MaxDeliveryCount:                    ptr[int32](10),
		EnableBatchedOperations:             ptr(true),
		Status:                              ptr(admin.EntityStatusActive),
		AutoDeleteOnIdle:                    ptr("P10675199DT2H48M5.4775807S"),
		EnablePartitioning:                  ptr(false),
		MaxMessageSizeInKilobytes:           ptr[int64](256),
	}
	if !reflect.DeepEqual(plain.QueueProperties, defaults) {
		t.Fatalf("defaults:\n got %s\nwant %s", dump(plain.QueueProperties), dump(defaults))
	}

	// Create again: 409.
	if _, err := c.CreateQueue(ctx, "ORDERS", nil); err == nil || statusOf(t, err) != http.StatusConflict {
		t.Fatalf("second create: %v", err)
	}

	// Update: what GetQueue returned, changed; the response and a GET agree.
	f.clock.Advance(time.Minute)
	upd := got.QueueProperties
	upd.LockDuration = ptr("PT2M30S")
	upd.Status = ptr(admin.EntityStatusSendDisabled)
	upd.UserMetadata = ptr("v2")
	upd.MaxDeliveryCount = ptr[int32](3)
	upd.ForwardTo = nil
	updated, err := c.UpdateQueue(ctx, "orders", upd, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(updated.QueueProperties, upd) {
		t.Fatalf("updated:\n got %s\nwant %s", dump(updated.QueueProperties), dump(upd))
	}
	got, err = c.GetQueue(ctx, "orders", nil)
	if err != nil || !reflect.DeepEqual(got.QueueProperties, upd) {
		t.Fatalf("get after update: %v %+v", err, got)
	}
	rt, err := c.GetQueueRuntimeProperties(ctx, "orders", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !rt.CreatedAt.Equal(f.start) || !rt.UpdatedAt.Equal(f.start.Add(time.Minute)) {
		t.Fatalf("times after update: created %v updated %v (start %v)", rt.CreatedAt, rt.UpdatedAt, f.start)
	}

	// Update of a missing queue: 404; changing RequiresSession: 400.
	if _, err := c.UpdateQueue(ctx, "missing", upd, nil); err == nil || statusOf(t, err) != http.StatusNotFound {
		t.Fatalf("update of a missing queue: %v", err)
	}
	upd.RequiresSession = ptr(false)
	if _, err := c.UpdateQueue(ctx, "orders", upd, nil); err == nil || statusOf(t, err) != http.StatusBadRequest {
		t.Fatalf("RequiresSession change: %v", err)
	}

	// Bad properties: 400 with the element named.
	_, err = c.CreateQueue(ctx, "bad", &admin.CreateQueueOptions{Properties: &admin.QueueProperties{LockDuration: ptr("banana")}})
	if err == nil || statusOf(t, err) != http.StatusBadRequest || !strings.Contains(err.Error(), "LockDuration") {
		t.Fatalf("bad LockDuration: %v", err)
	}
	_, err = c.CreateQueue(ctx, "bad", &admin.CreateQueueOptions{Properties: &admin.QueueProperties{LockDuration: ptr("PT10M")}})
	if err == nil || statusOf(t, err) != http.StatusBadRequest {
		t.Fatalf("LockDuration over the limit: %v", err)
	}
	if _, err := c.CreateQueue(ctx, "bad!name", nil); err == nil || statusOf(t, err) != http.StatusBadRequest {
		t.Fatalf("bad name: %v", err)
	}

	// Delete: gone, GET says nil, a second delete is 404.
	if _, err := c.DeleteQueue(ctx, "orders", nil); err != nil {
		t.Fatal(err)
	}
	if q, err := c.GetQueue(ctx, "orders", nil); err != nil || q != nil {
		t.Fatalf("get after delete: %+v, %v", q, err)
	}
	if q, err := c.GetQueueRuntimeProperties(ctx, "orders", nil); err != nil || q != nil {
		t.Fatalf("runtime properties after delete: %+v, %v", q, err)
	}
	if _, err := c.DeleteQueue(ctx, "orders", nil); err == nil || statusOf(t, err) != http.StatusNotFound {
		t.Fatalf("second delete: %v", err)
	}
}

func TestSDKRuntimePropertiesAndPaging(t *testing.T) {
	t.Parallel()
	f := setupSDK(t, nil)
	c := f.client(t, "any")
	ctx := t.Context()

	names := []string{"q-c", "q-a", "q-e", "q-b", "q-d"}
	for _, n := range names {
		if _, err := c.CreateQueue(ctx, n, nil); err != nil {
			t.Fatal(err)
		}
	}
	f.clock.Advance(time.Second)
	// Three messages, one scheduled, one dead-lettered, one deferred.
	msgs := []*broker.Message{{Body: []byte("one")}, {Body: []byte("two")}, {Body: []byte("three")}, {Body: []byte("four")}}
	if _, err := f.b.Send(ctx, "q-a", msgs); err != nil {
		t.Fatal(err)
	}
	if _, err := f.b.Schedule(ctx, "q-a", []*broker.Message{{Body: []byte("later")}}, f.clock.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	got, err := f.b.Receive(ctx, "q-a", broker.ReceiveOptions{MaxMessages: 2})
	if err != nil || len(got) != 2 {
		t.Fatalf("receive: %v, %d messages", err, len(got))
	}
	if err := f.b.Settle(ctx, "q-a", got[0].LockToken, broker.Settlement{Disposition: broker.DeadLetter, DeadLetterReason: "test"}); err != nil {
		t.Fatal(err)
	}
	if err := f.b.Settle(ctx, "q-a", got[1].LockToken, broker.Settlement{Disposition: broker.Defer}); err != nil {
		t.Fatal(err)
	}

	rt, err := c.GetQueueRuntimeProperties(ctx, "q-a", nil)
	if err != nil {
		t.Fatal(err)
	}
	info, err := f.b.GetEntity("q-a")
	if err != nil {
		t.Fatal(err)
	}
	want := admin.QueueRuntimeProperties{
		SizeInBytes:            info.SizeBytes,
		CreatedAt:              f.start,
		UpdatedAt:              f.start,
		AccessedAt:             info.AccessedAt.UTC(),
		TotalMessageCount:      5,
		ActiveMessageCount:     3, // two active + one deferred, as Service Bus counts
		DeadLetterMessageCount: 1,
		ScheduledMessageCount:  1,
	}
	if want.SizeInBytes == 0 || info.AccessedAt.IsZero() {
		t.Fatalf("broker reports size %d, accessed %v", info.SizeBytes, info.AccessedAt)
	}
	if !reflect.DeepEqual(rt.QueueRuntimeProperties, want) {
		t.Fatalf("runtime properties:\n got %+v\nwant %+v", rt.QueueRuntimeProperties, want)
	}

	// Paging: pages of two, names in order, no more than asked for.
	var listed []string
	pages := 0
	pager := c.NewListQueuesPager(&admin.ListQueuesOptions{MaxPageSize: 2})
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Queues) > 2 {
			t.Fatalf("page of %d", len(page.Queues))
		}
		if len(page.Queues) > 0 {
			pages++
		}
		for _, q := range page.Queues {
			listed = append(listed, q.QueueName)
			if *q.LockDuration != "PT1M" {
				t.Fatalf("listed %s with LockDuration %s", q.QueueName, *q.LockDuration)
			}
		}
	}
	if strings.Join(listed, ",") != "q-a,q-b,q-c,q-d,q-e" || pages != 3 {
		t.Fatalf("listed %v in %d pages", listed, pages)
	}

	// Without a page size, and the runtime-properties pager.
	listed = listed[:0]
	rtPager := c.NewListQueuesRuntimePropertiesPager(nil)
	for rtPager.More() {
		page, err := rtPager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range page.QueueRuntimeProperties {
			listed = append(listed, q.QueueName)
			if q.QueueName == "q-a" && !reflect.DeepEqual(q.QueueRuntimeProperties, want) {
				t.Fatalf("listed runtime properties:\n got %+v\nwant %+v", q.QueueRuntimeProperties, want)
			}
		}
	}
	if strings.Join(listed, ",") != "q-a,q-b,q-c,q-d,q-e" {
		t.Fatalf("listed %v", listed)
	}
}

func TestSDKAuthentication(t *testing.T) {
	t.Parallel()
	f := setupSDK(t, map[string]string{"RootManageSharedAccessKey": "s3cret"})
	ctx := t.Context()

	good := f.client(t, "s3cret")
	if _, err := good.CreateQueue(ctx, "q1", nil); err != nil {
		t.Fatalf("the right key: %v", err)
	}
	bad := f.client(t, "wrong")
	_, err := bad.GetQueue(ctx, "q1", nil)
	if err == nil || statusOf(t, err) != http.StatusUnauthorized {
		t.Fatalf("a wrong key: %v", err)
	}
	var re *azcore.ResponseError
	if !errors.As(err, &re) || re.ErrorCode != "Unauthorized" || !strings.Contains(err.Error(), "signature does not match") {
		t.Fatalf("a wrong key: %v", err)
	}
	// Tokens are checked against the injected clock: three hours on, the
	// SDK's tokens (valid for two hours from the wall clock) have expired.
	f.clock.Advance(3 * time.Hour)
	_, err = good.GetQueue(ctx, "q1", nil)
	if err == nil || statusOf(t, err) != http.StatusUnauthorized || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("an expired token: %v", err)
	}
}

func dump(p admin.QueueProperties) string {
	var b strings.Builder
	v := reflect.ValueOf(p)
	for i := 0; i < v.NumField(); i++ {
		fv := v.Field(i)
		fmt.Fprintf(&b, "%s=", v.Type().Field(i).Name)
		if fv.Kind() == reflect.Pointer && !fv.IsNil() {
			fmt.Fprintf(&b, "%v ", fv.Elem().Interface())
		} else {
			fmt.Fprintf(&b, "%v ", fv.Interface())
		}
	}
	return b.String()
}
