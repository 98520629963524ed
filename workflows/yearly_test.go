package workflows_test

import (
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/workflows"
)

// cycleLength is how long the fake cycle runs: far longer than YearlyStart
// may take, so that a YearlyStart that waited for its cycle shows.
const cycleLength = 200 * 24 * time.Hour

// startedCycle is what the fake ReviewCycle saw of its start.
type startedCycle struct {
	id       string
	in       workflows.CycleInput
	provider string
	year     int64
	phase    string
}

// fakeCycles stands in for ReviewCycle, registered under its name: it
// records how it was started, then runs for cycleLength.
type fakeCycles struct {
	mu       sync.Mutex
	started  []startedCycle
	finished int
}

func (f *fakeCycles) run(ctx workflow.Context, in workflows.CycleInput) (workflows.Summary, error) {
	sa := workflow.GetTypedSearchAttributes(ctx)
	s := startedCycle{id: workflow.GetInfo(ctx).WorkflowExecution.ID, in: in}
	s.provider, _ = sa.GetKeyword(workflows.AttrProvider)
	s.year, _ = sa.GetInt64(workflows.AttrYear)
	s.phase, _ = sa.GetKeyword(workflows.AttrPhase)
	f.mu.Lock()
	f.started = append(f.started, s)
	f.mu.Unlock()
	if err := workflow.Sleep(ctx, cycleLength); err != nil {
		return workflows.Summary{}, err
	}
	f.mu.Lock()
	f.finished++
	f.mu.Unlock()
	return workflows.Summary{Provider: in.Provider, Year: in.Year, Status: review.CycleCompleted}, nil
}

func (f *fakeCycles) register(env *testsuite.TestWorkflowEnvironment) {
	env.RegisterWorkflowWithOptions(f.run, workflow.RegisterOptions{Name: "ReviewCycle"})
	env.RegisterWorkflow(workflows.YearlyStart)
}

func yearlyInput() workflows.YearlyStartInput {
	return workflows.YearlyStartInput{Provider: provider, Config: review.Config{MaxRounds: 2}}
}

func TestYearlyStartStartsTheCycleOfTheYearInHelsinki(t *testing.T) {
	utc := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, c := range []struct {
		name      string
		start     time.Time
		scheduled time.Time // the schedule's TemporalScheduledStartTime; zero when not started by one
		want      int
	}{
		{name: "a morning in August", start: utc("2027-08-15T03:00:00Z"), want: 2027},
		{name: "New Year's Eve, still 2026 in Helsinki", start: utc("2026-12-31T21:59:00Z"), want: 2026},
		{name: "New Year's night, 2027 in Helsinki but not yet in UTC", start: utc("2026-12-31T22:30:00Z"), want: 2027},
		{name: "scheduled on New Year's Eve, run late on New Year's night", start: utc("2026-12-31T22:30:00Z"),
			scheduled: utc("2026-12-31T21:30:00Z"), want: 2026},
		{name: "scheduled on New Year's night, run days late", start: utc("2027-01-04T09:00:00Z"),
			scheduled: utc("2026-12-31T22:00:00Z"), want: 2027},
	} {
		t.Run(c.name, func(t *testing.T) {
			var s testsuite.WorkflowTestSuite
			env := s.NewTestWorkflowEnvironment()
			var cycles fakeCycles
			cycles.register(env)
			env.SetStartTime(c.start)
			if !c.scheduled.IsZero() {
				key := temporal.NewSearchAttributeKeyTime("TemporalScheduledStartTime")
				if err := env.SetTypedSearchAttributesOnStart(temporal.NewSearchAttributes(key.ValueSet(c.scheduled))); err != nil {
					t.Fatal(err)
				}
			}
			// Do not wait for the abandoned cycle: the test shows that
			// YearlyStart itself does not.
			env.SetDetachedChildWait(false)

			env.ExecuteWorkflow(workflows.YearlyStart, yearlyInput())

			if err := env.GetWorkflowError(); err != nil {
				t.Fatalf("YearlyStart failed: %v", err)
			}
			var res workflows.YearlyStartResult
			if err := env.GetWorkflowResult(&res); err != nil {
				t.Fatal(err)
			}
			wantID := review.CycleID(provider, c.want)
			if res.WorkflowID != wantID || res.Year != c.want || !res.Started || res.RunID == "" {
				t.Errorf("result: got %+v, want cycle %s of %d started with a run ID", res, wantID, c.want)
			}
			if took := env.Now().Sub(c.start); took >= time.Hour {
				t.Errorf("YearlyStart took %s of workflow time: it must return once the cycle has started, not wait for it", took)
			}
			if len(cycles.started) != 1 {
				t.Fatalf("cycles started: got %d, want 1", len(cycles.started))
			}
			got := cycles.started[0]
			want := startedCycle{id: wantID, in: workflows.CycleInput{Provider: provider, Year: c.want, Config: yearlyInput().Config},
				provider: provider, year: int64(c.want), phase: string(review.PhaseEvaluate)}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("cycle started as %+v, want %+v", got, want)
			}
		})
	}
}

