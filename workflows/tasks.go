package workflows

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/oho-dev/oho/authz"
	"github.com/oho-dev/oho/review"
)

// CompleteTaskRequest is the argument of the complete-task Update.
type CompleteTaskRequest struct {
	TaskID  string          `json:"task_id"`
	Actor   string          `json:"actor"`
	Outcome json.RawMessage `json:"outcome"`
	// Via is how the actor reached OHO; it goes into the audit trail and
	// takes no part in deciding the Update.
	Via review.Via `json:"via,omitzero"`
}

// CompleteTaskResult is what a successful complete-task Update returns.
type CompleteTaskResult struct {
	TaskID      string `json:"task_id"`
	Status      string `json:"status"`
	CompletedBy string `json:"completed_by"`
}

// activityOptions apply to every activity the workflows call. Database work
// takes milliseconds, so a short timeout lets an activity lost with its worker
// be retried soon on another; a failing database is retried with backoff
// until it is back, while permanent failures come back as non-retryable.
var activityOptions = workflow.ActivityOptions{
	StartToCloseTimeout: 10 * time.Second,
	RetryPolicy: &temporal.RetryPolicy{
		InitialInterval:    time.Second,
		BackoffCoefficient: 2,
		MaximumInterval:    time.Minute,
	},
}

// localActivityOptions apply to recording a completion, which runs as a
// local activity inside the complete-task Update: in the worker that runs
// the workflow task, without the server's round trip of an activity task,
// with the same timeout and retries as activityOptions. A worker that dies
// while it runs leaves no result in the history, so the worker that takes
// the workflow over runs it again; the store's CompleteTask is idempotent,
// so nothing is recorded twice.
var localActivityOptions = workflow.LocalActivityOptions{
	StartToCloseTimeout: activityOptions.StartToCloseTimeout,
	RetryPolicy:         activityOptions.RetryPolicy,
}

// versionLocalCompletion is the change that made a completion's recording
// a local activity. Histories from before it replay with the activity task
// they recorded (workflow.GetVersion gives DefaultVersion there).
//
// Version 1 recorded every completion with a local activity. Version 2
// kept that for the tasks of a unit's workflow (evaluation and
// consultation, most of a cycle's tasks, which meet few others in their
// workflow) and recorded those of the cycle's own workflow (drafts,
// sign-offs, approvals) with an activity task again: every unit head signed
// in that one workflow, often at the same moment, and a local activity
// keeps the workflow task open while it runs, so the sign-offs queued
// behind one another (100 at once: p99 9.7 s with local activities, 3.7 s
// with activity tasks).
//
// Version 3 records every completion with a local activity again: since
// versionSignOffInUnits each sign-off has a workflow of its own, and the
// cycle's own workflow has one task open at a time, the draft or the
// approval (README, "Performance").
const versionLocalCompletion = "complete-task-local-activity"

// localCompletion says whether a task of the kind is recorded with a local
// activity at the version of versionLocalCompletion.
func localCompletion(version workflow.Version, kind review.TaskKind) bool {
	switch version {
	case 1, 3:
		return true
	case 2:
		return kind == review.KindEvaluate || kind == review.KindConsult
	}
	return false
}

// taskState is where a task stands inside the workflow. "completing" covers
// the time between an accepted Update and its recording activity finishing,
// so that a second Update for the same task is refused meanwhile.
type taskState int

const (
	stateOpen taskState = iota
	stateCompleting
	stateDone
	stateSuperseded
	stateCancelled
)

// task is a human task the workflow waits for.
type task struct {
	spec       review.TaskSpec
	candidates []string
	// check validates an outcome against the rules of the task's kind and what
	// the workflow knows (sections, items, the current draft's hash).
	check func(raw json.RawMessage) error
	// draft computes the plan content a draft outcome produces; drafts only.
	draft func(raw json.RawMessage) *review.PlanContent
	// onDone runs in the workflow when the outcome has been recorded.
	onDone func(raw json.RawMessage)

	state   taskState
	actor   string
	outcome json.RawMessage

	// assignee is the person the task is assigned to; "" while it is offered
	// to everyone holding its role in its unit (the candidates).
	assignee string
	// changing is set while an accepted change-task Update is being recorded.
	changing bool
	// opSeq and deadlineSeq count recorded operations and deadline events,
	// which makes their records idempotent.
	opSeq, deadlineSeq int
	opened             time.Time
	reminded, overdue  bool
	lastNotice         time.Time
}

// closed reports whether the task needs nothing more.
func (t *task) closed() bool {
	return t.state == stateDone || t.state == stateSuperseded || t.state == stateCancelled
}

func (t *task) subject() authz.Subject {
	return authz.Subject{TaskID: t.spec.ID, Role: string(t.spec.Role), Unit: t.spec.Unit, Assignee: t.assignee}
}

func (t *task) status() string {
	switch t.state {
	case stateDone:
		return review.TaskDone
	case stateSuperseded:
		return review.TaskSuperseded
	case stateCancelled:
		return review.TaskCancelled
	}
	return review.TaskOpen
}

