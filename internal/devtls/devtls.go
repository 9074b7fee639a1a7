// Package devtls gives Baton its TLS certificates: a local development CA
// created on first start in the data directory, with a server certificate
// signed by it, or certificate and key files the user supplies.
//
// The Service Bus administration clients always dial https (they ignore
// UseDevelopmentEmulator), so Baton needs a certificate that a developer's
// machine can trust with one step: point SSL_CERT_FILE (Go on Linux),
// NODE_EXTRA_CA_CERTS (Node) or a custom transport at ca.pem.
//
// Files, in the directory given to Ensure (see Dir):
//
//	ca.pem          the CA certificate (ECDSA P-256, valid 10 years)   0644
//	ca-key.pem      the CA private key (PKCS #8)                       0600
//	server.pem      the server certificate, then the CA certificate    0644
//	server-key.pem  the server private key (PKCS #8)                   0600
//
// Ensure reuses what is there. It makes a new server certificate when the
// old one is missing, unreadable, expires within RenewBefore, was not signed
// by the CA, or does not name every requested host; it makes a new CA (and
// so a new server certificate) only when the CA is missing, unreadable or
// expires within RenewBefore. Files are written to a temporary name and
// renamed, so a crash never leaves half a key.
//
// Time comes from the caller (the now parameter); randomness from
// crypto/rand.
package devtls

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// File names inside the certificate directory.
const (
	CAFileName      = "ca.pem"
	CAKeyFileName   = "ca-key.pem"
	CertFileName    = "server.pem"
	CertKeyFileName = "server-key.pem"
)

// Validity periods. The server certificate stays under 825 days, the
// longest macOS accepts for a certificate from a user-installed root.
const (
	CAValidity     = 10 * 365 * 24 * time.Hour
	ServerValidity = 825 * 24 * time.Hour
	// RenewBefore is how long before expiry a certificate is replaced.
	RenewBefore = 30 * 24 * time.Hour
	// backdate covers clocks that are a little behind the one that signed.
	backdate = time.Hour
)

// Dir returns the directory inside a data directory that holds the
// development CA and server certificate. The server and `baton cert` both
// use it, so they find the same files.
func Dir(dataDir string) string { return filepath.Join(dataDir, "tls") }

// Bundle is a server certificate ready to serve, with the files it came
// from.
type Bundle struct {
	// CAFile is the development CA's certificate, the file clients trust.
	// Empty for a user-supplied certificate (Load).
	CAFile string
	// CertFile holds the server certificate chain, KeyFile its private key.
	CertFile string
	KeyFile  string

	cert tls.Certificate
	ca   *x509.Certificate // nil for Load
	leaf *x509.Certificate
}

// TLSConfig returns a new server configuration that presents the
// certificate, with TLS 1.2 as the minimum. NextProtos is left empty:
// http.Server.ServeTLS adds "h2" itself; a server that wraps connections by
// hand gets HTTP/1.1.
func (b *Bundle) TLSConfig() *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{b.cert},
		MinVersion:   tls.VersionTLS12,
	}
}

// CertPool returns a pool that trusts the certificate: the development CA,
// or, for a user-supplied certificate, every certificate in its chain file
// (enough for a self-signed one; a certificate from a public CA needs no
// pool).
func (b *Bundle) CertPool() *x509.CertPool {
	pool := x509.NewCertPool()
	if b.ca != nil {
		pool.AddCert(b.ca)
		return pool
	}
	for _, der := range b.cert.Certificate {
		if c, err := x509.ParseCertificate(der); err == nil {
			pool.AddCert(c)
		}
	}
	return pool
}

// Leaf returns the parsed server certificate.
func (b *Bundle) Leaf() *x509.Certificate { return b.leaf }

// Load reads a user-supplied PEM certificate chain and private key.
func Load(certFile, keyFile string) (*Bundle, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("devtls: load %s and %s: %w", certFile, keyFile, err)
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		return nil, fmt.Errorf("devtls: parse %s: %w", certFile, err)
	}
	cert.Leaf = leaf
	return &Bundle{CertFile: certFile, KeyFile: keyFile, cert: cert, leaf: leaf}, nil
}

// DefaultNames returns the names every development certificate carries:
// localhost, 127.0.0.1, ::1 and the machine's host name when it has one.
func DefaultNames() []string {
	names := []string{"localhost", "127.0.0.1", "::1"}
	if h, err := os.Hostname(); err == nil && h != "" {
		names = append(names, h)
	}
	return names
}

// Ensure makes sure dir holds a development CA and a server certificate
// valid at now for DefaultNames plus names, creating or renewing them as
// the package doc describes, and returns the server certificate.
func Ensure(dir string, names []string, now time.Time) (*Bundle, error) {
	if dir == "" {
		return nil, errors.New("devtls: no directory")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("devtls: %w", err)
	}
	hosts := normalizeNames(append(DefaultNames(), names...))
	for _, n := range hosts {
		if err := checkName(n); err != nil {
			return nil, err
		}
	}
	b := &Bundle{
		CAFile:   filepath.Join(dir, CAFileName),
		CertFile: filepath.Join(dir, CertFileName),
		KeyFile:  filepath.Join(dir, CertKeyFileName),
	}
	caKeyFile := filepath.Join(dir, CAKeyFileName)

	ca, caKey, err := loadPair(b.CAFile, caKeyFile)
	if err != nil || !ca.IsCA || now.Add(RenewBefore).After(ca.NotAfter) || now.Before(ca.NotBefore) {
		if ca, caKey, err = newCA(now); err != nil {
			return nil, err
		}
		// Write the key first: a crash between the two leaves a CA
		// certificate that does not match, which the next start replaces.
		if err := writeFile(caKeyFile, pemKey(caKey), 0o600); err != nil {
			return nil, err
		}
		if err := writeFile(b.CAFile, pemCert(ca.Raw), 0o644); err != nil {
			return nil, err
		}
	}
	b.ca = ca

	leaf, key, err := loadPair(b.CertFile, b.KeyFile)
	if err != nil || !serverUsable(leaf, ca, hosts, now) {
		if leaf, key, err = newServer(ca, caKey, hosts, now); err != nil {
			return nil, err
		}
		if err := writeFile(b.KeyFile, pemKey(key), 0o600); err != nil {
			return nil, err
		}
		chain := append(pemCert(leaf.Raw), pemCert(ca.Raw)...)
		if err := writeFile(b.CertFile, chain, 0o644); err != nil {
			return nil, err
		}
	}
	b.leaf = leaf
	b.cert = tls.Certificate{Certificate: [][]byte{leaf.Raw, ca.Raw}, PrivateKey: key, Leaf: leaf}
	return b, nil
}

