package activities_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/oho-dev/oho/activities"
	"github.com/oho-dev/oho/dbtest"
	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/store"
	"github.com/oho-dev/oho/workflows"
)

func TestEveryActivityNameIsAMethod(t *testing.T) {
	typ := reflect.TypeOf(&activities.Activities{})
	ctxType := reflect.TypeOf((*context.Context)(nil)).Elem()
	errType := reflect.TypeOf((*error)(nil)).Elem()
	for _, name := range workflows.ActivityNames {
		m, ok := typ.MethodByName(name)
		if !ok {
			t.Errorf("activity %s has no method on *Activities", name)
			continue
		}
		// Receiver, context, one input struct; last result an error.
		ft := m.Type
		if ft.NumIn() != 3 || ft.In(1) != ctxType || ft.In(2).Kind() != reflect.Struct || ft.Out(ft.NumOut()-1) != errType {
			t.Errorf("activity %s has signature %s, want func(context.Context, Input) (..., error)", name, ft)
		}
	}
	// Registering *Activities registers every exported method, so each must
	// be an activity the workflows know.
	for i := range typ.NumMethod() {
		if name := typ.Method(i).Name; !slices.Contains(workflows.ActivityNames, name) {
			t.Errorf("method %s of *Activities is not in workflows.ActivityNames", name)
		}
	}
}

// failing is a store whose every call fails with err.
type failing struct{ err error }

func (f failing) SetupCycle(context.Context, review.SetupCycleInput) (review.CycleSetup, error) {
	return review.CycleSetup{}, f.err
}
func (f failing) OpenTasks(context.Context, review.OpenTasksInput) ([]review.OpenedTask, error) {
	return nil, f.err
}
func (f failing) CompleteTask(context.Context, review.CompleteTaskInput) error     { return f.err }
func (f failing) SupersedeTasks(context.Context, review.SupersedeTasksInput) error { return f.err }
func (f failing) FailCycle(context.Context, review.FailCycleInput) error           { return f.err }
func (f failing) RecordTaskOp(context.Context, review.TaskOpInput) error           { return f.err }
func (f failing) RecordDeadline(context.Context, review.DeadlineInput) error       { return f.err }
func (f failing) CancelCycle(context.Context, review.CancelCycleInput) error       { return f.err }
func (f failing) Publish(context.Context, review.PublishInput) (review.Published, error) {
	return review.Published{}, f.err
}

// inputs holds an input for each activity.
var inputs = map[string]any{
	workflows.ActivitySetupCycle:     review.SetupCycleInput{CycleID: "c"},
	workflows.ActivityOpenTasks:      review.OpenTasksInput{CycleID: "c"},
	workflows.ActivityCompleteTask:   review.CompleteTaskInput{Actor: "a"},
	workflows.ActivitySupersedeTasks: review.SupersedeTasksInput{CycleID: "c"},
	workflows.ActivityPublish:        review.PublishInput{CycleID: "c"},
	workflows.ActivityFailCycle:      review.FailCycleInput{CycleID: "c"},
	workflows.ActivityRecordTaskOp:   review.TaskOpInput{Op: review.OpClaim},
	workflows.ActivityRecordDeadline: review.DeadlineInput{Event: review.EventReminder},
	workflows.ActivityCancelCycle:    review.CancelCycleInput{CycleID: "c"},
}

func execute(t *testing.T, rec activities.Recorder, name string, in any) error {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(&activities.Activities{Store: rec})
	_, err := env.ExecuteActivity(name, in)
	return err
}

func wantFailure(t *testing.T, err error, typ string, nonRetryable bool, says string) {
	t.Helper()
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) {
		t.Fatalf("got error %v (%T), want an application error", err, err)
	}
	if appErr.NonRetryable() != nonRetryable {
		t.Errorf("got NonRetryable() %v for %v, want %v", appErr.NonRetryable(), err, nonRetryable)
	}
	if typ != "" && appErr.Type() != typ {
		t.Errorf("got type %q, want %q", appErr.Type(), typ)
	}
	if !strings.Contains(appErr.Error(), says) {
		t.Errorf("got message %q, want it to contain %q", appErr.Error(), says)
	}
}

func TestPermanentFailuresAreNonRetryable(t *testing.T) {
	tests := []struct {
		sentinel error
		typ      string
	}{
		{store.ErrNotFound, activities.TypeNotFound},
		{store.ErrDuplicate, activities.TypeDuplicate},
		{store.ErrInvalid, activities.TypeInvalid},
		{store.ErrNotReady, activities.TypeNotReady},
		{store.ErrNoCandidates, activities.TypeNoCandidates},
		{store.ErrTaskClosed, activities.TypeTaskClosed},
		{store.ErrCycleClosed, activities.TypeCycleClosed},
	}
	for _, tt := range tests {
		for _, name := range workflows.ActivityNames {
			t.Run(tt.typ+"/"+name, func(t *testing.T) {
				rec := failing{fmt.Errorf("doing %s: %w", name, tt.sentinel)}
				err := execute(t, rec, name, inputs[name])
				wantFailure(t, err, tt.typ, true, "doing "+name)
			})
		}
	}
}

func TestOtherFailuresAreRetried(t *testing.T) {
	for _, name := range workflows.ActivityNames {
		t.Run(name, func(t *testing.T) {
			err := execute(t, failing{errors.New("read tcp 127.0.0.1:5432: connection reset by peer")}, name, inputs[name])
			wantFailure(t, err, "", false, "connection reset")
		})
	}
}

