package notify_test

import (
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	_ "github.com/lib/pq"

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
		{"smtp://oho:" + password + "@mail.example.fi?from=oho@example.fi", "in clear"},
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
