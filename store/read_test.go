package store_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"

	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/store"
)

func unitPhases(t *testing.T, s *store.Store) map[string]string {
	t.Helper()
	st, err := s.CycleStatus(context.Background(), "ACME", 2025)
	if err != nil {
		t.Fatal(err)
	}
	phases := map[string]string{}
	for _, u := range st.Units {
		phases[u.Unit] = u.Phase
	}
	return phases
}

func wantPhases(t *testing.T, s *store.Store, when string, want map[string]string) {
	t.Helper()
	got := unitPhases(t, s)
	if len(got) != len(want) {
		t.Errorf("%s: got unit phases %v, want %v", when, got, want)
	}
	for unit, phase := range want {
		if got[unit] != phase {
			t.Errorf("%s: got unit phases %v, want %v", when, got, want)
			return
		}
	}
}

func TestCycleStatus(t *testing.T) {
	ctx := context.Background()
	s, db := imported(t, "ACME")
	_, err := s.CycleStatus(ctx, "ACME", 2025)
	wantKind(t, err, store.ErrNotFound, "ACME has no cycle for 2025")

	c := newCycle(t, s, db, "ACME", 2025, review.Config{})
	wantPhases(t, s, "before any task", map[string]string{"NORTH": "evaluate", "SOUTH": "evaluate"})

	c.open(review.PhaseEvaluate, 0,
		c.task(review.KindEvaluate, 0, "NORTH"), c.task(review.KindConsult, 0, "NORTH"),
		c.task(review.KindEvaluate, 0, "SOUTH"), c.task(review.KindConsult, 0, "SOUTH"))
	c.complete(c.task(review.KindEvaluate, 0, "NORTH"), evaluationNorth, nil)
	wantPhases(t, s, "NORTH half done", map[string]string{"NORTH": "evaluate", "SOUTH": "evaluate"})
	c.complete(c.task(review.KindConsult, 0, "NORTH"), consultationNorth, nil)
	wantPhases(t, s, "NORTH done", map[string]string{"NORTH": "waiting", "SOUTH": "evaluate"})

	st, err := s.CycleStatus(ctx, "ACME", 2025)
	if err != nil {
		t.Fatal(err)
	}
	if st.WorkflowID != c.id || st.Status != review.CycleRunning || st.Phase != review.PhaseEvaluate || st.Round != 0 || st.Provider != "ACME" || st.Year != 2025 {
		t.Errorf("got status %+v, want running ACME 2025 in evaluate round 0", st)
	}
	want := []review.TaskProgress{
		{ID: "ACME/2025/consult/NORTH", Kind: review.KindConsult, Unit: "NORTH", Holder: "student_rep@NORTH", Status: "done", DueAt: due},
		{ID: "ACME/2025/consult/SOUTH", Kind: review.KindConsult, Unit: "SOUTH", Holder: "student_rep@SOUTH", Status: "open", DueAt: due},
		{ID: "ACME/2025/evaluate/NORTH", Kind: review.KindEvaluate, Unit: "NORTH", Holder: "welfare_staff@NORTH", Status: "done", DueAt: due},
		{ID: "ACME/2025/evaluate/SOUTH", Kind: review.KindEvaluate, Unit: "SOUTH", Holder: "welfare_staff@SOUTH", Status: "open", DueAt: due},
	}
	if !equalTasks(st.Tasks, want) {
		t.Errorf("got tasks %+v, want %+v", st.Tasks, want)
	}

	mine, err := s.Tasks(ctx, store.TaskFilter{Assignee: "acme.nurse.south"})
	if err != nil {
		t.Fatal(err)
	}
	if len(mine) != 1 || mine[0].ID != "ACME/2025/evaluate/SOUTH" || mine[0].Pool != "welfare_staff@SOUTH" {
		t.Errorf("got open tasks of acme.nurse.south %+v, want the SOUTH evaluation", mine)
	}

	c.complete(c.task(review.KindEvaluate, 0, "SOUTH"), evaluationSouth, nil)
	c.complete(c.task(review.KindConsult, 0, "SOUTH"), consultationSouth, nil)
	c.open(review.PhaseUpdate, 1, c.task(review.KindDraft, 1, ""))
	wantPhases(t, s, "drafting", map[string]string{"NORTH": "waiting", "SOUTH": "waiting"})
	c.draft(1, round1Changes)
	c.open(review.PhaseSignOff, 1, c.task(review.KindSignOff, 1, "NORTH"), c.task(review.KindSignOff, 1, "SOUTH"))
	wantPhases(t, s, "signing off", map[string]string{"NORTH": "signoff", "SOUTH": "signoff"})
	c.signOff(1, "SOUTH", review.DecisionApprove, "")
	wantPhases(t, s, "SOUTH signed", map[string]string{"NORTH": "signoff", "SOUTH": "waiting"})

	if err := s.FailCycle(ctx, review.FailCycleInput{CycleID: c.id, Reason: "cancelled"}); err != nil {
		t.Fatal(err)
	}
	wantPhases(t, s, "failed", map[string]string{"NORTH": "failed", "SOUTH": "failed"})
}

