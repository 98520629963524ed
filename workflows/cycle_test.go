package workflows_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/workflows"
)

const (
	provider = "TST"
	year     = 2026
)

var units = []review.Unit{{Code: "A", Name: "Unit A"}, {Code: "B", Name: "Unit B"}, {Code: "C", Name: "Unit C"}}

// cycleID is the workflow ID the test environment gives the parent workflow.
var cycleID = review.CycleID(provider, year)

// holder names the one person holding a task's role, as the fake OpenTasks
// activity reports it.
func holder(kind review.TaskKind, unit string) string {
	switch kind {
	case review.KindEvaluate:
		return "staff-" + strings.ToLower(unit)
	case review.KindConsult:
		return "rep-" + strings.ToLower(unit)
	case review.KindSignOff:
		return "head-" + strings.ToLower(unit)
	case review.KindDraft:
		return "editor"
	default:
		return "approver"
	}
}

// harness runs a ReviewCycle in the test environment with in-memory
// activities that record what the workflow asked to be written. Completions
// are sent one after another in the order the test schedules them.
type harness struct {
	t   *testing.T
	env *testsuite.TestWorkflowEnvironment

	mu         sync.Mutex
	completed  []review.CompleteTaskInput
	superseded []string
	published  []review.PublishInput
	failed     []review.FailCycleInput
	ops        []review.TaskOpInput
	deadlines  []review.DeadlineInput
	deadlineAt []time.Time
	start      time.Time
	cancelled  []review.CancelCycleInput

	clock   time.Duration
	results []*sent

	// setupErr and failErr, when set, are what SetupCycle and FailCycle return.
	setupErr, failErr error
}

// sent is one complete-task Update and what came of it.
type sent struct {
	desc     string
	updateID string
	wantErr  string
	err      error
	done     bool
}

func newHarness(t *testing.T, previousChanges []string) *harness {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	s.SetLogger(log.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))))
	h := &harness{t: t, env: s.NewTestWorkflowEnvironment()}
	h.start = h.env.Now()
	h.env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: cycleID})
	h.env.RegisterWorkflow(workflows.UnitReview)
	h.env.RegisterWorkflow(workflows.UnitSignOff)
	reg := func(name string, fn any) {
		h.env.RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: name})
	}
	reg(workflows.ActivitySetupCycle, func(_ context.Context, in review.SetupCycleInput) (review.CycleSetup, error) {
		if h.setupErr != nil {
			return review.CycleSetup{}, h.setupErr
		}
		return review.CycleSetup{
			Units:           units,
			Managers:        []string{"boss"},
			Baseline:        review.PlanContent{}.Reshape(review.DefaultSections),
			PreviousChanges: previousChanges,
		}, nil
	})
	reg(workflows.ActivityOpenTasks, func(_ context.Context, in review.OpenTasksInput) ([]review.OpenedTask, error) {
		out := make([]review.OpenedTask, len(in.Tasks))
		for i, spec := range in.Tasks {
			// Two people hold each role: the usual holder and a colleague.
			out[i] = review.OpenedTask{ID: spec.ID, Candidates: []string{holder(spec.Kind, spec.Unit), holder(spec.Kind, spec.Unit) + "2"}}
		}
		return out, nil
	})
	reg(workflows.ActivityCompleteTask, func(_ context.Context, in review.CompleteTaskInput) error {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.completed = append(h.completed, in)
		return nil
	})
	reg(workflows.ActivitySupersedeTasks, func(_ context.Context, in review.SupersedeTasksInput) error {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.superseded = append(h.superseded, in.TaskIDs...)
		return nil
	})
	reg(workflows.ActivityPublish, func(_ context.Context, in review.PublishInput) (review.Published, error) {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.published = append(h.published, in)
		return review.Published{Version: 1, Hash: in.Content.Hash()}, nil
	})
	reg(workflows.ActivityRecordTaskOp, func(_ context.Context, in review.TaskOpInput) error {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.ops = append(h.ops, in)
		return nil
	})
	reg(workflows.ActivityRecordDeadline, func(_ context.Context, in review.DeadlineInput) error {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.deadlines = append(h.deadlines, in)
		h.deadlineAt = append(h.deadlineAt, h.env.Now())
		return nil
	})
	reg(workflows.ActivityCancelCycle, func(_ context.Context, in review.CancelCycleInput) error {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.cancelled = append(h.cancelled, in)
		return nil
	})
	reg(workflows.ActivityFailCycle, func(_ context.Context, in review.FailCycleInput) error {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.failed = append(h.failed, in)
		return h.failErr
	})
	return h
}

