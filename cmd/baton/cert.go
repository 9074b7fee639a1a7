package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/batonmq/baton/internal/clock"
	"github.com/batonmq/baton/internal/config"
	"github.com/batonmq/baton/internal/devtls"
)

// runCert prints where the development CA is and how to trust it, creating
// the CA and the server certificate when they are missing.
func runCert(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("cert", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataDir := fs.String("data-dir", "", "data `directory` (default ./baton-data, or BATON_DATA_DIR)")
	var names certNameList
	fs.Var(&names, "name", "extra host `name` or IP address for the server certificate (repeatable)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return &usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return &usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	dir := config.Default().DataDir
	if v := os.Getenv("BATON_DATA_DIR"); v != "" {
		dir = v
	}
	if *dataDir != "" {
		dir = *dataDir
	}
	abs, err := filepath.Abs(devtls.Dir(dir))
	if err != nil {
		return err
	}
	b, err := devtls.Ensure(abs, names, clock.Real{}.Now())
	if err != nil {
		return err
	}
	leaf := b.Leaf()
	hosts := append([]string{}, leaf.DNSNames...)
	for _, ip := range leaf.IPAddresses {
		hosts = append(hosts, ip.String())
	}
	fmt.Fprintf(stdout, `Baton development CA: %s
Server certificate:   %s
  valid for %s
  until     %s

Clients must trust the CA to reach Baton's HTTPS faces (the Service Bus
administration API on the AMQP port, Event Grid):

  Go (Linux):  SSL_CERT_FILE=%s go run .
               (replaces the system roots for that process; on macOS and
               Windows Go uses the OS store, so use a custom transport)
  Node.js:     NODE_EXTRA_CA_CERTS=%s node app.js
  Custom transport (Go): load the file into an x509.CertPool, set it as
               http.Transport.TLSClientConfig.RootCAs, and pass that
               *http.Client as azcore.ClientOptions.Transport.

Connection string for both the Service Bus client and its admin client:
  Endpoint=sb://localhost:5672;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=any;UseDevelopmentEmulator=true
`, b.CAFile, b.CertFile, strings.Join(hosts, ", "), leaf.NotAfter.UTC().Format(time.RFC3339), b.CAFile, b.CAFile)
	return nil
}

// certNameList is a repeatable string flag.
type certNameList []string

func (s *certNameList) String() string { return strings.Join(*s, ",") }

func (s *certNameList) Set(v string) error {
	*s = append(*s, v)
	return nil
}
