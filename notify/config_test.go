package notify_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	_ "github.com/lib/pq"

	"github.com/oho-dev/oho/certtest"
	"github.com/oho-dev/oho/notify"
)

const password = "Pa55-w0rd"

func TestConfigFromEnv(t *testing.T) {
	for _, tc := range []struct {
		url     string
		wantErr string // "" for valid
	}{
		{"", ""},
		{"smtp://127.0.0.1:2525?from=oho@example.fi", ""},
		{"smtp://mail.example.fi?from=oho@example.fi&starttls=true", ""},
		{"smtp://oho:" + password + "@mail.example.fi:587?from=oho@example.fi&starttls=true", ""},
		{"smtps://oho:" + password + "@mail.example.fi?from=" + "OHO%20%3Coho@example.fi%3E", ""},
		{"smtp://oho:" + password + "@127.0.0.1:25?from=oho@example.fi", ""}, // loopback: no TLS needed
		{"smtp://mail.example.fi", "no sender"},
		{"http://mail.example.fi?from=oho@example.fi", "must start with smtp:// or smtps://"},
		{"mail.example.fi:25", "must start with smtp:// or smtps://"},
		{"smtp://?from=oho@example.fi", "names no host"},
		{"smtp://mail.example.fi:99999?from=oho@example.fi", "port"},
		{"smtp://mail.example.fi/inbox?from=oho@example.fi", "has a path"},
		{"smtp://mail.example.fi?from=nobody", "not an e-mail address"},
		{"smtp://mail.example.fi?from=oho@example.fi&startls=true", "unknown parameters startls"},
		{"smtp://mail.example.fi?from=oho@example.fi&starttls=maybe", "starttls=maybe"},
		{"smtps://mail.example.fi?from=oho@example.fi&starttls=true", "both smtps"},
		{"smtp://oho@mail.example.fi?from=oho@example.fi&starttls=true", "both a user name and a password"},
		{"smtp://oho:" + password + "@mail.example.fi?from=oho@example.fi", ""}, // STARTTLS by default
		{"smtp://oho:" + password + "@mail.example.fi?from=oho@example.fi&starttls=false", "in clear"},
		{"smtp://oho:" + password + "%zz@mail.example.fi?from=oho@example.fi", "bad %-escape"},
		{"smtp://oho:" + password + "@mail.example.fi:port?from=oho@example.fi", "not a URL"},
	} {
		t.Run(tc.url, func(t *testing.T) {
			t.Setenv("SMTP_URL", tc.url)
			t.Setenv("OHO_BASE_URL", "")
			cfg, err := notify.ConfigFromEnv()
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("got %v, want no error", err)
				}
				if cfg.SMTPURL != tc.url {
					t.Errorf("got SMTPURL %q, want %q", cfg.SMTPURL, tc.url)
				}
				if s := cfg.String(); strings.Contains(s, password) {
					t.Errorf("Config.String() shows the password: %s", s)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("got %v, want an error containing %q", err, tc.wantErr)
			}
			if strings.Contains(err.Error(), password) {
				t.Errorf("the error shows the password: %v", err)
			}
		})
	}
}

func TestNewRefusesUnusableConfig(t *testing.T) {
	db, err := sqlx.Open("postgres", "") // never connected
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, tc := range []struct {
		name    string
		cfg     notify.Config
		wantErr string
	}{
		{"mail without sender", notify.Config{SMTPURL: "smtp://127.0.0.1:25"}, "sender address"},
		{"bad From", notify.Config{SMTPURL: "smtp://127.0.0.1:25", From: "oho"}, "not an e-mail address"},
		{"stuck too soon", notify.Config{BatchSize: 10, SendTimeout: time.Minute, StuckAfter: 5 * time.Minute}, "StuckAfter"},
		{"negative poll", notify.Config{PollInterval: -time.Second}, "PollInterval is negative"},
		{"retry max below base", notify.Config{RetryBase: time.Hour, RetryMax: time.Minute}, "RetryMax"},
		{"base URL without scheme", notify.Config{BaseURL: "oho.example.fi"}, "BaseURL must start with http:// or https://"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := notify.New(db, tc.cfg, nil); err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("got %v, want an error containing %q", err, tc.wantErr)
			}
		})
	}
	if _, err := notify.New(db, notify.Config{SMTPURL: "smtp://127.0.0.1:25", From: "OHO <oho@example.fi>"}, nil); err != nil {
		t.Errorf("Config.From without ?from=: got %v, want no error", err)
	}
	if _, err := notify.New(db, notify.Config{}, nil); err != nil {
		t.Errorf("the zero Config (log only, defaults): got %v, want no error", err)
	}
}

func TestMessageID(t *testing.T) {
	for id, want := range map[string]string{
		"reminder/DEMO/2027/evaluate/NORTH/2/north.nurse": "<reminder/DEMO/2027/evaluate/NORTH/2/north.nurse@oho>",
		"a b<c>@d":    "<a%20b%3Cc%3E%40d@oho>",
		".lead..dot.": "<%2Elead.%2Edot%2E@oho>",
		"100%":        "<100%25@oho>",
		"äiti":        "<%C3%A4iti@oho>",
	} {
		if got := notify.MessageID(id); got != want {
			t.Errorf("MessageID(%q): got %s, want %s", id, got, want)
		}
	}
}

