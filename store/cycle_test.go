package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"sync"
	"testing"

	"github.com/oho-dev/oho/dbtest"
	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/store"
)

func TestCyclePath(t *testing.T) {
	ctx := context.Background()
	s, db := imported(t, "ACME")
	c := newCycle(t, s, db, "ACME", 2025, review.Config{})

	if got, want := c.setup.Units, []review.Unit{{Code: "NORTH", Name: "North campus"}, {Code: "SOUTH", Name: "South campus"}}; !slices.Equal(got, want) {
		t.Errorf("got units %v, want %v", got, want)
	}
	if got, want := c.setup.Baseline.Outline(), review.DefaultSections; !slices.Equal(got, want) {
		t.Errorf("got baseline sections %v, want the default %v", got, want)
	}
	if c.setup.BaselineVersion != 0 || len(c.setup.PreviousChanges) != 0 {
		t.Errorf("got baseline version %d and previous changes %v, want 0 and none for a first cycle", c.setup.BaselineVersion, c.setup.PreviousChanges)
	}

	pub := c.run(round1Changes, round2Changes)
	if pub.Version != 1 || pub.Hash != c.drafts[2].Hash() {
		t.Errorf("got published %+v, want version 1 with the hash of the round 2 draft %s", pub, c.drafts[2].Hash())
	}

	cyc, err := s.Cycle(ctx, "ACME", 2025)
	if err != nil {
		t.Fatal(err)
	}
	if cyc.Status != review.CycleCompleted || cyc.Phase != review.PhasePublished || cyc.Round != 2 || cyc.CompletedAt == nil {
		t.Errorf("got cycle %+v, want completed, published, round 2, with completed_at", cyc)
	}

	wantActions := map[string]int{
		store.ActionCycleStarted:   1,
		store.ActionPhaseChanged:   5, // update r1, signoff r1, update r2, signoff r2, approve r2
		store.ActionTaskOpened:     11,
		store.ActionTaskCompleted:  10,
		store.ActionTaskSuperseded: 1,
		store.ActionPlanPublished:  1,
		// One event per record, matching the row counts below.
		store.ActionFindingRecorded: 3, store.ActionConsultationRecorded: 2, store.ActionFeedbackRecorded: 3,
		store.ActionChangeRecorded: 3, store.ActionDispositionRecorded: 8, store.ActionDraftRecorded: 2,
		store.ActionSignOffRecorded: 3, store.ActionApprovalRecorded: 1,
	}
	if got := actions(t, s, c.id); !maps.Equal(got, wantActions) {
		t.Errorf("got audit actions %v, want %v", got, wantActions)
	}

	counts := rowCounts(t, db)
	want := map[string]int{
		"indicators": 3, "findings": 3, "effectiveness_ratings": 0, "consultations": 2, "feedback_items": 3,
		"plan_changes": 3, "dispositions": 8, "plan_drafts": 2, "signoffs": 3, "approvals": 1,
		"plans": 1, "plan_versions": 1, "cycles": 1, "tasks": 11,
	}
	for table, n := range want {
		if counts[table] != n {
			t.Errorf("got %d rows in %s, want %d", counts[table], table, n)
		}
	}

	// The signatures record their meaning and the hash they bind.
	var signoffs []struct {
		Unit    string `db:"unit_code"`
		Round   int    `db:"round"`
		Signer  string `db:"signer"`
		Meaning string `db:"meaning"`
		Hash    string `db:"version_hash"`
	}
	if err := db.SelectContext(ctx, &signoffs, `SELECT unit_code, round, signer, meaning, version_hash FROM signoffs ORDER BY round, unit_code`); err != nil {
		t.Fatal(err)
	}
	if got := signoffs[0]; got.Meaning != "changes requested for unit NORTH" || got.Signer != "acme.head.north" || got.Hash != c.drafts[1].Hash() {
		t.Errorf("got first sign-off %+v, want changes requested by acme.head.north on the round 1 hash", got)
	}
	if got := signoffs[2]; got.Meaning != "approved for unit SOUTH" || got.Hash != c.drafts[2].Hash() {
		t.Errorf("got last sign-off %+v, want approved for unit SOUTH on the round 2 hash", got)
	}
	var approval struct {
		Meaning string `db:"meaning"`
		Hash    string `db:"version_hash"`
	}
	if err := db.GetContext(ctx, &approval, `SELECT meaning, version_hash FROM approvals`); err != nil {
		t.Fatal(err)
	}
	if approval.Meaning != "approved for the provider" || approval.Hash != c.drafts[2].Hash() {
		t.Errorf("got approval %+v, want approved for the provider on the round 2 hash", approval)
	}

	pv, err := s.PlanVersion(ctx, "ACME", 0)
	if err != nil {
		t.Fatal(err)
	}
	if pv.Version != 1 || pv.Hash != pub.Hash || pv.EffectiveFrom != "2025-08-01" || pv.Content.Hash() != pub.Hash || pv.ApprovedBy != "acme.approver" {
		t.Errorf("got plan version %+v, want version 1, hash %s, effective 2025-08-01", pv, pub.Hash)
	}
}

