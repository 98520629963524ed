package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"

	"github.com/jmoiron/sqlx"
	"go.temporal.io/sdk/client"

	"github.com/oho-dev/oho/connect"
	"github.com/oho-dev/oho/store"
)

// app holds what commands share: output streams and the connections, which
// are dialled on first use so that a command touches only what it needs.
type app struct {
	stdout, stderr io.Writer
	logger         *slog.Logger

	db       *sqlx.DB
	st       *store.Store
	temporal client.Client
}

func (a *app) store(ctx context.Context) (*store.Store, error) {
	if a.st == nil {
		db, err := connect.Database(ctx)
		if err != nil {
			return nil, err
		}
		a.db, a.st = db, store.New(db)
	}
	return a.st, nil
}

func (a *app) client(ctx context.Context) (client.Client, error) {
	if a.temporal == nil {
		c, err := connect.Temporal(ctx, a.logger)
		if err != nil {
			return nil, err
		}
		a.temporal = c
	}
	return a.temporal, nil
}

func (a *app) close() {
	if a.temporal != nil {
		a.temporal.Close()
	}
	if a.db != nil {
		a.db.Close()
	}
}

// printJSON writes v as indented JSON: the stable machine-readable output.
func (a *app) printJSON(v any) error {
	enc := json.NewEncoder(a.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func (a *app) printf(format string, args ...any) {
	fmt.Fprintf(a.stdout, format, args...)
}
