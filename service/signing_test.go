package service_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/oho-dev/oho/dbtest"
	"github.com/oho-dev/oho/render"
	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/service"
	"github.com/oho-dev/oho/store"
)

// TestSigningShowsTheDraftAgainstTheVersionItChanges reads what a sign-off
// and an approval show: the round's draft compared with the imported
// version the cycle started from (a changed section, North's changed
// annex, the rest unchanged), even after the cycle has published its own
// version; the items the changes answer for those who may read the draft
// task; the round's sign-offs for the approval only; and the refusals: a
// person of another provider, and a task that signs nothing.
func TestSigningShowsTheDraftAgainstTheVersionItChanges(t *testing.T) {
	db, _ := dbtest.New(t)
	st := store.New(db)
	ctx := context.Background()
	for _, p := range []string{"ACME", "BETA"} {
		if _, err := st.ImportOrg(ctx, store.ActorOperator, dbtest.Org(p)); err != nil {
			t.Fatal(err)
		}
	}
	svc := service.New(service.Config{Store: st,
		Temporal: func(context.Context) (client.Client, error) { return nil, errReached }})
	act := func(person string) service.Actor {
		a, err := svc.Act(ctx, person, review.Via{Channel: review.ChannelCLI, Ref: "test"})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}

	base := review.PlanContent{}.Reshape(review.DefaultSections)
	base.Sections[1].Text = "One supervisor at every break."
	base.Annexes = []review.Annex{{Unit: "NORTH", Title: "North campus annex", Text: "North's welfare group meets monthly."}}
	imported, err := st.ImportPlan(ctx, store.PlanImport{Provider: "ACME", Content: base, EffectiveFrom: "2025-01-01", ImportedBy: "acme.manager"})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond) // the cycle starts after the import, as it would

	id := review.CycleID("ACME", 2025)
	if _, err := st.SetupCycle(ctx, review.SetupCycleInput{CycleID: id, Provider: "ACME", Year: 2025, Config: review.Config{}.WithDefaults()}); err != nil {
		t.Fatal(err)
	}
	spec := func(k review.TaskKind, round int, unit string, input any) review.TaskSpec {
		raw, err := json.Marshal(input)
		if err != nil {
			t.Fatal(err)
		}
		return review.TaskSpec{ID: review.TaskID("ACME", 2025, k, round, unit), CycleID: id, WorkflowID: id,
			Kind: k, Unit: unit, Round: round, Role: k.AssigneeRole(), DueAt: time.Now().Add(time.Hour), Input: raw}
	}
	open := func(specs ...review.TaskSpec) {
		t.Helper()
		if _, err := st.OpenTasks(ctx, review.OpenTasksInput{CycleID: id, Phase: review.PhaseEvaluate, Round: 1, Tasks: specs}); err != nil {
			t.Fatal(err)
		}
	}
	complete := func(s review.TaskSpec, actor string, outcome any, draft *review.PlanContent) {
		t.Helper()
		raw, err := json.Marshal(outcome)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.CompleteTask(ctx, review.CompleteTaskInput{Task: s, Actor: actor, Outcome: raw, Draft: draft}); err != nil {
			t.Fatal(err)
		}
	}
	evalNorth := spec(review.KindEvaluate, 0, "NORTH", review.EvaluateInput{Unit: "NORTH", Sections: base.Outline()})
	open(evalNorth)
	complete(evalNorth, "acme.nurse.north", review.Evaluation{Findings: []review.Finding{
		{ID: "F1", Section: "communal", Severity: review.SeverityMajor, Text: "Breaks go unsupervised"}}}, nil)

	items := []review.Item{
		{Ref: "NORTH/F1", Kind: review.ItemFinding, Severity: review.SeverityMajor, Section: "communal", Text: "Breaks go unsupervised"},
		{Ref: "SOUTH/S1", Kind: review.ItemFeedback, Section: "individual", Text: "Not addressed by any change"},
	}
	draftTask := spec(review.KindDraft, 1, "", review.DraftInput{Round: 1, Plan: base, Items: items})
	open(draftTask)
	d := review.Draft{Changes: []review.Change{
		{ID: "C1", Section: "communal", Text: "Two supervisors at every break.", Rationale: "Supervision", Addresses: []string{"NORTH/F1"}},
		{ID: "C2", Section: "annex/NORTH", Text: "North's welfare group meets weekly.", Rationale: "North asked"},
	}, Dispositions: []review.Disposition{{Item: "NORTH/F1", Decision: review.DecisionAddressed, Change: "C1"}}}
	content := base.Apply(d.Changes)
	complete(draftTask, "acme.editor", d, &content)
	hash := content.Hash()

	in := review.SignOffInput{Round: 1, VersionHash: hash}
	north, south, approve := spec(review.KindSignOff, 1, "NORTH", in), spec(review.KindSignOff, 1, "SOUTH", in), spec(review.KindApprove, 1, "", in)
	open(north, south, approve)
	complete(north, "acme.head.north", review.SignOff{Decision: review.DecisionApprove, VersionHash: hash}, nil)

	changes := func(sg service.Signing) string {
		var out string
		for _, s := range sg.Sections {
			if s.Change != render.SectionUnchanged {
				out += fmt.Sprintf("%s:%s ", s.Key, s.Change)
			}
		}
		return out
	}
	check := func(who, taskID string, wantItems, wantSignOffs int) service.Signing {
		t.Helper()
		sg, err := svc.Signing(ctx, act(who), taskID)
		if err != nil {
			t.Fatalf("%s reading %s: %v", who, taskID, err)
		}
		if sg.Base == nil || sg.Base.Version != imported.Version || sg.Base.Hash != base.Hash() {
			t.Errorf("%s reading %s: base %+v, want version %d with the imported hash", who, taskID, sg.Base, imported.Version)
		}
		if got, want := changes(sg), "communal:changed annex/NORTH:changed "; got != want {
			t.Errorf("%s reading %s: sections that differ: got %q, want %q", who, taskID, got, want)
		}
		if len(sg.Sections) != len(content.Parts()) {
			t.Errorf("%s reading %s: %d sections, want every part of the draft (%d)", who, taskID, len(sg.Sections), len(content.Parts()))
		}
		if len(sg.Items) != wantItems || (wantItems > 0 && sg.Items[0].Text != "Breaks go unsupervised") {
			t.Errorf("%s reading %s: items %+v, want %d (NORTH/F1 only: the changes address nothing else)", who, taskID, sg.Items, wantItems)
		}
		if len(sg.SignOffs) != wantSignOffs {
			t.Errorf("%s reading %s: %d sign-offs, want %d", who, taskID, len(sg.SignOffs), wantSignOffs)
		}
		if sg.Task.Draft == nil || sg.Task.Draft.VersionHash != hash {
			t.Errorf("%s reading %s: the draft's hash is not %s", who, taskID, hash)
		}
		return sg
	}
	check("acme.head.south", south.ID, 1, 0)
	check("acme.head.north", north.ID, 1, 0)
	// A student representative reads their unit's sign-off, but not the
	// draft task, whose items are the whole cycle's.
	check("acme.rep.north", north.ID, 0, 0)
	sg := check("acme.approver", approve.ID, 1, 1)
	if s := sg.SignOffs[0]; s.Unit != "NORTH" || s.Signer != "acme.head.north" || s.Decision != review.DecisionApprove ||
		s.Meaning != "approved for unit NORTH: the common part and NORTH's annex" || s.Hash != hash {
		t.Errorf("the approval's sign-offs: got %+v", s)
	}

	// Once the cycle has published its own version, the draft is still
	// compared with the version it changed.
	complete(south, "acme.head.south", review.SignOff{Decision: review.DecisionApprove, VersionHash: hash}, nil)
	complete(approve, "acme.approver", review.Approval{Decision: review.DecisionApprove, EffectiveFrom: "2025-08-01"}, nil)
	if _, err := st.Publish(ctx, review.PublishInput{CycleID: id, Provider: "ACME", Round: 1, Content: content, EffectiveFrom: "2025-08-01", ApprovedBy: "acme.approver"}); err != nil {
		t.Fatal(err)
	}
	check("acme.auditor", approve.ID, 1, 2)
	// And after a later import, too.
	later := base
	later.Sections = append([]review.SectionText{}, base.Sections...)
	later.Sections[0].Text = "Imported after the cycle."
	if _, err := st.ImportPlan(ctx, store.PlanImport{Provider: "ACME", Content: later, EffectiveFrom: "2026-01-01", ImportedBy: "acme.manager", Over: 2}); err != nil {
		t.Fatal(err)
	}
	check("acme.head.north", north.ID, 1, 0)

	for _, tt := range []struct {
		who, task string
		want      error
	}{
		{"beta.head.north", north.ID, service.ErrForbidden},
		{"beta.manager", approve.ID, service.ErrForbidden},
		{"acme.rep.south", north.ID, service.ErrForbidden},
		{"acme.rep.north", approve.ID, service.ErrForbidden},
		{"acme.head.north", evalNorth.ID, service.ErrInvalid},
		{"acme.head.north", "ACME/2025/signoff/r9/NORTH", service.ErrNotFound},
	} {
		if _, err := svc.Signing(ctx, act(tt.who), tt.task); !errors.Is(err, tt.want) {
			t.Errorf("%s reading %s: got %v, want %v", tt.who, tt.task, err, tt.want)
		}
	}
}
