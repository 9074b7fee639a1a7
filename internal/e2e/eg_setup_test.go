package e2e

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/batonmq/baton/internal/broker"
	"github.com/batonmq/baton/internal/config"
	"github.com/batonmq/baton/internal/server"
)

// egKey is a topic key in the form Azure gives (base64).
const egKey = "YmF0b24tZXZlbnQtZ3JpZC10ZXN0LWtleS0wMTIzNDU2Nzg5"

// eg is an in-process Baton with only its Event Grid face, on loopback
// port 0, HTTPS with the development CA.
type eg struct {
	t    testing.TB
	srv  *server.Server
	cfg  config.Config
	opts server.Options
	// client trusts the dev CA only through its transport.
	client *http.Client
}

// startEG starts Baton with cfg's eventGrid section. The default DataDir
// runs in memory (with the dev CA in a temporary directory).
func startEG(t testing.TB, cfg config.Config, opts server.Options) *eg {
	t.Helper()
	mgmt := "" // the management listener only when the test asks for one on port 0
	if strings.HasSuffix(cfg.Listen.Mgmt, ":0") {
		mgmt = cfg.Listen.Mgmt
	}
	sq := "" // and the Storage Queue listener likewise
	if strings.HasSuffix(cfg.Listen.QueueStorage, ":0") {
		sq = cfg.Listen.QueueStorage
	}
	cfg.Listen = config.Listen{EventGrid: "127.0.0.1:0", Mgmt: mgmt, QueueStorage: sq}
	if cfg.DataDir == "" || cfg.DataDir == config.Default().DataDir {
		cfg.DataDir = t.TempDir()
		cfg.Memory = cfg.Store == ""
	}
	e := &eg{t: t, cfg: cfg, opts: opts}
	e.start()
	t.Cleanup(e.stop)
	return e
}

func (e *eg) start() {
	e.t.Helper()
	s, err := server.New(e.cfg, e.opts)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := s.Start(e.t.Context()); err != nil {
		e.t.Fatal(err)
	}
	e.srv = s
	pem, err := os.ReadFile(s.CAFile())
	if err != nil {
		e.t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	e.client = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
}

func (e *eg) stop() {
	if e.srv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := e.srv.Shutdown(ctx); err != nil {
		e.t.Errorf("Shutdown: %v", err)
	}
	e.srv = nil
}

// restart stops Baton and starts it again on the same data directory.
func (e *eg) restart() {
	e.t.Helper()
	e.stop()
	e.start()
}

// url is the HTTPS base URL.
func (e *eg) url() string { return e.srv.EventGridURL() }

// clientOptions points an SDK at Baton, trusting the dev CA through the
// transport and with azcore's retries off (a test sees every status).
func (e *eg) clientOptions() azcore.ClientOptions {
	return azcore.ClientOptions{Transport: e.client, Retry: policy.RetryOptions{MaxRetries: -1}}
}

// broker returns the running broker.
func (e *eg) broker() *broker.Broker { return e.srv.Broker() }

// egWait waits for cond, checking every few milliseconds, up to 30 s.
func egWait(t *testing.T, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	deadline := time.NewTimer(30 * time.Second)
	defer deadline.Stop()
	for !cond() {
		select {
		case <-tick.C:
		case <-deadline.C:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// egSAS builds an Event Grid SAS token the way the .NET SDK does
// (r=…&e=…&s=…, lower-case escapes, en-US expiry).
func egSAS(resource string, exp time.Time, key string) string {
	kb, _ := base64.StdEncoding.DecodeString(key)
	enc := func(s string) string { return strings.ToLower(url.QueryEscape(s)) }
	signed := "r=" + enc(resource) + "&e=" + url.QueryEscape(exp.UTC().Format("1/2/2006 3:04:05 PM"))
	mac := hmac.New(sha256.New, kb)
	mac.Write([]byte(signed))
	return signed + "&s=" + url.QueryEscape(base64.StdEncoding.EncodeToString(mac.Sum(nil)))
}
