package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/lib/pq"

	"github.com/oho-dev/oho/connect"
	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/schema"
	"github.com/oho-dev/oho/service"
)

func (a *app) migrate(ctx context.Context, args []string) error {
	fs := newFlags("migrate")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	applied, err := migrateDatabase(ctx)
	if err != nil {
		return err
	}
	if len(applied) == 0 {
		a.printf("database schema is up to date\n")
		return nil
	}
	for _, m := range applied {
		a.printf("applied %s\n", m)
	}
	return nil
}

// migrateDatabase applies the migrations over a connection of its own, as
// the role of MIGRATION_DATABASE_URL (connect.MigrationDatabaseURL), and
// closes it: the rest of a command works as the application role.
func migrateDatabase(ctx context.Context) ([]string, error) {
	db, err := connect.MigrationDatabase(ctx)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	applied, err := schema.Migrate(ctx, db.DB)
	var pqErr *pq.Error
	if errors.As(err, &pqErr) && pqErr.Code == "42501" { // insufficient_privilege
		return applied, fmt.Errorf("migrating the database: %w (migrations must run as the owner of the schema and its tables: "+
			"MIGRATION_DATABASE_URL, which falls back to DATABASE_URL when unset; see README, Roles in PostgreSQL)", err)
	}
	if err != nil {
		return applied, fmt.Errorf("migrating the database: %w", err)
	}
	return applied, nil
}

// cycleRef is the --provider/--year pair that names a cycle.
type cycleRef struct {
	provider string
	year     int
}

// parse adds --provider and --year to the command's flags, parses the
// arguments and checks that both are given; the service checks their values.
func (r *cycleRef) parse(fs *flag.FlagSet, args []string) error {
	fs.StringVar(&r.provider, "provider", "", "provider code")
	fs.IntVar(&r.year, "year", 0, "year of the cycle")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	return required(fs, "provider", "year")
}

// readAs adds the optional --as of a read: the person whose view to show;
// without it the operator reads.
func readAs(fs *flag.FlagSet) *string {
	return fs.String("as", "", "read as this person (default: the operator, who reads everything)")
}

func (a *app) cycleStart(ctx context.Context, args []string) error {
	fs := newFlags("cycle start")
	var ref cycleRef
	configFile := fs.String("config", "", "cycle config file (JSON)")
	as := fs.String("as", "", "manager starting the cycle")
	if err := ref.parse(fs, args); err != nil {
		return err
	}
	if err := required(fs, "as"); err != nil {
		return err
	}
	actor, err := a.as(ctx, *as)
	if err != nil {
		return err
	}
	var cfg review.Config
	if *configFile != "" {
		if cfg, err = readConfig(*configFile); err != nil {
			return err
		}
	}
	svc, err := a.service(ctx)
	if err != nil {
		return err
	}
	started, err := svc.StartCycle(ctx, actor, service.StartCycle{Provider: ref.provider, Year: ref.year, Config: cfg})
	if err != nil {
		return err
	}
	if started.Existed {
		fmt.Fprintf(a.stderr, "a cycle for %s %d already exists; it was not started again\n", ref.provider, ref.year)
	}
	a.printf("%s\n", started.CycleID)
	return nil
}

// readConfig reads a cycle config file strictly and validates it.
func readConfig(path string) (review.Config, error) {
	raw, err := readFile(path)
	if err != nil {
		return review.Config{}, err
	}
	return service.DecodeConfig(raw, path)
}

func (a *app) cycleStatus(ctx context.Context, args []string) error {
	fs := newFlags("cycle status")
	var ref cycleRef
	asJSON := fs.Bool("json", false, "print JSON")
	as := readAs(fs)
	if err := ref.parse(fs, args); err != nil {
		return err
	}
	actor, err := a.reader(ctx, *as)
	if err != nil {
		return err
	}
	svc, err := a.service(ctx)
	if err != nil {
		return err
	}
	s, err := svc.CycleProgress(ctx, actor, ref.provider, ref.year)
	if err != nil {
		return err
	}
	if *asJSON {
		return a.printJSON(s)
	}
	a.printf("cycle %s: %s, phase %s, round %d\n", s.WorkflowID, s.Status, s.Phase, s.Round)
	if s.RestartOf != "" {
		a.printf("attempt %d, starting again cycle %s\n", s.Attempt, s.RestartOf)
	}
	if s.WaitingForWorker {
		a.printf("%s\n", waitingLine(s))
	}
	a.printf("\n")
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "UNIT\tPHASE")
	for _, u := range s.Units {
		fmt.Fprintf(tw, "%s\t%s\n", u.Unit, u.Phase)
	}
	tw.Flush()
	a.printf("\n")
	a.printTasks(tasksFromStatus(s.Tasks))
	return nil
}

// waitingLine says that a cycle waits for a worker, and whether any polls
// its task queue.
func waitingLine(s review.Progress) string {
	line := "waiting for a worker: no worker has set this cycle up yet"
	switch {
	case s.Workers == nil || *s.Workers < 0:
		return line + " (Temporal could not say whether one polls task queue " + s.TaskQueue + ")"
	case *s.Workers == 0:
		return line + "; none is polling task queue " + s.TaskQueue + " (start one: bin/worker)"
	}
	return fmt.Sprintf("%s; %d polling task queue %s", line, *s.Workers, s.TaskQueue)
}

func (a *app) cycleList(ctx context.Context, args []string) error {
	fs := newFlags("cycle list")
	asJSON := fs.Bool("json", false, "print JSON")
	as := readAs(fs)
	if _, err := parse(fs, args); err != nil {
		return err
	}
	actor, err := a.reader(ctx, *as)
	if err != nil {
		return err
	}
	svc, err := a.service(ctx)
	if err != nil {
		return err
	}
	cycles, err := svc.Cycles(ctx, actor)
	if err != nil {
		return err
	}
	if *asJSON {
		return a.printJSON(cycles)
	}
	if len(cycles) == 0 {
		a.printf("no cycles yet: start one with 'starter cycle start --provider CODE --year YYYY'\n")
		return nil
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PROVIDER\tYEAR\tSTATUS\tPHASE\tROUND\tSTARTED\tWORKFLOW")
	for _, c := range cycles {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%d\t%s\t%s\n", c.Provider, c.Year, c.Status, c.Phase, c.Round, c.StartedAt.Format(time.DateOnly), c.ID)
	}
	return tw.Flush()
}
