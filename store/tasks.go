package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/oho-dev/oho/review"
)

// The methods in this file record what the workflows decide about open tasks
// (who has them, when they are due, what their timers found) and the
// cancellation of a cycle, one activity each, with the notices they cause.
//
// The workflow numbers each task's operations and deadline events (Seq). A
// row remembers the last number it recorded, so an activity retried after it
// committed finds its number already seen and writes nothing: no second audit
// event, no second notice.

// taskState is a task row as the writes in this file need it.
type taskState struct {
	ID          string          `db:"id"`
	CycleID     string          `db:"cycle_id"`
	Provider    string          `db:"provider_code"`
	Kind        review.TaskKind `db:"kind"`
	Unit        string          `db:"unit_code"`
	Role        review.Role     `db:"role"`
	Status      string          `db:"status"`
	Assignee    string          `db:"assignee"`
	DueAt       time.Time       `db:"due_at"`
	OpSeq       int             `db:"op_seq"`
	DeadlineSeq int             `db:"deadline_seq"`
}

// lockTask reads a task and locks its row until the transaction ends, so that
// concurrent changes of one task take turns. NO KEY UPDATE, as lockCycle
// explains: the notices' foreign keys only key-share-lock the row.
func lockTask(ctx context.Context, q sqlx.QueryerContext, id string) (taskState, error) {
	var t taskState
	const qTask = `
SELECT t.id, t.cycle_id, c.provider_code, t.kind, t.unit_code, t.role, t.status, t.assignee, t.due_at,
    t.op_seq, t.deadline_seq
FROM tasks t JOIN cycles c ON c.id = t.cycle_id
WHERE t.id = $1
FOR NO KEY UPDATE OF t`
	if err := sqlx.GetContext(ctx, q, &t, qTask, id); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return taskState{}, errorf(ErrNotFound, "task %q is not recorded", id)
		}
		return taskState{}, fmt.Errorf("reading task %s: %w", id, dbError(err))
	}
	return t, nil
}

// noticeFacts are the facts of a notice about the task, held by assignee
// ("" for its pool) and due at due; the caller sets the kind and, where a
// person caused the change, the actor and reason.
func (t taskState) noticeFacts(assignee string, due time.Time) review.NoticeFacts {
	return review.NoticeFacts{TaskID: t.ID, TaskKind: t.Kind, Unit: t.Unit, Role: t.Role, Assignee: assignee, DueAt: due}
}

// taskOpActions are the audit actions of the task operations.
var taskOpActions = map[review.TaskOp]string{
	review.OpClaim:    ActionTaskClaimed,
	review.OpUnclaim:  ActionTaskUnclaimed,
	review.OpDelegate: ActionTaskDelegated,
	review.OpReassign: ActionTaskReassigned,
	review.OpExtend:   ActionTaskExtended,
}

