package service

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/oho-dev/oho/authz"
	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/store"
	"github.com/oho-dev/oho/workflows"
)

// subject is the task as the authorization matrix sees it.
func subject(t store.Task) authz.Subject {
	return authz.Subject{TaskID: t.ID, Role: string(t.Role), Unit: t.Unit, Assignee: t.Assignee}
}

// Task statuses a task list selects.
const (
	ListOpen = "open"
	ListDone = "done"
	ListAll  = "all"
)

// Tasks lists the tasks the filter selects among those the actor may see:
// their own provider's (students' representatives: their unit's), soonest
// due first. An empty filter provider means the actor's own; an empty
// status, the open tasks.
func (s *Service) Tasks(ctx context.Context, a Actor, f store.TaskFilter) ([]store.Task, error) {
	switch f.Status {
	case "":
		f.Status = ListOpen
	case ListOpen, ListDone, ListAll:
	default:
		return nil, invalid("status", "status must be open, done or all, not %q", f.Status)
	}
	provider, err := a.listProvider(f.Provider, f.Year)
	if err != nil {
		return nil, err
	}
	f.Provider = provider
	if f.Assignee != "" {
		if err := checkPerson("assignee", f.Assignee); err != nil {
			return nil, err
		}
		if _, err := s.store.Person(ctx, f.Assignee); err != nil {
			return nil, personError(f.Assignee, err)
		}
	}
	if !a.operator && f.Provider != a.Person.Provider {
		if err := a.authorize(f.Provider, authz.OpRead, authz.Subject{}); err != nil {
			return nil, err
		}
	}
	tasks, err := s.store.Tasks(ctx, f)
	if err != nil {
		return nil, fromStore(err)
	}
	seen := tasks[:0]
	for _, t := range tasks {
		if a.authorize(t.Provider, authz.OpRead, subject(t)) == nil {
			seen = append(seen, t)
		}
	}
	return seen, nil
}

// Inbox lists what the actor can act on now: the open tasks assigned to
// them and those offered to a role they hold, soonest due first.
func (s *Service) Inbox(ctx context.Context, a Actor) ([]store.InboxTask, error) {
	if a.operator {
		return nil, errorOf(ErrInvalid, "the operator has no tasks of their own: name the person whose tasks to list")
	}
	tasks, err := s.store.Inbox(ctx, a.Person.ID, s.now())
	return tasks, fromStore(err)
}

// Task returns a task with its input, outcome and, for a sign-off or an
// approval, the draft it signs.
func (s *Service) Task(ctx context.Context, a Actor, id string) (store.Task, error) {
	t, err := s.store.Task(ctx, id)
	if err != nil {
		return store.Task{}, taskError(id, err)
	}
	if err := a.authorize(t.Provider, authz.OpRead, subject(t)); err != nil {
		return store.Task{}, err
	}
	return t, nil
}

// CompleteTask completes the task with the outcome, through the workflow
// that waits for it, and waits until it is recorded. The same completion
// sent again is answered as the first time and recorded once; a different
// completion of a done task is refused.
func (s *Service) CompleteTask(ctx context.Context, a Actor, id string, outcome json.RawMessage) (workflows.CompleteTaskResult, error) {
	var res workflows.CompleteTaskResult
	// Temporal's health is checked while the task is read and checked,
	// rather than after: a person waits for the longer of the two.
	hctx, stop := context.WithCancel(ctx)
	defer stop()
	temporal := s.clientSoon(hctx)
	t, err := s.store.TaskState(ctx, id)
	if err != nil {
		return res, taskError(id, err)
	}
	if err := a.authorize(t.Provider, authz.OpRead, subject(t)); err != nil {
		return res, err
	}
	if res, closed, err := closedTask(t, a, outcome); closed {
		return res, err
	}
	if err := a.authorize(t.Provider, authz.OpComplete, subject(t)); err != nil {
		return res, err
	}
	if err := checkOutcome(id, t.Kind, outcome); err != nil {
		return res, err
	}
	res, err = s.sendCompletion(ctx, temporal, t, a, outcome)
	if err != nil {
		// The task may have closed, and its workflow ended, while this
		// completion was on its way: the same completion sent at once
		// through another front end was recorded first (then the person is
		// told it is done, as for a completion sent again), or another
		// unit's request for changes superseded a sign-off. The task's
		// record says which, better than "no longer running".
		if now, rerr := s.store.TaskState(ctx, id); rerr == nil {
			if res, closed, cerr := closedTask(now, a, outcome); closed {
				return res, cerr
			}
		}
		return res, err
	}
	return res, nil
}

