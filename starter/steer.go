package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/oho-dev/oho/authz"
	"github.com/oho-dev/oho/check"
	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/store"
	"github.com/oho-dev/oho/workflows"
)

// actor reads the person named by --as, refusing an ID that is malformed or
// unknown.
func (a *app) actor(ctx context.Context, id string) (store.Person, error) {
	if !check.Person(id) {
		return store.Person{}, fmt.Errorf("--as %q is not a person ID (lower-case letters, digits, '.', '-', '_')", id)
	}
	st, err := a.store(ctx)
	if err != nil {
		return store.Person{}, err
	}
	p, err := st.Person(ctx, id)
	if err != nil {
		return store.Person{}, personError(id, err)
	}
	return p, nil
}

// authorize asks the authorization matrix whether the person may perform op
// on the provider's cycle. Grants count only in the person's own provider.
func authorize(p store.Person, provider string, op authz.Op) error {
	var grants []authz.Grant
	if p.Provider == provider {
		for _, r := range p.Roles {
			grants = append(grants, authz.Grant{Role: string(r.Role), Unit: r.Unit})
		}
	}
	if err := authz.Check(p.ID, grants, op, authz.Subject{}); err != nil {
		return fmt.Errorf("refused: %w", err)
	}
	return nil
}

// taskChange is one of the task-steering commands.
type taskChange struct {
	op       review.TaskOp
	needTo   bool
	needDue  bool
	reasonOK bool // whether --reason is accepted
	needWhy  bool // whether --reason is required
	done     string
}

var taskChanges = map[string]taskChange{
	"claim":    {op: review.OpClaim, done: "claimed by %[2]s"},
	"unclaim":  {op: review.OpUnclaim, done: "given back to the %[3]s"},
	"delegate": {op: review.OpDelegate, needTo: true, reasonOK: true, done: "delegated to %[2]s"},
	"reassign": {op: review.OpReassign, needTo: true, reasonOK: true, needWhy: true, done: "reassigned to %[2]s"},
	"extend":   {op: review.OpExtend, needDue: true, reasonOK: true, needWhy: true, done: "now due %[4]s"},
}

// taskSteer runs task claim|unclaim|delegate|reassign|extend. The workflow's
// validator applies the authorization matrix and the task's state; this
// checks what it can in the database first, so that people get the clearest
// message.
func (a *app) taskSteer(ctx context.Context, name string, args []string) error {
	spec := taskChanges[name]
	fs := newFlags("task " + name)
	as := fs.String("as", "", "person doing it")
	to := fs.String("to", "", "person to give the task to")
	due := fs.String("due", "", "new due date, YYYY-MM-DD or YYYY-MM-DDTHH:MM (UTC)")
	by := fs.Duration("by", 0, "move the due time by this much, e.g. 72h")
	reason := fs.String("reason", "", "why")
	pos, err := parse(fs, args, "TASK_ID")
	if err != nil {
		return err
	}
	if err := required(fs, "as"); err != nil {
		return err
	}
	switch {
	case spec.needTo && *to == "":
		return usagef("task %s needs --to PERSON", name)
	case !spec.needTo && *to != "":
		return usagef("task %s takes no --to", name)
	case spec.needDue && (*due == "") == (*by == 0):
		return usagef("task %s needs either --due DATE or --by DURATION", name)
	case !spec.needDue && (*due != "" || *by != 0):
		return usagef("task %s takes no --due or --by", name)
	case !spec.reasonOK && *reason != "":
		return usagef("task %s takes no --reason", name)
	case spec.needWhy && strings.TrimSpace(*reason) == "":
		return usagef("task %s needs --reason", name)
	}
	p, err := a.actor(ctx, *as)
	if err != nil {
		return err
	}
	st, err := a.store(ctx)
	if err != nil {
		return err
	}
	t, err := st.Task(ctx, pos[0])
	if err != nil {
		return taskError(pos[0], err)
	}
	if t.Status != review.TaskOpen {
		return fmt.Errorf("refused: task %s is %s", t.ID, t.Status)
	}
	req := workflows.ChangeTaskRequest{TaskID: t.ID, Op: spec.op, Actor: p.ID, Reason: strings.TrimSpace(*reason)}
	if spec.needTo {
		q, err := st.Person(ctx, *to)
		if err != nil {
			return personError(*to, err)
		}
		if q.Provider != t.Provider {
			return fmt.Errorf("refused: %s is not one of %s's people", q.ID, t.Provider)
		}
		req.To = q.ID
	}
	if spec.needDue {
		req.DueAt, err = newDue(t.DueAt, *due, *by)
		if err != nil {
			return err
		}
	}
	c, err := a.client(ctx)
	if err != nil {
		return err
	}
	uctx, cancel := context.WithTimeout(ctx, updateTimeout)
	defer cancel()
	res, err := workflows.ChangeTask(uctx, c, t.WorkflowID, req)
	if err != nil {
		return updateError(t.ID, t.WorkflowID, err)
	}
	a.printf("task %s "+spec.done+"\n", res.TaskID, res.Assignee, review.Pool(t.Role, t.Unit), res.DueAt.UTC().Format("2006-01-02 15:04 UTC"))
	return nil
}

// newDue reads --due (a date, end of that day UTC, or a date and time) or
// --by (added to the current due time).
func newDue(current time.Time, due string, by time.Duration) (time.Time, error) {
	if by != 0 {
		if by < 0 {
			return time.Time{}, fmt.Errorf("--by %s would move the due time earlier; extend only moves it later", by)
		}
		return current.Add(by), nil
	}
	if d, err := time.Parse("2006-01-02T15:04", due); err == nil {
		return d, nil
	}
	d, err := time.Parse(time.DateOnly, due)
	if err != nil {
		return time.Time{}, fmt.Errorf("--due %q is not a date such as 2027-03-31 or 2027-03-31T16:00", due)
	}
	return d.Add(24*time.Hour - time.Minute), nil
}

func (a *app) cycleCancel(ctx context.Context, args []string) error {
	fs := newFlags("cycle cancel")
	var ref cycleRef
	as := fs.String("as", "", "manager cancelling the cycle")
	reason := fs.String("reason", "", "why the cycle is cancelled")
	if err := ref.parse(fs, args); err != nil {
		return err
	}
	if err := required(fs, "as", "reason"); err != nil {
		return err
	}
	p, err := a.actor(ctx, *as)
	if err != nil {
		return err
	}
	if err := authorize(p, ref.provider, authz.OpCancel); err != nil {
		return err
	}
	st, err := a.store(ctx)
	if err != nil {
		return err
	}
	cyc, err := st.Cycle(ctx, ref.provider, ref.year)
	if err != nil {
		return err
	}
	if cyc.Status != review.CycleRunning {
		return fmt.Errorf("refused: cycle %s is %s and cannot be cancelled", cyc.ID, cyc.Status)
	}
	c, err := a.client(ctx)
	if err != nil {
		return err
	}
	uctx, cancel := context.WithTimeout(ctx, updateTimeout)
	defer cancel()
	if _, err := workflows.CancelCycle(uctx, c, ref.provider, ref.year, workflows.CancelCycleRequest{Actor: p.ID, Reason: *reason}); err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("no worker answered within %s: is the worker running (bin/worker)?", updateTimeout)
		}
		return fmt.Errorf("refused: %s", workflows.Reason(err))
	}
	a.printf("cycle %s cancelled by %s: %s\n", cyc.ID, p.ID, strings.TrimSpace(*reason))
	return nil
}
