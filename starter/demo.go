package main

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/oho-dev/oho/render"
	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/service"
	"github.com/oho-dev/oho/store"
)

//go:embed demo_org.json
var demoOrgJSON []byte

// demoConfig gives the demo cycle short deadlines: evaluations are due in
// seconds, so that one left undone is seen going overdue and being escalated.
var demoConfig = review.Config{
	Phases: review.PhaseDurations{
		Evaluate: review.Duration(4 * time.Second),
		Consult:  review.Duration(20 * time.Minute),
		Update:   review.Duration(10 * time.Minute),
		SignOff:  review.Duration(10 * time.Minute),
		Approve:  review.Duration(10 * time.Minute),
	},
	Reminders: review.Reminders{Before: review.Duration(2 * time.Second), Every: review.Duration(time.Minute)},
	MaxRounds: 3,
}

// taskWait bounds how long the demo waits for the worker to open a task.
const taskWait = time.Minute

// demo runs a whole cycle of the fictional provider DEMO, playing every
// participant through the same code paths as 'task complete', including a
// refused completion and a round of requested changes. Each run takes the
// first year that has no cycle yet, so a second run also rates the changes
// the first one published.
func (a *app) demo(ctx context.Context, args []string) error {
	fs := newFlags("demo")
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
	if err := a.importOrg(ctx, service.Operator(via()), org); err != nil {
		return err
	}
	d := &demoRun{app: a, svc: svc, org: org, provider: org.Provider.Code, actors: map[string]service.Actor{}}
	manager, err := d.actor(ctx, d.holder(review.RoleManager, ""))
	if err != nil {
		return err
	}
	d.manager = manager

	d.year = time.Now().Year()
	for ; ; d.year++ {
		started, err := svc.StartCycle(ctx, manager, service.StartCycle{Provider: d.provider, Year: d.year, Config: demoConfig})
		if err != nil {
			return err
		}
		if !started.Existed {
			d.workflowID = started.CycleID
			break
		}
		a.printf("a cycle for %s %d exists already; trying %d\n", d.provider, d.year, d.year+1)
	}
	a.printf("started %s\n", d.workflowID)
	if err := d.play(ctx); err != nil {
		return err
	}
	if err := d.summary(ctx); err != nil {
		return err
	}
	if err := d.writeDemoReports(ctx); err != nil {
		return err
	}
	if err := d.planDocuments(ctx); err != nil {
		return err
	}
	return d.auditDocuments(ctx)
}

