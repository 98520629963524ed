package notify

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
)

// TLSMode is how the connection to the SMTP server is protected.
type TLSMode string

// The TLS modes, as OHO_SMTP_TLS spells them. In every mode but TLSNone the
// server's certificate is checked, against the system's CAs or
// OHO_SMTP_CA_FILE, for the URL's host or OHO_SMTP_TLS_SERVER_NAME, and a
// certificate that fails the check stops the delivery: the notice stays
// pending and is tried again like any definite failure.
const (
	// TLSStartTLS connects in clear and upgrades with STARTTLS before
	// anything else is said (ports 25 and 587); a server that does not offer
	// STARTTLS gets nothing.
	TLSStartTLS TLSMode = "starttls"
	// TLSImplicit speaks TLS from the first byte (smtps://, port 465).
	TLSImplicit TLSMode = "tls"
	// TLSOpportunistic upgrades with STARTTLS when the server offers it and
	// otherwise sends in clear. Anyone on the path can strip the offer, so
	// it protects only against eavesdroppers who do not interfere; it
	// never carries a password.
	TLSOpportunistic TLSMode = "opportunistic"
	// TLSNone sends in clear: for a server on this machine, or a relay on a
	// network the site trusts.
	TLSNone TLSMode = "none"
)

// tlsModes lists the modes for messages.
const tlsModes = "starttls, tls, opportunistic or none"

// check refuses a mode that is not one of the four (empty is the default).
func (m TLSMode) check() error {
	switch m {
	case "", TLSStartTLS, TLSImplicit, TLSOpportunistic, TLSNone:
		return nil
	}
	return fmt.Errorf("OHO_SMTP_TLS must be %s (got %q)", tlsModes, string(m))
}

// encrypted reports whether the mode never sends in clear.
func (m TLSMode) encrypted() bool { return m == TLSStartTLS || m == TLSImplicit }

// RequireTLSFromEnv reads OHO_REQUIRE_TLS: true means that nothing OHO sends
// to PostgreSQL or the SMTP server may go in clear or to a server whose
// certificate is not checked. Unset or empty is false.
func RequireTLSFromEnv() (bool, error) {
	raw := strings.TrimSpace(os.Getenv("OHO_REQUIRE_TLS"))
	if raw == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(raw)
	if err != nil {
		return false, fmt.Errorf("OHO_REQUIRE_TLS must be true or false (got %q)", raw)
	}
	return b, nil
}

// smtpSetup reads SMTPURL, resolves how its connection is protected and
// returns the target with the TLS configuration to use (nil for TLSNone).
// Its errors name the setting that is wrong, never the password.
func (c Config) smtpSetup() (smtpTarget, *tls.Config, error) {
	t, err := parseSMTPURL(c.SMTPURL)
	if err != nil {
		return t, nil, err
	}
	if err := c.TLS.check(); err != nil {
		return t, nil, err
	}
	switch {
	case c.TLS != "" && t.urlMode != "" && c.TLS != t.urlMode:
		return t, nil, fmt.Errorf("SMTP_URL says %s but OHO_SMTP_TLS says %s: say it in one place (OHO_SMTP_TLS is %s)", urlSays(t.urlMode), c.TLS, tlsModes)
	case c.TLS != "":
		t.mode = c.TLS
	case t.urlMode != "":
		t.mode = t.urlMode
	case c.RequireTLS || !isLoopback(t.host):
		t.mode = TLSStartTLS
	default:
		t.mode = TLSNone
	}
	port := t.port
	if port == "" {
		port = "25"
		if t.mode == TLSImplicit {
			port = "465"
		}
	}
	t.addr = net.JoinHostPort(t.host, port)

	if c.RequireTLS && !t.mode.encrypted() {
		return t, nil, fmt.Errorf("OHO_REQUIRE_TLS is set, but mail to %s would go %s: set OHO_SMTP_TLS=starttls or tls", t.addr, inClear(t.mode))
	}
	if t.user != "" && !t.mode.encrypted() && !isLoopback(t.host) {
		return t, nil, fmt.Errorf("SMTP_URL gives a password for %s, which would go %s: set OHO_SMTP_TLS=starttls or tls (or use smtps://)", t.addr, inClear(t.mode))
	}
	if t.mode == TLSNone {
		for _, s := range []struct{ name, value string }{{"OHO_SMTP_CA_FILE", c.CAFile}, {"OHO_SMTP_TLS_SERVER_NAME", c.TLSServerName}} {
			if s.value != "" {
				return t, nil, fmt.Errorf("%s is set, but mail to %s goes without TLS (OHO_SMTP_TLS=none, or the default for a server on this machine): set OHO_SMTP_TLS=starttls or tls", s.name, t.addr)
			}
		}
		return t, nil, nil
	}

	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if c.TLSConfig != nil {
		cfg = c.TLSConfig.Clone()
		cfg.MinVersion = max(cfg.MinVersion, tls.VersionTLS12)
	}
	if c.CAFile != "" {
		pool, err := readCAFile(c.CAFile)
		if err != nil {
			return t, nil, err
		}
		cfg.RootCAs, t.caFile = pool, c.CAFile
	}
	if c.TLSServerName != "" {
		if strings.ContainsAny(c.TLSServerName, ":/ ") {
			return t, nil, fmt.Errorf("OHO_SMTP_TLS_SERVER_NAME must be a host name such as smtp.example.fi, without port or scheme (got %q)", c.TLSServerName)
		}
		cfg.ServerName = c.TLSServerName
	}
	if cfg.ServerName == "" {
		cfg.ServerName = t.host
	}
	t.serverName = cfg.ServerName
	return t, cfg, nil
}

