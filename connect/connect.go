// Package connect dials the services OHO's programs use — PostgreSQL and
// Temporal — from the environment, with errors that say what to check.
//
// Every Temporal client OHO makes is dialled here, with the payload codec
// (package payloadcrypt, keys from OHO_PAYLOAD_KEYS_FILE or
// OHO_PAYLOAD_KEYS), so that the worker, the command line and the web server
// encrypt and decrypt alike.
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
	"regexp"
	"strings"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/contrib/envconfig"
	"go.temporal.io/sdk/log"

	"github.com/oho-dev/oho/payloadcrypt"
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
// With OHO_REQUIRE_TLS set, a URL that does not check the server's
// certificate is refused first.
func Database(ctx context.Context) (*sqlx.DB, error) {
	if err := checkDatabaseTLS("DATABASE_URL", DatabaseURL()); err != nil {
		return nil, err
	}
	db, err := store.Open(ctx, DatabaseURL())
	return db, databaseHint("DATABASE_URL", DatabaseURL(), err)
}

// MigrationDatabase opens the database named by MigrationDatabaseURL, for
// applying migrations.
func MigrationDatabase(ctx context.Context) (*sqlx.DB, error) {
	if err := checkDatabaseTLS(migrationVariable(), MigrationDatabaseURL()); err != nil {
		return nil, err
	}
	db, err := store.Open(ctx, MigrationDatabaseURL())
	return db, databaseHint(migrationVariable(), MigrationDatabaseURL(), err)
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
//
// Payloads go through the codec of WithPayloadCodec or, without it, of the
// keys the environment configures (PayloadCodec): a key setting that does
// not read stops the dial with a line naming it.
func Temporal(ctx context.Context, logger *slog.Logger, options ...Option) (client.Client, error) {
	opts, err := envconfig.LoadDefaultClientOptions()
	if err != nil {
		return nil, fmt.Errorf("reading the Temporal client configuration: %w", err)
	}
	if err := checkTemporalTLS(opts); err != nil {
		return nil, err
	}
	opts.Logger = log.NewStructuredLogger(logger)
	d := dial{opts: &opts}
	for _, o := range options {
		o(&d)
	}
	if d.codec == nil {
		if d.codec, err = PayloadCodec(); err != nil {
			return nil, err
		}
	}
	opts.DataConverter = d.codec.DataConverter()
	opts.FailureConverter = d.codec.FailureConverter()
	if keys := d.codec.Keys(); keys != nil {
		logger.Info("Temporal payloads are encrypted", "current_key", keys.Current(), "keys", len(keys.IDs()))
	} else {
		logger.Info("Temporal payloads are not encrypted: no payload keys are configured (" + payloadcrypt.KeysFileVar + " or " + payloadcrypt.KeysVar + ")")
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

// Option changes what a Temporal client is dialled with.
type Option func(*dial)

// dial is what Temporal dials with: the client's options and the payload
// codec.
type dial struct {
	opts  *client.Options
	codec *payloadcrypt.Codec
}

// WithMetrics makes the client report the Temporal SDK's metrics to h (the
// worker's and the web server's metrics.Endpoint); a nil h leaves the SDK's
// no-op handler, as the command line has.
func WithMetrics(h client.MetricsHandler) Option {
	return func(d *dial) {
		if h != nil {
			d.opts.MetricsHandler = h
		}
	}
}

// PayloadCodec returns the codec of the payload keys the environment
// configures (payloadcrypt.KeysFromEnv), binding each payload to the
// provider of the workflow it belongs to (WorkflowProvider). Without keys it
// encrypts nothing, unless OHO_PAYLOAD_ENCRYPTION=required, which makes
// missing keys an error.
func PayloadCodec() (*payloadcrypt.Codec, error) {
	return payloadcrypt.FromEnv(WorkflowProvider)
}

// WithPayloadCodec makes the client encode and decode payloads, and the
// messages of failures, through the codec: one a program loaded once
// (PayloadCodec) and also decodes with itself.
func WithPayloadCodec(c *payloadcrypt.Codec) Option {
	return func(d *dial) { d.codec = c }
}

// scheduledSuffix is what a Temporal Schedule appends to the workflow ID of
// each run it starts: "-" and the time the run was meant for, RFC 3339.
var scheduledSuffix = regexp.MustCompile(`-\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:\d{2})$`)

// WorkflowProvider is the code of the provider a workflow of OHO's belongs
// to, read from its ID: "review-cycle/<provider>/..." (review.CycleID and
// the IDs under it) or "yearly-start/<provider>" (workflows.YearlyStartWorkflowID,
// and the runs of the schedule, which carry a time after it); "" for an ID
// that is none of OHO's. The payload codec binds what it encrypts to it.
func WorkflowProvider(workflowID string) string {
	if rest, ok := strings.CutPrefix(workflowID, "review-cycle/"); ok {
		p, _, _ := strings.Cut(rest, "/")
		return p
	}
	if rest, ok := strings.CutPrefix(workflowID, "yearly-start/"); ok && !strings.Contains(rest, "/") {
		return scheduledSuffix.ReplaceAllString(rest, "")
	}
	return ""
}

func namespace(opts client.Options) string {
	if opts.Namespace == "" {
		return client.DefaultNamespace
	}
	return opts.Namespace
}