func TestCompleteTaskAfterDone(t *testing.T) {
	ctx := context.Background()
	s, db := imported(t, "ACME")
	c := newCycle(t, s, db, "ACME", 2025, review.Config{})
	task := c.task(review.KindEvaluate, 0, "NORTH")
	c.open(review.PhaseEvaluate, 0, task)
	c.complete(task, evaluationNorth, nil)

	tests := []struct {
		name    string
		actor   string
		outcome string
	}{
		{"another actor", "acme.manager", evaluationNorth},
		{"same actor, other outcome", "acme.nurse.north", evaluationSouth},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := rowCounts(t, db)
			err := s.CompleteTask(ctx, review.CompleteTaskInput{Task: task, Actor: tt.actor, Outcome: json.RawMessage(tt.outcome)})
			wantKind(t, err, store.ErrTaskClosed, task.ID, "already done", "acme.nurse.north")
			if d := diff(before, rowCounts(t, db)); d != "" {
				t.Errorf("the refused completion wrote rows: %s", d)
			}
		})
	}

	// The same outcome written differently is the same jsonb: a retry.
	compact, _ := json.Marshal(json.RawMessage(evaluationNorth))
	if err := s.CompleteTask(ctx, review.CompleteTaskInput{Task: task, Actor: "acme.nurse.north", Outcome: compact}); err != nil {
		t.Errorf("retry with the outcome re-encoded: got %v, want nil", err)
	}
}

