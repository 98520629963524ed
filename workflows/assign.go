package workflows

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/oho-dev/oho/authz"
	"github.com/oho-dev/oho/review"
)

// UpdateChangeTask changes who a task is assigned to or when it is due:
// claim, unclaim, delegate, reassign, extend. Its validator refuses, before
// anything is written, what the authorization matrix or the task's state
// does not allow.
const UpdateChangeTask = "change-task"

// ChangeTaskRequest is the argument of the change-task Update.
type ChangeTaskRequest struct {
	TaskID string        `json:"task_id"`
	Op     review.TaskOp `json:"op"`
	Actor  string        `json:"actor"`
	To     string        `json:"to,omitempty"`     // delegate, reassign: the new assignee
	DueAt  time.Time     `json:"due_at,omitempty"` // extend: the new due time
	Reason string        `json:"reason,omitempty"` // required for reassign and extend
	// Via is how the actor reached OHO, for the audit trail.
	Via review.Via `json:"via,omitzero"`
}

// ChangeTaskResult is the task's assignment after the change.
type ChangeTaskResult struct {
	TaskID   string    `json:"task_id"`
	Assignee string    `json:"assignee"`
	DueAt    time.Time `json:"due_at"`
}

// validateChange refuses a change the matrix or the task's state does not
// allow. It must not change workflow state.
func (b *board) validateChange(ctx workflow.Context, req ChangeTaskRequest) error {
	t, ok := b.tasks[req.TaskID]
	if !ok {
		return refuse(RefusedUnknownTask, "there is no open task %q in this workflow", req.TaskID)
	}
	if err := stateRefusal(t); err != nil {
		return err
	}
	op := authz.Op(req.Op)
	if !slices.Contains([]review.TaskOp{review.OpClaim, review.OpUnclaim, review.OpDelegate, review.OpReassign, review.OpExtend}, req.Op) {
		return refuse(RefusedInvalidRequest, "%q is not a task operation (claim, unclaim, delegate, reassign, extend)", req.Op)
	}
	if err := authz.Check(req.Actor, b.grants(req.Actor, t), op, t.subject()); err != nil {
		return refuse(RefusedNotAllowed, "%v", err)
	}
	reason := strings.TrimSpace(req.Reason)
	switch req.Op {
	case review.OpDelegate:
		switch {
		case req.To == "" || req.To == req.Actor:
			return refuse(RefusedInvalidRequest, "delegate needs a colleague to delegate task %s to", req.TaskID)
		case !slices.Contains(t.candidates, req.To):
			return refuse(RefusedInvalidRequest, "%q cannot take task %s: only people holding the %s role in %s can", req.To, req.TaskID, t.spec.Role, unitWords(t.spec.Unit))
		}
	case review.OpReassign:
		switch {
		case req.To == "":
			return refuse(RefusedInvalidRequest, "reassign needs the person to give task %s to", req.TaskID)
		case req.To == t.assignee:
			return refuse(RefusedInvalidRequest, "task %s is already assigned to %s", req.TaskID, req.To)
		case reason == "":
			return refuse(RefusedInvalidRequest, "reassign needs a reason")
		}
	case review.OpExtend:
		switch {
		case reason == "":
			return refuse(RefusedInvalidRequest, "extend needs a reason")
		case !req.DueAt.After(t.spec.DueAt):
			return refuse(RefusedInvalidRequest, "the new due time %s is not later than the current one, %s", req.DueAt.UTC().Format(time.RFC3339), t.spec.DueAt.UTC().Format(time.RFC3339))
		case !req.DueAt.After(workflow.Now(ctx)):
			return refuse(RefusedInvalidRequest, "the new due time %s has already passed", req.DueAt.UTC().Format(time.RFC3339))
		}
	}
	return nil
}

func unitWords(unit string) string {
	if unit == "" {
		return "the provider"
	}
	return "unit " + unit
}

