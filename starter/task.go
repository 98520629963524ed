package main

import (
	"context"
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/store"
)

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
	as := fs.String("as", "", "person ID: with --mine, whose inbox; else read as this person")
	asJSON := fs.Bool("json", false, "print JSON")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if *mine {
		if *as == "" {
			return usagef("task list: --mine and --as PERSON go together")
		}
		if f != (store.TaskFilter{Status: "open"}) {
			return usagef("task list --mine takes no --provider, --year, --assignee or --status: it lists the open tasks PERSON can act on")
		}
		return a.inbox(ctx, *as, *asJSON)
	}
	if f.Status != "open" && f.Status != "done" && f.Status != "all" {
		return usagef("task list: --status must be open, done or all, not %q", f.Status)
	}
	actor, err := a.reader(ctx, *as)
	if err != nil {
		return err
	}
	svc, err := a.service(ctx)
	if err != nil {
		return err
	}
	tasks, err := svc.Tasks(ctx, actor, f)
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
	actor, err := a.as(ctx, person)
	if err != nil {
		return err
	}
	svc, err := a.service(ctx)
	if err != nil {
		return err
	}
	tasks, err := svc.Inbox(ctx, actor)
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
	as := readAs(fs)
	pos, err := parse(fs, args, "TASK_ID")
	if err != nil {
		return err
	}
	actor, err := a.reader(ctx, *as)
	if err != nil {
		return err
	}
	svc, err := a.service(ctx)
	if err != nil {
		return err
	}
	t, err := svc.Task(ctx, actor, pos[0])
	if err != nil {
		return err
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
		for _, sec := range d.Content.Parts() {
			a.printf("  [%s] %s\n    %s\n", sec.Key, sec.Title, orDash(sec.Text))
		}
		if len(d.Checklist) > 0 {
			a.printf("\nlegal-content checklist (Student Welfare Act, section 13):\n")
			for _, it := range d.Checklist {
				where := "covered in " + it.Section
				if it.Section == "" {
					where = "NOT COVERED: " + it.Reason
				} else if it.Note != "" {
					where += ": " + it.Note
				}
				a.printf("  %-20s %s\n  %-20s %s\n", it.ID, it.EN, "", where)
			}
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
	actor, err := a.as(ctx, *as)
	if err != nil {
		return err
	}
	outcome, err := readFile(*outcomeFile)
	if err != nil {
		return err
	}
	svc, err := a.service(ctx)
	if err != nil {
		return err
	}
	res, err := svc.CompleteTask(ctx, actor, pos[0], outcome)
	if err != nil {
		return err
	}
	if *asJSON {
		return a.printJSON(res)
	}
	a.printf("task %s done by %s\n", res.TaskID, res.CompletedBy)
	return nil
}