func equalTasks(got, want []review.TaskProgress) bool {
	return slices.EqualFunc(got, want, func(a, b review.TaskProgress) bool {
		return a.ID == b.ID && a.Kind == b.Kind && a.Unit == b.Unit && a.Holder == b.Holder && a.Status == b.Status && a.DueAt.Equal(b.DueAt)
	})
}

func TestReadsOfAPublishedCycle(t *testing.T) {
	ctx := context.Background()
	s, db := imported(t, "ACME", "BETA")
	c := newCycle(t, s, db, "ACME", 2025, review.Config{})
	pub := c.run(round1Changes, round2Changes)

	wantPhases(t, s, "published", map[string]string{"NORTH": "done", "SOUTH": "done"})

	t.Run("Tasks", func(t *testing.T) {
		ids := func(f store.TaskFilter) []string {
			t.Helper()
			tasks, err := s.Tasks(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			out := []string{}
			for _, task := range tasks {
				out = append(out, task.ID)
			}
			return out
		}
		tests := []struct {
			filter store.TaskFilter
			want   []string
		}{
			{store.TaskFilter{}, []string{}},
			{store.TaskFilter{Assignee: "acme.head.north", Status: "all"}, []string{"ACME/2025/signoff/r1/NORTH", "ACME/2025/signoff/r2/NORTH"}},
			{store.TaskFilter{Assignee: "acme.editor", Status: "done"}, []string{"ACME/2025/draft/r1", "ACME/2025/draft/r2"}},
			{store.TaskFilter{Assignee: "acme.head.south", Status: "done", Provider: "ACME", Year: 2025}, []string{"ACME/2025/signoff/r1/SOUTH", "ACME/2025/signoff/r2/SOUTH"}},
			{store.TaskFilter{Assignee: "beta.head.north", Status: "all"}, []string{}},
			{store.TaskFilter{Provider: "ACME", Year: 2024, Status: "all"}, []string{}},
			{store.TaskFilter{Provider: "BETA", Status: "all"}, []string{}},
		}
		for _, tt := range tests {
			if got := ids(tt.filter); !slices.Equal(got, tt.want) {
				t.Errorf("Tasks(%+v) = %v, want %v", tt.filter, got, tt.want)
			}
		}
		if got := len(ids(store.TaskFilter{Status: "done"})); got != 11 {
			t.Errorf("got %d done or superseded tasks, want 11", got)
		}
		_, err := s.Tasks(ctx, store.TaskFilter{Status: "closed"})
		wantKind(t, err, store.ErrInvalid, `"closed" is not one of open, done, all`)
	})

	t.Run("Task", func(t *testing.T) {
		task, err := s.Task(ctx, "ACME/2025/signoff/r1/NORTH")
		if err != nil {
			t.Fatal(err)
		}
		if task.WorkflowID != c.id || task.CycleID != c.id || task.Provider != "ACME" || task.Year != 2025 || task.Round != 1 ||
			task.Kind != review.KindSignOff || task.Role != review.RoleUnitHead || task.Pool != "unit_head@NORTH" ||
			task.Status != "done" || !task.DueAt.Equal(due.AddDate(0, 0, 1)) || task.CompletedBy != "acme.head.north" || task.CompletedAt == nil ||
			!slices.Equal(task.Candidates, []string{"acme.head.north"}) {
			t.Errorf("got task %+v", task)
		}
		var input struct{ Hash string }
		if err := json.Unmarshal(task.Input, &input); err != nil || input.Hash != c.drafts[1].Hash() {
			t.Errorf("got input %s, want the round 1 hash", task.Input)
		}
		if d := task.Draft; d == nil || d.Round != 1 || d.VersionHash != c.drafts[1].Hash() || d.Content.Hash() != d.VersionHash || len(d.Changes) == 0 {
			t.Errorf("got draft %+v, want the round 1 draft with its changes and hash", task.Draft)
		}
		var outcome review.SignOff
		if err := review.DecodeOutcome(task.Outcome, &outcome); err != nil || outcome.Decision != review.DecisionRequestChanges {
			t.Errorf("got outcome %s (%v), want the request for changes", task.Outcome, err)
		}
		if spec := task.Spec(); spec.ID != task.ID || spec.Kind != task.Kind || spec.Unit != "NORTH" || spec.Round != 1 {
			t.Errorf("got spec %+v of task %+v", spec, task)
		}
		_, err = s.Task(ctx, "ACME/2025/signoff/r9/NORTH")
		wantKind(t, err, store.ErrNotFound, "ACME/2025/signoff/r9/NORTH")
	})

	t.Run("CycleReport", func(t *testing.T) {
		r, err := s.CycleReport(ctx, "ACME", 2025)
		if err != nil {
			t.Fatal(err)
		}
		if r.Cycle.ID != c.id || r.Cycle.Status != review.CycleCompleted {
			t.Errorf("got cycle %+v, want %s completed", r.Cycle, c.id)
		}
		if r.Version == nil || *r.Version != (store.ReportVersion{Number: 1, Hash: pub.Hash, EffectiveFrom: "2025-08-01"}) {
			t.Errorf("got version %+v, want 1 %s effective 2025-08-01", r.Version, pub.Hash)
		}
		if want := []store.UnitTasks{{Unit: "", Done: 3}, {Unit: "NORTH", Done: 4}, {Unit: "SOUTH", Done: 3}}; !slices.Equal(r.TasksDone, want) {
			t.Errorf("got tasks done %+v, want %+v", r.TasksDone, want)
		}
		want := store.Counts{Rounds: 2, Indicators: 3, Findings: 3, MajorFindings: 1, Consultations: 2, Participants: 226,
			FeedbackItems: 3, Changes: 3, SignOffs: 3, Approvals: 1}
		if r.Counts != want {
			t.Errorf("got counts %+v, want %+v", r.Counts, want)
		}
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		var flat map[string]any
		if err := json.Unmarshal(b, &flat); err != nil || flat["feedback_items"] != 3.0 || flat["tasks_done"] == nil {
			t.Errorf("got report JSON %s, want snake_case fields at the top", b)
		}
	})

	t.Run("Cycles", func(t *testing.T) {
		cycles, err := s.Cycles(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(cycles) != 1 || cycles[0].ID != c.id || string(cycles[0].Config) == "" {
			t.Errorf("got cycles %+v, want the one of ACME 2025 with its config", cycles)
		}
		for provider, want := range map[string]int{"ACME": 1, "OTHER": 0} {
			if cycles, err := s.Cycles(ctx, provider); err != nil || len(cycles) != want {
				t.Errorf("Cycles(%s): got %d cycles (%v), want %d", provider, len(cycles), err, want)
			}
		}
	})

	t.Run("Events", func(t *testing.T) {
		events, err := s.Events(ctx, c.id)
		if err != nil {
			t.Fatal(err)
		}
		last := events[len(events)-1]
		if last.Action != store.ActionPlanPublished || last.Actor != "acme.approver" || last.Subject != "plan/ACME/v1" || last.CycleID != c.id {
			t.Errorf("got last event %+v, want plan.published by acme.approver", last)
		}
		for _, e := range events {
			if e.Action == store.ActionTaskCompleted && e.Subject == "ACME/2025/consult/NORTH" {
				if e.Actor != "acme.rep.north" || !json.Valid(e.Payload) {
					t.Errorf("got event %+v, want the rep's completion with the outcome", e)
				}
			}
		}
	})
}