// RecordTaskOp records an operation the workflow accepted on an open task:
// its assignee and due time after the operation, with an audit event that
// keeps both the old and the new values, the actor and the reason. A task
// given to someone (delegated, reassigned) sends them a "reassigned" notice;
// an extension sends an "extended" notice to the assignee, or to everyone in
// the pool. An extension also clears the task's overdue mark, as the
// workflow does. Claims and unclaims notify nobody.
//
// A retry (the task has recorded Seq or a later operation) writes nothing and
// returns nil; an operation on a closed task is refused with ErrTaskClosed,
// and an assignee who is not a person of the cycle's provider with
// ErrInvalid.
func (s *Store) RecordTaskOp(ctx context.Context, in review.TaskOpInput) error {
	id := in.Task.ID
	if err := checkTaskOp(in); err != nil {
		return fmt.Errorf("recording the %s of task %s: %w", in.Op, id, err)
	}
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		t, err := lockTask(ctx, tx, id)
		if err != nil {
			return err
		}
		if t.OpSeq >= in.Seq {
			return nil
		}
		if t.Status != review.TaskOpen {
			return errorf(ErrTaskClosed, "task %s is %s; its assignment and due time can no longer change", id, t.Status)
		}
		if in.Assignee != "" {
			if err := personOf(ctx, tx, t.Provider, in.Assignee); err != nil {
				return err
			}
		}
		due := in.DueAt.UTC()
		// In SET, due_at is the value before the update: moving the due time
		// clears the overdue mark, which the timers set again if need be.
		const qUpdate = `
UPDATE tasks SET assignee = $2, due_at = $3, op_seq = $4,
    overdue_at = CASE WHEN due_at = $3 THEN overdue_at END
WHERE id = $1 AND status = 'open' AND op_seq < $4`
		res, err := tx.ExecContext(ctx, qUpdate, id, in.Assignee, due, in.Seq)
		if err != nil {
			return fmt.Errorf("recording the %s: %w", in.Op, dbError(err))
		}
		if n, err := rowsAffected(res); err != nil || n != 1 {
			// The row is locked and was checked above, so this cannot happen.
			return errors.Join(err, fmt.Errorf("task %s changed while its %s was recorded", id, in.Op))
		}
		payload := map[string]any{
			"op": in.Op, "seq": in.Seq, "reason": in.Reason,
			"from_assignee": t.Assignee, "to_assignee": in.Assignee,
			"from_due_at": t.DueAt.UTC(), "to_due_at": due,
		}
		if err := record(ctx, tx, in.Actor, taskOpActions[in.Op], id, t.CycleID, payload); err != nil {
			return err
		}

		f := t.noticeFacts(in.Assignee, due)
		f.Actor, f.Reason = in.Actor, in.Reason
		var to []string
		switch in.Op {
		case review.OpDelegate, review.OpReassign:
			f.Kind, to = review.NoticeReassigned, []string{in.Assignee}
		case review.OpExtend:
			f.Kind = review.NoticeExtended
			if to, err = taskRecipients(ctx, tx, t.Provider, t.Role, t.Unit, in.Assignee); err != nil {
				return err
			}
		default:
			return nil
		}
		return queueNotices(ctx, tx, f, t.CycleID, seqPrefix(f.Kind, id, in.Seq), to)
	})
	if err != nil {
		return fmt.Errorf("recording the %s of task %s: %w", in.Op, id, err)
	}
	return nil
}

func checkTaskOp(in review.TaskOpInput) error {
	var p []string
	if in.Task.ID == "" {
		p = append(p, "task.id is required")
	}
	if in.Actor == "" {
		p = append(p, "actor is required")
	}
	if in.Seq < 1 {
		p = append(p, fmt.Sprintf("seq must be 1 or more (got %d)", in.Seq))
	}
	if in.DueAt.IsZero() {
		p = append(p, "due_at is required")
	}
	switch in.Op {
	case review.OpClaim:
		if in.Assignee != in.Actor {
			p = append(p, fmt.Sprintf("a claim makes the actor the assignee (got assignee %q, actor %q)", in.Assignee, in.Actor))
		}
	case review.OpUnclaim:
		if in.Assignee != "" {
			p = append(p, fmt.Sprintf("an unclaim gives the task back to the pool (got assignee %q)", in.Assignee))
		}
	case review.OpDelegate, review.OpReassign:
		if in.Assignee == "" {
			p = append(p, fmt.Sprintf("%s needs the new assignee", in.Op))
		}
	case review.OpExtend:
	default:
		p = append(p, fmt.Sprintf("op %q is not one of claim, unclaim, delegate, reassign, extend", in.Op))
	}
	if (in.Op == review.OpReassign || in.Op == review.OpExtend) && strings.TrimSpace(in.Reason) == "" {
		p = append(p, fmt.Sprintf("%s needs a reason", in.Op))
	}
	if len(p) > 0 {
		return errorf(ErrInvalid, "%s", strings.Join(p, "; "))
	}
	return nil
}