// change applies a validated change in the workflow, which moves the task's
// timers at once, and records it; if recording fails the change is undone.
func (b *board) change(ctx workflow.Context, req ChangeTaskRequest) (ChangeTaskResult, error) {
	t := b.tasks[req.TaskID]
	before := *t
	switch req.Op {
	case review.OpClaim:
		t.assignee = req.Actor
	case review.OpUnclaim:
		t.assignee = ""
	case review.OpDelegate, review.OpReassign:
		t.assignee = req.To
	case review.OpExtend:
		t.spec.DueAt = req.DueAt.UTC()
		t.reminded, t.overdue = false, false
	}
	t.opSeq++
	t.changing = true
	in := review.TaskOpInput{Task: t.spec, Op: req.Op, Seq: t.opSeq, Actor: req.Actor, Reason: strings.TrimSpace(req.Reason),
		Assignee: t.assignee, DueAt: t.spec.DueAt, Via: req.Via}
	actCtx := workflow.WithActivityOptions(ctx, activityOptions)
	err := workflow.ExecuteActivity(actCtx, ActivityRecordTaskOp, in).Get(ctx, nil)
	t.changing = false
	if err != nil {
		// The sequence number stays used: the store treats a number it has
		// seen as a retry, so reusing one after a failure that may have
		// been recorded (an activity that timed out after committing) could
		// make the next change vanish. Gaps are harmless.
		t.assignee, t.spec = before.assignee, before.spec
		t.reminded, t.overdue = before.reminded, before.overdue
		return ChangeTaskResult{}, fmt.Errorf("recording the %s of task %s: %w", req.Op, req.TaskID, err)
	}
	return ChangeTaskResult{TaskID: t.spec.ID, Assignee: t.assignee, DueAt: t.spec.DueAt}, nil
}

// watch drives a task's deadline: a reminder some time before it is due
// (when the task was opened before then), the escalation when it is overdue,
// and another reminder and escalation every so often while it stays overdue.
// Every wait wakes early when the task closes or is being changed, and plans
// again from the task as it then is, which is how an extension moves the
// timers (the updatable-timer pattern).
func (b *board) watch(ctx workflow.Context, t *task) {
	before, every := time.Duration(b.reminders.Before), time.Duration(b.reminders.Every)
	for !t.closed() {
		if t.state == stateCompleting || t.changing {
			if err := workflow.Await(ctx, func() bool { return t.state != stateCompleting && !t.changing }); err != nil {
				return
			}
			continue
		}
		now, due := workflow.Now(ctx), t.spec.DueAt
		var at time.Time
		var event review.DeadlineEvent
		switch {
		case !t.overdue && !t.reminded && before > 0 && due.Add(-before).After(t.opened) && now.Before(due):
			at, event = due.Add(-before), review.EventReminder
		case !t.overdue:
			at, event = due, review.EventOverdue
		default:
			at, event = t.lastNotice.Add(every), review.EventOverdueReminder
		}
		if wait := at.Sub(now); wait > 0 {
			state := t.state
			moved, err := workflow.AwaitWithTimeout(ctx, wait, func() bool {
				return t.state != state || t.changing
			})
			if err != nil {
				return
			}
			if moved {
				continue
			}
		}
		switch event {
		case review.EventReminder:
			t.reminded = true
		default:
			t.overdue = true
		}
		t.deadlineSeq++
		t.lastNotice = workflow.Now(ctx)
		in := review.DeadlineInput{Task: t.spec, Event: event, Seq: t.deadlineSeq, Assignee: t.assignee}
		actCtx := workflow.WithActivityOptions(ctx, activityOptions)
		if err := workflow.ExecuteActivity(actCtx, ActivityRecordDeadline, in).Get(ctx, nil); err != nil {
			if ctx.Err() != nil {
				return
			}
			// Notices are worth retrying, not worth stopping the cycle for.
			workflow.GetLogger(ctx).Warn("recording a deadline event failed", "task", t.spec.ID, "event", event, "error", err)
		}
	}
}
