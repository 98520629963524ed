package store_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/oho-dev/oho/review"
)

// queued is a row of the outbox, its facts decoded.
type queued struct {
	ID     string `db:"id"`
	Person string `db:"person_id"`
	Email  string `db:"email"`
	Kind   string `db:"kind"`
	Task   string `db:"task_id"`
	Cycle  string `db:"cycle_id"`
	State  string `db:"state"`
	// Worded is whether the row holds a subject or a body, which the store
	// no longer writes.
	Worded   bool               `db:"worded"`
	RawFacts []byte             `db:"facts"`
	Facts    review.NoticeFacts `db:"-"`
}

// notices returns the outbox rows of a kind, ordered by ID, and checks that
// each holds its facts and no words.
func notices(t *testing.T, db *sqlx.DB, kind review.NoticeKind) []queued {
	t.Helper()
	var ns []queued
	const q = `
SELECT id, person_id, email, kind, COALESCE(task_id, '') AS task_id, COALESCE(cycle_id, '') AS cycle_id,
    state, subject IS NOT NULL OR body IS NOT NULL AS worded, facts
FROM notifications WHERE kind = $1 ORDER BY id`
	if err := db.SelectContext(context.Background(), &ns, q, kind); err != nil {
		t.Fatal(err)
	}
	for i, n := range ns {
		if n.Worded {
			t.Errorf("notice %s has a stored subject or body, want only its facts", n.ID)
		}
		if err := json.Unmarshal(n.RawFacts, &ns[i].Facts); err != nil {
			t.Fatalf("notice %s: reading its facts %s: %v", n.ID, n.RawFacts, err)
		}
	}
	return ns
}

func noticeIDs(t *testing.T, db *sqlx.DB, kind review.NoticeKind) []string {
	t.Helper()
	ids := []string{}
	for _, n := range notices(t, db, kind) {
		ids = append(ids, n.ID)
	}
	return ids
}

func wantNotices(t *testing.T, db *sqlx.DB, kind review.NoticeKind, want ...string) {
	t.Helper()
	if want == nil {
		want = []string{}
	}
	if got := noticeIDs(t, db, kind); !slices.Equal(got, want) {
		t.Errorf("got %s notices %q, want %q", kind, got, want)
	}
}

