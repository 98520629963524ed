package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/lib/pq"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/oho-dev/oho/authz"
	"github.com/oho-dev/oho/check"
	"github.com/oho-dev/oho/connect"
	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/schema"
	"github.com/oho-dev/oho/store"
	"github.com/oho-dev/oho/workflows"
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
// arguments and checks that both name a cycle.
func (r *cycleRef) parse(fs *flag.FlagSet, args []string) error {
	fs.StringVar(&r.provider, "provider", "", "provider code")
	fs.IntVar(&r.year, "year", 0, "year of the cycle")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if err := required(fs, "provider", "year"); err != nil {
		return err
	}
	if !check.Code(r.provider) {
		return fmt.Errorf("--provider %q is not a provider code (1-32 letters, digits, '-' or '_')", r.provider)
	}
	if r.year < 2000 || r.year > 2999 {
		return fmt.Errorf("--year %d is not a year between 2000 and 2999", r.year)
	}
	return nil
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
	p, err := a.actor(ctx, *as)
	if err != nil {
		return err
	}
	var cfg review.Config
	if *configFile != "" {
		if _, err := readJSONFile(*configFile, &cfg); err != nil {
			return err
		}
		if err := cfg.Validate(); err != nil {
			return fmt.Errorf("%s: %w", *configFile, err)
		}
	}
	id, existed, err := a.startCycle(ctx, p, workflows.CycleInput{Provider: ref.provider, Year: ref.year, Config: cfg})
	if err != nil {
		return err
	}
	if existed {
		fmt.Fprintf(a.stderr, "a cycle for %s %d already exists; it was not started again\n", ref.provider, ref.year)
	}
	a.printf("%s\n", id)
	return nil
}

// startCycle starts the ReviewCycle workflow once the person may and the
// provider is ready for it. Starting a cycle that exists already, running or
// finished, starts nothing and reports the existing workflow ID.
func (a *app) startCycle(ctx context.Context, by store.Person, in workflows.CycleInput) (id string, existed bool, err error) {
	st, err := a.store(ctx)
	if err != nil {
		return "", false, err
	}
	if err := st.CheckReady(ctx, in.Provider); err != nil {
		return "", false, fmt.Errorf("cannot start the cycle: %w", err)
	}
	if err := authorize(by, in.Provider, authz.OpStart); err != nil {
		return "", false, err
	}
	c, err := a.client(ctx)
	if err != nil {
		return "", false, err
	}
	id = review.CycleID(in.Provider, in.Year)
	_, err = c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                                       id,
		TaskQueue:                                connect.TaskQueue(),
		WorkflowIDReusePolicy:                    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy:                 enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			workflows.AttrProvider.ValueSet(in.Provider),
			workflows.AttrYear.ValueSet(int64(in.Year)),
			workflows.AttrPhase.ValueSet(string(review.PhaseEvaluate)),
		),
	}, workflows.ReviewCycle, in)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	switch {
	case errors.As(err, &started):
		return id, true, nil
	case err != nil:
		return "", false, fmt.Errorf("starting workflow %s: %w", id, err)
	}
	return id, false, nil
}

func (a *app) cycleStatus(ctx context.Context, args []string) error {
	fs := newFlags("cycle status")
	var ref cycleRef
	asJSON := fs.Bool("json", false, "print JSON")
	if err := ref.parse(fs, args); err != nil {
		return err
	}
	st, err := a.store(ctx)
	if err != nil {
		return err
	}
	s, err := st.CycleStatus(ctx, ref.provider, ref.year)
	if err != nil {
		return err
	}
	if *asJSON {
		return a.printJSON(s)
	}
	a.printf("cycle %s: %s, phase %s, round %d\n\n", s.WorkflowID, s.Status, s.Phase, s.Round)
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

func (a *app) cycleList(ctx context.Context, args []string) error {
	fs := newFlags("cycle list")
	asJSON := fs.Bool("json", false, "print JSON")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	st, err := a.store(ctx)
	if err != nil {
		return err
	}
	cycles, err := st.Cycles(ctx)
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
