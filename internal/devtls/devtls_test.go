package devtls

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 26, 6, 0, 0, 0, time.UTC)

func read(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestEnsureCreatesFilesWithPermissions(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "tls")
	b, err := Ensure(dir, []string{"baton.test", "10.0.0.7"}, t0)
	if err != nil {
		t.Fatal(err)
	}
	for name, perm := range map[string]os.FileMode{
		CAFileName: 0o644, CAKeyFileName: 0o600, CertFileName: 0o644, CertKeyFileName: 0o600,
	} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != perm {
			t.Errorf("%s mode %v, want %v", name, fi.Mode().Perm(), perm)
		}
	}
	leaf := b.Leaf()
	for _, h := range []string{"localhost", "127.0.0.1", "::1", "baton.test", "10.0.0.7"} {
		if err := leaf.VerifyHostname(h); err != nil {
			t.Errorf("certificate does not cover %s: %v", h, err)
		}
	}
	if h, err := os.Hostname(); err == nil && h != "" {
		if err := leaf.VerifyHostname(h); err != nil {
			t.Errorf("certificate does not cover the host name %s: %v", h, err)
		}
	}
	if !b.ca.IsCA || b.ca.NotAfter.Before(t0.Add(9*365*24*time.Hour)) {
		t.Errorf("CA: IsCA=%v NotAfter=%v", b.ca.IsCA, b.ca.NotAfter)
	}
	if _, err := leaf.Verify(x509VerifyOptions(b, t0)); err != nil {
		t.Errorf("server certificate does not verify against the CA: %v", err)
	}
}

func TestEnsureReusesAndRenews(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	first, err := Ensure(dir, nil, t0)
	if err != nil {
		t.Fatal(err)
	}
	ca1, srv1 := read(t, first.CAFile), read(t, first.CertFile)

	// Same names, a day later: nothing changes.
	again, err := Ensure(dir, []string{"LOCALHOST"}, t0.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(read(t, again.CAFile), ca1) || !bytes.Equal(read(t, again.CertFile), srv1) {
		t.Fatal("Ensure rewrote certificates that were still good")
	}

	// A new name: a new server certificate from the same CA.
	more, err := Ensure(dir, []string{"extra.example"}, t0.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(read(t, more.CAFile), ca1) {
		t.Fatal("a new name replaced the CA")
	}
	srv2 := read(t, more.CertFile)
	if bytes.Equal(srv2, srv1) {
		t.Fatal("a new name did not give a new server certificate")
	}
	if err := more.Leaf().VerifyHostname("extra.example"); err != nil {
		t.Fatal(err)
	}

	// Near the server certificate's expiry: renewed, CA kept.
	late := t0.Add(ServerValidity - RenewBefore/2)
	renewed, err := Ensure(dir, []string{"extra.example"}, late)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(read(t, renewed.CAFile), ca1) {
		t.Fatal("renewing the server certificate replaced the CA")
	}
	if !renewed.Leaf().NotAfter.After(late.Add(RenewBefore)) {
		t.Fatalf("renewed certificate expires %v", renewed.Leaf().NotAfter)
	}

	// After the CA's expiry: everything new.
	later := t0.Add(CAValidity)
	fresh, err := Ensure(dir, nil, later)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(read(t, fresh.CAFile), ca1) {
		t.Fatal("expired CA kept")
	}
	if _, err := fresh.Leaf().Verify(x509VerifyOptions(fresh, later)); err != nil {
		t.Fatal(err)
	}
}

func TestEnsureReplacesDamagedFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if _, err := Ensure(dir, nil, t0); err != nil {
		t.Fatal(err)
	}
	// A server key that does not match its certificate.
	if err := os.WriteFile(filepath.Join(dir, CertKeyFileName), []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	b, err := Ensure(dir, nil, t0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tls.LoadX509KeyPair(b.CertFile, b.KeyFile); err != nil {
		t.Fatalf("files after repair do not load: %v", err)
	}
	if _, err := Ensure(dir, []string{"bad name!"}, t0); err == nil {
		t.Fatal("a bad host name was accepted")
	}
}

func TestTLSServerWithBundle(t *testing.T) {
	t.Parallel()
	b, err := Ensure(t.TempDir(), nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "hello")
	}))
	srv.TLS = b.TLSConfig()
	srv.StartTLS()
	t.Cleanup(srv.Close)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: b.CertPool()}}}
	t.Cleanup(client.CloseIdleConnections)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	for _, host := range []string{"127.0.0.1", "localhost"} {
		resp, err := client.Get("https://" + net.JoinHostPort(host, port) + "/")
		if err != nil {
			t.Fatalf("%s: %v", host, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(body) != "hello" {
			t.Fatalf("%s: body %q", host, body)
		}
	}
	// The user-supplied path: the same files loaded with Load.
	loaded, err := Load(b.CertFile, b.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	if loaded.CAFile != "" || loaded.Leaf().SerialNumber.Cmp(b.Leaf().SerialNumber) != 0 {
		t.Fatal("Load returned a different certificate")
	}
	if _, err := Load(b.CertFile, filepath.Join(t.TempDir(), "missing.pem")); err == nil {
		t.Fatal("Load of a missing key succeeded")
	}
}

func x509VerifyOptions(b *Bundle, now time.Time) x509.VerifyOptions {
	return x509.VerifyOptions{Roots: b.CertPool(), CurrentTime: now, DNSName: "localhost"}
}