func TestBaseURLFromEnv(t *testing.T) {
	for _, tc := range []struct {
		raw     string
		want    string // the BaseURL, when valid
		wantErr string // "" for valid
	}{
		{"", notify.DefaultBaseURL, ""},
		{"  ", notify.DefaultBaseURL, ""},
		{"https://oho.example.fi", "https://oho.example.fi", ""},
		{"https://oho.example.fi/", "https://oho.example.fi", ""},
		{"http://localhost:8080/oho//", "http://localhost:8080/oho", ""},
		{"HTTPS://OHO.example.fi", "HTTPS://OHO.example.fi", ""},
		{"oho.example.fi", "", "must start with http:// or https://"},
		{"ftp://oho.example.fi", "", "must start with http:// or https://"},
		{"https://", "", "names no host"},
		{"https:oho.example.fi", "", "names no host"},
		{"https://oho.example.fi/?lang=fi", "", "must not have a query or fragment"},
		{"https://oho.example.fi/?", "", "must not have a query or fragment"},
		{"https://oho.example.fi/#top", "", "must not have a query or fragment"},
		{"https://oho:" + password + "@oho.example.fi", "", "must not hold a user name or password"},
		{"https://oho.example.fi:port", "", "is not a URL"},
	} {
		t.Run(tc.raw, func(t *testing.T) {
			t.Setenv("SMTP_URL", "")
			t.Setenv("OHO_BASE_URL", tc.raw)
			cfg, err := notify.ConfigFromEnv()
			if tc.wantErr == "" {
				if err != nil || cfg.BaseURL != tc.want {
					t.Errorf("got BaseURL %q, %v; want %q", cfg.BaseURL, err, tc.want)
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), "OHO_BASE_URL ") || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("got %v, want an error naming OHO_BASE_URL and containing %q", err, tc.wantErr)
			}
			if strings.Contains(err.Error(), password) {
				t.Errorf("the error shows the password: %v", err)
			}
		})
	}
}

func TestPollIntervalFromEnv(t *testing.T) {
	t.Setenv("SMTP_URL", "")
	t.Setenv("OHO_BASE_URL", "")
	t.Setenv("OHO_NOTIFY_POLL", "250ms")
	cfg, err := notify.ConfigFromEnv()
	if err != nil || cfg.PollInterval != 250*time.Millisecond {
		t.Fatalf("got %v, %v; want 250ms", cfg.PollInterval, err)
	}
	for _, bad := range []string{"often", "0s", "-1s", "5"} {
		t.Setenv("OHO_NOTIFY_POLL", bad)
		if _, err := notify.ConfigFromEnv(); err == nil || !strings.Contains(err.Error(), "OHO_NOTIFY_POLL must be a positive duration") {
			t.Errorf("OHO_NOTIFY_POLL=%q: got %v, want a clear error", bad, err)
		}
	}
}

func TestRetryBaseFromEnv(t *testing.T) {
	t.Setenv("SMTP_URL", "")
	t.Setenv("OHO_BASE_URL", "")
	t.Setenv("OHO_NOTIFY_RETRY", "")
	if cfg, err := notify.ConfigFromEnv(); err != nil || cfg.RetryBase != 0 {
		t.Fatalf("unset: got %v, %v; want 0 (the default, 1m)", cfg.RetryBase, err)
	}
	t.Setenv("OHO_NOTIFY_RETRY", "2s")
	if cfg, err := notify.ConfigFromEnv(); err != nil || cfg.RetryBase != 2*time.Second {
		t.Fatalf("got %v, %v; want 2s", cfg.RetryBase, err)
	}
	for _, bad := range []string{"soon", "0s", "-1s", "5", "2h"} {
		t.Setenv("OHO_NOTIFY_RETRY", bad)
		if _, err := notify.ConfigFromEnv(); err == nil || !strings.Contains(err.Error(), "OHO_NOTIFY_RETRY must be a positive duration of at most 1h0m0s") {
			t.Errorf("OHO_NOTIFY_RETRY=%q: got %v, want a clear error", bad, err)
		}
	}
}