// closedTask answers a completion of a task that is no longer open, from
// its record: the same completion again is answered as done; anything else
// is refused with why the task is closed. closed is false for an open task.
func closedTask(t store.Task, a Actor, outcome json.RawMessage) (res workflows.CompleteTaskResult, closed bool, err error) {
	switch t.Status {
	case review.TaskDone:
		if t.CompletedBy == a.ID() && sameJSON(t.Outcome, outcome) {
			return workflows.CompleteTaskResult{TaskID: t.ID, Status: review.TaskDone, CompletedBy: a.ID()}, true, nil
		}
		return res, true, errorOf(ErrConflict, "refused: task %s is already done (completed by %s)", t.ID, t.CompletedBy)
	case review.TaskSuperseded:
		return res, true, errorOf(ErrConflict, "refused: task %s is closed: it was superseded and needs no outcome", t.ID)
	case review.TaskCancelled:
		return res, true, errorOf(ErrConflict, "refused: task %s is closed: its cycle was cancelled", t.ID)
	}
	return res, false, nil
}

// clientSoon starts checking Temporal's health (Service.client) at once
// and returns how to wait for the answer.
func (s *Service) clientSoon(ctx context.Context) func() (client.Client, error) {
	type answer struct {
		c   client.Client
		err error
	}
	ch := make(chan answer, 1)
	go func() {
		c, err := s.client(ctx)
		ch <- answer{c, err}
	}()
	return func() (client.Client, error) {
		a := <-ch
		return a.c, a.err
	}
}

// sendCompletion sends the task's workflow the complete-task Update, once
// temporal gives the client, and waits for its result.
func (s *Service) sendCompletion(ctx context.Context, temporal func() (client.Client, error), t store.Task, a Actor, outcome json.RawMessage) (workflows.CompleteTaskResult, error) {
	c, err := temporal()
	if err != nil {
		return workflows.CompleteTaskResult{}, err
	}
	uctx, cancel := context.WithTimeout(ctx, s.updateTimeout)
	defer cancel()
	req := workflows.CompleteTaskRequest{TaskID: t.ID, Actor: a.ID(), Outcome: outcome, Via: a.Via}
	res, err := sendUpdate[workflows.CompleteTaskResult](uctx, c, t.WorkflowID, workflows.UpdateCompleteTask, req, completionKey(req))
	if err != nil {
		return res, s.fromUpdate(ctx, "task "+t.ID, t.WorkflowID, err)
	}
	return res, nil
}

// completionKey is what a completion's Update ID is derived from: the
// request without how it came, and with its outcome in canonical form. So
// the same completion sent at once through two front ends is one Update
// even when one sends the outcome as a script encodes it and the other as
// a person wrote the file (indented, keys in another order, 48.0 for 48):
// the same outcome, as sameJSON judges a repeated completion.
func completionKey(req workflows.CompleteTaskRequest) workflows.CompleteTaskRequest {
	req.Via = review.Via{}
	req.Outcome = canonicalJSON(req.Outcome)
	return req
}

// canonicalJSON writes a JSON document in one form whatever its spacing,
// key order or number spelling: as encoding/json writes the value it decodes
// to (object keys sorted). A document that does not decode is returned as
// it is.
func canonicalJSON(raw json.RawMessage) json.RawMessage {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return raw
	}
	b, err := json.Marshal(v)
	if err != nil {
		return raw
	}
	return b
}

// sameJSON reports whether two JSON documents hold the same value.
func sameJSON(a, b json.RawMessage) bool {
	var va, vb any
	if json.Unmarshal(a, &va) != nil || json.Unmarshal(b, &vb) != nil {
		return false
	}
	return reflect.DeepEqual(va, vb)
}

