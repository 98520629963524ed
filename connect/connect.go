// Package connect dials the services OHO's programs use — PostgreSQL and
// Temporal — from the environment, with errors that say what to check.
package connect

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/jmoiron/sqlx"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/contrib/envconfig"
	"go.temporal.io/sdk/log"

	"github.com/oho-dev/oho/store"
	"github.com/oho-dev/oho/workflows"
)

// DefaultDatabaseURL is used when DATABASE_URL is not set: the local
// development database that `make up` creates.
const DefaultDatabaseURL = "postgres://postgres@127.0.0.1:5432/oho?sslmode=disable"

// DatabaseURL returns DATABASE_URL, or the development default.
func DatabaseURL() string {
	if u := os.Getenv("DATABASE_URL"); u != "" {
		return u
	}
	return DefaultDatabaseURL
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

// Database opens the database named by DATABASE_URL.
func Database(ctx context.Context) (*sqlx.DB, error) {
	return store.Open(ctx, DatabaseURL())
}

// Temporal dials the Temporal server configured by the standard TEMPORAL_*
// environment variables (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TLS and API
// key settings) or a Temporal config file, so the same binaries work against
// the dev server, a self-hosted cluster or Temporal Cloud.
func Temporal(ctx context.Context, logger *slog.Logger) (client.Client, error) {
	opts, err := envconfig.LoadDefaultClientOptions()
	if err != nil {
		return nil, fmt.Errorf("reading the Temporal client configuration: %w", err)
	}
	opts.Logger = log.NewStructuredLogger(logger)
	c, err := client.DialContext(ctx, opts)
	if err != nil {
		addr := opts.HostPort
		if addr == "" {
			addr = client.DefaultHostPort
		}
		return nil, fmt.Errorf("cannot reach Temporal at %s (namespace %s): %w; is the server running ('make up' starts a dev server)?", addr, namespace(opts), err)
	}
	return c, nil
}

func namespace(opts client.Options) string {
	if opts.Namespace == "" {
		return client.DefaultNamespace
	}
	return opts.Namespace
}