// planDocuments writes the plan version the demo published as the handbook
// staff read, in Markdown and HTML, into out/.
func (d *demoRun) planDocuments(ctx context.Context) error {
	pub, err := d.svc.CycleSummary(ctx, d.manager, d.provider, d.year)
	if err != nil {
		return err
	}
	doc, err := d.svc.Plan(ctx, d.manager, d.provider, pub.Version.Number)
	if err != nil {
		return err
	}
	var paths []string
	for _, format := range []render.Format{render.FormatMarkdown, render.FormatHTML} {
		b, err := renderHandbook(doc, format)
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

// auditDocuments exports the demo cycle's audit trail with its workflow
// histories into out/ and verifies the audit trail's hash chain.
func (d *demoRun) auditDocuments(ctx context.Context) error {
	path, err := filepath.Abs(filepath.Join("out", fmt.Sprintf("audit-%s-%d.jsonl", d.provider, d.year)))
	if err != nil {
		return err
	}
	export, counts, err := d.exportCycle(ctx, d.manager, d.provider, d.year)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(path, export); err != nil {
		return err
	}
	d.printf("  audit export       %s\n                     (%d audit events, %d workflow histories with %d events)\n",
		path, counts.AuditEvents, counts.Workflows, counts.HistoryEvents)
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

type demoRun struct {
	*app
	svc *service.Service
	// manager is the demo's quality manager, who reads the cycle's
	// documents at the end.
	manager    service.Actor
	org        store.Org
	provider   string
	year       int
	workflowID string
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

func (d *demoRun) play(ctx context.Context) error {
	units := d.org.Units

	d.printf("\n1. Evaluate and consult students, every unit in parallel\n")
	first := d.taskID(review.KindEvaluate, 0, units[0].Code)
	task, err := d.waitOpen(ctx, first)
	if err != nil {
		return err
	}
	var evalIn review.EvaluateInput
	if err := json.Unmarshal(task.Input, &evalIn); err != nil {
		return fmt.Errorf("reading the input of %s: %w", first, err)
	}
	// Show a refusal: a student representative cannot file the staff's evaluation.
	rep := d.holder(review.RoleStudentRep, units[0].Code)
	if err := d.completeAs(ctx, first, rep, demoEvaluation(units[0].Code, 0, evalIn.PreviousChanges)); err != nil {
		d.printf("  %s tries to file the staff's evaluation: %s\n", rep, err)
	} else {
		return fmt.Errorf("the demo expected %s to be refused for %s", first, rep)
	}
	last := len(units) - 1
	for i, u := range units {
		if i != last {
			if err := d.complete(ctx, d.taskID(review.KindEvaluate, 0, u.Code), d.holder(review.RoleWelfareStaff, u.Code), demoEvaluation(u.Code, i, evalIn.PreviousChanges)); err != nil {
				return err
			}
		}
		if err := d.complete(ctx, d.taskID(review.KindConsult, 0, u.Code), d.holder(review.RoleStudentRep, u.Code), demoConsultation(i, d.year)); err != nil {
			return err
		}
	}
	// The last unit's evaluation is left undone: it goes overdue, is
	// escalated to the managers, and a manager reassigns it.
	late := d.taskID(review.KindEvaluate, 0, units[last].Code)
	d.printf("  %s is left undone; it is due in %s\n", late, time.Duration(demoConfig.Phases.Evaluate))
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
	if err := d.complete(ctx, late, substitute, demoEvaluation(units[last].Code, last, evalIn.PreviousChanges)); err != nil {
		return err
	}

	for round := 1; round <= 2; round++ {
		d.printf("\n%d. Round %d: the plan editor drafts, every unit head signs off\n", round+1, round)
		draftID := d.taskID(review.KindDraft, round, "")
		task, err := d.waitOpen(ctx, draftID)
		if err != nil {
			return err
		}
		var in review.DraftInput
		if err := json.Unmarshal(task.Input, &in); err != nil {
			return fmt.Errorf("reading the input of %s: %w", draftID, err)
		}
		if err := d.complete(ctx, draftID, d.holder(review.RolePlanEditor, ""), demoDraft(in, d.year)); err != nil {
			return err
		}
		for i, u := range units {
			id := d.taskID(review.KindSignOff, round, u.Code)
			t, err := d.waitOpen(ctx, id)
			if err != nil {
				return err
			}
			var so review.SignOffInput
			if err := json.Unmarshal(t.Input, &so); err != nil {
				return fmt.Errorf("reading the input of %s: %w", id, err)
			}
			decision := review.SignOff{Decision: review.DecisionApprove, VersionHash: so.VersionHash,
				Comment: "Approved for " + u.Name}
			if round == 1 && i == 0 {
				decision.Decision = review.DecisionRequestChanges
				decision.Comment = "Name who owns the break supervision rota in each unit."
			}
			if err := d.complete(ctx, id, d.holder(review.RoleUnitHead, u.Code), decision); err != nil {
				return err
			}
			if decision.Decision == review.DecisionRequestChanges {
				d.printf("  %s requested changes: the other sign-offs of round 1 are superseded\n", u.Code)
				break
			}
		}
	}

	d.printf("\n4. The approver approves; the plan is published\n")
	return d.complete(ctx, d.taskID(review.KindApprove, 2, ""), d.holder(review.RoleApprover, ""),
		review.Approval{Decision: review.DecisionApprove, Comment: "Approved by the board",
			EffectiveFrom: fmt.Sprintf("%d-08-01", d.year)})
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

func demoEvaluation(unit string, i int, previousChanges []string) review.Evaluation {
	value, target := 3.4+0.2*float64(i), 4.0
	absences, absTarget := 7.5-float64(i), 5.0
	e := review.Evaluation{
		Indicators: []review.Indicator{
			{Name: "School health survey: wellbeing at school", Value: &value, Target: &target, Unit: "score 1-5"},
			{Name: "Unexplained absences", Value: &absences, Target: &absTarget, Unit: "% of lessons", Better: "lower"},
		},
		Findings: []review.Finding{
			{ID: "F1", Section: "communal", Severity: review.SeverityMajor,
				Text:           "Break-time supervision does not reach the workshop halls of " + unit + ".",
				Recommendation: "Add the workshop halls to the supervision rota."},
			{ID: "F2", Section: "monitoring", Severity: review.SeverityMinor,
				Text: "Absence figures reach the welfare group two months late."},
		},
	}
	for _, id := range previousChanges {
		e.Effectiveness = append(e.Effectiveness, review.Effectiveness{
			ChangeID: id, Rating: []string{"effective", "partly", "effective"}[i%3], Note: "Seen in this year's figures."})
	}
	return e
}

func demoConsultation(i, year int) review.Consultation {
	methods := []string{"council", "survey", "workshop"}
	return review.Consultation{
		Method: methods[i%len(methods)], Participants: 12 + 40*i, HeldOn: fmt.Sprintf("%d-03-1%d", year, i),
		Feedback: []review.FeedbackItem{
			{ID: "S1", Section: "individual", Text: "It is hard to find out when the counsellor is available."},
		},
	}
}

// demoDraft answers every item that needs it: majors and feedback by a change
// to their section, except that one unit's feedback is deferred with a reason.
func demoDraft(in review.DraftInput, year int) review.Draft {
	var d review.Draft
	// Say where the plan covers each item of the legal-content checklist:
	// in the section the checklist expects it in.
	keys := in.Plan.Keys()
	for _, it := range in.Checklist {
		section := it.Section
		if !slices.Contains(keys, section) {
			section = keys[0]
		}
		d.Coverage = append(d.Coverage, review.Coverage{Item: it.ID, Section: section, Note: "See the section's text."})
	}
	changeFor := map[string]string{}
	for _, it := range in.Items {
		if !it.NeedsDisposition() {
			continue
		}
		if strings.HasPrefix(it.Ref, "FOREST/") && it.Kind == review.ItemFeedback {
			d.Dispositions = append(d.Dispositions, review.Disposition{Item: it.Ref, Decision: review.DecisionDeferred,
				Reason: "Forest Campus moves to new premises next year; its counselling hours are planned with the move."})
			continue
		}
		id, ok := changeFor[it.Section]
		if !ok {
			id = fmt.Sprintf("C%d", len(d.Changes)+1)
			changeFor[it.Section] = id
			d.Changes = append(d.Changes, review.Change{ID: id, Section: it.Section,
				Text:      fmt.Sprintf("%s (Reviewed in %d.)", demoText[it.Section], year),
				Rationale: "Answers this year's evaluation and student feedback."})
		}
		for i := range d.Changes {
			if d.Changes[i].ID == id {
				d.Changes[i].Addresses = append(d.Changes[i].Addresses, it.Ref)
			}
		}
		d.Dispositions = append(d.Dispositions, review.Disposition{Item: it.Ref, Decision: review.DecisionAddressed, Change: id})
	}
	if len(in.Comments) > 0 {
		for i := range d.Changes {
			if d.Changes[i].Section == "communal" {
				d.Changes[i].Text += " Each unit head names the owner of the rota at the start of the term."
				d.Changes[i].Rationale += " Round " + fmt.Sprint(in.Round) + " answers: " + in.Comments[0].Text
			}
		}
	}
	return d
}

var demoText = map[string]string{
	"communal":   "Every break is supervised by two staff members, and the rota covers the workshop halls.",
	"individual": "Counsellor, nurse and psychologist hours are posted on each unit's notice board and intranet page every week.",
}