// ChangeTask asks to change who has an open task or when it is due.
type ChangeTask struct {
	TaskID string        `json:"task_id"`
	Op     review.TaskOp `json:"op"`
	// To is the person to delegate or reassign the task to.
	To string `json:"to,omitempty"`
	// DueAt is the new due time of an extension; or By, how much later
	// than the current due time it becomes.
	DueAt time.Time     `json:"due_at,omitzero"`
	By    time.Duration `json:"by,omitempty"`
	// Reason says why: required to reassign and extend, optional to
	// delegate, refused for claim and unclaim.
	Reason string `json:"reason,omitempty"`
}

// taskOps lists the operations ChangeTask knows.
var taskOps = []review.TaskOp{review.OpClaim, review.OpUnclaim, review.OpDelegate, review.OpReassign, review.OpExtend}

// ChangeTask claims, unclaims, delegates, reassigns or extends an open task
// through the workflow that owns it, and returns the task's assignment
// after the change.
func (s *Service) ChangeTask(ctx context.Context, a Actor, in ChangeTask) (workflows.ChangeTaskResult, error) {
	var res workflows.ChangeTaskResult
	if !slices.Contains(taskOps, in.Op) {
		return res, invalid("op", "%q is not a task operation (claim, unclaim, delegate, reassign, extend)", in.Op)
	}
	needTo := in.Op == review.OpDelegate || in.Op == review.OpReassign
	switch {
	case needTo && in.To == "":
		return res, invalid("to", "%s needs the person to give task %s to", in.Op, in.TaskID)
	case !needTo && in.To != "":
		return res, invalid("to", "%s takes no person to give the task to", in.Op)
	case in.Op == review.OpExtend && in.DueAt.IsZero() == (in.By == 0):
		return res, invalid("due_at", "extend needs either a new due time or how much later it becomes")
	case in.Op != review.OpExtend && (!in.DueAt.IsZero() || in.By != 0):
		return res, invalid("due_at", "%s takes no due time", in.Op)
	case in.By < 0:
		return res, invalid("by", "extending by %s would move the due time earlier; extend only moves it later", in.By)
	case (in.Op == review.OpClaim || in.Op == review.OpUnclaim) && in.Reason != "":
		return res, invalid("reason", "%s takes no reason", in.Op)
	}
	reason, err := checkReason(string(in.Op), in.Reason, in.Op == review.OpReassign || in.Op == review.OpExtend)
	if err != nil {
		return res, err
	}
	if needTo {
		if err := checkPerson("to", in.To); err != nil {
			return res, err
		}
	}
	t, err := s.store.Task(ctx, in.TaskID)
	if err != nil {
		return res, taskError(in.TaskID, err)
	}
	if err := a.authorize(t.Provider, authz.Op(in.Op), subject(t)); err != nil {
		return res, err
	}
	if t.Status != review.TaskOpen {
		return res, errorOf(ErrConflict, "refused: task %s is %s", t.ID, t.Status)
	}
	req := workflows.ChangeTaskRequest{TaskID: t.ID, Op: in.Op, Actor: a.ID(), Reason: reason, Via: a.Via}
	if needTo {
		q, err := s.store.Person(ctx, in.To)
		if err != nil {
			return res, personError(in.To, err)
		}
		if q.Provider != t.Provider {
			return res, errorOf(ErrConflict, "refused: %s is not one of %s's people", q.ID, t.Provider)
		}
		req.To = q.ID
	}
	if in.Op == review.OpExtend {
		req.DueAt = in.DueAt
		if in.By != 0 {
			req.DueAt = t.DueAt.Add(in.By)
		}
		if err := checkExtension(t.DueAt, req.DueAt, s.now()); err != nil {
			return res, err
		}
	}
	c, err := s.client(ctx)
	if err != nil {
		return res, err
	}
	uctx, cancel := context.WithTimeout(ctx, s.updateTimeout)
	defer cancel()
	key := req
	key.Via = review.Via{}
	res, err = sendUpdate[workflows.ChangeTaskResult](uctx, c, t.WorkflowID, workflows.UpdateChangeTask, req, key)
	if err != nil {
		return res, s.fromUpdate(ctx, fmt.Sprintf("task %s", t.ID), t.WorkflowID, err)
	}
	return res, nil
}