// send schedules a complete-task Update a minute after the previous one.
// wantErr is empty when the Update must succeed, otherwise a part of the
// refusal message it must get.
func (h *harness) send(kind review.TaskKind, round int, unit, actor string, outcome any, wantErr string) {
	h.sendTo(review.TaskID(provider, year, kind, round, unit), workflowOf(kind, round, unit), actor, outcome, wantErr)
}

// workflowOf is the workflow that holds a task: a unit's evaluation and
// consultation are in its UnitReview, each unit's sign-off of a round in a
// UnitSignOff, the draft and the approval in the cycle's own.
func workflowOf(kind review.TaskKind, round int, unit string) string {
	switch kind {
	case review.KindEvaluate, review.KindConsult:
		return review.UnitReviewID(cycleID, unit)
	case review.KindSignOff:
		return review.SignOffWorkflowID(cycleID, unit, round)
	}
	return cycleID
}

func (h *harness) sendTo(taskID, workflowID, actor string, outcome any, wantErr string) {
	raw, ok := outcome.(json.RawMessage)
	if !ok {
		var err error
		raw, err = json.Marshal(outcome)
		if err != nil {
			h.t.Fatalf("encoding outcome: %v", err)
		}
	}
	h.update(fmt.Sprintf("%s by %s", taskID, actor), workflowID, workflows.UpdateCompleteTask,
		workflows.CompleteTaskRequest{TaskID: taskID, Actor: actor, Outcome: raw}, wantErr)
}

// update schedules any Update a minute after the previous one.
func (h *harness) update(desc, workflowID, name string, arg any, wantErr string) {
	s := &sent{desc: desc, wantErr: wantErr, updateID: fmt.Sprintf("update-%d", len(h.results))}
	h.results = append(h.results, s)
	h.clock += time.Minute
	h.env.RegisterDelayedCallback(func() {
		err := h.env.UpdateWorkflowByID(workflowID, name, s.updateID, &testsuite.TestUpdateCallback{
			OnAccept:   func() {},
			OnReject:   func(err error) { s.err, s.done = err, true },
			OnComplete: func(_ any, err error) { s.err, s.done = err, true },
		}, arg)
		if err != nil {
			s.err, s.done = err, true
		}
	}, h.clock)
}

// change schedules a change-task Update.
func (h *harness) change(req workflows.ChangeTaskRequest, workflowID, wantErr string) {
	h.update(fmt.Sprintf("%s %s by %s", req.Op, req.TaskID, req.Actor), workflowID, workflows.UpdateChangeTask, req, wantErr)
}

// wait moves the harness clock, so the next Update is sent d later.
func (h *harness) wait(d time.Duration) { h.clock += d }

// run executes the cycle and checks every Update came out as scheduled.
func (h *harness) run(cfg review.Config) {
	h.t.Helper()
	h.env.ExecuteWorkflow(workflows.ReviewCycle, workflows.CycleInput{Provider: provider, Year: year, Config: cfg})
	if !h.env.IsWorkflowCompleted() {
		h.t.Fatalf("workflow did not complete")
	}
	for _, s := range h.results {
		switch {
		case !s.done:
			h.t.Errorf("%s: the update never finished", s.desc)
		case s.wantErr == "" && s.err != nil:
			h.t.Errorf("%s: got error %q, want success", s.desc, s.err)
		case s.wantErr != "" && s.err == nil:
			h.t.Errorf("%s: succeeded, want refusal containing %q", s.desc, s.wantErr)
		case s.wantErr != "" && !strings.Contains(s.err.Error(), s.wantErr):
			h.t.Errorf("%s: got refusal %q, want it to contain %q", s.desc, s.err, s.wantErr)
		}
	}
}

func evaluation(unit string) map[string]any {
	return map[string]any{
		"indicators": []map[string]any{{"name": "Wellbeing survey score", "value": 3.6, "target": 4.0, "unit": "1-5"}},
		"findings": []map[string]any{
			{"id": "F1", "section": "communal", "severity": "major", "text": "Break-time supervision in " + unit + " is thin", "recommendation": "Add supervisors"},
			{"id": "F2", "section": "monitoring", "severity": "minor", "text": "Indicators are collected late"},
		},
	}
}

func consultation() map[string]any {
	return map[string]any{
		"method": "council", "participants": 12, "held_on": "2026-03-04",
		"feedback": []map[string]any{{"id": "S1", "section": "individual", "text": "Counsellor hours are hard to find"}},
	}
}

