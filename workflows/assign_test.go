package workflows_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/workflows"
)

const day = 24 * time.Hour

// deadlineCfg keeps the draft open ten days, reminds three days before and
// every two days once overdue.
var deadlineCfg = review.Config{
	Phases:    review.PhaseDurations{Update: review.Duration(10 * day)},
	Reminders: review.Reminders{Before: review.Duration(3 * day), Every: review.Duration(2 * day)},
}

// events lists the deadline events recorded for a task as seq:event@day,
// the day counted from the start of the cycle.
func (h *harness) events(taskID string) []string {
	var out []string
	for i, d := range h.deadlines {
		if d.Task.ID == taskID {
			out = append(out, fmt.Sprintf("%d:%s@%d", d.Seq, d.Event, int(h.deadlineAt[i].Sub(h.start)/day)))
		}
	}
	return out
}

func TestDeadlineReminderOverdueAndRepeatedEscalation(t *testing.T) {
	h := newHarness(t, nil)
	h.evaluateAll() // the draft opens a few minutes in
	h.wait(15 * day)
	h.draftRound(1)
	h.signAll(1)
	h.send(review.KindApprove, 1, "", "approver", approval(review.DecisionApprove, ""), "")
	h.run(deadlineCfg)
	h.summary()

	// Due at day 10: reminder at 7, overdue at 10, again at 12 and 14; done at 15.
	draftID := review.TaskID(provider, year, review.KindDraft, 1, "")
	want := "[1:reminder@7 2:overdue@10 3:overdue_reminder@12 4:overdue_reminder@14]"
	if got := fmt.Sprint(h.events(draftID)); got != want {
		t.Errorf("deadline events of the draft: got %s, want %s", got, want)
	}
	for _, d := range h.deadlines {
		if d.Task.ID != draftID {
			t.Errorf("deadline event for %s (%s), want none: it was done in minutes", d.Task.ID, d.Event)
		}
	}
}

func TestExtendMovesTheTimers(t *testing.T) {
	h := newHarness(t, nil)
	h.evaluateAll()
	draftID := review.TaskID(provider, year, review.KindDraft, 1, "")
	start := h.start
	h.wait(5 * day)
	newDue := start.Add(20 * day)
	h.change(workflows.ChangeTaskRequest{TaskID: draftID, Op: review.OpExtend, Actor: "editor", DueAt: newDue, Reason: "x"}, cycleID, "only the provider's managers may")
	h.change(workflows.ChangeTaskRequest{TaskID: draftID, Op: review.OpExtend, Actor: "boss", DueAt: newDue}, cycleID, "extend needs a reason")
	h.change(workflows.ChangeTaskRequest{TaskID: draftID, Op: review.OpExtend, Actor: "boss", DueAt: start.Add(day), Reason: "x"}, cycleID, "is not later than the current one")
	h.change(workflows.ChangeTaskRequest{TaskID: draftID, Op: review.OpExtend, Actor: "boss", DueAt: newDue, Reason: "Editor on sick leave"}, cycleID, "")
	h.wait(13 * day) // day 18: after the new reminder (day 17), before the new due time
	h.draftRound(1)
	h.signAll(1)
	h.send(review.KindApprove, 1, "", "approver", approval(review.DecisionApprove, ""), "")
	h.run(deadlineCfg)
	h.summary()

	if got := fmt.Sprint(h.events(draftID)); got != "[1:reminder@17]" {
		t.Errorf("deadline events after the extension: got %s, want one reminder (the day-7 reminder and day-10 overdue moved)", got)
	}
	for _, d := range h.deadlines {
		if d.Task.ID == draftID && !d.Task.DueAt.Equal(newDue.UTC()) {
			t.Errorf("reminder names due time %s, want the extended %s", d.Task.DueAt, newDue)
		}
	}
	if len(h.ops) != 1 || h.ops[0].Op != review.OpExtend || h.ops[0].Actor != "boss" || h.ops[0].Reason != "Editor on sick leave" || h.ops[0].Seq != 1 {
		t.Errorf("recorded operations: got %+v, want one extension by boss with its reason", h.ops)
	}
}

