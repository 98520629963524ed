package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/oho-dev/oho/dbtest"
	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/store"
)

// addPeople imports the provider's fixture org with more people in it.
func addPeople(t *testing.T, s *store.Store, provider string, extra ...store.OrgPerson) {
	t.Helper()
	org := dbtest.Org(provider)
	org.People = append(org.People, extra...)
	if _, err := s.ImportOrg(context.Background(), store.ActorOperator, org); err != nil {
		t.Fatalf("importing %s with %d more people: %v", provider, len(extra), err)
	}
}

// A second nurse in NORTH makes its welfare_staff pool two people; a second
// manager makes escalations go to two.
var (
	nurse2 = store.OrgPerson{ID: "acme.nurse2.north", Name: "Second nurse of NORTH", Email: "acme.nurse2.north@acme.example",
		Roles: []store.PersonRole{{Role: review.RoleWelfareStaff, Unit: "NORTH"}}}
	deputy = store.OrgPerson{ID: "acme.deputy", Name: "Deputy manager", Email: "acme.deputy@acme.example",
		Roles: []store.PersonRole{{Role: review.RoleManager}}}
)

// refused checks that err wraps kind and that the call wrote nothing.
func refused(t *testing.T, db *sqlx.DB, kind error, call func() error, says ...string) {
	t.Helper()
	before := rowCounts(t, db)
	wantKind(t, call(), kind, says...)
	if d := diff(before, rowCounts(t, db)); d != "" {
		t.Errorf("the refused call wrote rows: %s", d)
	}
}

// event returns the payload of the only audit event of the action on the
// subject.
func event(t *testing.T, s *store.Store, cycleID, action, subject string) (store.Event, map[string]any) {
	t.Helper()
	events, err := s.Events(context.Background(), cycleID)
	if err != nil {
		t.Fatal(err)
	}
	var found []store.Event
	for _, e := range events {
		if e.Action == action && e.Subject == subject {
			found = append(found, e)
		}
	}
	if len(found) != 1 {
		t.Fatalf("got %d %s events on %s, want 1", len(found), action, subject)
	}
	var payload map[string]any
	if err := json.Unmarshal(found[0].Payload, &payload); err != nil {
		t.Fatal(err)
	}
	return found[0], payload
}

func (c *cycle) taskOp(in review.TaskOpInput) {
	c.t.Helper()
	c.twice(fmt.Sprintf("RecordTaskOp %s %d", in.Op, in.Seq), func() error { return c.s.RecordTaskOp(context.Background(), in) })
}

func (c *cycle) deadline(in review.DeadlineInput) {
	c.t.Helper()
	c.twice(fmt.Sprintf("RecordDeadline %s %d", in.Event, in.Seq), func() error { return c.s.RecordDeadline(context.Background(), in) })
}

func TestSetupCycleReturnsManagers(t *testing.T) {
	s, db := imported(t, "BETA")
	addPeople(t, s, "ACME", deputy)
	c := newCycle(t, s, db, "ACME", 2025, review.Config{})
	if want := []string{"acme.deputy", "acme.manager"}; !slices.Equal(c.setup.Managers, want) {
		t.Errorf("got managers %v, want %v (ACME's only, ordered)", c.setup.Managers, want)
	}
}

func TestOpenTasksQueuesAssignedNotices(t *testing.T) {
	s, db := imported(t)
	addPeople(t, s, "ACME", nurse2)
	c := newCycle(t, s, db, "ACME", 2025, review.Config{})
	eval, consult := c.task(review.KindEvaluate, 0, "NORTH"), c.task(review.KindConsult, 0, "NORTH")
	c.open(review.PhaseEvaluate, 0, eval, consult)
	wantNotices(t, db, review.NoticeAssigned,
		"assigned/ACME/2025/consult/NORTH/acme.rep.north",
		"assigned/ACME/2025/evaluate/NORTH/acme.nurse.north",
		"assigned/ACME/2025/evaluate/NORTH/acme.nurse2.north")
	ns := notices(t, db, review.NoticeAssigned)
	if n := ns[1]; n.Person != "acme.nurse.north" || n.Email != "acme.nurse.north@acme.example" || n.Task != eval.ID || n.Cycle != c.id || n.State != "pending" ||
		n.Facts.TaskID != eval.ID || !n.Facts.DueAt.Equal(eval.DueAt) {
		t.Errorf("got notice %+v, want a pending one to acme.nurse.north at their address about %s, due %s", n, eval.ID, eval.DueAt)
	}
	if n := ns[0]; n.Email != "" {
		t.Errorf("got the student rep's notice addressed to %q, want no address (a role account: logged only)", n.Email)
	}

	// Opening the tasks again in a later call (the workflow after a crash)
	// queues nothing more: c.open checked the retry; here another call with
	// one more task queues only that task's.
	c.open(review.PhaseEvaluate, 0, eval, consult, c.task(review.KindEvaluate, 0, "SOUTH"))
	if n := len(noticeIDs(t, db, review.NoticeAssigned)); n != 4 {
		t.Errorf("got %d assigned notices, want 4", n)
	}
}