func TestSendTimeoutFromEnv(t *testing.T) {
	t.Setenv("SMTP_URL", "")
	t.Setenv("OHO_BASE_URL", "")
	t.Setenv("OHO_NOTIFY_SEND_TIMEOUT", "")
	if cfg, err := notify.ConfigFromEnv(); err != nil || cfg.SendTimeout != 0 {
		t.Fatalf("unset: got %v, %v; want 0 (the default, 30s)", cfg.SendTimeout, err)
	}
	t.Setenv("OHO_NOTIFY_SEND_TIMEOUT", "90s")
	if cfg, err := notify.ConfigFromEnv(); err != nil || cfg.SendTimeout != 90*time.Second {
		t.Fatalf("got %v, %v; want 90s", cfg.SendTimeout, err)
	}
	for _, bad := range []string{"slow", "0s", "500ms", "-1s", "30", "6m"} {
		t.Setenv("OHO_NOTIFY_SEND_TIMEOUT", bad)
		if _, err := notify.ConfigFromEnv(); err == nil || !strings.Contains(err.Error(), "OHO_NOTIFY_SEND_TIMEOUT must be a duration from 1s to 5m0s") {
			t.Errorf("OHO_NOTIFY_SEND_TIMEOUT=%q: got %v, want a clear error", bad, err)
		}
	}
}

// TestTLSSettingsFromEnv checks the settings of the mail's TLS as the
// worker reads them: each bad value stops it with a line naming the setting.
func TestTLSSettingsFromEnv(t *testing.T) {
	caFile := certtest.NewCA(t, "mail CA").File(t)
	notPEM := filepath.Join(t.TempDir(), "ca.txt")
	if err := os.WriteFile(notPEM, []byte("not a certificate\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	const remote, local = "smtp://mail.example.fi?from=oho@example.fi", "smtp://127.0.0.1:2525?from=oho@example.fi"
	for _, tc := range []struct {
		name, url, mode, caFile, serverName, require string
		wantErr                                      string // "" for valid
	}{
		{"defaults", remote, "", "", "", "", ""},
		{"starttls with a CA file and a name", remote, "starttls", caFile, "smtp.example.fi", "", ""},
		{"implicit TLS", remote, "tls", "", "", "true", ""},
		{"opportunistic", remote, "opportunistic", caFile, "", "", ""},
		{"none to this machine", local, "none", "", "", "", ""},
		{"required TLS to this machine", local, "starttls", caFile, "", "1", ""},
		{"unknown mode", remote, "ssl", "", "", "", `OHO_SMTP_TLS must be starttls, tls, opportunistic or none (got "ssl")`},
		{"unknown mode without SMTP_URL", "", "STARTTLS", "", "", "", "OHO_SMTP_TLS must be"},
		{"bad switch", remote, "", "", "", "yes please", `OHO_REQUIRE_TLS must be true or false (got "yes please")`},
		{"URL and variable disagree", remote + "&starttls=true", "none", "", "", "", "SMTP_URL says starttls=true (starttls) but OHO_SMTP_TLS says none"},
		{"smtps and starttls", "smtps://mail.example.fi?from=oho@example.fi", "starttls", "", "", "", "SMTP_URL says smtps:// (tls) but OHO_SMTP_TLS says starttls"},
		{"required, but none", remote, "none", "", "", "true", "OHO_REQUIRE_TLS is set, but mail to mail.example.fi:25 would go in clear"},
		{"required, but opportunistic", remote, "opportunistic", "", "", "true", "in clear whenever STARTTLS is not offered"},
		{"required, local default", local, "", "", "", "true", ""},
		{"password, opportunistic", "smtp://oho:" + password + "@mail.example.fi?from=oho@example.fi", "opportunistic", "", "", "", "SMTP_URL gives a password for mail.example.fi:25, which would go in clear whenever"},
		{"CA file without TLS", local, "", caFile, "", "", "OHO_SMTP_CA_FILE is set, but mail to 127.0.0.1:2525 goes without TLS"},
		{"server name without TLS", remote, "none", "", "mail.example.fi", "", "OHO_SMTP_TLS_SERVER_NAME is set, but mail to mail.example.fi:25 goes without TLS"},
		{"missing CA file", remote, "", "/nonexistent/ca.pem", "", "", "OHO_SMTP_CA_FILE cannot be read: open /nonexistent/ca.pem: no such file or directory"},
		{"CA file without a certificate", remote, "", notPEM, "", "", "OHO_SMTP_CA_FILE " + notPEM + " holds no PEM certificate"},
		{"server name with a port", remote, "", "", "mail.example.fi:25", "", "OHO_SMTP_TLS_SERVER_NAME must be a host name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("SMTP_URL", tc.url)
			t.Setenv("OHO_BASE_URL", "")
			t.Setenv("OHO_SMTP_TLS", tc.mode)
			t.Setenv("OHO_SMTP_CA_FILE", tc.caFile)
			t.Setenv("OHO_SMTP_TLS_SERVER_NAME", tc.serverName)
			t.Setenv("OHO_REQUIRE_TLS", tc.require)
			cfg, err := notify.ConfigFromEnv()
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("got %v, want no error", err)
				}
				if cfg.TLS != notify.TLSMode(tc.mode) || cfg.CAFile != tc.caFile || cfg.TLSServerName != tc.serverName {
					t.Errorf("got TLS %q, CA file %q, server name %q; want %q, %q, %q", cfg.TLS, cfg.CAFile, cfg.TLSServerName, tc.mode, tc.caFile, tc.serverName)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("got %v, want one line containing %q", err, tc.wantErr)
			}
		})
	}
}
