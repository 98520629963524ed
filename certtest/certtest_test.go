package certtest_test

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"testing"

	"github.com/oho-dev/oho/certtest"
)

func TestCertificatesChainToTheirCA(t *testing.T) {
	ca, other := certtest.NewCA(t, "test CA"), certtest.NewCA(t, "other CA")
	server := ca.Server(t, "127.0.0.1", "db.example.fi")
	for _, tc := range []struct {
		name  string
		roots *x509.CertPool
		host  string
		ok    bool
	}{
		{"its CA, an IP address", ca.Pool(), "127.0.0.1", true},
		{"its CA, a DNS name", ca.Pool(), "db.example.fi", true},
		{"its CA, another name", ca.Pool(), "localhost", false},
		{"another CA", other.Pool(), "127.0.0.1", false},
	} {
		_, err := server.Leaf.Verify(x509.VerifyOptions{Roots: tc.roots, DNSName: tc.host})
		if (err == nil) != tc.ok {
			t.Errorf("%s: got %v, want ok %v", tc.name, err, tc.ok)
		}
	}
	client := ca.Client(t, "oho_app")
	if _, err := client.Leaf.Verify(x509.VerifyOptions{Roots: ca.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil || client.Leaf.Subject.CommonName != "oho_app" {
		t.Errorf("client certificate %s: %v", client.Leaf.Subject, err)
	}
}

func TestWriteKeyPair(t *testing.T) {
	ca := certtest.NewCA(t, "test CA")
	dir := t.TempDir()
	certFile, keyFile := certtest.WriteKeyPair(t, dir, "server", ca.Server(t, "127.0.0.1"))
	if _, err := tls.LoadX509KeyPair(certFile, keyFile); err != nil {
		t.Fatalf("reading the pair back: %v", err)
	}
	if fi, err := os.Stat(keyFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("the key file: %v, mode %v; want 0600", err, fi.Mode().Perm())
	}
	pool := x509.NewCertPool()
	b, err := os.ReadFile(ca.File(t))
	if err != nil || !pool.AppendCertsFromPEM(b) {
		t.Errorf("the CA's file holds no certificate: %v", err)
	}
}
