package e2e

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue/sas"

	"github.com/batonmq/baton/internal/config"
	"github.com/batonmq/baton/internal/httpapi/queuestorage"
	"github.com/batonmq/baton/internal/server"
)

// sqEnv is an in-process Baton with only its Queue Storage face, on a
// loopback port, and an azqueue client built from Azurite's explicit
// connection string.
type sqEnv struct {
	t        testing.TB
	srv      *server.Server
	cfg      config.Config
	endpoint string // http://127.0.0.1:port/devstoreaccount1
	connStr  string
	svc      *azqueue.ServiceClient
	cred     *azqueue.SharedKeyCredential
}

// startSQ starts Baton with cfg (listeners forced to loopback port 0, the
// Service Bus face off).
func startSQ(t testing.TB, cfg config.Config) *sqEnv {
	t.Helper()
	cfg.Listen.Mgmt, cfg.Listen.AMQP, cfg.Listen.AMQPS = "", "", ""
	cfg.Listen.QueueStorage = "127.0.0.1:0"
	if cfg.Listen.QueueStorageHTTPS != "" {
		cfg.Listen.QueueStorageHTTPS = "127.0.0.1:0"
	}
	if !cfg.Memory && (cfg.DataDir == "" || cfg.DataDir == config.Default().DataDir) {
		cfg.DataDir = t.TempDir()
	}
	s, err := server.New(cfg, server.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	e := &sqEnv{t: t, srv: s, cfg: cfg, endpoint: s.QueueStorageURL() + "/" + queuestorage.DevAccount}
	e.connStr = "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=" + queuestorage.DevKey + ";QueueEndpoint=" + e.endpoint + ";"
	e.svc, err = azqueue.NewServiceClientFromConnectionString(e.connStr, sqClientOptions())
	if err != nil {
		t.Fatal(err)
	}
	e.cred, err = azqueue.NewSharedKeyCredential(queuestorage.DevAccount, queuestorage.DevKey)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.stop)
	return e
}

// sqClientOptions turns azcore's retries off: every error the tests
// provoke is a 4xx, and a 5xx must fail the test rather than be retried.
func sqClientOptions() *azqueue.ClientOptions {
	return &azqueue.ClientOptions{ClientOptions: azcore.ClientOptions{Retry: policy.RetryOptions{MaxRetries: -1}}}
}

func (e *sqEnv) stop() {
	if e.srv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.srv.Shutdown(ctx); err != nil {
		e.t.Errorf("shutdown: %v", err)
	}
	e.srv = nil
}

// restart stops the server and starts it again on the same data directory.
func (e *sqEnv) restart() {
	e.t.Helper()
	cfg := e.cfg
	e.stop()
	ne := startSQ(e.t, cfg)
	*e = *ne
}

// queue returns a client for a queue.
func (e *sqEnv) queue(name string) *azqueue.QueueClient { return e.svc.NewQueueClient(name) }

// mustCreate creates a queue.
func (e *sqEnv) mustCreate(name string) *azqueue.QueueClient {
	e.t.Helper()
	q := e.queue(name)
	if _, err := q.Create(e.t.Context(), nil); err != nil {
		e.t.Fatalf("create %s: %v", name, err)
	}
	return q
}

// wantCode checks an SDK error's status and Azure error code.
func wantCode(t *testing.T, err error, status int, code string) {
	t.Helper()
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		t.Fatalf("error %v, want %d %s", err, status, code)
	}
	if re.StatusCode != status || re.ErrorCode != code {
		t.Fatalf("got %d %s, want %d %s (%v)", re.StatusCode, re.ErrorCode, status, code, err)
	}
}

// count returns the queue's approximate message count.
func count(t *testing.T, q *azqueue.QueueClient) int32 {
	t.Helper()
	p, err := q.GetProperties(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return *p.ApproximateMessagesCount
}

// sasClient returns a raw HTTP helper authorised by an account SAS with
// every permission, for requests the SDK cannot make (malformed bodies).
func (e *sqEnv) rawSAS() string {
	e.t.Helper()
	u, err := e.svc.GetSASURL(sas.AccountResourceTypes{Service: true, Container: true, Object: true},
		sas.AccountPermissions{Read: true, Write: true, Delete: true, List: true, Add: true, Create: true, Update: true, Process: true},
		time.Now().Add(time.Hour), nil)
	if err != nil {
		e.t.Fatal(err)
	}
	_, q, _ := strings.Cut(u, "?")
	return q
}

// raw sends one request and returns status and x-ms-error-code.
func raw(t *testing.T, method, url, body string, hdr ...string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("x-ms-version", "2026-04-06")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("x-ms-error-code"), resp.Header
}