// personOf checks that the person belongs to the provider, as everyone a
// task is given to must.
func personOf(ctx context.Context, q sqlx.QueryerContext, provider, person string) error {
	var exists bool
	const qPerson = `SELECT EXISTS (SELECT 1 FROM people WHERE id = $1 AND provider_code = $2)`
	if err := sqlx.GetContext(ctx, q, &exists, qPerson, person, provider); err != nil {
		return fmt.Errorf("reading person %s: %w", person, dbError(err))
	}
	if !exists {
		return errorf(ErrInvalid, "%q is not a person of provider %s", person, provider)
	}
	return nil
}

// seqPrefix is the ID prefix of the notices of a numbered event of a task.
func seqPrefix(kind review.NoticeKind, taskID string, seq int) string {
	return noticeID(kind, taskID) + "/" + strconv.Itoa(seq)
}

// deadlineActions are the audit actions of the deadline events.
var deadlineActions = map[review.DeadlineEvent]string{
	review.EventReminder:        ActionTaskReminded,
	review.EventOverdue:         ActionTaskOverdue,
	review.EventOverdueReminder: ActionTaskOverdueReminded,
}

// RecordDeadline records what a task's timers found and queues its notices.
// A reminder goes to in.Assignee or, when that is empty, to everyone holding
// the task's role in its unit. Once the task is overdue it is marked so (the
// first time), and each overdue event sends an "overdue" notice to the same
// people and an "escalation" notice to every manager of the provider.
//
// A retry (the task has recorded Seq or a later event) writes nothing and
// returns nil; an event for a closed task is refused with ErrTaskClosed.
func (s *Store) RecordDeadline(ctx context.Context, in review.DeadlineInput) error {
	id := in.Task.ID
	if err := checkDeadline(in); err != nil {
		return fmt.Errorf("recording the %s of task %s: %w", in.Event, id, err)
	}
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		t, err := lockTask(ctx, tx, id)
		if err != nil {
			return err
		}
		if t.DeadlineSeq >= in.Seq {
			return nil
		}
		if t.Status != review.TaskOpen {
			return errorf(ErrTaskClosed, "task %s is %s and has no deadline any more", id, t.Status)
		}
		overdue := in.Event != review.EventReminder
		const qUpdate = `
UPDATE tasks SET deadline_seq = $2,
    overdue_at = CASE WHEN $3 THEN COALESCE(overdue_at, now()) ELSE overdue_at END
WHERE id = $1 AND status = 'open' AND deadline_seq < $2`
		res, err := tx.ExecContext(ctx, qUpdate, id, in.Seq, overdue)
		if err != nil {
			return fmt.Errorf("recording the %s: %w", in.Event, dbError(err))
		}
		if n, err := rowsAffected(res); err != nil || n != 1 {
			return errors.Join(err, fmt.Errorf("task %s changed while its %s was recorded", id, in.Event))
		}

		told, err := taskRecipients(ctx, tx, t.Provider, t.Role, t.Unit, in.Assignee)
		if err != nil {
			return err
		}
		f := t.noticeFacts(in.Assignee, t.DueAt)
		f.Kind = review.NoticeReminder
		if overdue {
			f.Kind = review.NoticeOverdue
		}
		if err := queueNotices(ctx, tx, f, t.CycleID, seqPrefix(f.Kind, id, in.Seq), told); err != nil {
			return err
		}
		payload := map[string]any{"seq": in.Seq, "due_at": t.DueAt.UTC(), "assignee": in.Assignee, "notified": told}
		if overdue {
			managers, err := holders(ctx, tx, t.Provider, review.RoleManager)
			if err != nil {
				return err
			}
			f.Kind = review.NoticeEscalation
			if err := queueNotices(ctx, tx, f, t.CycleID, seqPrefix(f.Kind, id, in.Seq), managers); err != nil {
				return err
			}
			payload["escalated_to"] = managers
		}
		return record(ctx, tx, ActorSystem, deadlineActions[in.Event], id, t.CycleID, payload)
	})
	if err != nil {
		return fmt.Errorf("recording the %s of task %s: %w", in.Event, id, err)
	}
	return nil
}

