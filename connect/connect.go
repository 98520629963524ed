// Package connect dials the services OHO's programs use — PostgreSQL and
// Temporal — from the environment, with errors that say what to check.
//
// PostgreSQL is reached under two roles (README, "Roles in PostgreSQL"): the
// programs' work goes through DATABASE_URL, a member of the application role
// oho_app, which cannot alter the schema or rewrite the audit trail;
// migrations go through MIGRATION_DATABASE_URL, the role that owns the
// schema.
package connect

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/contrib/envconfig"
	"go.temporal.io/sdk/log"

	"github.com/oho-dev/oho/store"
	"github.com/oho-dev/oho/workflows"
)

// DefaultDatabaseURL is used when DATABASE_URL is not set: the local
// development database that `make up` creates, as the application role.
const DefaultDatabaseURL = "postgres://oho_app@127.0.0.1:5432/oho?sslmode=disable"

// DefaultMigrationDatabaseURL is used when neither MIGRATION_DATABASE_URL nor
// DATABASE_URL is set: the same database as its owner, whom `make up`
// creates.
const DefaultMigrationDatabaseURL = "postgres://oho_owner@127.0.0.1:5432/oho?sslmode=disable"

// DatabaseURL returns DATABASE_URL, or the development default.
func DatabaseURL() string {
	if u := os.Getenv("DATABASE_URL"); u != "" {
		return u
	}
	return DefaultDatabaseURL
}

// MigrationDatabaseURL returns MIGRATION_DATABASE_URL. When it is unset it
// returns DATABASE_URL, so that a setup with one role for everything (the
// database's owner, or a superuser) needs one variable, as before the roles
// were split; when both are unset, the development default.
func MigrationDatabaseURL() string {
	if u := os.Getenv("MIGRATION_DATABASE_URL"); u != "" {
		return u
	}
	if u := os.Getenv("DATABASE_URL"); u != "" {
		return u
	}
	return DefaultMigrationDatabaseURL
}

// TaskQueue returns OHO_TASK_QUEUE, or workflows.TaskQueue. Workers and the
// command line must agree on it; tests give each worker its own queue so that
// workers of different test databases never pick up each other's work.
func TaskQueue() string {
	if q := os.Getenv("OHO_TASK_QUEUE"); q != "" {
		return q
	}
	return workflows.TaskQueue
}

// Database opens the database named by DATABASE_URL, for the programs' work.
func Database(ctx context.Context) (*sqlx.DB, error) {
	db, err := store.Open(ctx, DatabaseURL())
	return db, roleHint(err)
}

// MigrationDatabase opens the database named by MigrationDatabaseURL, for
// applying migrations.
func MigrationDatabase(ctx context.Context) (*sqlx.DB, error) {
	db, err := store.Open(ctx, MigrationDatabaseURL())
	return db, roleHint(err)
}

// roleHint adds where roles come from to a refused login: since the roles
// were split, a missing role is the likeliest first error on a machine set up
// before.
func roleHint(err error) error {
	var pqErr *pq.Error
	if errors.As(err, &pqErr) && pqErr.Code.Class() == "28" { // invalid authorization
		return fmt.Errorf("%w ('make up' creates the development roles; in production a DBA does: see README, Roles in PostgreSQL)", err)
	}
	return err
}

// Temporal dials the Temporal server configured by the standard TEMPORAL_*
// environment variables (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TLS and API
// key settings) or a Temporal config file, so the same binaries work against
// the dev server, a self-hosted cluster or Temporal Cloud.
// Options such as WithMetrics change what the client is dialled with.
func Temporal(ctx context.Context, logger *slog.Logger, options ...Option) (client.Client, error) {
	opts, err := envconfig.LoadDefaultClientOptions()
	if err != nil {
		return nil, fmt.Errorf("reading the Temporal client configuration: %w", err)
	}
	opts.Logger = log.NewStructuredLogger(logger)
	for _, o := range options {
		o(&opts)
	}
	c, err := client.DialContext(ctx, opts)
	if err != nil {
		addr := opts.HostPort
		if addr == "" {
			addr = client.DefaultHostPort
		}
		hint := "is the server running, and are TEMPORAL_ADDRESS and the TLS settings right?"
		if addr == client.DefaultHostPort || addr == "127.0.0.1:7233" {
			hint = "is the server running ('make up' starts a dev server)?"
		}
		return nil, fmt.Errorf("cannot reach Temporal at %s (namespace %s): %w; %s", addr, namespace(opts), err, hint)
	}
	return c, nil
}

// Option changes the options a Temporal client is dialled with.
type Option func(*client.Options)

// WithMetrics makes the client report the Temporal SDK's metrics to h (the
// worker's and the web server's metrics.Endpoint); a nil h leaves the SDK's
// no-op handler, as the command line has.
func WithMetrics(h client.MetricsHandler) Option {
	return func(o *client.Options) {
		if h != nil {
			o.MetricsHandler = h
		}
	}
}

func namespace(opts client.Options) string {
	if opts.Namespace == "" {
		return client.DefaultNamespace
	}
	return opts.Namespace
}