func TestActivitiesOverTheStore(t *testing.T) {
	db, _ := dbtest.New(t)
	s := store.New(db)
	ctx := context.Background()
	if _, err := s.ImportOrg(ctx, store.ActorOperator, dbtest.Org("ACME")); err != nil {
		t.Fatal(err)
	}

	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(&activities.Activities{Store: s})

	id := review.CycleID("ACME", 2025)
	val, err := env.ExecuteActivity(workflows.ActivitySetupCycle, review.SetupCycleInput{CycleID: id, Provider: "ACME", Year: 2025})
	if err != nil {
		t.Fatal(err)
	}
	var setup review.CycleSetup
	if err := val.Get(&setup); err != nil {
		t.Fatal(err)
	}
	if len(setup.Units) != 2 || len(setup.Baseline.Sections) != len(review.DefaultSections) {
		t.Errorf("got setup %+v, want 2 units and the default sections", setup)
	}

	_, err = env.ExecuteActivity(workflows.ActivitySetupCycle, review.SetupCycleInput{CycleID: "x", Provider: "NOPE", Year: 2025})
	wantFailure(t, err, activities.TypeNotFound, true, `provider "NOPE" has not been imported`)

	_, err = env.ExecuteActivity(workflows.ActivityCompleteTask, review.CompleteTaskInput{
		Task:    review.TaskSpec{ID: "ACME/2025/evaluate/NORTH", Kind: review.KindEvaluate},
		Actor:   "acme.nurse.north",
		Outcome: json.RawMessage(`{"indicators": [], "findings": [], "effectiveness": [], "student": "Liisa"}`),
	})
	wantFailure(t, err, activities.TypeInvalid, true, "unknown field")
}

func TestTaskActivitiesOverTheStore(t *testing.T) {
	db, _ := dbtest.New(t)
	s := store.New(db)
	ctx := context.Background()
	if _, err := s.ImportOrg(ctx, store.ActorOperator, dbtest.Org("ACME")); err != nil {
		t.Fatal(err)
	}
	id := review.CycleID("ACME", 2025)
	if _, err := s.SetupCycle(ctx, review.SetupCycleInput{CycleID: id, Provider: "ACME", Year: 2025}); err != nil {
		t.Fatal(err)
	}
	due := time.Date(2025, 4, 30, 12, 0, 0, 0, time.UTC)
	task := review.TaskSpec{
		ID: review.TaskID("ACME", 2025, review.KindEvaluate, 0, "NORTH"), CycleID: id,
		WorkflowID: review.UnitReviewID(id, "NORTH"), Kind: review.KindEvaluate, Unit: "NORTH",
		Role: review.RoleWelfareStaff, DueAt: due,
	}
	if _, err := s.OpenTasks(ctx, review.OpenTasksInput{CycleID: id, Phase: review.PhaseEvaluate, Tasks: []review.TaskSpec{task}}); err != nil {
		t.Fatal(err)
	}

	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(&activities.Activities{Store: s})

	claim := review.TaskOpInput{Task: task, Op: review.OpClaim, Seq: 1, Actor: "acme.nurse.north", Assignee: "acme.nurse.north", DueAt: due}
	for range 2 { // a retry is fine
		if _, err := env.ExecuteActivity(workflows.ActivityRecordTaskOp, claim); err != nil {
			t.Fatalf("RecordTaskOp: %v", err)
		}
	}
	overdue := review.DeadlineInput{Task: task, Event: review.EventOverdue, Seq: 1, Assignee: "acme.nurse.north"}
	if _, err := env.ExecuteActivity(workflows.ActivityRecordDeadline, overdue); err != nil {
		t.Fatalf("RecordDeadline: %v", err)
	}
	_, err := env.ExecuteActivity(workflows.ActivityRecordTaskOp, review.TaskOpInput{
		Task: task, Op: review.OpReassign, Seq: 2, Actor: "acme.manager", Reason: "x", Assignee: "beta.nurse.north", DueAt: due})
	wantFailure(t, err, activities.TypeInvalid, true, `"beta.nurse.north" is not a person of provider ACME`)

	cancel := review.CancelCycleInput{CycleID: id, Actor: "acme.manager", Reason: "Merger."}
	for range 2 {
		if _, err := env.ExecuteActivity(workflows.ActivityCancelCycle, cancel); err != nil {
			t.Fatalf("CancelCycle: %v", err)
		}
	}
	_, err = env.ExecuteActivity(workflows.ActivityRecordDeadline, review.DeadlineInput{Task: task, Event: review.EventOverdueReminder, Seq: 2})
	wantFailure(t, err, activities.TypeTaskClosed, true, "cancelled")
	_, err = env.ExecuteActivity(workflows.ActivityFailCycle, review.FailCycleInput{CycleID: id, Reason: "x"})
	wantFailure(t, err, activities.TypeCycleClosed, true, "been cancelled")

	// The audit events name the workflow run the activity worked for.
	var runs []string
	if err := db.SelectContext(ctx, &runs, `SELECT action || ' ' || workflow_id || ' ' || run_id FROM audit_events WHERE action IN ('task.claimed', 'cycle.cancelled') ORDER BY seq`); err != nil {
		t.Fatal(err)
	}
	if want := []string{"task.claimed default-test-workflow-id default-test-run-id", "cycle.cancelled default-test-workflow-id default-test-run-id"}; !slices.Equal(runs, want) {
		t.Errorf("got audit events %q, want %q", runs, want)
	}

	var kinds []string
	if err := db.SelectContext(ctx, &kinds, `SELECT kind FROM notifications ORDER BY created_at, id`); err != nil {
		t.Fatal(err)
	}
	if want := []string{"assigned", "escalation", "overdue", "cancelled"}; !slices.Equal(kinds, want) {
		t.Errorf("got notices %v, want %v", kinds, want)
	}
}
