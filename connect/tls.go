package connect

import (
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/lib/pq"
	"go.temporal.io/sdk/client"
)

// RequireTLSVar names the setting that makes every connection to PostgreSQL
// (and, in package notify, to the SMTP server) go over TLS with the server's
// certificate checked, or not at all. It is a guard against a URL edited into
// something weaker, not the way TLS is switched on: the URLs do that
// (sslmode=verify-full), and the server enforces it (hostssl in
// pg_hba.conf).
const RequireTLSVar = "OHO_REQUIRE_TLS"

// requireTLS reads RequireTLSVar: true, false, or unset (false).
func requireTLS() (bool, error) {
	raw := strings.TrimSpace(os.Getenv(RequireTLSVar))
	if raw == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(raw)
	if err != nil {
		return false, fmt.Errorf("%s must be true or false (got %q)", RequireTLSVar, raw)
	}
	return b, nil
}

// databaseHint says in one line what to change after a failed connection
// to the database of databaseURL, which the setting variable gave: for a
// TLS failure what it was and which part of the URL to look at, for a
// refused login where roles come from. A nil err stays nil.
func databaseHint(variable, databaseURL string, err error) error {
	if err == nil {
		return nil
	}
	if hint := tlsHint(variable, databaseURL, err); hint != "" {
		return fmt.Errorf("%w (TLS: %s)", err, hint)
	}
	return roleHint(err)
}

// migrationVariable names the setting MigrationDatabaseURL took its URL
// from.
func migrationVariable() string {
	if os.Getenv("MIGRATION_DATABASE_URL") == "" && os.Getenv("DATABASE_URL") != "" {
		return "DATABASE_URL"
	}
	return "MIGRATION_DATABASE_URL"
}

// checkDatabaseTLS refuses, when RequireTLSVar is set, a URL whose sslmode
// (with lib/pq's default and the PGSSLMODE environment) is not verify-full:
// any other mode connects in clear or to a server whose certificate, or
// whose name in it, is not checked. A Unix socket needs no TLS.
func checkDatabaseTLS(variable, databaseURL string) error {
	require, err := requireTLS()
	if err != nil || !require {
		return err
	}
	cfg, err := pq.NewConfig(databaseURL)
	if err != nil {
		// pq's error may quote the URL, password and all.
		return fmt.Errorf("%s is set, but %s cannot be read as a PostgreSQL URL", RequireTLSVar, variable)
	}
	if filepath.IsAbs(cfg.Host) || strings.HasPrefix(cfg.Host, "@") {
		return nil
	}
	var why string
	switch cfg.SSLMode {
	case pq.SSLModeVerifyFull:
		return nil
	case "":
		why = "has no sslmode, and lib/pq's default (require) does not check the server's certificate"
	case pq.SSLModeVerifyCA:
		why = "has sslmode=verify-ca, which does not check that the certificate is the server's (its name)"
	case pq.SSLModeRequire:
		why = "has sslmode=require, which does not check the server's certificate"
	default:
		why = fmt.Sprintf("has sslmode=%s, which may connect in clear", cfg.SSLMode)
	}
	return fmt.Errorf("%s is set, but %s %s: use sslmode=verify-full&sslrootcert=<the file of the CA that signed the server's certificate> (README, Configuration)", RequireTLSVar, variable, why)
}

// tlsHint says what a failed connection's TLS problem was, or "" when it
// was none.
func tlsHint(variable, databaseURL string, err error) string {
	cfg, cfgErr := pq.NewConfig(databaseURL)
	mode, host, rootCert := "", "the host", "sslrootcert"
	if cfgErr == nil {
		mode, host = string(cfg.SSLMode), cfg.Host
		if cfg.SSLRootCert != "" {
			rootCert += " (" + cfg.SSLRootCert + ")"
		}
	}
	if mode == "" {
		mode = "require (lib/pq's default)"
	}
	var (
		unknown x509.UnknownAuthorityError
		name    x509.HostnameError
		invalid x509.CertificateInvalidError
		pqErr   *pq.Error
	)
	switch {
	case errors.As(err, &unknown):
		return fmt.Sprintf("the server's certificate is not signed by the CA of %s in %s", rootCert, variable)
	case errors.As(err, &name):
		return fmt.Sprintf("the server's certificate is not for %s, the host %s names: connect by a name the certificate holds", host, variable)
	case errors.As(err, &invalid):
		return "the server's certificate is not valid: " + invalid.Error()
	case errors.Is(err, pq.ErrSSLNotSupported):
		return fmt.Sprintf("the server does not offer TLS (ssl = off), and %s's sslmode=%s requires it", variable, mode)
	case !errors.As(err, &pqErr) || pqErr.Code != "28000":
		return ""
	// The server's words, which its lc_messages may translate: then the
	// role hint stands.
	case strings.Contains(pqErr.Message, "no encryption"):
		return fmt.Sprintf("the server takes this connection over TLS only (hostssl in pg_hba.conf), and %s has sslmode=%s: use sslmode=verify-full&sslrootcert=<the CA's file>", variable, mode)
	case strings.Contains(pqErr.Message, "client certificate") || strings.Contains(pqErr.Message, "certificate authentication"):
		return fmt.Sprintf("the server wants a client certificate of this role: give its sslcert and sslkey in %s", variable)
	}
	return ""
}

// checkTemporalTLS refuses, when RequireTLSVar is set, a connection to
// Temporal (as the TEMPORAL_* settings make it) without TLS, or with the
// check of the server's certificate switched off.
func checkTemporalTLS(opts client.Options) error {
	require, err := requireTLS()
	if err != nil || !require {
		return err
	}
	addr := opts.HostPort
	if addr == "" {
		addr = client.DefaultHostPort
	}
	switch tlsCfg := opts.ConnectionOptions.TLS; {
	case tlsCfg == nil:
		return fmt.Errorf("%s is set, but the connection to Temporal at %s has no TLS: set TEMPORAL_TLS=true (with TEMPORAL_TLS_SERVER_CA_CERT_PATH for a CA of your own) or TEMPORAL_API_KEY (docs/deploy.md, Temporal)", RequireTLSVar, addr)
	case tlsCfg.InsecureSkipVerify:
		return fmt.Errorf("%s is set, but TEMPORAL_TLS_DISABLE_HOST_VERIFICATION switches off the check of the certificate of Temporal at %s", RequireTLSVar, addr)
	}
	return nil
}
