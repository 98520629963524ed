package notify

import (
	"crypto/tls"
	"testing"
)

// TestTLSModeResolved checks how the mode, the address and the name checked
// in the certificate follow from SMTP_URL and the TLS settings: STARTTLS by
// default, except in clear to this machine unless TLS is required; what the
// URL says when the variable says nothing.
func TestTLSModeResolved(t *testing.T) {
	const from = "?from=oho@example.fi"
	for _, tc := range []struct {
		name     string
		cfg      Config
		mode     TLSMode
		addr     string
		certName string // "" when no TLS configuration is made
	}{
		{"a remote server", Config{SMTPURL: "smtp://mail.example.fi" + from}, TLSStartTLS, "mail.example.fi:25", "mail.example.fi"},
		{"submission port", Config{SMTPURL: "smtp://mail.example.fi:587" + from}, TLSStartTLS, "mail.example.fi:587", "mail.example.fi"},
		{"this machine", Config{SMTPURL: "smtp://127.0.0.1:2525" + from}, TLSNone, "127.0.0.1:2525", ""},
		{"localhost", Config{SMTPURL: "smtp://localhost" + from}, TLSNone, "localhost:25", ""},
		{"IPv6 loopback", Config{SMTPURL: "smtp://[::1]:2525" + from}, TLSNone, "[::1]:2525", ""},
		{"this machine, TLS required", Config{SMTPURL: "smtp://localhost" + from, RequireTLS: true}, TLSStartTLS, "localhost:25", "localhost"},
		{"smtps", Config{SMTPURL: "smtps://mail.example.fi" + from}, TLSImplicit, "mail.example.fi:465", "mail.example.fi"},
		{"the variable's tls", Config{SMTPURL: "smtp://mail.example.fi" + from, TLS: TLSImplicit}, TLSImplicit, "mail.example.fi:465", "mail.example.fi"},
		{"starttls=true", Config{SMTPURL: "smtp://127.0.0.1:2525" + from + "&starttls=true"}, TLSStartTLS, "127.0.0.1:2525", "127.0.0.1"},
		{"starttls=false", Config{SMTPURL: "smtp://mail.example.fi" + from + "&starttls=false"}, TLSNone, "mail.example.fi:25", ""},
		{"URL and variable agree", Config{SMTPURL: "smtps://mail.example.fi:2465" + from, TLS: TLSImplicit}, TLSImplicit, "mail.example.fi:2465", "mail.example.fi"},
		{"opportunistic", Config{SMTPURL: "smtp://mail.example.fi" + from, TLS: TLSOpportunistic}, TLSOpportunistic, "mail.example.fi:25", "mail.example.fi"},
		{"none to a relay", Config{SMTPURL: "smtp://relay.internal" + from, TLS: TLSNone}, TLSNone, "relay.internal:25", ""},
		{"a server name", Config{SMTPURL: "smtp://10.0.0.25" + from, TLSServerName: "smtp.example.fi"}, TLSStartTLS, "10.0.0.25:25", "smtp.example.fi"},
		{"TLSConfig's server name", Config{SMTPURL: "smtp://10.0.0.25" + from, TLSConfig: &tls.Config{ServerName: "mx.example.fi"}}, TLSStartTLS, "10.0.0.25:25", "mx.example.fi"},
		{"the setting over TLSConfig's", Config{SMTPURL: "smtp://10.0.0.25" + from, TLSConfig: &tls.Config{ServerName: "mx.example.fi"}, TLSServerName: "smtp.example.fi"}, TLSStartTLS, "10.0.0.25:25", "smtp.example.fi"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			target, cfg, err := tc.cfg.smtpSetup()
			if err != nil {
				t.Fatalf("got %v, want no error", err)
			}
			if target.mode != tc.mode || target.addr != tc.addr {
				t.Errorf("got mode %s to %s, want %s to %s", target.mode, target.addr, tc.mode, tc.addr)
			}
			switch {
			case tc.certName == "" && cfg != nil:
				t.Errorf("got a TLS configuration for %s, want none", cfg.ServerName)
			case tc.certName != "" && cfg == nil:
				t.Errorf("got no TLS configuration, want one checking %s", tc.certName)
			case cfg != nil && (cfg.ServerName != tc.certName || target.serverName != tc.certName):
				t.Errorf("got the certificate checked for %s (%s), want %s", cfg.ServerName, target.serverName, tc.certName)
			case cfg != nil && (cfg.InsecureSkipVerify || cfg.MinVersion < tls.VersionTLS12):
				t.Errorf("got InsecureSkipVerify %v and MinVersion %x, want verification and TLS 1.2 at least", cfg.InsecureSkipVerify, cfg.MinVersion)
			}
		})
	}
}