func TestRecordTaskOp(t *testing.T) {
	ctx := context.Background()
	s, db := imported(t, "BETA")
	addPeople(t, s, "ACME", nurse2)
	c := newCycle(t, s, db, "ACME", 2025, review.Config{})
	task := c.task(review.KindEvaluate, 0, "NORTH")
	c.open(review.PhaseEvaluate, 0, task)
	later := task.DueAt.Add(14 * 24 * time.Hour)
	latest := later.Add(7 * 24 * time.Hour)
	op := func(seq int, op review.TaskOp, actor, assignee, reason string, due time.Time) review.TaskOpInput {
		return review.TaskOpInput{Task: task, Op: op, Seq: seq, Actor: actor, Reason: reason, Assignee: assignee, DueAt: due}
	}

	c.taskOp(op(1, review.OpClaim, "acme.nurse.north", "acme.nurse.north", "", task.DueAt))
	wantNotices(t, db, review.NoticeReassigned)
	c.taskOp(op(2, review.OpDelegate, "acme.nurse.north", "acme.nurse2.north", "", task.DueAt))
	wantNotices(t, db, review.NoticeReassigned, "reassigned/ACME/2025/evaluate/NORTH/2/acme.nurse2.north")
	c.taskOp(op(3, review.OpUnclaim, "acme.nurse2.north", "", "", task.DueAt))
	c.taskOp(op(4, review.OpExtend, "acme.manager", "", "Survey results arrive late.", later))
	// In the pool, everyone in it hears of the extension.
	wantNotices(t, db, review.NoticeExtended,
		"extended/ACME/2025/evaluate/NORTH/4/acme.nurse.north", "extended/ACME/2025/evaluate/NORTH/4/acme.nurse2.north")
	c.taskOp(op(5, review.OpReassign, "acme.manager", "acme.head.north", "Both nurses are on leave.", later))
	c.taskOp(op(6, review.OpExtend, "acme.manager", "acme.head.north", "More time for the head.", latest))
	wantNotices(t, db, review.NoticeReassigned,
		"reassigned/ACME/2025/evaluate/NORTH/2/acme.nurse2.north", "reassigned/ACME/2025/evaluate/NORTH/5/acme.head.north")
	wantNotices(t, db, review.NoticeExtended,
		"extended/ACME/2025/evaluate/NORTH/4/acme.nurse.north", "extended/ACME/2025/evaluate/NORTH/4/acme.nurse2.north",
		"extended/ACME/2025/evaluate/NORTH/6/acme.head.north")
	if f := notices(t, db, review.NoticeExtended)[2].Facts; f.Reason != "More time for the head." || !f.DueAt.Equal(latest) || f.Actor != "acme.manager" {
		t.Errorf("got extension notice facts %+v, want acme.manager's reason and the new due time %s", f, latest)
	}

	got, err := s.Task(ctx, task.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Assignee != "acme.head.north" || !got.DueAt.Equal(latest) || got.Pool != "welfare_staff@NORTH" ||
		!slices.Equal(got.Candidates, []string{"acme.nurse.north", "acme.nurse2.north"}) {
		t.Errorf("got task assigned to %q (%s), due %s, candidates %v; want acme.head.north due %s, candidates the nurses",
			got.Assignee, got.Pool, got.DueAt, got.Candidates, latest)
	}
	wantActions := map[string]int{
		store.ActionTaskClaimed: 1, store.ActionTaskDelegated: 1, store.ActionTaskUnclaimed: 1,
		store.ActionTaskExtended: 2, store.ActionTaskReassigned: 1,
	}
	gotActions := actions(t, s, c.id)
	for action, n := range wantActions {
		if gotActions[action] != n {
			t.Errorf("got audit actions %v, want %v among them", gotActions, wantActions)
			break
		}
	}
	e, payload := event(t, s, c.id, store.ActionTaskReassigned, task.ID)
	if e.Actor != "acme.manager" || payload["reason"] != "Both nurses are on leave." || payload["from_assignee"] != "" ||
		payload["to_assignee"] != "acme.head.north" || payload["seq"] != 5.0 {
		t.Errorf("got reassignment event by %s with %v, want acme.manager's with reason, old and new assignee", e.Actor, payload)
	}

	// An older operation arriving late is a retry: nothing changes.
	before := rowCounts(t, db)
	if err := s.RecordTaskOp(ctx, op(3, review.OpUnclaim, "acme.nurse2.north", "", "", task.DueAt)); err != nil {
		t.Errorf("a stale operation: got %v, want nil", err)
	}
	if d := diff(before, rowCounts(t, db)); d != "" {
		t.Errorf("a stale operation wrote rows: %s", d)
	}

	t.Run("refusals", func(t *testing.T) {
		tests := []struct {
			name string
			in   review.TaskOpInput
			kind error
			says []string
		}{
			{"another provider's person", op(7, review.OpReassign, "acme.manager", "beta.nurse.north", "x", latest), store.ErrInvalid, []string{`"beta.nurse.north" is not a person of provider ACME`}},
			{"unknown person", op(7, review.OpDelegate, "acme.head.north", "nobody", "", latest), store.ErrInvalid, []string{`"nobody"`}},
			{"unknown task", review.TaskOpInput{Task: c.task(review.KindEvaluate, 0, "WEST"), Op: review.OpClaim, Seq: 1, Actor: "a", Assignee: "a", DueAt: latest}, store.ErrNotFound, []string{"ACME/2025/evaluate/WEST"}},
			{"no sequence number", op(0, review.OpExtend, "acme.manager", "", "x", latest), store.ErrInvalid, []string{"seq must be 1 or more"}},
			{"claim for someone else", op(7, review.OpClaim, "acme.nurse.north", "acme.nurse2.north", "", latest), store.ErrInvalid, []string{"a claim makes the actor the assignee"}},
			{"reassign without reason", op(7, review.OpReassign, "acme.manager", "acme.nurse.north", " ", latest), store.ErrInvalid, []string{"reassign needs a reason"}},
			{"unknown operation", op(7, "steal", "acme.manager", "acme.manager", "", latest), store.ErrInvalid, []string{`op "steal"`}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				refused(t, db, tt.kind, func() error { return s.RecordTaskOp(ctx, tt.in) }, tt.says...)
			})
		}
	})

	c.complete(task, evaluationNorth, nil)
	refused(t, db, store.ErrTaskClosed, func() error {
		return s.RecordTaskOp(ctx, op(7, review.OpExtend, "acme.manager", "acme.head.north", "x", latest.Add(time.Hour)))
	}, task.ID, "done")
	// The last operation retried after the task closed is still a retry.
	if err := s.RecordTaskOp(ctx, op(6, review.OpExtend, "acme.manager", "acme.head.north", "More time for the head.", latest)); err != nil {
		t.Errorf("a retry after the task closed: got %v, want nil", err)
	}
}