// changes is the draft every test submits, and content what it makes of the
// default sections.
var changes = []review.Change{
	{ID: "C1", Section: "communal", Text: "Every break has two supervisors.", Rationale: "Major findings on supervision", Addresses: []string{"A/F1", "B/F1", "C/F1"}},
	{ID: "C2", Section: "individual", Text: "Counsellor hours are posted on every unit's notice board.", Rationale: "Students could not find them", Addresses: []string{"A/S1", "B/S1"}},
}

func draft() map[string]any {
	return map[string]any{
		"changes": changes,
		"dispositions": []map[string]any{
			{"item": "A/F1", "decision": "addressed", "change": "C1"},
			{"item": "B/F1", "decision": "addressed", "change": "C1"},
			{"item": "C/F1", "decision": "addressed", "change": "C1"},
			{"item": "A/S1", "decision": "addressed", "change": "C2"},
			{"item": "B/S1", "decision": "addressed", "change": "C2"},
			{"item": "C/S1", "decision": "deferred", "reason": "Unit C moves to new premises next year"},
		},
	}
}

func draftHash() string {
	return review.PlanContent{}.Reshape(review.DefaultSections).Apply(changes).Hash()
}

func signOff(decision, comment string) map[string]any {
	return map[string]any{"decision": decision, "comment": comment, "version_hash": draftHash()}
}

func approval(decision, comment string) map[string]any {
	out := map[string]any{"decision": decision, "comment": comment}
	if decision == review.DecisionApprove {
		out["effective_from"] = "2026-08-01"
	}
	return out
}

// evaluateAll completes every unit's evaluation and consultation.
func (h *harness) evaluateAll() {
	for _, u := range units {
		h.send(review.KindEvaluate, 0, u.Code, holder(review.KindEvaluate, u.Code), evaluation(u.Code), "")
		h.send(review.KindConsult, 0, u.Code, holder(review.KindConsult, u.Code), consultation(), "")
	}
}

func (h *harness) draftRound(round int) {
	h.send(review.KindDraft, round, "", "editor", draft(), "")
}

func (h *harness) signAll(round int) {
	for _, u := range units {
		h.send(review.KindSignOff, round, u.Code, holder(review.KindSignOff, u.Code), signOff(review.DecisionApprove, ""), "")
	}
}

func (h *harness) summary() workflows.Summary {
	h.t.Helper()
	if err := h.env.GetWorkflowError(); err != nil {
		h.t.Fatalf("workflow failed: %v", err)
	}
	var s workflows.Summary
	if err := h.env.GetWorkflowResult(&s); err != nil {
		h.t.Fatalf("reading result: %v", err)
	}
	return s
}

func (h *harness) kinds() map[review.TaskKind]int {
	out := map[review.TaskKind]int{}
	for _, c := range h.completed {
		out[c.Task.Kind]++
	}
	return out
}