func TestClaimDelegateReassignChangeWhoMayComplete(t *testing.T) {
	h := newHarness(t, nil)
	evalA := review.TaskID(provider, year, review.KindEvaluate, 0, "A")
	consA := review.TaskID(provider, year, review.KindConsult, 0, "A")
	unitA := review.UnitReviewID(cycleID, "A")
	op := func(taskID string, o review.TaskOp, actor, to, reason, wantErr string) {
		h.change(workflows.ChangeTaskRequest{TaskID: taskID, Op: o, Actor: actor, To: to, Reason: reason}, unitA, wantErr)
	}

	// Claim: only holders of the role, only while it is offered.
	op(evalA, review.OpClaim, "rep-a", "", "", "it is offered to the welfare_staff of unit A, a role they do not hold")
	op(evalA, review.OpClaim, "staff-a", "", "", "")
	op(evalA, review.OpClaim, "staff-a2", "", "", "it is already assigned to staff-a")
	h.send(review.KindEvaluate, 0, "A", "staff-a2", evaluation("A"), `"staff-a2" may not complete task TST/2026/evaluate/A: it is assigned to staff-a`)
	op(evalA, review.OpUnclaim, "staff-a2", "", "", "only they or a manager may give it back")
	// Delegate: to a colleague in the same role only.
	op(evalA, review.OpDelegate, "staff-a", "rep-a", "", `"rep-a" cannot take task TST/2026/evaluate/A: only people holding the welfare_staff role in unit A can`)
	op(evalA, review.OpDelegate, "staff-a", "staff-a2", "On leave next week", "")
	h.send(review.KindEvaluate, 0, "A", "staff-a", evaluation("A"), "it is assigned to staff-a2")
	h.send(review.KindEvaluate, 0, "A", "staff-a2", evaluation("A"), "")
	op(evalA, review.OpClaim, "staff-a", "", "", "is already done")

	// Reassign: managers only, with a reason, to anyone.
	op(consA, review.OpReassign, "rep-a", "sub-a", "x", "only the provider's managers may")
	op(consA, review.OpReassign, "boss", "sub-a", " ", "reassign needs a reason")
	op(consA, review.OpReassign, "boss", "sub-a", "Student council re-elected", "")
	op("TST/2026/consult/Z", review.OpClaim, "rep-a", "", "", "there is no open task")
	op(consA, "steal", "boss", "", "", `"steal" is not a task operation`)
	h.send(review.KindConsult, 0, "A", "rep-a", consultation(), "it is assigned to sub-a")
	h.send(review.KindConsult, 0, "A", "sub-a", consultation(), "")

	for _, u := range []string{"B", "C"} {
		h.send(review.KindEvaluate, 0, u, holder(review.KindEvaluate, u), evaluation(u), "")
		h.send(review.KindConsult, 0, u, holder(review.KindConsult, u), consultation(), "")
	}
	h.draftRound(1)
	h.signAll(1)
	h.send(review.KindApprove, 1, "", "approver", approval(review.DecisionApprove, ""), "")
	h.run(review.Config{})
	h.summary()

	var got []string
	for _, o := range h.ops {
		got = append(got, fmt.Sprintf("%s %s by %s -> %q", o.Op, o.Task.ID, o.Actor, o.Assignee))
	}
	want := []string{
		`claim TST/2026/evaluate/A by staff-a -> "staff-a"`,
		`delegate TST/2026/evaluate/A by staff-a -> "staff-a2"`,
		`reassign TST/2026/consult/A by boss -> "sub-a"`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("recorded operations:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestCancelCycle(t *testing.T) {
	h := newHarness(t, nil)
	h.send(review.KindEvaluate, 0, "A", "staff-a", evaluation("A"), "")
	cancel := func(actor, reason, wantErr string) {
		h.update("cancel by "+actor, cycleID, workflows.UpdateCancelCycle, workflows.CancelCycleRequest{Actor: actor, Reason: reason}, wantErr)
	}
	cancel("staff-a", "x", `"staff-a" may not cancel the cycle: only the provider's managers may`)
	cancel("boss", "", "cancel needs a reason")
	cancel("boss", "Merged with the 2026 quality audit", "")
	h.run(review.Config{})

	got := h.summary()
	if got.Status != review.CycleCancelled || got.Reason != "Merged with the 2026 quality audit" {
		t.Errorf("summary: got %+v, want cancelled with the reason", got)
	}
	if len(h.cancelled) != 1 || h.cancelled[0].Actor != "boss" || h.cancelled[0].CycleID != cycleID {
		t.Errorf("CancelCycle: got %+v, want one call by boss", h.cancelled)
	}
	if len(h.failed) != 0 || len(h.published) != 0 {
		t.Errorf("a cancelled cycle failed (%+v) or published (%+v)", h.failed, h.published)
	}
	for _, u := range []string{"A", "B", "C"} {
		if err := h.env.GetWorkflowErrorByID(review.UnitReviewID(cycleID, u)); err == nil || !strings.Contains(err.Error(), "canceled") {
			t.Errorf("unit %s's child: got %v, want it cancelled", u, err)
		}
	}
}

// TestCancelCycleDuringSignOff cancels a cycle while two of its units'
// sign-offs are still open in their own workflows: those are cancelled
// with the cycle, the one already signed stays as it ended.
func TestCancelCycleDuringSignOff(t *testing.T) {
	h := newHarness(t, nil)
	h.evaluateAll()
	h.draftRound(1)
	h.send(review.KindSignOff, 1, "A", "head-a", signOff(review.DecisionApprove, ""), "")
	h.update("cancel by boss", cycleID, workflows.UpdateCancelCycle, workflows.CancelCycleRequest{Actor: "boss", Reason: "The draft went to the board instead"}, "")
	h.run(review.Config{})

	if got := h.summary(); got.Status != review.CycleCancelled {
		t.Errorf("summary: got %+v, want cancelled", got)
	}
	if err := h.env.GetWorkflowErrorByID(review.SignOffWorkflowID(cycleID, "A", 1)); err != nil {
		t.Errorf("unit A's signed sign-off: got %v, want it completed", err)
	}
	for _, u := range []string{"B", "C"} {
		if err := h.env.GetWorkflowErrorByID(review.SignOffWorkflowID(cycleID, u, 1)); err == nil || !strings.Contains(err.Error(), "canceled") {
			t.Errorf("unit %s's open sign-off: got %v, want it cancelled", u, err)
		}
	}
	if len(h.cancelled) != 1 || len(h.published) != 0 || len(h.failed) != 0 {
		t.Errorf("cancelled %+v, published %+v, failed %+v; want one cancellation only", h.cancelled, h.published, h.failed)
	}
}