// serverUsable reports whether leaf was signed by ca, is valid for a while
// longer and names every host.
func serverUsable(leaf, ca *x509.Certificate, hosts []string, now time.Time) bool {
	if leaf.CheckSignatureFrom(ca) != nil || !bytes.Equal(leaf.RawIssuer, ca.RawSubject) {
		return false
	}
	if now.Before(leaf.NotBefore) || now.Add(RenewBefore).After(leaf.NotAfter) {
		return false
	}
	for _, h := range hosts {
		if leaf.VerifyHostname(h) != nil {
			return false
		}
	}
	return true
}

// loadPair reads a certificate and its ECDSA key and checks they match.
func loadPair(certFile, keyFile string) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return nil, nil, err
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, nil, err
	}
	block, _ := pem.Decode(certPEM)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, nil, fmt.Errorf("devtls: %s holds no certificate", certFile)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("devtls: %s: %w", certFile, err)
	}
	kb, _ := pem.Decode(keyPEM)
	if kb == nil {
		return nil, nil, fmt.Errorf("devtls: %s holds no key", keyFile)
	}
	k, err := x509.ParsePKCS8PrivateKey(kb.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("devtls: %s: %w", keyFile, err)
	}
	key, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		return nil, nil, fmt.Errorf("devtls: %s is not an ECDSA key", keyFile)
	}
	pub, ok := cert.PublicKey.(*ecdsa.PublicKey)
	if !ok || !pub.Equal(key.Public()) {
		return nil, nil, fmt.Errorf("devtls: %s does not match %s", keyFile, certFile)
	}
	return cert, key, nil
}

func newCA(now time.Time) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("devtls: generate CA key: %w", err)
	}
	serial, err := newSerial()
	if err != nil {
		return nil, nil, err
	}
	host, _ := os.Hostname()
	name := "Baton Development CA"
	if host != "" {
		name += " (" + host + ")"
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: name, Organization: []string{"Baton development"}},
		NotBefore:             now.Add(-backdate),
		NotAfter:              now.Add(CAValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("devtls: create CA: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("devtls: parse new CA: %w", err)
	}
	return cert, key, nil
}

func newServer(ca *x509.Certificate, caKey crypto.Signer, hosts []string, now time.Time) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("devtls: generate server key: %w", err)
	}
	serial, err := newSerial()
	if err != nil {
		return nil, nil, err
	}
	notAfter := now.Add(ServerValidity)
	if notAfter.After(ca.NotAfter) {
		notAfter = ca.NotAfter
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: hosts[0], Organization: []string{"Baton development"}},
		NotBefore:    now.Add(-backdate),
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, nil, fmt.Errorf("devtls: create server certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("devtls: parse new server certificate: %w", err)
	}
	return cert, key, nil
}

func newSerial() (*big.Int, error) {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("devtls: serial number: %w", err)
	}
	return n.Add(n, big.NewInt(1)), nil
}

func pemCert(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func pemKey(key *ecdsa.PrivateKey) []byte {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		// An ECDSA P-256 key always marshals.
		panic("devtls: marshal key: " + err.Error())
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// writeFile writes data to path atomically with the given permissions.
func writeFile(path string, data []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("devtls: %w", err)
	}
	name := tmp.Name()
	cleanup := func(err error) error {
		_ = tmp.Close()
		_ = os.Remove(name)
		return fmt.Errorf("devtls: write %s: %w", path, err)
	}
	if err := tmp.Chmod(perm); err != nil {
		return cleanup(err)
	}
	if _, err := tmp.Write(data); err != nil {
		return cleanup(err)
	}
	if err := tmp.Sync(); err != nil {
		return cleanup(err)
	}
	if err := tmp.Close(); err != nil {
		return cleanup(err)
	}
	if err := os.Rename(name, path); err != nil {
		_ = os.Remove(name)
		return fmt.Errorf("devtls: write %s: %w", path, err)
	}
	return nil
}

// normalizeNames lower-cases DNS names, canonicalises IP addresses and
// drops duplicates and empty entries, keeping the first occurrence order.
func normalizeNames(in []string) []string {
	seen := make(map[string]bool, len(in))
	out := make([]string, 0, len(in))
	for _, n := range in {
		n = strings.TrimSpace(n)
		if n == "" {
			continue
		}
		if ip := net.ParseIP(n); ip != nil {
			n = ip.String()
		} else {
			n = strings.ToLower(strings.TrimSuffix(n, "."))
		}
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out
}

func checkName(n string) error {
	if net.ParseIP(n) != nil {
		return nil
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '*') {
			return fmt.Errorf("devtls: %q is not a host name or IP address", n)
		}
	}
	return nil
}
