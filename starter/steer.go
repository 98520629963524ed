package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/service"
)

// taskChange is one of the task-steering commands: which flags it takes and
// how its result is said.
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

// taskSteer runs task claim|unclaim|delegate|reassign|extend.
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
	actor, err := a.as(ctx, *as)
	if err != nil {
		return err
	}
	req := service.ChangeTask{TaskID: pos[0], Op: spec.op, To: *to, By: *by, Reason: *reason}
	if *due != "" {
		if req.DueAt, err = parseDue(*due); err != nil {
			return err
		}
	}
	svc, err := a.service(ctx)
	if err != nil {
		return err
	}
	res, err := svc.ChangeTask(ctx, actor, req)
	if err != nil {
		return err
	}
	pool := "role's pool"
	if t, err := svc.Task(ctx, actor, res.TaskID); err == nil {
		pool = t.Pool
	}
	a.printf("task %s "+spec.done+"\n", res.TaskID, res.Assignee, pool, res.DueAt.UTC().Format("2006-01-02 15:04 UTC"))
	return nil
}

// parseDue reads --due: a date (the end of that day, UTC) or a date and
// time (UTC).
func parseDue(due string) (time.Time, error) {
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
	actor, err := a.as(ctx, *as)
	if err != nil {
		return err
	}
	svc, err := a.service(ctx)
	if err != nil {
		return err
	}
	if _, err := svc.CancelCycle(ctx, actor, ref.provider, ref.year, *reason); err != nil {
		return err
	}
	a.printf("the %s cycle of %d cancelled by %s: %s\n", ref.provider, ref.year, actor.ID(), strings.TrimSpace(*reason))
	return nil
}

func (a *app) cycleRestart(ctx context.Context, args []string) error {
	fs := newFlags("cycle restart")
	var ref cycleRef
	as := fs.String("as", "", "manager starting the cycle again")
	reason := fs.String("reason", "", "why the year's cycle is started again")
	configFile := fs.String("config", "", "cycle config file (JSON); default: the ended attempt's config")
	if err := ref.parse(fs, args); err != nil {
		return err
	}
	if err := required(fs, "as", "reason"); err != nil {
		return err
	}
	actor, err := a.as(ctx, *as)
	if err != nil {
		return err
	}
	in := service.RestartCycle{Provider: ref.provider, Year: ref.year, Reason: *reason}
	if *configFile != "" {
		cfg, err := readConfig(*configFile)
		if err != nil {
			return err
		}
		in.Config = &cfg
	}
	svc, err := a.service(ctx)
	if err != nil {
		return err
	}
	started, err := svc.RestartCycle(ctx, actor, in)
	if err != nil {
		return err
	}
	if started.Existed {
		return fmt.Errorf("cycle %s exists already on the Temporal server; it was not started again", started.CycleID)
	}
	a.printf("%s\n", started.CycleID)
	return nil
}
