// Command worker runs OHO's Temporal worker: it applies the database
// migrations, then executes ReviewCycle and UnitReview workflows and their
// activities until it receives SIGINT or SIGTERM.
//
// Configuration comes from the environment: DATABASE_URL for PostgreSQL and
// the standard TEMPORAL_* variables for the Temporal server.
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

	db, err := connect.Database(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	applied, err := schema.Migrate(ctx, db.DB)
	if err != nil {
		return fmt.Errorf("migrating the database: %w", err)
	}
	logger.Info("database ready", "migrations_applied", len(applied))

	c, err := connect.Temporal(ctx, logger)
	if err != nil {
		return err
	}
	defer c.Close()

	w := worker.New(c, connect.TaskQueue(), worker.Options{})
	w.RegisterWorkflow(workflows.ReviewCycle)
	w.RegisterWorkflow(workflows.UnitReview)
	w.RegisterActivity(&activities.Activities{Store: store.New(db)})

	if err := w.Start(); err != nil {
		return fmt.Errorf("starting the worker: %w", err)
	}
	logger.Info("worker started", "task_queue", connect.TaskQueue())
	<-ctx.Done()
	logger.Info("stopping: finishing the tasks in hand")
	w.Stop()
	return nil
}