func TestFailedCompletionLeavesNothing(t *testing.T) {
	ctx := context.Background()
	s, db := imported(t, "ACME")
	c := newCycle(t, s, db, "ACME", 2025, review.Config{})
	task := c.task(review.KindEvaluate, 0, "NORTH")
	c.open(review.PhaseEvaluate, 0, task)

	const twoF1 = `{"indicators": [{"name": "Feels safe", "value": 80, "target": 85, "unit": "%"}],
  "findings": [
    {"id": "F1", "section": "communal", "severity": "minor", "text": "First."},
    {"id": "F1", "section": "individual", "severity": "minor", "text": "Second with the same ID."}],
  "effectiveness": []}`
	before := rowCounts(t, db)
	err := s.CompleteTask(ctx, review.CompleteTaskInput{Task: task, Actor: "acme.nurse.north", Outcome: json.RawMessage(twoF1)})
	wantKind(t, err, store.ErrDuplicate, "F1")
	if d := diff(before, rowCounts(t, db)); d != "" {
		t.Errorf("the failed completion wrote rows: %s", d)
	}
	got, err := s.Task(ctx, task.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != review.TaskOpen || got.Outcome != nil || got.CompletedBy != "" {
		t.Errorf("got task %s %q by %q, want it still open without outcome", got.Status, got.Outcome, got.CompletedBy)
	}
	if n := actions(t, s, c.id)[store.ActionTaskCompleted]; n != 0 {
		t.Errorf("got %d task.completed events, want 0", n)
	}
	// The task can still be completed properly.
	c.complete(task, evaluationNorth, nil)
}

func TestCompleteTaskRefusals(t *testing.T) {
	ctx := context.Background()
	s, db := imported(t, "ACME")
	c := newCycle(t, s, db, "ACME", 2025, review.Config{})
	eval := c.task(review.KindEvaluate, 0, "NORTH")
	c.open(review.PhaseEvaluate, 0, eval)
	c.open(review.PhaseUpdate, 1, c.task(review.KindDraft, 1, ""))
	c.draft(1, round1Changes)
	signoff := c.task(review.KindSignOff, 1, "NORTH")
	c.open(review.PhaseSignOff, 1, signoff)

	wrongKind := eval
	wrongKind.Kind = review.KindConsult
	draftTask := c.task(review.KindDraft, 2, "")
	tests := []struct {
		name    string
		task    review.TaskSpec
		outcome string
		draft   *review.PlanContent
		kind    error
		says    []string
	}{
		{"unknown field", eval, `{"indicators": [], "findings": [], "effectiveness": [], "student_name": "x"}`, nil, store.ErrInvalid, []string{"unknown field", "student_name"}},
		{"rule broken", eval, `{"indicators": [], "findings": [{"id": "F1", "section": "communal", "severity": "huge", "text": "x"}], "effectiveness": []}`, nil, store.ErrInvalid, []string{"severity"}},
		{"not JSON", eval, `{"indicators": [`, nil, store.ErrInvalid, []string{"is not valid JSON"}},
		{"wrong kind", wrongKind, consultationNorth, nil, store.ErrInvalid, []string{"is a evaluate task"}},
		{"unknown task", c.task(review.KindEvaluate, 0, "WEST"), evaluationNorth, nil, store.ErrNotFound, []string{"ACME/2025/evaluate/WEST"}},
		{"draft without content", draftTask, draftOutcome(round1Changes, "C1"), nil, store.ErrInvalid, []string{"plan content"}},
		{"sign-off of other content", signoff, `{"decision": "approve", "version_hash": "` + c.drafts[1].Reshape(review.DefaultSections[:2]).Hash() + `"}`, nil, store.ErrInvalid, []string{"version_hash", c.drafts[1].Hash()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := rowCounts(t, db)
			err := s.CompleteTask(ctx, review.CompleteTaskInput{Task: tt.task, Actor: c.person(tt.task), Outcome: json.RawMessage(tt.outcome), Draft: tt.draft})
			wantKind(t, err, tt.kind, tt.says...)
			if d := diff(before, rowCounts(t, db)); d != "" {
				t.Errorf("the refused completion wrote rows: %s", d)
			}
		})
	}
}

func TestSetupCycleRefusals(t *testing.T) {
	ctx := context.Background()
	s, db := imported(t, "ACME")
	newCycle(t, s, db, "ACME", 2025, review.Config{})
	if err := s.FailCycle(ctx, review.FailCycleInput{CycleID: review.CycleID("ACME", 2024), Reason: "x"}); err == nil {
		t.Error("FailCycle of an unknown cycle: got nil, want ErrNotFound")
	}

	tests := []struct {
		name string
		in   review.SetupCycleInput
		kind error
		says []string
	}{
		{"same year, other ID", review.SetupCycleInput{CycleID: "other", Provider: "ACME", Year: 2025}, store.ErrDuplicate, []string{"already has cycle review-cycle/ACME/2025 for 2025"}},
		{"unknown provider", review.SetupCycleInput{CycleID: "x", Provider: "NOPE", Year: 2025}, store.ErrNotFound, []string{`provider "NOPE" has not been imported`}},
		{"no year", review.SetupCycleInput{CycleID: "x", Provider: "ACME"}, store.ErrInvalid, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := rowCounts(t, db)
			_, err := s.SetupCycle(ctx, tt.in)
			wantKind(t, err, tt.kind, tt.says...)
			if d := diff(before, rowCounts(t, db)); d != "" {
				t.Errorf("the refused setup wrote rows: %s", d)
			}
		})
	}
}

func TestSecondYearStartsFromPublishedPlan(t *testing.T) {
	ctx := context.Background()
	s, db := imported(t, "ACME", "BETA")
	first := newCycle(t, s, db, "ACME", 2024, review.Config{})
	pub := first.run(round1Changes, append(round2Changes, change{"C0", "monitoring", "The welfare group reviews indicators each term."}))
	// Another provider's cycle and a later ACME year must not count.
	newCycle(t, s, db, "BETA", 2024, review.Config{}).run(round1Changes, []change{{"B9", "communal", "x"}})

	second := newCycle(t, s, db, "ACME", 2025, review.Config{})
	if got, want := second.setup.PreviousChanges, []string{"C0", "C1", "C2"}; !slices.Equal(got, want) {
		t.Errorf("got previous changes %v, want %v (the published round's, ordered)", got, want)
	}
	if second.setup.BaselineVersion != pub.Version || second.setup.Baseline.Hash() != pub.Hash {
		t.Errorf("got baseline version %d hash %s, want version %d hash %s", second.setup.BaselineVersion, second.setup.Baseline.Hash(), pub.Version, pub.Hash)
	}

	// With configured sections, the baseline keeps the text of the sections
	// that stay and starts new ones empty.
	sections := []review.Section{{Key: "communal", Title: "Communal welfare"}, {Key: "digital", Title: "Digital wellbeing"}}
	third := newCycle(t, s, db, "ACME", 2026, review.Config{Sections: sections})
	want := review.PlanContent{Sections: []review.SectionText{
		{Key: "communal", Title: "Communal welfare", Text: round2Changes[0].text},
		{Key: "digital", Title: "Digital wellbeing"},
	}}
	if !equalJSON(third.setup.Baseline, want) {
		t.Errorf("got baseline %+v, want %+v", third.setup.Baseline, want)
	}
	if len(third.setup.PreviousChanges) != 3 {
		t.Errorf("got previous changes %v for 2026 while 2025 runs, want 2024's three", third.setup.PreviousChanges)
	}
	// A new provider version number follows the last.
	if _, err := s.PlanVersion(ctx, "ACME", 2); err == nil {
		t.Error("got plan version 2 before a second publication")
	}
}

