// Command worker runs OHO's Temporal worker: it checks that the database has
// every migration it was built with, then executes the ReviewCycle,
// UnitReview and YearlyStart workflows and their activities, and delivers the
// notices in the outbox (package notify), until it receives SIGINT or
// SIGTERM.
//
// The worker does not migrate: it connects as a member of the application
// role oho_app, which may not change the schema, so that nothing it runs can
// switch the audit trail's guards off. `starter migrate` migrates, as the
// owning role; a worker started on an older schema stops at once and says so.
//
// Configuration comes from the environment: DATABASE_URL for PostgreSQL, the
// standard TEMPORAL_* variables for the Temporal server, SMTP_URL for mail
// (unset: notices are only logged), OHO_BASE_URL for the address of the web
// pages the notices link to (default http://localhost:8080),
// OHO_NOTIFY_POLL for how often the outbox is polled (default 5s),
// OHO_NOTIFY_RETRY and OHO_NOTIFY_SEND_TIMEOUT for the notices' retries
// (package notify), OHO_METRICS_ADDRESS for a listener that serves
// Prometheus metrics at /metrics (package metrics; unset: none), and
// OHO_WORKFLOW_CACHE for how many workflows it keeps in memory between their
// tasks (default 1,000). A malformed value of any of them
// stops the worker at start.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"go.temporal.io/sdk/worker"

	"github.com/oho-dev/oho/activities"
	"github.com/oho-dev/oho/connect"
	"github.com/oho-dev/oho/metrics"
	"github.com/oho-dev/oho/notify"
	"github.com/oho-dev/oho/schema"
	"github.com/oho-dev/oho/store"
	"github.com/oho-dev/oho/workflows"
)

func main() {
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(logger); err != nil {
		logger.Error("worker stopped", "error", err)
		os.Exit(1)
	}
}

func run(logger *slog.Logger) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	mail, err := notify.ConfigFromEnv()
	if err != nil {
		return err
	}
	metricsAddr, err := metrics.AddressFromEnv()
	if err != nil {
		return err
	}
	cache, err := workflowCacheFromEnv()
	if err != nil {
		return err
	}
	db, err := connect.Database(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	// The error says what to run; it is the line the worker stops with.
	if err := schema.Check(ctx, db.DB); err != nil {
		return err
	}
	logger.Info("database ready")
	sender, err := notify.New(db, mail, logger)
	if err != nil {
		return err
	}

	// The metrics listener goes before the Temporal client, which reports
	// the SDK's metrics to it.
	ep, err := metrics.Listen(metricsAddr, db.DB, logger)
	if err != nil {
		return err
	}
	defer ep.Close()
	c, err := connect.Temporal(ctx, logger, connect.WithMetrics(ep.TemporalHandler()))
	if err != nil {
		return err
	}
	defer c.Close()

	// The cache is the process's, shared by its workers: set before any.
	worker.SetStickyWorkflowCacheSize(cache)
	w := worker.New(c, connect.TaskQueue(), worker.Options{})
	w.RegisterWorkflow(workflows.ReviewCycle)
	w.RegisterWorkflow(workflows.UnitReview)
	w.RegisterWorkflow(workflows.UnitSignOff)
	w.RegisterWorkflow(workflows.YearlyStart)
	w.RegisterActivity(&activities.Activities{Store: store.New(db)})

	if err := w.Start(); err != nil {
		return fmt.Errorf("starting the worker: %w", err)
	}
	logger.Info("worker started", "task_queue", connect.TaskQueue(), "workflow_cache", cache)

	// The sender runs beside the worker. It outlives database outages by
	// itself; an error from it means retrying cannot help (the outbox table
	// is missing or may not be written), and then the whole worker stops,
	// so that a supervisor notices rather than notices piling up unsent.
	sent := make(chan error, 1)
	go func() { sent <- sender.Run(ctx) }()
	var senderErr error
	select {
	case <-ctx.Done():
	case senderErr = <-sent:
		logger.Error("notice sender stopped", "error", senderErr)
	}
	logger.Info("stopping: finishing the tasks in hand")
	stop()
	w.Stop()
	if senderErr == nil {
		senderErr = <-sent // the sender finishes the notice under way
	}
	if senderErr != nil {
		return fmt.Errorf("delivering notices: %w", senderErr)
	}
	return nil
}
