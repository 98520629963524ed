package connect_test

import (
	"context"
	"log/slog"
	"os"
	"strings"
	"testing"

	"github.com/oho-dev/oho/connect"
)

// TestRequireTLSRefusesWeakDatabaseURLs: with OHO_REQUIRE_TLS set, a URL
// that would connect in clear or without checking the server's certificate
// is refused, in one line naming the variable and what is wrong, before
// anything is dialled (the URLs name a port where nothing listens, so a
// dial would fail otherwise).
func TestRequireTLSRefusesWeakDatabaseURLs(t *testing.T) {
	const base = "postgres://oho_app@db.example.fi:1/oho"
	for _, tc := range []struct {
		name, require, databaseURL, migrationURL, pgsslmode string
		want                                                string // "" when the check lets it through
	}{
		{"disable", "true", base + "?sslmode=disable", "", "", "OHO_REQUIRE_TLS is set, but DATABASE_URL has sslmode=disable, which may connect in clear: use sslmode=verify-full"},
		{"prefer", "1", base + "?sslmode=prefer", "", "", "DATABASE_URL has sslmode=prefer, which may connect in clear"},
		{"require", "true", base + "?sslmode=require", "", "", "DATABASE_URL has sslmode=require, which does not check the server's certificate"},
		{"verify-ca", "true", base + "?sslmode=verify-ca", "", "", "DATABASE_URL has sslmode=verify-ca, which does not check that the certificate is the server's"},
		{"no sslmode", "true", base, "", "", "DATABASE_URL has no sslmode, and lib/pq's default (require)"},
		{"PGSSLMODE", "true", base, "", "allow", "DATABASE_URL has sslmode=allow"},
		{"key=value", "true", "host=db.example.fi port=1 user=oho_app dbname=oho sslmode=disable", "", "", "DATABASE_URL has sslmode=disable"},
		{"the migration URL", "true", base + "?sslmode=verify-full", base + "?sslmode=disable", "", "MIGRATION_DATABASE_URL has sslmode=disable"},
		{"unreadable", "true", "postgres://oho_app@db.example.fi:port/oho", "", "", "OHO_REQUIRE_TLS is set, but DATABASE_URL cannot be read as a PostgreSQL URL"},
		{"bad switch", "sure", base + "?sslmode=verify-full", "", "", `OHO_REQUIRE_TLS must be true or false (got "sure")`},
		{"verify-full", "true", base + "?sslmode=verify-full", "", "", ""},
		{"a Unix socket", "true", "host=/run/postgresql port=1 user=oho_app dbname=oho sslmode=disable", "", "", ""},
		{"not required", "false", base + "?sslmode=disable", "", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("OHO_REQUIRE_TLS", tc.require)
			t.Setenv("DATABASE_URL", tc.databaseURL)
			t.Setenv("MIGRATION_DATABASE_URL", tc.migrationURL)
			t.Setenv("PGSSLMODE", tc.pgsslmode)
			if tc.pgsslmode == "" {
				os.Unsetenv("PGSSLMODE") // lib/pq refuses an empty one; t.Setenv restores it
			}
			t.Setenv("PGCONNECT_TIMEOUT", "2")
			open := connect.Database
			if tc.migrationURL != "" {
				open = connect.MigrationDatabase
			}
			_, err := open(context.Background())
			switch {
			case err == nil:
				t.Fatal("got a database at a port where nothing listens")
			case tc.want == "" && !strings.HasPrefix(err.Error(), "cannot reach PostgreSQL"):
				t.Errorf("got %v, want the check passed and the dial failed", err)
			case tc.want != "" && (!strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n")):
				t.Errorf("got %v, want one line containing %q", err, tc.want)
			}
		})
	}
}

// TestRequireTLSRefusesPlainTemporal: with OHO_REQUIRE_TLS set, the
// Temporal client is not dialled without TLS or with the check of the
// server's certificate switched off.
func TestRequireTLSRefusesPlainTemporal(t *testing.T) {
	t.Setenv("OHO_REQUIRE_TLS", "true")
	t.Setenv("TEMPORAL_ADDRESS", "127.0.0.1:1")
	for _, tc := range []struct {
		name, tls, skipVerify, want string
	}{
		{"no TLS", "", "", "OHO_REQUIRE_TLS is set, but the connection to Temporal at 127.0.0.1:1 has no TLS: set TEMPORAL_TLS=true"},
		{"no host verification", "true", "true", "OHO_REQUIRE_TLS is set, but TEMPORAL_TLS_DISABLE_HOST_VERIFICATION switches off"},
		{"TLS", "true", "", "cannot reach Temporal at 127.0.0.1:1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("TEMPORAL_TLS", tc.tls)
			t.Setenv("TEMPORAL_TLS_DISABLE_HOST_VERIFICATION", tc.skipVerify)
			ctx, cancel := context.WithTimeout(context.Background(), 3e9)
			defer cancel()
			c, err := connect.Temporal(ctx, slog.New(slog.DiscardHandler))
			if err == nil {
				c.Close()
				t.Fatal("got a client of a server that does not exist")
			}
			if !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("got %v, want it to start with %q", err, tc.want)
			}
		})
	}
}