func TestRecordDeadline(t *testing.T) {
	ctx := context.Background()
	s, db := imported(t, "BETA")
	addPeople(t, s, "ACME", nurse2, deputy)
	c := newCycle(t, s, db, "ACME", 2025, review.Config{})
	eval, consult := c.task(review.KindEvaluate, 0, "NORTH"), c.task(review.KindConsult, 0, "NORTH")
	c.open(review.PhaseEvaluate, 0, eval, consult)
	dl := func(task review.TaskSpec, seq int, ev review.DeadlineEvent, assignee string) review.DeadlineInput {
		return review.DeadlineInput{Task: task, Event: ev, Seq: seq, Assignee: assignee}
	}
	overdueAt := func(id string) *time.Time {
		t.Helper()
		task, err := s.Task(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return task.OverdueAt
	}
	statusOf := func(id string) review.TaskProgress {
		t.Helper()
		st, err := s.CycleStatus(ctx, "ACME", 2025)
		if err != nil {
			t.Fatal(err)
		}
		for _, ts := range st.Tasks {
			if ts.ID == id {
				return ts
			}
		}
		t.Fatalf("cycle status has no task %s", id)
		return review.TaskProgress{}
	}

	// A reminder of a pool task goes to everyone in the pool.
	c.deadline(dl(eval, 1, review.EventReminder, ""))
	wantNotices(t, db, review.NoticeReminder,
		"reminder/ACME/2025/evaluate/NORTH/1/acme.nurse.north", "reminder/ACME/2025/evaluate/NORTH/1/acme.nurse2.north")
	if overdueAt(eval.ID) != nil {
		t.Error("a reminder marked the task overdue")
	}
	// A role account without an address still gets its notice, to be logged.
	c.deadline(dl(consult, 1, review.EventReminder, ""))
	if ns := notices(t, db, review.NoticeReminder); len(ns) != 3 || ns[0].Person != "acme.rep.north" || ns[0].Email != "" {
		t.Errorf("got reminders %+v, want one to acme.rep.north without address first", ns)
	}

	// Overdue once claimed: the assignee hears of it, every manager of ACME
	// (not BETA's) gets the escalation.
	c.taskOp(review.TaskOpInput{Task: eval, Op: review.OpClaim, Seq: 1, Actor: "acme.nurse.north", Assignee: "acme.nurse.north", DueAt: eval.DueAt})
	c.deadline(dl(eval, 2, review.EventOverdue, "acme.nurse.north"))
	wantNotices(t, db, review.NoticeOverdue, "overdue/ACME/2025/evaluate/NORTH/2/acme.nurse.north")
	wantNotices(t, db, review.NoticeEscalation,
		"escalation/ACME/2025/evaluate/NORTH/2/acme.deputy", "escalation/ACME/2025/evaluate/NORTH/2/acme.manager")
	if ns := notices(t, db, review.NoticeEscalation); ns[0].Facts.Assignee != "acme.nurse.north" || ns[0].Email != "acme.deputy@acme.example" {
		t.Errorf("got escalation to %s with facts %+v, want it to name the assignee", ns[0].Email, ns[0].Facts)
	}
	first := overdueAt(eval.ID)
	if first == nil {
		t.Fatal("the overdue event left overdue_at empty")
	}
	if ts := statusOf(eval.ID); !ts.Overdue || ts.Holder != "acme.nurse.north" {
		t.Errorf("got status %+v, want overdue and assigned to acme.nurse.north", ts)
	}

	// Still overdue: both again, with the new number; the first overdue time stays.
	c.deadline(dl(eval, 3, review.EventOverdueReminder, "acme.nurse.north"))
	wantNotices(t, db, review.NoticeOverdue,
		"overdue/ACME/2025/evaluate/NORTH/2/acme.nurse.north", "overdue/ACME/2025/evaluate/NORTH/3/acme.nurse.north")
	if n := len(noticeIDs(t, db, review.NoticeEscalation)); n != 4 {
		t.Errorf("got %d escalations, want 4 (two managers, twice)", n)
	}
	if again := overdueAt(eval.ID); again == nil || !again.Equal(*first) {
		t.Errorf("got overdue_at %v after the overdue reminder, want the first, %v", again, first)
	}
	_, payload := event(t, s, c.id, store.ActionTaskOverdue, eval.ID)
	if got, _ := json.Marshal(payload["escalated_to"]); string(got) != `["acme.deputy","acme.manager"]` {
		t.Errorf("got escalated_to %s, want both managers", got)
	}
	wantActions := map[string]int{store.ActionTaskReminded: 2, store.ActionTaskOverdue: 1, store.ActionTaskOverdueReminded: 1}
	gotActions := actions(t, s, c.id)
	for action, n := range wantActions {
		if gotActions[action] != n {
			t.Errorf("got audit actions %v, want %v among them", gotActions, wantActions)
			break
		}
	}

	// A late duplicate of an earlier event writes nothing.
	before := rowCounts(t, db)
	if err := s.RecordDeadline(ctx, dl(eval, 2, review.EventOverdue, "acme.nurse.north")); err != nil {
		t.Errorf("a stale deadline event: got %v, want nil", err)
	}
	if d := diff(before, rowCounts(t, db)); d != "" {
		t.Errorf("a stale deadline event wrote rows: %s", d)
	}

	// An extension clears the overdue mark, as it resets the workflow's.
	c.taskOp(review.TaskOpInput{Task: eval, Op: review.OpExtend, Seq: 2, Actor: "acme.manager", Reason: "Late survey.",
		Assignee: "acme.nurse.north", DueAt: eval.DueAt.Add(30 * 24 * time.Hour)})
	if overdueAt(eval.ID) != nil || statusOf(eval.ID).Overdue {
		t.Error("the extended task is still marked overdue")
	}

	tests := []struct {
		name string
		in   review.DeadlineInput
		kind error
		says []string
	}{
		{"unknown event", dl(eval, 4, "late", ""), store.ErrInvalid, []string{`event "late"`}},
		{"no sequence number", dl(eval, 0, review.EventReminder, ""), store.ErrInvalid, []string{"seq"}},
		{"unknown task", dl(c.task(review.KindEvaluate, 0, "WEST"), 1, review.EventReminder, ""), store.ErrNotFound, []string{"WEST"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			refused(t, db, tt.kind, func() error { return s.RecordDeadline(ctx, tt.in) }, tt.says...)
		})
	}
	c.complete(consult, consultationNorth, nil)
	refused(t, db, store.ErrTaskClosed, func() error { return s.RecordDeadline(ctx, dl(consult, 2, review.EventOverdue, "")) }, consult.ID, "done")

	counts, err := s.NoticeCounts(ctx, c.id)
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(counts)
	if want := "[{assigned 3} {reminder 3} {overdue 2} {escalation 4} {extended 1}]"; got != want {
		t.Errorf("got notice counts %s, want %s", got, want)
	}
}

func TestCancelCycle(t *testing.T) {
	ctx := context.Background()
	s, db := imported(t, "BETA")
	addPeople(t, s, "ACME", nurse2)
	c := newCycle(t, s, db, "ACME", 2025, review.Config{})
	evalN, evalS, consultN := c.task(review.KindEvaluate, 0, "NORTH"), c.task(review.KindEvaluate, 0, "SOUTH"), c.task(review.KindConsult, 0, "NORTH")
	c.open(review.PhaseEvaluate, 0, evalN, evalS, consultN)
	c.complete(consultN, consultationNorth, nil)
	c.taskOp(review.TaskOpInput{Task: evalN, Op: review.OpClaim, Seq: 1, Actor: "acme.nurse2.north", Assignee: "acme.nurse2.north", DueAt: evalN.DueAt})

	in := review.CancelCycleInput{CycleID: c.id, Actor: "acme.manager", Reason: "The units merge; the plan is rewritten from scratch."}
	c.twice("CancelCycle", func() error { return s.CancelCycle(ctx, in) })

	cyc, err := s.Cycle(ctx, "ACME", 2025)
	if err != nil {
		t.Fatal(err)
	}
	if cyc.Status != review.CycleCancelled || cyc.Phase != review.PhaseCancelled || cyc.Reason != in.Reason || cyc.CompletedAt == nil {
		t.Errorf("got cycle %+v, want cancelled with the reason", cyc)
	}
	tasks, err := s.Tasks(ctx, store.TaskFilter{Provider: "ACME", Status: review.TaskDone})
	if err != nil {
		t.Fatal(err)
	}
	statuses := map[string]string{}
	for _, task := range tasks {
		statuses[task.ID] = task.Status
	}
	if want := map[string]string{evalN.ID: "cancelled", evalS.ID: "cancelled", consultN.ID: "done"}; !maps.Equal(statuses, want) {
		t.Errorf("got closed tasks %v, want %v", statuses, want)
	}
	if open, err := s.Tasks(ctx, store.TaskFilter{Provider: "ACME"}); err != nil || len(open) != 0 {
		t.Errorf("got open tasks %v (%v), want none", open, err)
	}
	e, payload := event(t, s, c.id, store.ActionCycleCancelled, c.id)
	if got, _ := json.Marshal(payload["tasks"]); e.Actor != "acme.manager" || payload["reason"] != in.Reason || string(got) != `["ACME/2025/evaluate/NORTH","ACME/2025/evaluate/SOUTH"]` {
		t.Errorf("got cycle.cancelled by %s with %v, want acme.manager's with the reason and both evaluations", e.Actor, payload)
	}
	for _, id := range []string{evalN.ID, evalS.ID} {
		if e, _ := event(t, s, c.id, store.ActionTaskCancelled, id); e.Actor != "acme.manager" {
			t.Errorf("got task.cancelled of %s by %s, want acme.manager", id, e.Actor)
		}
	}
	// The claimed task's assignee hears of it, not the rest of its pool.
	wantNotices(t, db, review.NoticeCancelled,
		"cancelled/ACME/2025/evaluate/NORTH/acme.nurse2.north", "cancelled/ACME/2025/evaluate/SOUTH/acme.nurse.south")
	wantPhases(t, s, "cancelled", map[string]string{"NORTH": "cancelled", "SOUTH": "cancelled"})
	if counts := rowCounts(t, db); counts["consultations"] != 1 || counts["feedback_items"] != 1 {
		t.Errorf("got %v, want the consultation done before the cancellation kept", counts)
	}

	t.Run("a cancelled cycle takes no work", func(t *testing.T) {
		refused(t, db, store.ErrCycleClosed, func() error {
			_, err := s.OpenTasks(ctx, review.OpenTasksInput{CycleID: c.id, Phase: review.PhaseUpdate, Round: 1, Tasks: []review.TaskSpec{c.task(review.KindDraft, 1, "")}})
			return err
		}, "been cancelled")
		refused(t, db, store.ErrCycleClosed, func() error {
			return s.FailCycle(ctx, review.FailCycleInput{CycleID: c.id, Reason: "x"})
		}, "been cancelled")
		refused(t, db, store.ErrCycleClosed, func() error {
			_, err := s.Publish(ctx, review.PublishInput{CycleID: c.id, Round: 1, EffectiveFrom: "2025-08-01", ApprovedBy: "acme.approver"})
			return err
		}, "been cancelled")
		refused(t, db, store.ErrCycleClosed, func() error {
			_, err := s.SetupCycle(ctx, review.SetupCycleInput{CycleID: c.id, Provider: "ACME", Year: 2025})
			return err
		}, "has already been cancelled")
		refused(t, db, store.ErrTaskClosed, func() error {
			return s.CompleteTask(ctx, review.CompleteTaskInput{Task: evalS, Actor: "acme.nurse.south", Outcome: json.RawMessage(evaluationSouth)})
		}, "cancelled")
		refused(t, db, store.ErrTaskClosed, func() error {
			return s.RecordTaskOp(ctx, review.TaskOpInput{Task: evalS, Op: review.OpClaim, Seq: 1, Actor: "acme.nurse.south", Assignee: "acme.nurse.south", DueAt: evalS.DueAt})
		}, "cancelled")
		refused(t, db, store.ErrTaskClosed, func() error {
			return s.RecordDeadline(ctx, review.DeadlineInput{Task: evalS, Event: review.EventReminder, Seq: 1})
		}, "cancelled")
		if inbox, err := s.Inbox(ctx, "acme.nurse.south", due); err != nil || len(inbox) != 0 {
			t.Errorf("got inbox %v (%v), want it empty", inbox, err)
		}
	})

	t.Run("refusals", func(t *testing.T) {
		done := newCycle(t, s, db, "BETA", 2024, review.Config{})
		done.run(round1Changes, round2Changes)
		failed := newCycle(t, s, db, "BETA", 2025, review.Config{})
		if err := s.FailCycle(ctx, review.FailCycleInput{CycleID: failed.id, Reason: "too many rounds"}); err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name string
			in   review.CancelCycleInput
			kind error
			says []string
		}{
			{"completed", review.CancelCycleInput{CycleID: done.id, Actor: "beta.manager", Reason: "x"}, store.ErrCycleClosed, []string{"has completed"}},
			{"failed", review.CancelCycleInput{CycleID: failed.id, Actor: "beta.manager", Reason: "x"}, store.ErrCycleClosed, []string{"has failed"}},
			{"no reason", review.CancelCycleInput{CycleID: failed.id, Actor: "beta.manager", Reason: " "}, store.ErrInvalid, []string{"reason"}},
			{"unknown cycle", review.CancelCycleInput{CycleID: "review-cycle/NOPE/2025", Actor: "beta.manager", Reason: "x"}, store.ErrNotFound, []string{"review-cycle/NOPE/2025"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				refused(t, db, tt.kind, func() error { return s.CancelCycle(ctx, tt.in) }, tt.says...)
			})
		}
	})
}