func TestYearlyStartAbandonsTheCycle(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	var cycles fakeCycles
	cycles.register(env)
	env.SetStartTime(time.Date(2027, 8, 15, 6, 0, 0, 0, workflows.ScheduleLocation()))

	// The environment waits for abandoned children: the cycle must run to its
	// end after YearlyStart has closed, not be terminated with it.
	env.ExecuteWorkflow(workflows.YearlyStart, yearlyInput())

	if err := env.GetWorkflowError(); err != nil {
		t.Fatalf("YearlyStart failed: %v", err)
	}
	if cycles.finished != 1 {
		t.Errorf("cycles that ran to their end after YearlyStart closed: got %d, want 1", cycles.finished)
	}
}

// existingCycle is a parent for the test below: it starts the year's cycle
// itself, waits until it has started or ended, then runs YearlyStart.
func existingCycle(ctx workflow.Context, in workflows.YearlyStartInput, year int, waitForEnd bool) (workflows.YearlyStartResult, error) {
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID:        review.CycleID(in.Provider, year),
		ParentClosePolicy: enumspb.PARENT_CLOSE_POLICY_ABANDON,
	})
	cycle := workflow.ExecuteChildWorkflow(cctx, workflows.ReviewCycle, workflows.CycleInput{Provider: in.Provider, Year: year})
	if err := cycle.GetChildWorkflowExecution().Get(ctx, nil); err != nil {
		return workflows.YearlyStartResult{}, err
	}
	if waitForEnd {
		if err := cycle.Get(ctx, nil); err != nil {
			return workflows.YearlyStartResult{}, err
		}
	}
	var res workflows.YearlyStartResult
	yctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{WorkflowID: "yearly-start-under-test"})
	err := workflow.ExecuteChildWorkflow(yctx, workflows.YearlyStart, in).Get(ctx, &res)
	return res, err
}

func TestYearlyStartLeavesAnExistingCycleAlone(t *testing.T) {
	for _, c := range []struct {
		name       string
		waitForEnd bool
	}{
		{"the year's cycle is running", false},
		{"the year's cycle has ended", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			var s testsuite.WorkflowTestSuite
			env := s.NewTestWorkflowEnvironment()
			var cycles fakeCycles
			cycles.register(env)
			env.RegisterWorkflow(existingCycle)
			// Early enough in 2027 that the fake cycle ends within the year.
			env.SetStartTime(time.Date(2027, 1, 10, 6, 0, 0, 0, workflows.ScheduleLocation()))

			env.ExecuteWorkflow(existingCycle, yearlyInput(), 2027, c.waitForEnd)

			if err := env.GetWorkflowError(); err != nil {
				t.Fatalf("YearlyStart failed on an existing cycle: %v", err)
			}
			var res workflows.YearlyStartResult
			if err := env.GetWorkflowResult(&res); err != nil {
				t.Fatal(err)
			}
			wantID := review.CycleID(provider, 2027)
			if res.Started || res.WorkflowID != wantID || res.Year != 2027 || res.RunID != "" {
				t.Errorf("result: got %+v, want cycle %s of 2027 reported as existing, not started", res, wantID)
			}
			if len(cycles.started) != 1 || cycles.started[0].in.Config.MaxRounds != 0 {
				t.Errorf("cycles started: got %+v, want only the existing one", cycles.started)
			}
		})
	}
}

func TestYearlyStartRefusesInvalidInput(t *testing.T) {
	for _, c := range []struct {
		name string
		in   workflows.YearlyStartInput
	}{
		{"no provider", workflows.YearlyStartInput{}},
		{"a provider code with a slash", workflows.YearlyStartInput{Provider: "A/B"}},
		{"too many rounds", workflows.YearlyStartInput{Provider: provider, Config: review.Config{MaxRounds: 99}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var s testsuite.WorkflowTestSuite
			env := s.NewTestWorkflowEnvironment()
			var cycles fakeCycles
			cycles.register(env)

			env.ExecuteWorkflow(workflows.YearlyStart, c.in)

			var appErr *temporal.ApplicationError
			if err := env.GetWorkflowError(); !errors.As(err, &appErr) || appErr.Type() != workflows.ErrTypeInvalidInput || !appErr.NonRetryable() {
				t.Errorf("got error %v, want a non-retryable %s", err, workflows.ErrTypeInvalidInput)
			}
			if len(cycles.started) != 0 {
				t.Errorf("cycles started: got %d, want none", len(cycles.started))
			}
		})
	}
}

func TestYearlyScheduleNames(t *testing.T) {
	if got, want := workflows.ScheduleID("DEMO"), "review-cycle-schedule/DEMO"; got != want {
		t.Errorf("ScheduleID: got %q, want %q", got, want)
	}
	if got, want := workflows.YearlyStartWorkflowID("DEMO"), "yearly-start/DEMO"; got != want {
		t.Errorf("YearlyStartWorkflowID: got %q, want %q", got, want)
	}
	if got := workflows.ScheduleLocation().String(); got != workflows.ScheduleTimeZone {
		t.Errorf("ScheduleLocation: got %s, want %s", got, workflows.ScheduleTimeZone)
	}
}
