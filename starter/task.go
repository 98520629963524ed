package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"text/tabwriter"
	"time"

	"go.temporal.io/api/serviceerror"

	"github.com/oho-dev/oho/check"
	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/store"
	"github.com/oho-dev/oho/workflows"
)

// updateTimeout bounds how long a completion waits for the worker. Recording
// takes well under a second, but a worker that died mid-task is replaced only
// after the workflow task and activity timeouts (10 s each); a longer wait
// means no worker is running.
const updateTimeout = 60 * time.Second

// taskRow is a task as lists show it.
type taskRow struct {
	ID, Kind, Unit, Assignee, Status string
	DueAt                            time.Time
}

func tasksFromStatus(ts []review.TaskProgress) []taskRow {
	rows := make([]taskRow, len(ts))
	for i, t := range ts {
		rows[i] = taskRow{t.ID, string(t.Kind), t.Unit, t.Holder, t.Status, t.DueAt}
	}
	return rows
}

func (a *app) printTasks(rows []taskRow) {
	if len(rows) == 0 {
		a.printf("no tasks\n")
		return
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TASK\tKIND\tUNIT\tASSIGNEE\tSTATUS\tDUE")
	for _, r := range rows {
		unit := r.Unit
		if unit == "" {
			unit = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.Kind, unit, r.Assignee, r.Status, r.DueAt.Local().Format("2006-01-02 15:04"))
	}
	tw.Flush()
}

func (a *app) taskList(ctx context.Context, args []string) error {
	fs := newFlags("task list")
	var f store.TaskFilter
	fs.StringVar(&f.Provider, "provider", "", "provider code")
	fs.IntVar(&f.Year, "year", 0, "year")
	fs.StringVar(&f.Assignee, "assignee", "", "person ID")
	fs.StringVar(&f.Status, "status", "open", "open, done or all")
	mine := fs.Bool("mine", false, "what the person given by --as can act on now")
	as := fs.String("as", "", "person ID (with --mine)")
	asJSON := fs.Bool("json", false, "print JSON")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if *mine || *as != "" {
		if !*mine || *as == "" {
			return usagef("task list: --mine and --as PERSON go together")
		}
		if f != (store.TaskFilter{Status: "open"}) {
			return usagef("task list --mine takes no --provider, --year, --assignee or --status: it lists the open tasks PERSON can act on")
		}
		return a.inbox(ctx, *as, *asJSON)
	}
	switch {
	case f.Status != "open" && f.Status != "done" && f.Status != "all":
		return usagef("task list: --status must be open, done or all, not %q", f.Status)
	case f.Provider != "" && !check.Code(f.Provider):
		return fmt.Errorf("--provider %q is not a provider code", f.Provider)
	case f.Assignee != "" && !check.Person(f.Assignee):
		return fmt.Errorf("--assignee %q is not a person ID", f.Assignee)
	case f.Year != 0 && (f.Year < 2000 || f.Year > 2999):
		return fmt.Errorf("--year %d is not a year between 2000 and 2999", f.Year)
	}
	st, err := a.store(ctx)
	if err != nil {
		return err
	}
	if f.Assignee != "" {
		if _, err := st.Person(ctx, f.Assignee); err != nil {
			return personError(f.Assignee, err)
		}
	}
	tasks, err := st.Tasks(ctx, f)
	if err != nil {
		return err
	}
	if *asJSON {
		return a.printJSON(tasks)
	}
	rows := make([]taskRow, len(tasks))
	for i, t := range tasks {
		rows[i] = taskRow{t.ID, string(t.Kind), t.Unit, holder(t), t.Status, t.DueAt}
	}
	a.printTasks(rows)
	return nil
}

// holder is who has a task: the person it is assigned to, or its role's pool
// ("role@UNIT").
func holder(t store.Task) string {
	if t.Assignee != "" {
		return t.Assignee
	}
	return t.Pool
}

// inbox prints what the person can act on now: the open tasks assigned to
// them and those in the pool of a role they hold, soonest due first, with the
// overdue ones marked.
func (a *app) inbox(ctx context.Context, person string, asJSON bool) error {
	if _, err := a.actor(ctx, person); err != nil {
		return err
	}
	st, err := a.store(ctx)
	if err != nil {
		return err
	}
	tasks, err := st.Inbox(ctx, person, time.Now())
	if err != nil {
		return err
	}
	if asJSON {
		return a.printJSON(tasks)
	}
	if len(tasks) == 0 {
		a.printf("nothing for %s to do now\n", person)
		return nil
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DUE\t\tTASK\tKIND\tUNIT\tHOW")
	overdue := 0
	for _, t := range tasks {
		late, how := "", "assigned to you"
		if t.Overdue {
			late = "OVERDUE"
			overdue++
		}
		if t.Claimable {
			how = "claimable as " + string(t.Role) + " (task claim " + t.ID + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", t.DueAt.Local().Format("2006-01-02 15:04"), late, t.ID, t.Kind, orDash(t.Unit), how)
	}
	tw.Flush()
	a.printf("%d task(s), %d overdue\n", len(tasks), overdue)
	return nil
}

func (a *app) taskShow(ctx context.Context, args []string) error {
	fs := newFlags("task show")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parse(fs, args, "TASK_ID")
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
	if *asJSON {
		return a.printJSON(t)
	}
	assignee := t.Pool + " (any holder of the role may claim it)"
	if t.Assignee != "" {
		assignee = t.Assignee + " (for " + t.Pool + ")"
	}
	due := t.DueAt.Local().Format(time.RFC3339)
	if t.OverdueAt != nil && t.Status == review.TaskOpen {
		due += "  OVERDUE"
	}
	a.printf("task      %s\nkind      %s\nunit      %s\nassignee  %s\nstatus    %s\ndue       %s\nworkflow  %s\n",
		t.ID, t.Kind, orDash(t.Unit), assignee, t.Status, due, t.WorkflowID)
	if t.CompletedBy != "" {
		a.printf("done by   %s at %s\n", t.CompletedBy, t.CompletedAt.Local().Format(time.RFC3339))
	}
	a.printf("\ninput:\n%s\n", indent(t.Input))
	if d := t.Draft; d != nil {
		a.printf("\ndraft of round %d by %s, version_hash %s\n", d.Round, d.DraftedBy, d.VersionHash)
		for _, c := range d.Changes {
			a.printf("  change %s to %s: %s\n    why: %s\n", c.ID, c.Section, c.Text, c.Rationale)
		}
		for _, sec := range d.Content.Sections {
			a.printf("  [%s] %s\n    %s\n", sec.Key, sec.Title, orDash(sec.Text))
		}
	}
	if len(t.Outcome) > 0 {
		a.printf("\noutcome:\n%s\n", indent(t.Outcome))
	}
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func indent(raw json.RawMessage) string {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return string(raw)
	}
	b, _ := json.MarshalIndent(v, "  ", "  ")
	return "  " + string(b)
}

func (a *app) taskComplete(ctx context.Context, args []string) error {
	fs := newFlags("task complete")
	as := fs.String("as", "", "person completing the task")
	outcomeFile := fs.String("outcome", "", "outcome file (JSON)")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parse(fs, args, "TASK_ID")
	if err != nil {
		return err
	}
	if err := required(fs, "as", "outcome"); err != nil {
		return err
	}
	if !check.Person(*as) {
		return fmt.Errorf("--as %q is not a person ID (lower-case letters, digits, '.', '-', '_')", *as)
	}
	outcome, err := readJSONFile(*outcomeFile, nil)
	if err != nil {
		return err
	}
	res, err := a.completeTask(ctx, pos[0], *as, outcome)
	if err != nil {
		return err
	}
	if *asJSON {
		return a.printJSON(res)
	}
	a.printf("task %s done by %s\n", res.TaskID, res.CompletedBy)
	return nil
}

// completeTask checks the task and the person against the database, then
// completes the task through its workflow.
func (a *app) completeTask(ctx context.Context, taskID, actor string, outcome json.RawMessage) (workflows.CompleteTaskResult, error) {
	var res workflows.CompleteTaskResult
	st, err := a.store(ctx)
	if err != nil {
		return res, err
	}
	t, err := st.Task(ctx, taskID)
	if err != nil {
		return res, taskError(taskID, err)
	}
	if _, err := st.Person(ctx, actor); err != nil {
		return res, personError(actor, err)
	}
	switch t.Status {
	case review.TaskDone:
		// The same completion sent again is answered as it was the first time.
		if t.CompletedBy == actor && sameJSON(t.Outcome, outcome) {
			return workflows.CompleteTaskResult{TaskID: taskID, Status: review.TaskDone, CompletedBy: actor}, nil
		}
		return res, fmt.Errorf("refused: task %s is already done (completed by %s)", taskID, t.CompletedBy)
	case review.TaskSuperseded:
		return res, fmt.Errorf("refused: task %s is closed: it was superseded and needs no outcome", taskID)
	}
	c, err := a.client(ctx)
	if err != nil {
		return res, err
	}
	uctx, cancel := context.WithTimeout(ctx, updateTimeout)
	defer cancel()
	req := workflows.CompleteTaskRequest{TaskID: taskID, Actor: actor, Outcome: outcome}
	res, err = workflows.CompleteTask(uctx, c, t.WorkflowID, req)
	if err != nil {
		return res, updateError(taskID, t.WorkflowID, err)
	}
	return res, nil
}

// sameJSON reports whether two JSON documents hold the same value.
func sameJSON(a, b json.RawMessage) bool {
	var va, vb any
	if json.Unmarshal(a, &va) != nil || json.Unmarshal(b, &vb) != nil {
		return false
	}
	return reflect.DeepEqual(va, vb)
}

func updateError(taskID, workflowID string, err error) error {
	var notFound *serviceerror.NotFound
	switch {
	case errors.As(err, &notFound):
		return fmt.Errorf("task %s cannot be completed: its workflow %s is no longer running", taskID, workflowID)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("no worker answered within %s for task %s: is the worker running (bin/worker)?", updateTimeout, taskID)
	}
	return fmt.Errorf("refused: %s", workflows.Reason(err))
}

func taskError(id string, err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("there is no task %q (see 'starter task list')", id)
	}
	return err
}

func personError(id string, err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("there is no person %q (people come from 'starter org import')", id)
	}
	return err
}