func TestReviewCycleHappyPath(t *testing.T) {
	h := newHarness(t, nil)
	h.evaluateAll()
	h.draftRound(1)
	var during, unitA review.Progress
	h.clock += time.Minute
	h.env.RegisterDelayedCallback(func() {
		v, err := h.env.QueryWorkflow(workflows.QueryStatus)
		if err != nil {
			t.Errorf("status query: %v", err)
			return
		}
		if err := v.Get(&during); err != nil {
			t.Errorf("decoding status: %v", err)
		}
		v, err = h.env.QueryWorkflowByID(review.SignOffWorkflowID(cycleID, "A", 1), workflows.QueryStatus)
		if err != nil {
			t.Errorf("status query of unit A's sign-off: %v", err)
			return
		}
		if err := v.Get(&unitA); err != nil {
			t.Errorf("decoding status: %v", err)
		}
	}, h.clock)
	h.signAll(1)
	h.send(review.KindApprove, 1, "", "approver", approval(review.DecisionApprove, ""), "")
	h.run(review.Config{})

	if during.Phase != review.PhaseSignOff || during.Round != 1 || during.Status != review.CycleRunning {
		t.Errorf("status during sign-off: got phase %s round %d status %s, want signoff 1 running", during.Phase, during.Round, during.Status)
	}
	if fmt.Sprint(during.Units) != "[{A signoff} {B signoff} {C signoff}]" {
		t.Errorf("unit phases during sign-off: got %v", during.Units)
	}
	var open []string
	for _, ts := range during.Tasks {
		if ts.Status == review.TaskOpen {
			open = append(open, ts.ID+" "+ts.Holder)
		}
	}
	if want := "[TST/2026/signoff/r1/A unit_head@A TST/2026/signoff/r1/B unit_head@B TST/2026/signoff/r1/C unit_head@C]"; fmt.Sprint(open) != want {
		t.Errorf("open tasks during sign-off: got %v, want %s", open, want)
	}

	if len(unitA.Tasks) != 1 || unitA.Tasks[0].ID != "TST/2026/signoff/r1/A" || unitA.Tasks[0].Status != review.TaskOpen ||
		unitA.Tasks[0].Holder != "unit_head@A" || unitA.Round != 1 || fmt.Sprint(unitA.Units) != "[{A signoff}]" {
		t.Errorf("status of unit A's sign-off workflow: got %+v", unitA)
	}

	got := h.summary()
	want := workflows.Summary{Provider: provider, Year: year, Status: review.CycleCompleted, Version: 1, Hash: draftHash(), EffectiveFrom: "2026-08-01", Rounds: 1}
	if got != want {
		t.Errorf("summary: got %+v, want %+v", got, want)
	}
	wantKinds := map[review.TaskKind]int{"evaluate": 3, "consult": 3, "draft": 1, "signoff": 3, "approve": 1}
	if fmt.Sprint(h.kinds()) != fmt.Sprint(wantKinds) {
		t.Errorf("completed tasks: got %v, want %v", h.kinds(), wantKinds)
	}
	if len(h.published) != 1 || h.published[0].Content.Hash() != draftHash() || h.published[0].ApprovedBy != "approver" {
		t.Errorf("published: got %+v, want one publication of the draft approved by approver", h.published)
	}
	for _, c := range h.completed {
		if c.Task.Kind == review.KindDraft && (c.Draft == nil || c.Draft.Hash() != draftHash()) {
			t.Errorf("draft completion carries content %+v, want the applied changes", c.Draft)
		}
		if c.Task.DueAt.IsZero() {
			t.Errorf("task %s has no due time", c.Task.ID)
		}
	}
	if len(h.failed) != 0 {
		t.Errorf("FailCycle called: %+v", h.failed)
	}
}