// urlSays names what SMTP_URL says about TLS.
func urlSays(m TLSMode) string {
	switch m {
	case TLSImplicit:
		return "smtps:// (tls)"
	case TLSStartTLS:
		return "starttls=true (starttls)"
	}
	return "starttls=false (none)"
}

// inClear says how a mode that is not encrypted() sends.
func inClear(m TLSMode) string {
	if m == TLSOpportunistic {
		return "in clear whenever STARTTLS is not offered (OHO_SMTP_TLS=opportunistic)"
	}
	return "in clear (OHO_SMTP_TLS=none, or the default for a server on this machine)"
}

// readCAFile reads a PEM file of CA certificates into a pool.
func readCAFile(path string) (*x509.CertPool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("OHO_SMTP_CA_FILE cannot be read: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("OHO_SMTP_CA_FILE %s holds no PEM certificate (want one or more -----BEGIN CERTIFICATE----- blocks)", path)
	}
	return pool, nil
}

// tlsFailure says in one line why TLS with the server failed: a certificate
// that is not trusted, not for the name checked or not valid now, or a
// server that does not speak TLS where it was asked to.
func (t smtpTarget) tlsFailure(err error) error {
	roots := "the system's CA certificates (OHO_SMTP_CA_FILE names others)"
	if t.caFile != "" {
		roots = "OHO_SMTP_CA_FILE " + t.caFile
	}
	var (
		unknown x509.UnknownAuthorityError
		host    x509.HostnameError
		invalid x509.CertificateInvalidError
		record  tls.RecordHeaderError
	)
	switch {
	case errors.As(err, &unknown):
		return fmt.Errorf("TLS with %s failed: the server's certificate is not signed by a CA in %s: %w", t.addr, roots, err)
	case errors.As(err, &host):
		return fmt.Errorf("TLS with %s failed: the server's certificate is not for %s, the name checked (OHO_SMTP_TLS_SERVER_NAME sets it): %w", t.addr, t.serverName, err)
	case errors.As(err, &invalid):
		return fmt.Errorf("TLS with %s failed: the server's certificate is not valid: %w", t.addr, err)
	case errors.As(err, &record) && t.mode == TLSImplicit:
		return fmt.Errorf("TLS with %s failed: the server does not speak TLS from the first byte there (for STARTTLS on port 25 or 587 set OHO_SMTP_TLS=starttls): %w", t.addr, err)
	}
	return fmt.Errorf("TLS with %s failed: %w", t.addr, err)
}
