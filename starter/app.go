package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/user"
	"slices"

	"github.com/jmoiron/sqlx"
	"go.temporal.io/sdk/client"

	"github.com/oho-dev/oho/check"
	"github.com/oho-dev/oho/connect"
	"github.com/oho-dev/oho/payloadcrypt"
	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/service"
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
	svc      *service.Service
	// codec is the payload codec of the keys the environment configures,
	// loaded once: the Temporal client encodes with it and the service
	// decodes with it (the codec server, the audit export).
	codec *payloadcrypt.Codec
	// temporalOptions are what the Temporal client is dialled with beyond
	// the environment: serve's metrics handler.
	temporalOptions []connect.Option
}

// service returns the service layer every command goes through, over the
// database (opened now) and Temporal (dialled when a command needs it).
func (a *app) service(ctx context.Context) (*service.Service, error) {
	if a.svc == nil {
		codec, err := a.payloadCodec()
		if err != nil {
			return nil, err
		}
		st, err := a.store(ctx)
		if err != nil {
			return nil, err
		}
		a.svc = service.New(service.Config{
			Store: st, Temporal: a.client, TaskQueue: connect.TaskQueue(),
			TemporalUI: os.Getenv("TEMPORAL_UI_URL"), Namespace: os.Getenv("TEMPORAL_NAMESPACE"),
			Payloads: codec,
		})
	}
	return a.svc, nil
}

// via is how the command line reaches OHO: the operator's channel, named by
// the operating-system user running it, which the audit trail records with
// every change made here.
func via() review.Via {
	name := os.Getenv("USER")
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	}
	if name == "" {
		name = "unknown"
	}
	return review.Via{Channel: review.ChannelCLI, Ref: name}
}

// as returns the actor of a command run for the person named by --as.
func (a *app) as(ctx context.Context, id string) (service.Actor, error) {
	if !check.Person(id) {
		return service.Actor{}, fmt.Errorf("--as %q is not a person ID (lower-case letters, digits, '.', '-', '_')", id)
	}
	svc, err := a.service(ctx)
	if err != nil {
		return service.Actor{}, err
	}
	return svc.Act(ctx, id, via())
}

// readerService returns the actor of a read (see reader) and the service.
func (a *app) readerService(ctx context.Context, as string) (service.Actor, *service.Service, error) {
	actor, err := a.reader(ctx, as)
	if err != nil {
		return service.Actor{}, nil, err
	}
	svc, err := a.service(ctx)
	return actor, svc, err
}

// reader returns the actor of a read: the person named by --as when given,
// the operator otherwise.
func (a *app) reader(ctx context.Context, as string) (service.Actor, error) {
	if as == "" {
		return service.Operator(via()), nil
	}
	return a.as(ctx, as)
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

// payloadCodec loads the payload keys the environment configures, once.
func (a *app) payloadCodec() (*payloadcrypt.Codec, error) {
	if a.codec == nil {
		c, err := connect.PayloadCodec()
		if err != nil {
			return nil, err
		}
		a.codec = c
	}
	return a.codec, nil
}

func (a *app) client(ctx context.Context) (client.Client, error) {
	if a.temporal == nil {
		codec, err := a.payloadCodec()
		if err != nil {
			return nil, err
		}
		c, err := connect.Temporal(ctx, a.logger, append(slices.Clip(a.temporalOptions), connect.WithPayloadCodec(codec))...)
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