func TestReviewCycleChangesRequestedThenApproved(t *testing.T) {
	h := newHarness(t, nil)
	h.evaluateAll()
	h.draftRound(1)
	h.send(review.KindSignOff, 1, "A", "head-a", signOff(review.DecisionApprove, ""), "")
	h.send(review.KindSignOff, 1, "B", "head-b", signOff(review.DecisionRequestChanges, "Name the supervisors' rota owner"), "")
	// The third unit's sign-off was closed when B asked for changes, and
	// its workflow ended (the service tells the person from the task's
	// record that it was superseded).
	h.send(review.KindSignOff, 1, "C", "head-c", signOff(review.DecisionApprove, ""), "already completed")
	h.draftRound(2)
	h.signAll(2)
	h.send(review.KindApprove, 2, "", "approver", approval(review.DecisionApprove, ""), "")
	h.run(review.Config{})

	if got := h.summary().Rounds; got != 2 {
		t.Errorf("rounds: got %d, want 2", got)
	}
	wantSuperseded := []string{review.TaskID(provider, year, review.KindSignOff, 1, "C")}
	if fmt.Sprint(h.superseded) != fmt.Sprint(wantSuperseded) {
		t.Errorf("superseded: got %v, want %v", h.superseded, wantSuperseded)
	}
	wantKinds := map[review.TaskKind]int{"evaluate": 3, "consult": 3, "draft": 2, "signoff": 5, "approve": 1}
	if fmt.Sprint(h.kinds()) != fmt.Sprint(wantKinds) {
		t.Errorf("completed tasks: got %v, want %v", h.kinds(), wantKinds)
	}
	var round2 review.DraftInput
	for _, c := range h.completed {
		if c.Task.Kind == review.KindDraft && c.Task.Round == 2 {
			if err := json.Unmarshal(c.Task.Input, &round2); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(round2.Comments) != 1 || round2.Comments[0].Unit != "B" || round2.Comments[0].By != "head-b" {
		t.Errorf("round 2 draft comments: got %+v, want B's request", round2.Comments)
	}
}

func TestReviewCycleApprovalReturned(t *testing.T) {
	h := newHarness(t, nil)
	h.evaluateAll()
	h.draftRound(1)
	h.signAll(1)
	h.send(review.KindApprove, 1, "", "approver", approval(review.DecisionReturn, "Cite the welfare act section"), "")
	h.draftRound(2)
	h.signAll(2)
	h.send(review.KindApprove, 2, "", "approver", approval(review.DecisionApprove, ""), "")
	h.run(review.Config{})

	if got := h.summary(); got.Rounds != 2 || got.Version != 1 {
		t.Errorf("summary: got %+v, want version 1 after 2 rounds", got)
	}
	if len(h.published) != 1 || h.published[0].Round != 2 {
		t.Errorf("published: got %+v, want one publication in round 2", h.published)
	}
}

func TestReviewCycleTooManyRounds(t *testing.T) {
	h := newHarness(t, nil)
	h.evaluateAll()
	for round := 1; round <= 2; round++ {
		h.draftRound(round)
		h.send(review.KindSignOff, round, "A", "head-a", signOff(review.DecisionRequestChanges, "Not yet"), "")
	}
	h.run(review.Config{MaxRounds: 2})

	err := h.env.GetWorkflowError()
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != workflows.ErrTypeTooManyRounds {
		t.Fatalf("workflow error: got %v, want %s", err, workflows.ErrTypeTooManyRounds)
	}
	if !strings.Contains(appErr.Message(), "no plan was approved within 2 rounds") {
		t.Errorf("reason: got %q", appErr.Message())
	}
	if len(h.failed) != 1 || !strings.Contains(h.failed[0].Reason, "within 2 rounds") {
		t.Errorf("FailCycle: got %+v, want one call with the reason", h.failed)
	}
	if len(h.published) != 0 {
		t.Errorf("published %+v, want nothing", h.published)
	}
}

// TestReviewCycleSetupRefused shows a cycle whose provider is not ready
// failing with the store's reason, and passing FailCycle what it was started
// with, so that the store can record the cycle that never was (the harness's
// store refuses, as one whose provider is gone would), even though there is no cycle row in
// which to record the failure.
func TestReviewCycleSetupRefused(t *testing.T) {
	h := newHarness(t, nil)
	h.setupErr = temporal.NewNonRetryableApplicationError(`unit NORTH has no student_rep`, "NotReady", nil)
	h.failErr = temporal.NewNonRetryableApplicationError(`cycle "review-cycle/TST/2026" is not recorded`, "NotFound", nil)
	h.run(review.Config{})

	err := h.env.GetWorkflowError()
	if err == nil || !strings.Contains(err.Error(), "unit NORTH has no student_rep") {
		t.Fatalf("workflow error: got %v, want the setup refusal", err)
	}
	if len(h.failed) != 1 || h.failed[0].Reason != "unit NORTH has no student_rep" ||
		h.failed[0].Cycle == nil || h.failed[0].Cycle.CycleID != h.failed[0].CycleID || h.failed[0].Cycle.Provider == "" {
		t.Errorf("FailCycle: got %+v, want one call with the setup reason and what the cycle was started with", h.failed)
	}
}

// TestUnitReviewStatus queries a unit's child between its two tasks.
func TestUnitReviewStatus(t *testing.T) {
	h := newHarness(t, nil)
	h.send(review.KindEvaluate, 0, "A", "staff-a", evaluation("A"), "")
	var got review.Progress
	h.clock += time.Minute
	h.env.RegisterDelayedCallback(func() {
		v, err := h.env.QueryWorkflowByID(review.UnitReviewID(cycleID, "A"), workflows.QueryStatus)
		if err != nil {
			t.Errorf("status query: %v", err)
			return
		}
		if err := v.Get(&got); err != nil {
			t.Errorf("decoding status: %v", err)
		}
	}, h.clock)
	h.send(review.KindConsult, 0, "A", "rep-a", consultation(), "")
	for _, u := range []string{"B", "C"} {
		h.send(review.KindEvaluate, 0, u, holder(review.KindEvaluate, u), evaluation(u), "")
		h.send(review.KindConsult, 0, u, holder(review.KindConsult, u), consultation(), "")
	}
	h.draftRound(1)
	h.signAll(1)
	h.send(review.KindApprove, 1, "", "approver", approval(review.DecisionApprove, ""), "")
	h.run(review.Config{})

	if got.WorkflowID != review.UnitReviewID(cycleID, "A") || fmt.Sprint(got.Units) != "[{A evaluate}]" {
		t.Errorf("unit status: got %+v, want unit A's child evaluating", got)
	}
	var states []string
	for _, ts := range got.Tasks {
		states = append(states, string(ts.Kind)+" "+ts.Status)
	}
	if fmt.Sprint(states) != "[evaluate done consult open]" {
		t.Errorf("unit tasks: got %v, want evaluate done and consult open", states)
	}
}