func checkDeadline(in review.DeadlineInput) error {
	var p []string
	if in.Task.ID == "" {
		p = append(p, "task.id is required")
	}
	if in.Seq < 1 {
		p = append(p, fmt.Sprintf("seq must be 1 or more (got %d)", in.Seq))
	}
	if _, ok := deadlineActions[in.Event]; !ok {
		p = append(p, fmt.Sprintf("event %q is not one of reminder, overdue, overdue_reminder", in.Event))
	}
	if len(p) > 0 {
		return errorf(ErrInvalid, "%s", strings.Join(p, "; "))
	}
	return nil
}

// CancelCycle records that a manager cancelled a running cycle: the cycle is
// cancelled with the reason, its open tasks close as cancelled, the audit
// trail names the actor and the reason (one cycle.cancelled event listing the
// tasks closed, one task.cancelled event per task), and everyone who had one
// of those tasks gets a "cancelled" notice. Everything recorded before stays.
// A cycle already cancelled is left as it is; one that completed or failed is
// refused with ErrCycleClosed.
func (s *Store) CancelCycle(ctx context.Context, in review.CancelCycleInput) error {
	if in.CycleID == "" || in.Actor == "" || strings.TrimSpace(in.Reason) == "" {
		return errorf(ErrInvalid, "cancelling a cycle needs cycle_id, actor and reason (got %q, %q, %q)", in.CycleID, in.Actor, in.Reason)
	}
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		c, err := lockCycle(ctx, tx, in.CycleID)
		if err != nil {
			return err
		}
		switch c.Status {
		case review.CycleCancelled:
			return nil
		case review.CycleCompleted, review.CycleFailed:
			return errorf(ErrCycleClosed, "cycle %s has %s and cannot be cancelled", c.ID, ended(c.Status))
		}
		const qCancel = `
UPDATE cycles SET status = 'cancelled', phase = 'cancelled', reason = $2, completed_at = now()
WHERE id = $1`
		if _, err := tx.ExecContext(ctx, qCancel, c.ID, in.Reason); err != nil {
			return fmt.Errorf("recording the cancellation: %w", dbError(err))
		}
		var closed []taskState
		const qClose = `
UPDATE tasks t SET status = 'cancelled', completed_at = now()
FROM cycles c
WHERE c.id = t.cycle_id AND t.cycle_id = $1 AND t.status = 'open'
RETURNING t.id, t.cycle_id, c.provider_code, t.kind, t.unit_code, t.role, t.status, t.assignee, t.due_at,
    t.op_seq, t.deadline_seq`
		if err := sqlx.SelectContext(ctx, tx, &closed, qClose, c.ID); err != nil {
			return fmt.Errorf("cancelling open tasks: %w", dbError(err))
		}
		slices.SortFunc(closed, func(a, b taskState) int { return strings.Compare(a.ID, b.ID) })
		ids := make([]string, len(closed))
		for i, t := range closed {
			ids[i] = t.ID
		}
		payload := map[string]any{"reason": in.Reason, "phase": c.Phase, "round": c.Round, "tasks": ids}
		if err := record(ctx, tx, in.Actor, ActionCycleCancelled, c.ID, c.ID, payload); err != nil {
			return err
		}
		for _, t := range closed {
			if err := record(ctx, tx, in.Actor, ActionTaskCancelled, t.ID, c.ID, map[string]any{"reason": in.Reason, "assignee": t.Assignee}); err != nil {
				return err
			}
			told, err := taskRecipients(ctx, tx, c.Provider, t.Role, t.Unit, t.Assignee)
			if err != nil {
				return err
			}
			f := t.noticeFacts(t.Assignee, t.DueAt)
			f.Kind, f.Actor, f.Reason = review.NoticeCancelled, in.Actor, in.Reason
			if err := queueNotices(ctx, tx, f, c.ID, noticeID(f.Kind, t.ID), told); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("cancelling cycle %s: %w", in.CycleID, err)
	}
	return nil
}