// TestNoticeFacts takes tasks through every change that queues a notice and
// checks what each kind of notice records: the facts its text will be
// written from, and nothing else.
func TestNoticeFacts(t *testing.T) {
	ctx := context.Background()
	s, db := imported(t, "BETA")
	addPeople(t, s, "ACME", nurse2, deputy)
	c := newCycle(t, s, db, "ACME", 2025, review.Config{})
	eval, draft := c.task(review.KindEvaluate, 0, "NORTH"), c.task(review.KindDraft, 1, "")
	c.open(review.PhaseEvaluate, 0, eval)
	c.deadline(review.DeadlineInput{Task: eval, Event: review.EventReminder, Seq: 1})
	c.taskOp(review.TaskOpInput{Task: eval, Op: review.OpClaim, Seq: 1, Actor: "acme.nurse.north", Assignee: "acme.nurse.north", DueAt: eval.DueAt})
	c.deadline(review.DeadlineInput{Task: eval, Event: review.EventOverdue, Seq: 2, Assignee: "acme.nurse.north"})
	const leave = "Noora is on leave\nuntil May."
	c.taskOp(review.TaskOpInput{Task: eval, Op: review.OpReassign, Seq: 2, Actor: "acme.manager", Assignee: "acme.nurse2.north", Reason: leave, DueAt: eval.DueAt})
	later := eval.DueAt.Add(7 * 24 * time.Hour).In(time.FixedZone("EEST", 3*3600)) // stored in UTC
	c.taskOp(review.TaskOpInput{Task: eval, Op: review.OpExtend, Seq: 3, Actor: "acme.deputy", Assignee: "acme.nurse2.north", Reason: "Late survey.", DueAt: later})
	c.open(review.PhaseUpdate, 1, draft)
	const merger = "The units merge."
	c.twice("CancelCycle", func() error {
		return s.CancelCycle(ctx, review.CancelCycleInput{CycleID: c.id, Actor: "acme.manager", Reason: merger})
	})
	published := newCycle(t, s, db, "BETA", 2025, review.Config{})
	published.run(round1Changes, round2Changes)

	evalFacts := func(kind review.NoticeKind, assignee string, due time.Time) review.NoticeFacts {
		return review.NoticeFacts{Kind: kind, TaskID: eval.ID, TaskKind: review.KindEvaluate, Unit: "NORTH",
			Role: review.RoleWelfareStaff, Assignee: assignee, DueAt: due}
	}
	with := func(f review.NoticeFacts, actor, reason string) review.NoticeFacts {
		f.Actor, f.Reason = actor, reason
		return f
	}
	tests := []struct {
		kind review.NoticeKind
		id   string
		want review.NoticeFacts
	}{
		{review.NoticeAssigned, "assigned/ACME/2025/evaluate/NORTH/acme.nurse2.north", evalFacts(review.NoticeAssigned, "", eval.DueAt)},
		{review.NoticeReminder, "reminder/ACME/2025/evaluate/NORTH/1/acme.nurse.north", evalFacts(review.NoticeReminder, "", eval.DueAt)},
		{review.NoticeOverdue, "overdue/ACME/2025/evaluate/NORTH/2/acme.nurse.north", evalFacts(review.NoticeOverdue, "acme.nurse.north", eval.DueAt)},
		{review.NoticeEscalation, "escalation/ACME/2025/evaluate/NORTH/2/acme.deputy", evalFacts(review.NoticeEscalation, "acme.nurse.north", eval.DueAt)},
		{review.NoticeReassigned, "reassigned/ACME/2025/evaluate/NORTH/2/acme.nurse2.north",
			with(evalFacts(review.NoticeReassigned, "acme.nurse2.north", eval.DueAt), "acme.manager", leave)},
		{review.NoticeExtended, "extended/ACME/2025/evaluate/NORTH/3/acme.nurse2.north",
			with(evalFacts(review.NoticeExtended, "acme.nurse2.north", later), "acme.deputy", "Late survey.")},
		{review.NoticeCancelled, "cancelled/ACME/2025/evaluate/NORTH/acme.nurse2.north",
			with(evalFacts(review.NoticeCancelled, "acme.nurse2.north", later), "acme.manager", merger)},
		{review.NoticeCancelled, "cancelled/ACME/2025/draft/r1/acme.editor",
			review.NoticeFacts{Kind: review.NoticeCancelled, TaskID: draft.ID, TaskKind: review.KindDraft, Role: review.RolePlanEditor,
				DueAt: draft.DueAt, Actor: "acme.manager", Reason: merger}},
		{review.NoticePublished, "published/review-cycle/BETA/2025/beta.manager",
			review.NoticeFacts{Kind: review.NoticePublished, Provider: "BETA", Year: 2025, Version: 1, EffectiveFrom: "2025-08-01"}},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			var got *queued
			ns := notices(t, db, tt.kind)
			for i := range ns {
				if ns[i].ID == tt.id {
					got = &ns[i]
				}
			}
			if got == nil {
				t.Fatalf("no notice %s among the %s notices %q", tt.id, tt.kind, noticeIDs(t, db, tt.kind))
			}
			if string(got.Facts.Kind) != got.Kind {
				t.Errorf("got facts of kind %q in a notice of kind %q", got.Facts.Kind, got.Kind)
			}
			// Times compare as instants, and must come back in UTC.
			if !got.Facts.DueAt.Equal(tt.want.DueAt) || got.Facts.DueAt.Location() != time.UTC {
				t.Errorf("got due time %v, want %v in UTC", got.Facts.DueAt, tt.want.DueAt)
			}
			got.Facts.DueAt, tt.want.DueAt = time.Time{}, time.Time{}
			if got.Facts != tt.want {
				t.Errorf("got facts\n%+v\nwant\n%+v", got.Facts, tt.want)
			}
		})
	}
}