func TestPublishQueuesNotices(t *testing.T) {
	s, db := imported(t, "ACME", "BETA")
	c := newCycle(t, s, db, "ACME", 2025, review.Config{})
	c.run(round1Changes, round2Changes) // Publish twice: checked to write once
	wantNotices(t, db, review.NoticePublished,
		"published/review-cycle/ACME/2025/acme.head.north", "published/review-cycle/ACME/2025/acme.head.south",
		"published/review-cycle/ACME/2025/acme.manager")
	if n := notices(t, db, review.NoticePublished)[0]; n.Task != "" || n.Cycle != c.id ||
		n.Facts != (review.NoticeFacts{Kind: review.NoticePublished, Provider: "ACME", Year: 2025, Version: 1, EffectiveFrom: "2025-08-01"}) {
		t.Errorf("got publication notice %+v, want one of the cycle naming version 1", n)
	}
	// Every task of the cycle announced itself to its one candidate.
	if n := len(noticeIDs(t, db, review.NoticeAssigned)); n != 11 {
		t.Errorf("got %d assigned notices, want 11", n)
	}
}

func TestImportOrgKeepsEmail(t *testing.T) {
	ctx := context.Background()
	s, db := imported(t, "ACME")
	p, err := s.Person(ctx, "acme.nurse.north")
	if err != nil {
		t.Fatal(err)
	}
	if p.Email != "acme.nurse.north@acme.example" {
		t.Errorf("got e-mail %q, want the fixture's", p.Email)
	}

	org := dbtest.Org("ACME")
	for i := range org.People {
		if org.People[i].ID == "acme.nurse.north" {
			org.People[i].Email = "noora.terveys@acme.example"
		}
	}
	res, err := s.ImportOrg(ctx, store.ActorOperator, org)
	if err != nil {
		t.Fatal(err)
	}
	if res.Changed != 1 || !slices.Equal(res.Changes, []string{"person acme.nurse.north changed"}) {
		t.Errorf("got %+v, want the nurse changed", res)
	}
	before := rowCounts(t, db)
	if res, err := s.ImportOrg(ctx, store.ActorOperator, org); err != nil || res.Changed+res.Added+res.Removed != 0 {
		t.Errorf("importing again: got %+v, %v, want no changes", res, err)
	}
	if d := diff(before, rowCounts(t, db)); d != "" {
		t.Errorf("importing again wrote rows: %s", d)
	}

	org.People[0].Email = "not an address"
	refused(t, db, store.ErrInvalid, func() error { _, err := s.ImportOrg(ctx, store.ActorOperator, org); return err }, "people[0].email")
}

