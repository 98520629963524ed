// Package activities does all the I/O of OHO's workflows: each activity
// records a step of a review cycle in PostgreSQL through the store.
//
// Activities are idempotent, because Temporal retries them: the store writes
// nothing twice. Failures that a retry cannot mend (a missing row, a closed
// task, an invalid outcome) are returned as non-retryable application errors
// whose type is one of the Type constants, so that workflows can tell them
// apart; anything else, such as a lost connection, stays retryable.
package activities

import (
	"context"
	"errors"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/store"
)

// Application error types of non-retryable activity failures.
const (
	TypeNotFound     = "NotFound"
	TypeDuplicate    = "Duplicate"
	TypeInvalid      = "Invalid"
	TypeNotReady     = "NotReady"
	TypeNoCandidates = "NoCandidates"
	TypeTaskClosed   = "TaskClosed"
	TypeCycleClosed  = "CycleClosed"
)

// permanent maps the store's sentinel errors to their types.
var permanent = []struct {
	err error
	typ string
}{
	{store.ErrNotFound, TypeNotFound},
	{store.ErrDuplicate, TypeDuplicate},
	{store.ErrInvalid, TypeInvalid},
	{store.ErrNotReady, TypeNotReady},
	{store.ErrNoCandidates, TypeNoCandidates},
	{store.ErrTaskClosed, TypeTaskClosed},
	{store.ErrCycleClosed, TypeCycleClosed},
}

// Recorder is what the activities need of the store; *store.Store has it.
type Recorder interface {
	SetupCycle(context.Context, review.SetupCycleInput) (review.CycleSetup, error)
	OpenTasks(context.Context, review.OpenTasksInput) ([]review.OpenedTask, error)
	CompleteTask(context.Context, review.CompleteTaskInput) error
	SupersedeTasks(context.Context, review.SupersedeTasksInput) error
	Publish(context.Context, review.PublishInput) (review.Published, error)
	FailCycle(context.Context, review.FailCycleInput) error
	RecordTaskOp(context.Context, review.TaskOpInput) error
	RecordDeadline(context.Context, review.DeadlineInput) error
	CancelCycle(context.Context, review.CancelCycleInput) error
}

// Activities holds what the activities need. Register a *Activities with the
// worker; workflows call its methods by the names in workflows.ActivityNames.
type Activities struct {
	Store Recorder
}

// SetupCycle records the cycle and returns its units, baseline plan and the
// previous cycle's changes.
func (a *Activities) SetupCycle(ctx context.Context, in review.SetupCycleInput) (review.CycleSetup, error) {
	out, err := a.Store.SetupCycle(store.WithVia(audited(ctx), in.Via), in)
	if err != nil {
		return review.CycleSetup{}, failure(ctx, err)
	}
	activity.GetLogger(ctx).Info("cycle set up", "cycle", in.CycleID, "units", len(out.Units), "baseline_version", out.BaselineVersion)
	return out, nil
}

// OpenTasks records tasks and moves the cycle to a phase and round.
func (a *Activities) OpenTasks(ctx context.Context, in review.OpenTasksInput) ([]review.OpenedTask, error) {
	out, err := a.Store.OpenTasks(audited(ctx), in)
	if err != nil {
		return nil, failure(ctx, err)
	}
	activity.GetLogger(ctx).Info("tasks opened", "cycle", in.CycleID, "phase", in.Phase, "round", in.Round, "tasks", len(out))
	return out, nil
}

// CompleteTask records a task's outcome with the records it carries.
func (a *Activities) CompleteTask(ctx context.Context, in review.CompleteTaskInput) error {
	if err := a.Store.CompleteTask(store.WithVia(audited(ctx), in.Via), in); err != nil {
		return failure(ctx, err)
	}
	activity.GetLogger(ctx).Info("task completed", "task", in.Task.ID, "actor", in.Actor)
	return nil
}

// SupersedeTasks closes open tasks that no longer matter.
func (a *Activities) SupersedeTasks(ctx context.Context, in review.SupersedeTasksInput) error {
	if err := a.Store.SupersedeTasks(audited(ctx), in); err != nil {
		return failure(ctx, err)
	}
	activity.GetLogger(ctx).Info("tasks superseded", "cycle", in.CycleID, "tasks", len(in.TaskIDs))
	return nil
}

// Publish publishes the approved draft as the plan's next version.
func (a *Activities) Publish(ctx context.Context, in review.PublishInput) (review.Published, error) {
	out, err := a.Store.Publish(audited(ctx), in)
	if err != nil {
		return review.Published{}, failure(ctx, err)
	}
	activity.GetLogger(ctx).Info("plan published", "cycle", in.CycleID, "version", out.Version, "hash", out.Hash)
	return out, nil
}

// FailCycle records that a cycle ended without a published plan.
func (a *Activities) FailCycle(ctx context.Context, in review.FailCycleInput) error {
	if err := a.Store.FailCycle(audited(ctx), in); err != nil {
		return failure(ctx, err)
	}
	activity.GetLogger(ctx).Info("cycle failed", "cycle", in.CycleID, "reason", in.Reason)
	return nil
}

// RecordTaskOp records a claim, unclaim, delegation, reassignment or
// extension of an open task and queues its notices.
func (a *Activities) RecordTaskOp(ctx context.Context, in review.TaskOpInput) error {
	if err := a.Store.RecordTaskOp(store.WithVia(audited(ctx), in.Via), in); err != nil {
		return failure(ctx, err)
	}
	activity.GetLogger(ctx).Info("task operation recorded", "task", in.Task.ID, "op", in.Op, "seq", in.Seq, "actor", in.Actor, "assignee", in.Assignee)
	return nil
}

// RecordDeadline records a reminder or an overdue event of a task and queues
// its notices and escalations.
func (a *Activities) RecordDeadline(ctx context.Context, in review.DeadlineInput) error {
	if err := a.Store.RecordDeadline(audited(ctx), in); err != nil {
		return failure(ctx, err)
	}
	activity.GetLogger(ctx).Info("deadline event recorded", "task", in.Task.ID, "event", in.Event, "seq", in.Seq)
	return nil
}

// CancelCycle records that a manager cancelled a cycle and closes its open
// tasks as cancelled.
func (a *Activities) CancelCycle(ctx context.Context, in review.CancelCycleInput) error {
	if err := a.Store.CancelCycle(store.WithVia(audited(ctx), in.Via), in); err != nil {
		return failure(ctx, err)
	}
	activity.GetLogger(ctx).Info("cycle cancelled", "cycle", in.CycleID, "actor", in.Actor)
	return nil
}

// audited returns ctx carrying the activity's workflow execution, so that
// the audit events the store records name the workflow run that caused them.
func audited(ctx context.Context) context.Context {
	run := activity.GetInfo(ctx).WorkflowExecution
	return store.WithRun(ctx, run.ID, run.RunID)
}

// failure logs err and makes it non-retryable when it is permanent.
func failure(ctx context.Context, err error) error {
	logger := activity.GetLogger(ctx)
	for _, p := range permanent {
		if errors.Is(err, p.err) {
			logger.Warn("activity refused", "type", p.typ, "error", err)
			// The cause is the sentinel rather than err: an application
			// error prints as "message: cause", and err's text is the
			// message already.
			return temporal.NewNonRetryableApplicationError(err.Error(), p.typ, p.err)
		}
	}
	logger.Error("activity failed; it will be retried", "error", err)
	return err
}