// board holds the human tasks of one workflow execution and serves the
// complete-task Update for them. Tasks are kept in a map for lookup and in a
// slice for deterministic iteration.
type board struct {
	tasks map[string]*task
	order []*task
	// managers may reassign and extend tasks and receive escalations.
	managers  []string
	reminders review.Reminders
}

func newBoard(ctx workflow.Context, reminders review.Reminders) (*board, error) {
	b := &board{tasks: map[string]*task{}, reminders: reminders}
	err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateCompleteTask, b.complete,
		workflow.UpdateHandlerOptions{Validator: b.validate})
	if err != nil {
		return nil, fmt.Errorf("registering %s: %w", UpdateCompleteTask, err)
	}
	err = workflow.SetUpdateHandlerWithOptions(ctx, UpdateChangeTask, b.change,
		workflow.UpdateHandlerOptions{Validator: b.validateChange})
	if err != nil {
		return nil, fmt.Errorf("registering %s: %w", UpdateChangeTask, err)
	}
	return b, nil
}

// grants are the actor's roles that matter for the task, as far as the
// workflow knows them: provider-wide manager, and the task's role in its
// unit when the actor holds it.
func (b *board) grants(actor string, t *task) []authz.Grant {
	var g []authz.Grant
	if slices.Contains(b.managers, actor) {
		g = append(g, authz.Grant{Role: authz.RoleManager})
	}
	if slices.Contains(t.candidates, actor) {
		g = append(g, authz.Grant{Role: string(t.spec.Role), Unit: t.spec.Unit})
	}
	return g
}

// open records the tasks in one activity, which also moves the cycle to the
// phase and round, and starts accepting their outcomes.
func (b *board) open(ctx workflow.Context, phase review.Phase, round int, tasks []*task) error {
	in := review.OpenTasksInput{Phase: phase, Round: round, Tasks: make([]review.TaskSpec, len(tasks))}
	for i, t := range tasks {
		in.Tasks[i] = t.spec
	}
	if len(tasks) > 0 {
		in.CycleID = tasks[0].spec.CycleID
	}
	var opened []review.OpenedTask
	actCtx := workflow.WithActivityOptions(ctx, activityOptions)
	if err := workflow.ExecuteActivity(actCtx, ActivityOpenTasks, in).Get(ctx, &opened); err != nil {
		return fmt.Errorf("opening tasks: %w", err)
	}
	if len(opened) != len(tasks) {
		return fmt.Errorf("opening tasks: %d recorded for %d asked", len(opened), len(tasks))
	}
	now := workflow.Now(ctx)
	for i, t := range tasks {
		t.candidates = opened[i].Candidates
		t.opened = now
		b.tasks[t.spec.ID] = t
		b.order = append(b.order, t)
		workflow.Go(ctx, func(ctx workflow.Context) { b.watch(ctx, t) })
	}
	return nil
}

// wait blocks until every task is done, or until stop reports true.
func (b *board) wait(ctx workflow.Context, tasks []*task, stop func() bool) error {
	return workflow.Await(ctx, func() bool {
		if stop != nil && stop() {
			return true
		}
		for _, t := range tasks {
			if t.state != stateDone {
				return false
			}
		}
		return true
	})
}

