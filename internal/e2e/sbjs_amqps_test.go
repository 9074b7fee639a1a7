package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus/admin"

	"github.com/batonmq/baton/internal/config"
)

// AMQP over TLS (the AMQPS listener, internal/server/amqps.go), with the Go
// SDK as an application uses it against Azure: a connection string without
// UseDevelopmentEmulator, so the client dials amqps://localhost:<port>,
// trusting the development CA through ClientOptions.TLSConfig. The admin
// client reaches the same port over HTTPS. (The file name carries the sbjs_
// prefix of the JavaScript tests' owner; the JS side of AMQPS is in
// js/amqps.test.mjs.)

func caPool(t testing.TB, caFile string) *x509.CertPool {
	t.Helper()
	pem, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		t.Fatalf("no certificate in %s", caFile)
	}
	return roots
}

func startSBWithAMQPS(t *testing.T) (*sb, string) {
	t.Helper()
	cfg := config.Default()
	cfg.Listen.AMQPS = "127.0.0.1:0"
	e := startSB(t, cfg)
	addr := e.srv.AMQPSAddr()
	if addr == "" {
		t.Fatal("AMQPSAddr is empty with listen.amqps set")
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	return e, "Endpoint=sb://localhost:" + port + ";SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=any"
}

func TestSBAMQPSGoSDK(t *testing.T) {
	e, connStr := startSBWithAMQPS(t)
	roots := caPool(t, e.srv.CAFile())
	c := ctx(t)

	ac, err := admin.NewClientFromConnectionString(connStr, &admin.ClientOptions{ClientOptions: azcore.ClientOptions{
		Transport: &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ac.CreateQueue(c, "secure", nil); err != nil {
		t.Fatalf("CreateQueue over the AMQPS port's HTTPS: %v", err)
	}
	q, err := ac.GetQueue(c, "secure", nil)
	if err != nil || q == nil || q.QueueName != "secure" {
		t.Fatalf("GetQueue = %+v, %v", q, err)
	}

	// The Go SDK takes the TLS server name from the endpoint host with its
	// port ("localhost:41073"), which no certificate names: with a port in the
	// endpoint, name the host. (Endpoint=sb://localhost, port 5671, needs no
	// ServerName.)
	client, err := azservicebus.NewClientFromConnectionString(connStr, &azservicebus.ClientOptions{TLSConfig: &tls.Config{RootCAs: roots, ServerName: "localhost"}})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close(context.Background())
	sender, err := client.NewSender("secure", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range []string{"over", "tls"} {
		if err := sender.SendMessage(c, &azservicebus.Message{Body: []byte(b), ApplicationProperties: map[string]any{"k": b}}, nil); err != nil {
			t.Fatalf("SendMessage over AMQPS: %v", err)
		}
	}
	recv, err := client.NewReceiverForQueue("secure", nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []*azservicebus.ReceivedMessage
	for len(got) < 2 {
		msgs, err := recv.ReceiveMessages(c, 2-len(got), nil)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, msgs...)
	}
	for i, want := range []string{"over", "tls"} {
		if string(got[i].Body) != want || got[i].ApplicationProperties["k"] != want {
			t.Fatalf("message %d = %q %v", i, got[i].Body, got[i].ApplicationProperties)
		}
		if err := recv.CompleteMessage(c, got[i], nil); err != nil {
			t.Fatal(err)
		}
	}
	// $management over TLS too.
	if peeked, err := recv.PeekMessages(c, 10, nil); err != nil || len(peeked) != 0 {
		t.Fatalf("peek after complete = %d messages, %v", len(peeked), err)
	}
	// The plain port still works beside it, on the same broker.
	if _, err := e.admin.GetQueue(c, "secure", nil); err != nil {
		t.Fatal(err)
	}
	rp, err := ac.GetQueueRuntimeProperties(c, "secure", nil)
	if err != nil || rp.TotalMessageCount != 0 {
		t.Fatalf("runtime properties = %+v, %v", rp, err)
	}
}

// TestSBAMQPSNeedsTrust: without the CA the handshake fails; the SDK
// reports an error instead of sending in clear.
func TestSBAMQPSNeedsTrust(t *testing.T) {
	e, connStr := startSBWithAMQPS(t)
	e.queue("q", nil)
	client, err := azservicebus.NewClientFromConnectionString(connStr, &azservicebus.ClientOptions{
		TLSConfig:    &tls.Config{RootCAs: x509.NewCertPool(), ServerName: "localhost"},
		RetryOptions: azservicebus.RetryOptions{MaxRetries: 1, RetryDelay: 10 * time.Millisecond, MaxRetryDelay: 20 * time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close(context.Background())
	sender, err := client.NewSender("q", nil)
	if err != nil {
		t.Fatal(err)
	}
	c, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	err = sender.SendMessage(c, &azservicebus.Message{Body: []byte("x")}, nil)
	if err == nil {
		t.Fatal("sent over TLS to an untrusted certificate")
	}
	// The SDK flattens the error chain; its text names the cause.
	if !strings.Contains(err.Error(), "certificate signed by unknown authority") {
		t.Fatalf("send to an untrusted certificate: %v", err)
	}
}

// TestSBAMQPSPlainRefused: a plain AMQP header on the TLS port is not a
// ClientHello: the server ends the connection without serving AMQP.
func TestSBAMQPSPlainRefused(t *testing.T) {
	e, _ := startSBWithAMQPS(t)
	nc, err := net.Dial("tcp", e.srv.AMQPSAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if err := nc.SetDeadline(time.Now().Add(30 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := nc.Write([]byte("AMQP\x03\x01\x00\x00")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	n, err := io.ReadAtLeast(nc, buf, 8)
	if err == nil && string(buf[:4]) == "AMQP" {
		t.Fatalf("plain AMQP served on the TLS port: %q", buf[:n])
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("the server kept a plain connection open on the TLS port")
	}
}

// TestSBAMQPSShutdown: Shutdown closes the AMQPS listener too.
func TestSBAMQPSShutdown(t *testing.T) {
	e, _ := startSBWithAMQPS(t)
	addr := e.srv.AMQPSAddr()
	srv := e.srv
	e.stop()
	if a := srv.AMQPSAddr(); a != "" {
		t.Fatalf("AMQPSAddr after Shutdown = %q", a)
	}
	d := net.Dialer{Timeout: 5 * time.Second}
	if nc, err := d.Dial("tcp", addr); err == nil {
		nc.Close()
		t.Fatalf("%s still accepts after Shutdown", addr)
	}
}
