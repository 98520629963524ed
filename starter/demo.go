package main

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/oho-dev/oho/check"
	"github.com/oho-dev/oho/render"
	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/service"
	"github.com/oho-dev/oho/store"
)

//go:embed demo_org.json
var demoOrgJSON []byte

// demoPlan is the fictional college's current plan, in Finnish and English,
// which the demo imports as the baseline its first cycle drafts from.
//
//go:embed demo_plan.md
var demoPlan string

// taskWait bounds how long the demo waits for the worker to open a task.
const taskWait = time.Minute

// demo runs the first two yearly cycles of the fictional provider DEMO,
// playing every participant through the same code paths as 'task complete':
// it imports the college's current plan (unless the provider has one
// already), then runs a cycle with a refused completion, a task that goes
// overdue and is escalated, a draft refused for an uncovered item of the
// legal-content checklist, a deferred feedback item and a round of
// requested changes; then the next year's cycle, in which the deferred item
// comes back, every unit rates the first year's changes and North's own
// annex changes. It writes both years' reports, the indicator trends, the
// handbook and the audit exports into out/. Each run takes the first two
// years that have no cycle yet.
func (a *app) demo(ctx context.Context, args []string) error {
	fs := newFlags("demo")
	code := fs.String("provider", "", "the fictional college's provider code (default the demo organisation's, DEMO), "+
		"for a demo in a database of its own whose cycles should not meet earlier demos' on the same Temporal server")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	// As 'starter migrate' does: as the owning role, before the demo's work
	// as the application role.
	if _, err := migrateDatabase(ctx); err != nil {
		return err
	}
	svc, err := a.service(ctx)
	if err != nil {
		return err
	}
	org, err := service.DecodeOrg(demoOrgJSON, "the demo organisation")
	if err != nil {
		return err
	}
	if *code != "" {
		if !check.Code(*code) {
			return usagef("demo: --provider %q is not a provider code (letters, digits, '-' or '_')", *code)
		}
		org.Provider.Code = *code
	}
	if err := a.importOrg(ctx, service.Operator(via()), org); err != nil {
		return err
	}
	d := &demoRun{app: a, svc: svc, org: org, provider: org.Provider.Code, actors: map[string]service.Actor{}}
	manager, err := d.actor(ctx, d.holder(review.RoleManager, ""))
	if err != nil {
		return err
	}
	d.manager = manager
	if err := d.importPlan(ctx); err != nil {
		return err
	}

	// The first year: the first that has no cycle yet.
	for d.year = time.Now().Year(); ; d.year++ {
		started, err := d.start(ctx, true)
		if err != nil {
			return err
		}
		if !started {
			break
		}
		a.printf("a cycle for %s %d exists already; trying %d\n", d.provider, d.year, d.year+1)
	}
	d.first = d.year
	if err := d.playFirstYear(ctx); err != nil {
		return err
	}
	if err := d.summary(ctx); err != nil {
		return err
	}

	d.year++
	existed, err := d.start(ctx, false)
	if err != nil {
		return err
	}
	if existed {
		return fmt.Errorf("a cycle for %s %d exists already in Temporal, though the database has none after %d's: "+
			"the database was reset while the Temporal server kept its cycles; reset both (make clean) and run the demo again",
			d.provider, d.year, d.first)
	}
	if err := d.playSecondYear(ctx); err != nil {
		return err
	}
	if err := d.summary(ctx); err != nil {
		return err
	}
	if err := d.documents(ctx); err != nil {
		return err
	}
	return d.logins(ctx)
}

// DemoPassword is the password the demo gives its fictional people, so that
// anyone trying OHO can log in to the pages as each of them.
const DemoPassword = "harjula-demo-2026"