// TestCancelWhileTimersFire cancels a cycle while its tasks' timers record
// deadline events and a manager extends one: each call either lands before
// the cancellation or is refused, none deadlocks, and every task ends
// cancelled with one notice per recipient.
func TestCancelWhileTimersFire(t *testing.T) {
	ctx := context.Background()
	s, db := imported(t, "ACME")
	c := newCycle(t, s, db, "ACME", 2025, review.Config{})
	var tasks []review.TaskSpec
	for _, u := range []string{"NORTH", "SOUTH"} {
		tasks = append(tasks, c.task(review.KindEvaluate, 0, u), c.task(review.KindConsult, 0, u))
	}
	c.open(review.PhaseEvaluate, 0, tasks...)

	calls := []func() error{
		func() error {
			return s.CancelCycle(ctx, review.CancelCycleInput{CycleID: c.id, Actor: "acme.manager", Reason: "Merger."})
		},
		func() error {
			return s.RecordTaskOp(ctx, review.TaskOpInput{Task: tasks[0], Op: review.OpExtend, Seq: 1, Actor: "acme.manager", Reason: "x", DueAt: tasks[0].DueAt.Add(time.Hour)})
		},
	}
	for _, task := range tasks {
		calls = append(calls, func() error {
			return s.RecordDeadline(ctx, review.DeadlineInput{Task: task, Event: review.EventOverdue, Seq: 1})
		})
	}
	errs := make([]error, len(calls))
	var wg sync.WaitGroup
	for i, call := range calls {
		wg.Go(func() { errs[i] = call() })
	}
	wg.Wait()
	if errs[0] != nil {
		t.Fatalf("CancelCycle: %v", errs[0])
	}
	for i, err := range errs[1:] {
		if err != nil && !errors.Is(err, store.ErrTaskClosed) {
			t.Errorf("call %d: got %v, want nil or ErrTaskClosed", i+1, err)
		}
	}
	open, err := s.Tasks(ctx, store.TaskFilter{Provider: "ACME"})
	if err != nil || len(open) != 0 {
		t.Errorf("got open tasks %v (%v), want none", open, err)
	}
	if n := len(noticeIDs(t, db, review.NoticeCancelled)); n != len(tasks) {
		t.Errorf("got %d cancelled notices, want %d", n, len(tasks))
	}
}