func TestOpenTasksWithoutCandidates(t *testing.T) {
	ctx := context.Background()
	s, db := imported(t, "ACME")
	c := newCycle(t, s, db, "ACME", 2025, review.Config{})

	// The student rep of SOUTH steps down after the cycle started.
	org := dbtest.Org("ACME")
	for i, p := range org.People {
		if p.ID == "acme.rep.south" {
			org.People[i].Roles = nil
		}
	}
	if _, err := s.ImportOrg(ctx, store.ActorOperator, org); err != nil {
		t.Fatal(err)
	}

	before := rowCounts(t, db)
	_, err := s.OpenTasks(ctx, review.OpenTasksInput{CycleID: c.id, Phase: review.PhaseEvaluate, Tasks: []review.TaskSpec{
		c.task(review.KindConsult, 0, "NORTH"), c.task(review.KindConsult, 0, "SOUTH"),
	}})
	wantKind(t, err, store.ErrNoCandidates, "student_rep", "SOUTH")
	if d := diff(before, rowCounts(t, db)); d != "" {
		t.Errorf("the refused OpenTasks wrote rows: %s", d)
	}

	opened := c.open(review.PhaseEvaluate, 0, c.task(review.KindEvaluate, 0, "SOUTH"), c.task(review.KindConsult, 0, "NORTH"))
	want := []review.OpenedTask{
		{ID: "ACME/2025/evaluate/SOUTH", Candidates: []string{"acme.nurse.south"}},
		{ID: "ACME/2025/consult/NORTH", Candidates: []string{"acme.rep.north"}},
	}
	if !equalJSON(opened, want) {
		t.Errorf("got opened %+v, want %+v", opened, want)
	}
}

func TestFailCycle(t *testing.T) {
	ctx := context.Background()
	s, db := imported(t, "ACME")
	c := newCycle(t, s, db, "ACME", 2025, review.Config{})
	c.open(review.PhaseEvaluate, 0, c.task(review.KindEvaluate, 0, "NORTH"), c.task(review.KindConsult, 0, "NORTH"))
	c.complete(c.task(review.KindEvaluate, 0, "NORTH"), evaluationNorth, nil)

	c.twice("FailCycle", func() error {
		return s.FailCycle(ctx, review.FailCycleInput{CycleID: c.id, Reason: "cancelled by the manager"})
	})
	cyc, err := s.Cycle(ctx, "ACME", 2025)
	if err != nil {
		t.Fatal(err)
	}
	if cyc.Status != review.CycleFailed || cyc.Phase != review.PhaseFailed || cyc.Reason != "cancelled by the manager" || cyc.CompletedAt == nil {
		t.Errorf("got cycle %+v, want failed with the reason", cyc)
	}
	tasks, err := s.Tasks(ctx, store.TaskFilter{Provider: "ACME", Status: "all"})
	if err != nil {
		t.Fatal(err)
	}
	statuses := map[string]string{}
	for _, task := range tasks {
		statuses[task.ID] = task.Status
	}
	if want := map[string]string{"ACME/2025/evaluate/NORTH": "done", "ACME/2025/consult/NORTH": "superseded"}; !maps.Equal(statuses, want) {
		t.Errorf("got task statuses %v, want %v", statuses, want)
	}
	if got := actions(t, s, c.id); got[store.ActionCycleFailed] != 1 || got[store.ActionTaskSuperseded] != 1 {
		t.Errorf("got audit actions %v, want one cycle.failed and one task.superseded", got)
	}

	_, err = s.OpenTasks(ctx, review.OpenTasksInput{CycleID: c.id, Phase: review.PhaseUpdate, Round: 1, Tasks: []review.TaskSpec{c.task(review.KindDraft, 1, "")}})
	wantKind(t, err, store.ErrCycleClosed, "failed")
	_, err = s.Publish(ctx, review.PublishInput{CycleID: c.id, Round: 1, EffectiveFrom: "2025-08-01", ApprovedBy: "acme.approver"})
	wantKind(t, err, store.ErrCycleClosed)
	_, err = s.SetupCycle(ctx, review.SetupCycleInput{CycleID: c.id, Provider: "ACME", Year: 2025})
	wantKind(t, err, store.ErrCycleClosed, "has already failed")
	err = s.CompleteTask(ctx, review.CompleteTaskInput{Task: c.task(review.KindConsult, 0, "NORTH"), Actor: "acme.rep.north", Outcome: json.RawMessage(consultationNorth)})
	wantKind(t, err, store.ErrTaskClosed, "superseded")
}