// supersede closes tasks that are still open, with a reason, so that nobody
// is left with a task that no longer matters. A completion being recorded
// right now is let finish first; the rest are closed in the workflow before
// the activity runs, so that no completion slips in meanwhile.
func (b *board) supersede(ctx workflow.Context, tasks []*task, reason string) error {
	if err := workflow.Await(ctx, func() bool { return !b.anyCompleting(tasks) }); err != nil {
		return err
	}
	var ids []string
	for _, t := range tasks {
		if t.state == stateOpen {
			t.state = stateSuperseded
			ids = append(ids, t.spec.ID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	actCtx := workflow.WithActivityOptions(ctx, activityOptions)
	in := review.SupersedeTasksInput{CycleID: tasks[0].spec.CycleID, TaskIDs: ids, Reason: reason}
	if err := workflow.ExecuteActivity(actCtx, ActivitySupersedeTasks, in).Get(ctx, nil); err != nil {
		return fmt.Errorf("closing superseded tasks: %w", err)
	}
	return nil
}

func (b *board) anyCompleting(tasks []*task) bool {
	return slices.ContainsFunc(tasks, func(t *task) bool { return t.state == stateCompleting })
}

// Refusal types of the complete-task Update, carried by the application
// error its validator returns, so that clients can tell them apart.
const (
	RefusedUnknownTask    = "UnknownTask"
	RefusedTaskClosed     = "TaskClosed"
	RefusedCycleClosed    = "CycleClosed"
	RefusedNotAssignee    = "NotAssignee"
	RefusedNotAllowed     = "NotAllowed"
	RefusedInvalidOutcome = "InvalidOutcome"
	RefusedInvalidRequest = "InvalidRequest"
)

func refuse(kind, format string, args ...any) error {
	return temporal.NewNonRetryableApplicationError(fmt.Sprintf(format, args...), kind, nil)
}

// validate refuses, before anything is written, an Update for an unknown or
// closed task, from a person who may not complete it, or with an outcome that
// breaks the rules. It must not change workflow state.
func (b *board) validate(_ workflow.Context, req CompleteTaskRequest) error {
	t, ok := b.tasks[req.TaskID]
	if !ok {
		return refuse(RefusedUnknownTask, "there is no open task %q in this workflow", req.TaskID)
	}
	if err := stateRefusal(t); err != nil {
		return err
	}
	if err := authz.Check(req.Actor, b.grants(req.Actor, t), authz.OpComplete, t.subject()); err != nil {
		return refuse(RefusedNotAssignee, "%v", err)
	}
	if err := t.check(req.Outcome); err != nil {
		return refuse(RefusedInvalidOutcome, "outcome of task %s: %v", req.TaskID, err)
	}
	return nil
}

// stateRefusal refuses any Update for a task that is not open, or is busy
// with another Update.
func stateRefusal(t *task) error {
	switch {
	case t.state == stateCompleting:
		return refuse(RefusedTaskClosed, "task %s is already being completed by %s", t.spec.ID, t.actor)
	case t.state == stateDone:
		return refuse(RefusedTaskClosed, "task %s is already done (completed by %s)", t.spec.ID, t.actor)
	case t.state == stateSuperseded:
		return refuse(RefusedTaskClosed, "task %s is closed: it was superseded and needs no outcome", t.spec.ID)
	case t.state == stateCancelled:
		return refuse(RefusedTaskClosed, "task %s is closed: its cycle was cancelled", t.spec.ID)
	case t.changing:
		return refuse(RefusedTaskClosed, "task %s is being changed right now; try again in a moment", t.spec.ID)
	}
	return nil
}

// complete records a validated outcome through the CompleteTask activity,
// run as a local activity (localCompletion), and marks
// the task done once it is recorded.
func (b *board) complete(ctx workflow.Context, req CompleteTaskRequest) (CompleteTaskResult, error) {
	t := b.tasks[req.TaskID]
	t.state, t.actor, t.outcome = stateCompleting, req.Actor, req.Outcome
	in := review.CompleteTaskInput{Task: t.spec, Actor: req.Actor, Outcome: req.Outcome, Via: req.Via}
	if t.draft != nil {
		in.Draft = t.draft(req.Outcome)
	}
	var recorded workflow.Future
	if localCompletion(workflow.GetVersion(ctx, versionLocalCompletion, workflow.DefaultVersion, 3), t.spec.Kind) {
		recorded = workflow.ExecuteLocalActivity(workflow.WithLocalActivityOptions(ctx, localActivityOptions), ActivityCompleteTask, in)
	} else {
		recorded = workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, activityOptions), ActivityCompleteTask, in)
	}
	if err := recorded.Get(ctx, nil); err != nil {
		t.state, t.actor, t.outcome = stateOpen, "", nil
		return CompleteTaskResult{}, fmt.Errorf("recording the outcome of task %s: %w", req.TaskID, err)
	}
	t.state = stateDone
	if t.onDone != nil {
		t.onDone(req.Outcome)
	}
	return CompleteTaskResult{TaskID: req.TaskID, Status: review.TaskDone, CompletedBy: req.Actor}, nil
}

// statuses lists the board's tasks for the status query.
func (b *board) statuses() []review.TaskProgress {
	out := make([]review.TaskProgress, len(b.order))
	for i, t := range b.order {
		assignee := t.assignee
		if assignee == "" {
			assignee = review.Pool(t.spec.Role, t.spec.Unit)
		}
		out[i] = review.TaskProgress{
			ID: t.spec.ID, Kind: t.spec.Kind, Unit: t.spec.Unit,
			Holder: assignee, Status: t.status(), DueAt: t.spec.DueAt, Overdue: t.overdue && !t.closed(),
		}
	}
	return out
}

// cancel marks every task that is not finished as cancelled; the records are
// closed by the CancelCycle activity.
func (b *board) cancel() {
	for _, t := range b.order {
		if !t.closed() {
			t.state = stateCancelled
		}
	}
}

// newTask prepares a task of the kind; its due time counts from now in
// workflow time.
func newTask(ctx workflow.Context, cycleID string, ref review.CycleRef, kind review.TaskKind, round int, unit string, phases review.PhaseDurations, input any) (*task, error) {
	raw, err := json.Marshal(input)
	if err != nil {
		return nil, fmt.Errorf("encoding the input of a %s task: %w", kind, err)
	}
	return &task{spec: review.TaskSpec{
		ID:         ref.TaskID(kind, round, unit),
		CycleID:    cycleID,
		WorkflowID: workflow.GetInfo(ctx).WorkflowExecution.ID,
		Kind:       kind,
		Unit:       unit,
		Round:      round,
		Role:       kind.AssigneeRole(),
		DueAt:      workflow.Now(ctx).Add(phases.For(kind)).UTC(),
		Input:      raw,
	}}, nil
}