// logins gives every person of the demo organisation the demo's password
// and lists who they are, for the pages that scripts/demo.sh serves next.
func (d *demoRun) logins(ctx context.Context) error {
	operator := service.Operator(via())
	d.printf("\nLogins for the web pages (password %q for everyone):\n", DemoPassword)
	tw := tabwriter.NewWriter(d.stdout, 0, 4, 2, ' ', 0)
	for _, p := range d.org.People {
		if err := d.svc.GivePassword(ctx, operator, p.ID, DemoPassword); err != nil {
			return err
		}
		var roles []string
		for _, r := range p.Roles {
			role := strings.ReplaceAll(string(r.Role), "_", " ")
			if r.Unit != "" {
				role += " of " + r.Unit
			}
			roles = append(roles, role)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", p.ID, p.Name, strings.Join(roles, ", "))
	}
	return tw.Flush()
}

// importPlan imports the demo's plan as the provider's baseline, unless the
// provider has a plan already (an earlier run's).
func (d *demoRun) importPlan(ctx context.Context) error {
	doc, err := d.svc.Plan(ctx, d.manager, d.provider, 0)
	switch {
	case err == nil:
		d.printf("the plan of %s has version %d already; the demo drafts from it\n", d.provider, doc.Version)
		return nil
	case !errors.Is(err, service.ErrNotFound):
		return err
	}
	res, err := d.svc.ImportPlan(ctx, d.manager, service.ImportPlan{Provider: d.provider, Markdown: demoPlan,
		Name: "the demo's plan (starter/demo_plan.md)", EffectiveFrom: fmt.Sprintf("%d-08-01", time.Now().Year()-1)})
	if err != nil {
		return err
	}
	d.printf("%s imported the college's current plan as version %d (%d sections, annexes of %s), effective from %s\n",
		d.manager.ID(), res.Version, len(res.Sections), strings.Join(res.Annexes, ", "), res.EffectiveFrom)
	return nil
}

// start starts the provider's cycle of d.year; existed says a cycle of that
// year exists already, and nothing was started.
func (d *demoRun) start(ctx context.Context, first bool) (existed bool, err error) {
	started, err := d.svc.StartCycle(ctx, d.manager, service.StartCycle{Provider: d.provider, Year: d.year, Config: demoConfig(first)})
	if err != nil || started.Existed {
		return started.Existed, err
	}
	d.workflowID = started.CycleID
	d.printf("\n=== %d: %s started %s ===\n", d.year, d.manager.ID(), d.workflowID)
	return false, nil
}

// documents writes what the two cycles leave behind into out/: each year's
// report, the indicator trends, the handbook of the plan now in force and
// each year's audit export; then it verifies the audit trail.
func (d *demoRun) documents(ctx context.Context) error {
	d.printf("\nDocuments\n")
	for _, year := range []int{d.first, d.year} {
		if err := d.writeDemoReports(ctx, year); err != nil {
			return err
		}
	}
	if err := d.trends(ctx); err != nil {
		return err
	}
	if err := d.planDocuments(ctx); err != nil {
		return err
	}
	for _, year := range []int{d.first, d.year} {
		if err := d.auditDocument(ctx, year); err != nil {
			return err
		}
	}
	v, err := d.svc.VerifyAudit(ctx, d.manager)
	if err != nil {
		return err
	}
	if v.Broken != nil {
		return fmt.Errorf("the audit trail is broken at %s", v.Broken)
	}
	d.printf("  audit trail        hash chain verified: ok %d events ('starter audit verify')\n", v.Events)
	return nil
}

// trends prints the catalogue indicators across the two years and writes
// them as CSV into out/.
func (d *demoRun) trends(ctx context.Context) error {
	trends, err := d.svc.IndicatorTrends(ctx, d.manager, d.provider)
	if err != nil {
		return err
	}
	var b strings.Builder
	if err := render.TrendsCSV(&b, trends); err != nil {
		return err
	}
	path, err := filepath.Abs(filepath.Join("out", fmt.Sprintf("trends-%s.csv", d.provider)))
	if err != nil {
		return err
	}
	if err := writeFileAtomic(path, []byte(b.String())); err != nil {
		return err
	}
	d.printf("  indicator trends   %s ('starter indicators trends')\n"+
		"                     each year's value, its target and whether it was met:\n", path)
	tw := tabwriter.NewWriter(d.stdout, 0, 4, 2, ' ', 0)
	for _, t := range trends {
		fmt.Fprintf(tw, "    %s\t%s\t%s", t.Code, t.Unit, t.UnitOfMeasure)
		for _, p := range t.Points {
			if p.Year < d.first {
				continue
			}
			value := "—"
			if p.Value != nil {
				value = measure(*p.Value, "")
			}
			bound := "≥"
			if p.Better == review.BetterLower {
				bound = "≤"
			}
			fmt.Fprintf(tw, "\t%d: %s (target %s %s)", p.Year, value, bound, measure(p.Target, ""))
			fmt.Fprintf(tw, "\t%s", strings.ReplaceAll(p.Status, "_", " "))
		}
		fmt.Fprintln(tw)
	}
	return tw.Flush()
}

// planDocuments writes the plan version in force as the handbook staff
// read, in Markdown and HTML, into out/.
func (d *demoRun) planDocuments(ctx context.Context) error {
	doc, err := d.svc.Plan(ctx, d.manager, d.provider, 0)
	if err != nil {
		return err
	}
	loc, err := d.svc.ProviderLocation(ctx, d.manager, d.provider)
	if err != nil {
		return err
	}
	var paths []string
	for _, format := range []render.Format{render.FormatMarkdown, render.FormatHTML} {
		b, err := renderHandbook(doc, format, loc)
		if err != nil {
			return err
		}
		path, err := filepath.Abs(filepath.Join("out", fmt.Sprintf("plan-%s-v%d.%s", d.provider, doc.Version, format)))
		if err != nil {
			return err
		}
		if err := writeFileAtomic(path, b); err != nil {
			return err
		}
		paths = append(paths, path)
	}
	d.printf("  plan handbook      %s\n                     %s\n", paths[0], paths[1])
	return nil
}

// auditDocument exports a demo cycle's audit trail with its workflow
// histories into out/.
func (d *demoRun) auditDocument(ctx context.Context, year int) error {
	path, err := filepath.Abs(filepath.Join("out", fmt.Sprintf("audit-%s-%d.jsonl", d.provider, year)))
	if err != nil {
		return err
	}
	export, counts, err := d.exportCycle(ctx, d.manager, d.provider, year)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(path, export); err != nil {
		return err
	}
	d.printf("  audit export       %s\n                     (%d audit events, %d workflow histories with %d events)\n",
		path, counts.AuditEvents, counts.Workflows, counts.HistoryEvents)
	return nil
}

type demoRun struct {
	*app
	svc *service.Service
	// manager is the demo's quality manager, who reads the cycle's
	// documents at the end.
	manager  service.Actor
	org      store.Org
	provider string
	// first is the year of the demo's first cycle, year the year of the
	// cycle being played, and workflowID its workflow.
	first, year int
	workflowID  string
	// actors are the participants the demo plays, as the command line
	// would act for them.
	actors map[string]service.Actor
}

// actor returns the participant with the ID, read once.
func (d *demoRun) actor(ctx context.Context, id string) (service.Actor, error) {
	if a, ok := d.actors[id]; ok {
		return a, nil
	}
	a, err := d.svc.Act(ctx, id, via())
	if err != nil {
		return service.Actor{}, err
	}
	d.actors[id] = a
	return a, nil
}

// holder returns the first person of the demo organisation holding a role.
func (d *demoRun) holder(role review.Role, unit string) string {
	for _, p := range d.org.People {
		for _, r := range p.Roles {
			if r.Role == role && r.Unit == unit {
				return p.ID
			}
		}
	}
	return ""
}

func (d *demoRun) taskID(kind review.TaskKind, round int, unit string) string {
	return review.TaskID(d.provider, d.year, kind, round, unit)
}

// waitOpen waits until the worker has opened the task and returns it.
func (d *demoRun) waitOpen(ctx context.Context, id string) (store.Task, error) {
	deadline := time.Now().Add(taskWait)
	operator := service.Operator(via())
	for {
		t, err := d.svc.Task(ctx, operator, id)
		if err == nil && t.Status == review.TaskOpen {
			return t, nil
		}
		if err != nil && !errors.Is(err, service.ErrNotFound) {
			return t, err
		}
		if time.Now().After(deadline) {
			return t, fmt.Errorf("task %s was not opened within %s: is the worker running?", id, taskWait)
		}
		select {
		case <-ctx.Done():
			return t, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// completeAs has a participant complete a task, as 'task complete' does.
func (d *demoRun) completeAs(ctx context.Context, id, person string, outcome any) error {
	actor, err := d.actor(ctx, person)
	if err != nil {
		return err
	}
	raw, err := json.Marshal(outcome)
	if err != nil {
		return err
	}
	_, err = d.svc.CompleteTask(ctx, actor, id, raw)
	return err
}

// complete plays a participant completing a task and reports it.
func (d *demoRun) complete(ctx context.Context, id, person string, outcome any) error {
	if _, err := d.waitOpen(ctx, id); err != nil {
		return err
	}
	start := time.Now()
	if err := d.completeAs(ctx, id, person, outcome); err != nil {
		return fmt.Errorf("demo step %s by %s: %w", id, person, err)
	}
	d.printf("  %-34s done by %-22s (%d ms)\n", id, person, time.Since(start).Milliseconds())
	return nil
}

// waitEvent waits until the audit trail records the action on the task.
func (d *demoRun) waitEvent(ctx context.Context, taskID, action string) error {
	deadline := time.Now().Add(taskWait)
	operator := service.Operator(via())
	for {
		events, err := d.svc.AuditLog(ctx, operator, service.AuditFilter{Provider: d.provider, Year: d.year})
		if err != nil {
			return err
		}
		for _, e := range events {
			if e.Subject == taskID && e.Action == action {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s was not recorded for %s within %s: is the worker running?", action, taskID, taskWait)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// steer has a participant change a task, as 'task reassign' and the other
// steering commands do.
func (d *demoRun) steer(ctx context.Context, person string, req service.ChangeTask) error {
	if _, err := d.waitOpen(ctx, req.TaskID); err != nil {
		return err
	}
	actor, err := d.actor(ctx, person)
	if err != nil {
		return err
	}
	if _, err := d.svc.ChangeTask(ctx, actor, req); err != nil {
		return fmt.Errorf("demo step %s of %s: %w", req.Op, req.TaskID, err)
	}
	return nil
}

// taskInput waits for the worker to open the task and decodes what the
// task shows its assignee.
func taskInput[T any](ctx context.Context, d *demoRun, id string) (T, error) {
	var in T
	task, err := d.waitOpen(ctx, id)
	if err != nil {
		return in, err
	}
	if err := json.Unmarshal(task.Input, &in); err != nil {
		return in, fmt.Errorf("reading the input of %s: %w", id, err)
	}
	return in, nil
}

// draftInput waits for the round's draft task and reads what it shows.
func (d *demoRun) draftInput(ctx context.Context, round int) (review.DraftInput, error) {
	return taskInput[review.DraftInput](ctx, d, d.taskID(review.KindDraft, round, ""))
}

// evaluateInput waits for a unit's evaluate task and reads what it shows.
func (d *demoRun) evaluateInput(ctx context.Context, unit string) (review.EvaluateInput, error) {
	return taskInput[review.EvaluateInput](ctx, d, d.taskID(review.KindEvaluate, 0, unit))
}

// signOff has every unit head sign the round's draft off; the first unit's
// head requests changes instead when comment is given, which supersedes the
// other sign-offs of the round.
func (d *demoRun) signOff(ctx context.Context, round int, comment string) error {
	for i, u := range d.org.Units {
		id := d.taskID(review.KindSignOff, round, u.Code)
		so, err := taskInput[review.SignOffInput](ctx, d, id)
		if err != nil {
			return err
		}
		decision := review.SignOff{Decision: review.DecisionApprove, VersionHash: so.VersionHash, Comment: "Approved for " + u.Name}
		if comment != "" && i == 0 {
			decision.Decision, decision.Comment = review.DecisionRequestChanges, comment
		}
		if err := d.complete(ctx, id, d.holder(review.RoleUnitHead, u.Code), decision); err != nil {
			return err
		}
		if decision.Decision == review.DecisionRequestChanges {
			d.printf("  %s requested changes: the other sign-offs of round %d are superseded\n", u.Code, round)
			return nil
		}
	}
	return nil
}

// approve has the approver approve the round's draft, which publishes it.
func (d *demoRun) approve(ctx context.Context, round int) error {
	return d.complete(ctx, d.taskID(review.KindApprove, round, ""), d.holder(review.RoleApprover, ""),
		review.Approval{Decision: review.DecisionApprove, Comment: "Approved by the board", EffectiveFrom: fmt.Sprintf("%d-08-01", d.year)})
}

// playFirstYear plays the first cycle: a refused completion, an evaluation
// that goes overdue, is escalated and reassigned, a draft refused for an
// uncovered checklist item, a deferral, and a round of requested changes.
func (d *demoRun) playFirstYear(ctx context.Context) error {
	units := d.org.Units

	d.printf("1. Evaluate and consult students, every unit in parallel; each evaluation reports the indicator catalogue\n")
	first := d.taskID(review.KindEvaluate, 0, units[0].Code)
	evalIn, err := d.evaluateInput(ctx, units[0].Code)
	if err != nil {
		return err
	}
	// Show a refusal: a student representative cannot file the staff's evaluation.
	rep := d.holder(review.RoleStudentRep, units[0].Code)
	if err := d.completeAs(ctx, first, rep, demoEvaluation(d.year-d.first, evalIn)); err != nil {
		d.printf("  %s tries to file the staff's evaluation: %s\n", rep, err)
	} else {
		return fmt.Errorf("the demo expected %s to be refused for %s", first, rep)
	}
	last := len(units) - 1
	for i, u := range units {
		if i != last {
			in, err := d.evaluateInput(ctx, u.Code)
			if err != nil {
				return err
			}
			if err := d.complete(ctx, d.taskID(review.KindEvaluate, 0, u.Code), d.holder(review.RoleWelfareStaff, u.Code), demoEvaluation(0, in)); err != nil {
				return err
			}
		}
		if err := d.complete(ctx, d.taskID(review.KindConsult, 0, u.Code), d.holder(review.RoleStudentRep, u.Code), demoConsultation(0, i, d.year)); err != nil {
			return err
		}
	}
	// The last unit's evaluation is left undone: it goes overdue, is
	// escalated to the managers, and a manager reassigns it.
	late := d.taskID(review.KindEvaluate, 0, units[last].Code)
	d.printf("  %s is left undone; it is due in %s\n", late, time.Duration(demoConfig(true).Phases.Evaluate))
	if err := d.waitEvent(ctx, late, "task.overdue"); err != nil {
		return err
	}
	managers := d.holder(review.RoleManager, "")
	d.printf("  %s is overdue: the workflow escalated it to the managers (%s)\n", late, managers)
	substitute := d.holder(review.RoleWelfareStaff, units[0].Code)
	if err := d.steer(ctx, managers, service.ChangeTask{TaskID: late, Op: review.OpReassign, To: substitute,
		Reason: "The unit's adviser is on leave; North's nurse covers."}); err != nil {
		return err
	}
	d.printf("  %s reassigned it to %s\n", managers, substitute)
	in, err := d.evaluateInput(ctx, units[last].Code)
	if err != nil {
		return err
	}
	if err := d.complete(ctx, late, substitute, demoEvaluation(0, in)); err != nil {
		return err
	}

	comment := "Name who owns the break supervision rota in each unit."
	for round := 1; round <= 2; round++ {
		d.printf("\n%d. Round %d: the plan editor drafts, every unit head signs off\n", round+1, round)
		in, err := d.draftInput(ctx, round)
		if err != nil {
			return err
		}
		draft := demoDraft(in, d.year, true)
		editor := d.holder(review.RolePlanEditor, "")
		if round == 1 {
			// Show a refusal: a draft must say where the plan covers each
			// item of the legal-content checklist.
			uncovered := draft
			uncovered.Coverage = draft.Coverage[:len(draft.Coverage)-1]
			if err := d.completeAs(ctx, d.taskID(review.KindDraft, round, ""), editor, uncovered); err != nil {
				d.printf("  %s's first draft leaves an item of the legal-content checklist out: %s\n", editor, err)
			} else {
				return errors.New("the demo expected a draft without the whole checklist to be refused")
			}
		}
		if err := d.complete(ctx, d.taskID(review.KindDraft, round, ""), editor, draft); err != nil {
			return err
		}
		for _, ds := range draft.Dispositions {
			if ds.Decision == review.DecisionDeferred {
				d.printf("  %s deferred %s to next year: %s\n", editor, ds.Item, ds.Reason)
			}
		}
		if round == 2 {
			comment = ""
		}
		if err := d.signOff(ctx, round, comment); err != nil {
			return err
		}
	}

	d.printf("\n4. The approver approves; the plan is published\n")
	return d.approve(ctx, 2)
}

// playSecondYear plays the next year's cycle in one round: every unit rates
// the first year's changes, North finds something in its own annex, and the
// draft answers the item the first year deferred and changes North's annex.
func (d *demoRun) playSecondYear(ctx context.Context) error {
	d.printf("1. Evaluate and consult students; every unit rates last year's changes, North evaluates its own annex too\n")
	for i, u := range d.org.Units {
		in, err := d.evaluateInput(ctx, u.Code)
		if err != nil {
			return err
		}
		if err := d.complete(ctx, d.taskID(review.KindEvaluate, 0, u.Code), d.holder(review.RoleWelfareStaff, u.Code), demoEvaluation(d.year-d.first, in)); err != nil {
			return err
		}
		if err := d.complete(ctx, d.taskID(review.KindConsult, 0, u.Code), d.holder(review.RoleStudentRep, u.Code), demoConsultation(d.year-d.first, i, d.year)); err != nil {
			return err
		}
	}

	d.printf("\n2. The plan editor drafts; what last year deferred comes back and needs a disposition\n")
	in, err := d.draftInput(ctx, 1)
	if err != nil {
		return err
	}
	for _, it := range in.Items {
		if it.From != 0 {
			d.printf("  carried from %d: %s %q\n    deferred in %d: %s\n", it.From, it.Ref, it.Text, it.DeferredIn, it.Reason)
		}
	}
	draft := demoDraft(in, d.year, false)
	if err := d.complete(ctx, d.taskID(review.KindDraft, 1, ""), d.holder(review.RolePlanEditor, ""), draft); err != nil {
		return err
	}
	for _, c := range draft.Changes {
		d.printf("  change %s (%s) answers %s\n", c.ID, c.Section, strings.Join(c.Addresses, ", "))
	}
	if err := d.signOff(ctx, 1, ""); err != nil {
		return err
	}
	d.printf("\n3. The approver approves; the plan is published\n")
	return d.approve(ctx, 1)
}

// summary waits for the cycle to be recorded as completed and prints what it
// published and who did what.
func (d *demoRun) summary(ctx context.Context) error {
	deadline := time.Now().Add(taskWait)
	var rep service.CycleSummary
	for {
		var err error
		rep, err = d.svc.CycleSummary(ctx, d.manager, d.provider, d.year)
		if err != nil {
			return err
		}
		if rep.Cycle.Status != review.CycleRunning {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("cycle %s did not complete within %s", d.workflowID, taskWait)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if rep.Cycle.Status != review.CycleCompleted || rep.Version == nil {
		return fmt.Errorf("cycle %s ended %s: %s", d.workflowID, rep.Cycle.Status, rep.Cycle.Reason)
	}
	d.printf("\nCycle %s completed in %s\n", d.workflowID, plural(rep.Rounds, "round", "rounds"))
	d.printf("  published version  %d, effective from %s\n", rep.Version.Number, rep.Version.EffectiveFrom)
	d.printf("  content SHA-256    %s\n", rep.Version.Hash)
	d.printf("  recorded           %d indicators, %d findings, %d student feedback items, %d changes, %d sign-offs\n",
		rep.Indicators, rep.Findings, rep.FeedbackItems, rep.Changes, rep.SignOffs)
	d.printf("  tasks done per unit:\n")
	tw := tabwriter.NewWriter(d.stdout, 0, 4, 2, ' ', 0)
	for _, u := range rep.TasksDone {
		name := u.Unit
		if name == "" {
			name = "(provider-wide)"
		}
		fmt.Fprintf(tw, "    %s\t%d\n", name, u.Done)
	}
	tw.Flush()
	var parts []string
	total := 0
	for _, n := range rep.Notices {
		parts = append(parts, fmt.Sprintf("%d %s", n.Count, n.Kind))
		total += n.Count
	}
	delivery := "the worker writes them to its log (set SMTP_URL to mail them)"
	if os.Getenv("SMTP_URL") != "" {
		delivery = "the worker mails them through SMTP_URL"
	}
	d.printf("  notices            %d in the outbox: %s;\n                     %s\n", total, strings.Join(parts, ", "), delivery)
	wfs, err := d.svc.CycleWorkflows(ctx, d.manager, d.provider, d.year, false)
	if err != nil {
		return err
	}
	d.printf("  workflow history   %s\n", wfs[0].WebUI)
	return nil
}