func TestPublishNeedsTheApprovedDraft(t *testing.T) {
	ctx := context.Background()
	s, db := imported(t, "ACME")
	c := newCycle(t, s, db, "ACME", 2025, review.Config{})
	left := c.task(review.KindConsult, 0, "SOUTH") // never completed
	c.open(review.PhaseEvaluate, 0, left)
	c.open(review.PhaseUpdate, 1, c.task(review.KindDraft, 1, ""))
	c.draft(1, round1Changes)
	in := review.PublishInput{CycleID: c.id, Provider: "ACME", Round: 1, Content: c.drafts[1], EffectiveFrom: "2025-08-01", ApprovedBy: "acme.approver"}

	_, err := s.Publish(ctx, in)
	wantKind(t, err, store.ErrInvalid, "no approval")

	c.open(review.PhaseApprove, 1, c.task(review.KindApprove, 1, ""))
	c.complete(c.task(review.KindApprove, 1, ""), `{"decision": "approve", "effective_from": "2025-08-01"}`, nil)
	other := in
	other.Content = c.setup.Baseline
	_, err = s.Publish(ctx, other)
	wantKind(t, err, store.ErrInvalid, "not the approved draft")
	bad := in
	bad.EffectiveFrom = "1.8.2025"
	_, err = s.Publish(ctx, bad)
	wantKind(t, err, store.ErrInvalid, "YYYY-MM-DD")

	if _, err := s.Publish(ctx, in); err != nil {
		t.Fatalf("publishing the approved draft: %v", err)
	}
	task, err := s.Task(ctx, left.ID)
	if err != nil {
		t.Fatal(err)
	}
	if task.Status != review.TaskSuperseded {
		t.Errorf("got the task left open %s after publishing, want superseded", task.Status)
	}
}

func TestConcurrentCompletions(t *testing.T) {
	ctx := context.Background()
	s, db := imported(t, "ACME")
	c := newCycle(t, s, db, "ACME", 2025, review.Config{})
	task := c.task(review.KindSignOff, 1, "NORTH")
	c.open(review.PhaseUpdate, 1, c.task(review.KindDraft, 1, ""))
	c.draft(1, round1Changes)
	c.open(review.PhaseSignOff, 1, task)

	// Two people hold unit_head in NORTH and both sign at once.
	org := dbtest.Org("ACME")
	org.People = append(org.People, store.OrgPerson{ID: "acme.deputy.north", Name: "Deputy head", Roles: []store.PersonRole{{Role: review.RoleUnitHead, Unit: "NORTH"}}})
	if _, err := s.ImportOrg(ctx, store.ActorOperator, org); err != nil {
		t.Fatal(err)
	}
	outcome := json.RawMessage(`{"decision": "approve", "version_hash": "` + c.drafts[1].Hash() + `"}`)
	actors := []string{"acme.head.north", "acme.deputy.north"}
	errs := make([]error, len(actors))
	var wg sync.WaitGroup
	for i, actor := range actors {
		wg.Go(func() {
			errs[i] = s.CompleteTask(ctx, review.CompleteTaskInput{Task: task, Actor: actor, Outcome: outcome})
		})
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, store.ErrTaskClosed):
			t.Errorf("got error %v, want nil or ErrTaskClosed", err)
		}
	}
	if ok != 1 {
		t.Errorf("got %d successful completions (%v), want exactly 1", ok, errs)
	}
	var n int
	if err := db.GetContext(ctx, &n, `SELECT count(*) FROM signoffs`); err != nil {
		t.Fatal(err)
	}
	if n != 1 || actions(t, s, c.id)[store.ActionTaskCompleted] != 2 { // the draft and one sign-off
		t.Errorf("got %d sign-offs and events %v, want 1 sign-off", n, actions(t, s, c.id))
	}
}
