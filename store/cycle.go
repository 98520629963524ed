package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/oho-dev/oho/metrics"
	"github.com/oho-dev/oho/review"
)

// The methods in this file are the ones the activities call, one per
// activity. Each is idempotent: called again with the same input after it
// succeeded, it writes nothing and returns the same result.

// cycleRow is the part of a cycles row the writes need.
type cycleRow struct {
	ID       string `db:"id"`
	Provider string `db:"provider_code"`
	Year     int    `db:"year"`
	Status   string `db:"status"`
	Phase    string `db:"phase"`
	Round    int    `db:"round"`
}

// lockCycle reads a cycle and locks its row until the transaction ends, so
// that concurrent calls on one cycle take turns. NO KEY UPDATE, because the
// key never changes: it lets CompleteTask's inserts, which key-share-lock the
// cycle through their foreign keys, go on, so that FailCycle waiting for a
// task row that CompleteTask holds cannot deadlock with it.
func lockCycle(ctx context.Context, q sqlx.QueryerContext, id string) (cycleRow, error) {
	var c cycleRow
	const qCycle = `SELECT id, provider_code, year, status, phase, round FROM cycles WHERE id = $1 FOR NO KEY UPDATE`
	if err := sqlx.GetContext(ctx, q, &c, qCycle, id); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return cycleRow{}, errorf(ErrNotFound, "cycle %q is not recorded", id)
		}
		return cycleRow{}, fmt.Errorf("reading cycle %s: %w", id, dbError(err))
	}
	return c, nil
}

// SetupCycle records a cycle as running and returns what the workflow needs
// to run it: the provider's units ordered by code, its managers (who may steer
// the cycle and receive escalations) ordered by ID, the baseline plan (the
// latest published version laid out on the configured sections, or empty
// sections), its version number, and the changes of the previous completed
// cycle, which the units rate for effectiveness. The provider must be ready
// (see CheckReady). Another cycle of the provider for the same year is
// refused with ErrDuplicate; a cycle that has already ended with
// ErrCycleClosed.
func (s *Store) SetupCycle(ctx context.Context, in review.SetupCycleInput) (review.CycleSetup, error) {
	if in.CycleID == "" || in.Provider == "" || in.Year == 0 {
		return review.CycleSetup{}, errorf(ErrInvalid, "setting up a cycle needs cycle_id, provider and year (got %q, %q, %d)", in.CycleID, in.Provider, in.Year)
	}
	var out review.CycleSetup
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		if err := checkReady(ctx, tx, in.Provider); err != nil {
			return err
		}
		if err := checkCatalogueUnits(ctx, tx, in.Provider, in.Config.Indicators); err != nil {
			return err
		}
		if err := insertCycle(ctx, tx, in); err != nil {
			return err
		}
		const qSetUp = `UPDATE cycles SET set_up_at = now() WHERE id = $1 AND set_up_at IS NULL`
		if _, err := tx.ExecContext(ctx, qSetUp, in.CycleID); err != nil {
			return fmt.Errorf("recording that cycle %s is set up: %w", in.CycleID, dbError(err))
		}

		var err error
		out.Units = []review.Unit{}
		const qUnits = `SELECT code, name FROM units WHERE provider_code = $1 ORDER BY code`
		if err := sqlx.SelectContext(ctx, tx, &out.Units, qUnits, in.Provider); err != nil {
			return fmt.Errorf("reading units of %s: %w", in.Provider, dbError(err))
		}
		if out.Managers, err = holders(ctx, tx, in.Provider, review.RoleManager); err != nil {
			return err
		}
		if out.Baseline, out.BaselineVersion, err = baseline(ctx, tx, in); err != nil {
			return err
		}
		if out.PreviousChanges, err = previousChanges(ctx, tx, in.Provider, in.Year); err != nil {
			return err
		}
		if out.Checklist, out.ChecklistReasons, err = cycleChecklist(ctx, tx, in.CycleID); err != nil {
			return err
		}
		out.Carried, err = carried(ctx, tx, in.Provider, in.Year)
		return err
	})
	if err != nil {
		return review.CycleSetup{}, fmt.Errorf("setting up cycle %s: %w", in.CycleID, err)
	}
	return out, nil
}

// RecordCycleStart records a cycle Temporal has taken the start of, before
// any worker has set it up (SetupCycle does that, and records it then if it
// is not yet), so that the cycle is visible at once and its status can say
// that it waits for a worker. Recording it again changes nothing; another
// cycle holding the provider's year is refused with ErrDuplicate, as in
// SetupCycle.
func (s *Store) RecordCycleStart(ctx context.Context, in review.SetupCycleInput) error {
	if in.CycleID == "" || in.Provider == "" || in.Year == 0 {
		return errorf(ErrInvalid, "recording a cycle's start needs cycle_id, provider and year (got %q, %q, %d)", in.CycleID, in.Provider, in.Year)
	}
	err := s.inTx(ctx, func(tx *sqlx.Tx) error { return insertCycle(ctx, tx, in) })
	if err != nil {
		return fmt.Errorf("recording the start of cycle %s: %w", in.CycleID, err)
	}
	return nil
}

// insertCycle records the cycle as running, with its cycle.started event —
// and, for an attempt that starts an ended one again, the cycle.restarted
// event of that one, so that the trail links the two both ways. When the
// cycle is recorded already it writes nothing, and sameCycle says whether
// that is this very cycle or another that holds the provider's year.
func insertCycle(ctx context.Context, tx *sqlx.Tx, in review.SetupCycleInput) error {
	config, err := json.Marshal(in.Config)
	if err != nil {
		return fmt.Errorf("encoding config of cycle %s: %w", in.CycleID, err)
	}
	checklist := in.Config.Checklist
	if len(checklist) == 0 {
		checklist = review.DefaultChecklist
	}
	checklistJSON, err := json.Marshal(checklist)
	if err != nil {
		return fmt.Errorf("encoding the checklist of cycle %s: %w", in.CycleID, err)
	}
	attempt, restartOf := max(in.Restart.Attempt, 1), sql.NullString{String: in.Restart.Of, Valid: in.Restart.Of != ""}
	const qInsert = `
INSERT INTO cycles (id, provider_code, year, status, phase, round, config, checklist, checklist_reasons, attempt, restarted_from)
VALUES ($1, $2, $3, 'running', 'evaluate', 0, $4, $5, $6, $7, $8)
ON CONFLICT DO NOTHING`
	res, err := tx.ExecContext(ctx, qInsert, in.CycleID, in.Provider, in.Year, string(config), string(checklistJSON), in.Config.ChecklistReasons, attempt, restartOf)
	if err != nil {
		return fmt.Errorf("recording cycle %s: %w", in.CycleID, dbError(err))
	}
	n, err := rowsAffected(res)
	if err != nil {
		return err
	}
	if n == 0 {
		return sameCycle(ctx, tx, in)
	}
	payload := map[string]any{"provider": in.Provider, "year": in.Year, "config": json.RawMessage(config)}
	if restartOf.Valid {
		payload["attempt"], payload["restart_of"], payload["reason"] = attempt, in.Restart.Of, in.Restart.Reason
	}
	actor := in.StartedBy
	if actor == "" {
		actor = ActorSystem
	}
	if err := record(ctx, tx, actor, ActionCycleStarted, in.CycleID, in.CycleID, payload); err != nil {
		return err
	}
	if !restartOf.Valid {
		return nil
	}
	old, err := lockCycle(ctx, tx, in.Restart.Of)
	if err != nil {
		return err
	}
	if old.Provider != in.Provider || old.Year != in.Year || (old.Status != review.CycleFailed && old.Status != review.CycleCancelled) {
		return errorf(ErrInvalid, "cycle %s cannot be started again as %s: it is the %s cycle of %s for %d", old.ID, in.CycleID, old.Status, old.Provider, old.Year)
	}
	restarted := map[string]any{"restarted_as": in.CycleID, "attempt": attempt, "reason": in.Restart.Reason}
	return record(ctx, tx, actor, ActionCycleRestarted, old.ID, old.ID, restarted)
}

// sameCycle explains why a cycle was not inserted: it is this very cycle
// (a retry, fine while it runs), or another one holds the provider's year.
func sameCycle(ctx context.Context, q sqlx.QueryerContext, in review.SetupCycleInput) error {
	var rows []cycleRow
	const qExisting = `
SELECT id, provider_code, year, status, phase, round FROM cycles
WHERE id = $1 OR (provider_code = $2 AND year = $3 AND status IN ('running', 'completed'))
ORDER BY id`
	if err := sqlx.SelectContext(ctx, q, &rows, qExisting, in.CycleID, in.Provider, in.Year); err != nil {
		return fmt.Errorf("reading existing cycles: %w", dbError(err))
	}
	for _, c := range rows {
		switch {
		case c.ID != in.CycleID:
			return errorf(ErrDuplicate, "provider %s already has cycle %s for %d", c.Provider, c.ID, c.Year)
		case c.Provider != in.Provider || c.Year != in.Year:
			return errorf(ErrDuplicate, "cycle ID %s is already used for provider %s, year %d", c.ID, c.Provider, c.Year)
		case c.Status != review.CycleRunning:
			return errorf(ErrCycleClosed, "cycle %s has already %s; a provider has one cycle a year", c.ID, ended(c.Status))
		}
	}
	return nil
}

// baseline returns the provider's latest published plan laid out on the
// configured sections, or, with none published yet, empty sections. The
// latest may be an imported version, which has no cycle: hence IS DISTINCT
// FROM, where <> would pass over it.
func baseline(ctx context.Context, q sqlx.QueryerContext, in review.SetupCycleInput) (review.PlanContent, int, error) {
	var row struct {
		Version int    `db:"version"`
		Content []byte `db:"content"`
	}
	const qLatest = `
SELECT pv.version, pv.content
FROM plan_versions pv JOIN plans p ON p.id = pv.plan_id
WHERE p.provider_code = $1 AND pv.cycle_id IS DISTINCT FROM $2
ORDER BY pv.version DESC
LIMIT 1`
	err := sqlx.GetContext(ctx, q, &row, qLatest, in.Provider, in.CycleID)
	if errors.Is(err, sql.ErrNoRows) {
		sections := in.Config.Sections
		if len(sections) == 0 {
			sections = review.DefaultSections
		}
		return review.PlanContent{}.Reshape(sections), 0, nil
	}
	if err != nil {
		return review.PlanContent{}, 0, fmt.Errorf("reading the published plan of %s: %w", in.Provider, dbError(err))
	}
	var content review.PlanContent
	if err := json.Unmarshal(row.Content, &content); err != nil {
		return review.PlanContent{}, 0, fmt.Errorf("decoding plan version %d of %s: %w", row.Version, in.Provider, err)
	}
	return content.Reshape(in.Config.Sections), row.Version, nil
}

// previousChanges lists the changes published by the provider's latest
// completed cycle of an earlier year.
func previousChanges(ctx context.Context, q sqlx.QueryerContext, provider string, year int) ([]string, error) {
	const qChanges = `
SELECT pc.change_id
FROM plan_changes pc
JOIN plan_versions pv ON pv.cycle_id = pc.cycle_id AND pv.round = pc.round
WHERE pc.cycle_id = (
    SELECT id FROM cycles
    WHERE provider_code = $1 AND year < $2 AND status = 'completed'
    ORDER BY year DESC
    LIMIT 1)
ORDER BY pc.change_id`
	ids := []string{}
	if err := sqlx.SelectContext(ctx, q, &ids, qChanges, provider, year); err != nil {
		return nil, fmt.Errorf("reading the previous cycle's changes: %w", dbError(err))
	}
	return ids, nil
}

// cycleChecklist reads the checklist a cycle was set up with.
func cycleChecklist(ctx context.Context, q sqlx.QueryerContext, cycleID string) ([]review.ChecklistItem, bool, error) {
	var row struct {
		Checklist []byte `db:"checklist"`
		Reasons   bool   `db:"checklist_reasons"`
	}
	if err := sqlx.GetContext(ctx, q, &row, `SELECT checklist, checklist_reasons FROM cycles WHERE id = $1`, cycleID); err != nil {
		return nil, false, fmt.Errorf("reading the checklist of cycle %s: %w", cycleID, dbError(err))
	}
	var items []review.ChecklistItem
	if err := json.Unmarshal(row.Checklist, &items); err != nil {
		return nil, false, fmt.Errorf("decoding the checklist of cycle %s: %w", cycleID, err)
	}
	return items, row.Reasons, nil
}

// carried lists the items the provider's latest completed cycle of an
// earlier year deferred in the round it published, as items this cycle's
// drafts must answer again: each under the reference that names the cycle
// that found it ("2026/NORTH/F1"), which stays the same however many times
// it is deferred, with its text as found.
func carried(ctx context.Context, q sqlx.QueryerContext, provider string, year int) ([]review.Item, error) {
	const qDeferred = `
SELECT c.year, d.item_ref, d.reason
FROM dispositions d
JOIN cycles c ON c.id = d.cycle_id
JOIN plan_versions pv ON pv.cycle_id = d.cycle_id AND pv.round = d.round
WHERE d.decision = 'deferred' AND d.cycle_id = (
    SELECT id FROM cycles
    WHERE provider_code = $1 AND year < $2 AND status = 'completed'
    ORDER BY year DESC
    LIMIT 1)
ORDER BY d.item_ref`
	var rows []struct {
		Year   int    `db:"year"`
		Ref    string `db:"item_ref"`
		Reason string `db:"reason"`
	}
	if err := sqlx.SelectContext(ctx, q, &rows, qDeferred, provider, year); err != nil {
		return nil, fmt.Errorf("reading the previous cycle's deferrals: %w", dbError(err))
	}
	items := []review.Item{}
	for _, r := range rows {
		from, unit, id, ok := originOf(r.Year, r.Ref)
		if !ok {
			return nil, fmt.Errorf("the deferred item %q of %d is no item reference", r.Ref, r.Year)
		}
		it, err := foundItem(ctx, q, provider, from, unit, id)
		if err != nil {
			return nil, err
		}
		it.Ref, it.From, it.DeferredIn, it.Reason = review.CarriedRef(from, review.ItemRef(unit, id)), from, r.Year, r.Reason
		items = append(items, it)
	}
	return items, nil
}

// originOf reads where a deferred item was found: a reference of the
// deferring cycle's own items ("NORTH/F1", found in that year) or one it
// carried ("2026/NORTH/F1").
func originOf(year int, ref string) (from int, unit, id string, ok bool) {
	parts := strings.Split(ref, "/")
	switch len(parts) {
	case 2:
		return year, parts[0], parts[1], true
	case 3:
		y, err := strconv.Atoi(parts[0])
		return y, parts[1], parts[2], err == nil
	}
	return 0, "", "", false
}

// foundItem reads a finding or feedback item as the provider's completed
// cycle of the year recorded it.
func foundItem(ctx context.Context, q sqlx.QueryerContext, provider string, year int, unit, id string) (review.Item, error) {
	const qItem = `
WITH c AS (SELECT id FROM cycles WHERE provider_code = $1 AND year = $2 AND status = 'completed')
SELECT 'finding' AS kind, severity, section, text FROM findings WHERE cycle_id = (SELECT id FROM c) AND unit_code = $3 AND item_id = $4
UNION ALL
SELECT 'feedback', '', section, text FROM feedback_items WHERE cycle_id = (SELECT id FROM c) AND unit_code = $3 AND item_id = $4`
	var it review.Item
	if err := sqlx.GetContext(ctx, q, &it, qItem, provider, year, unit, id); err != nil {
		return review.Item{}, fmt.Errorf("reading item %s/%s of the %s cycle of %d: %w", unit, id, provider, year, dbError(err))
	}
	return it, nil
}

// openPhases are the phases OpenTasks may move a cycle to; the others are
// reached through Publish and FailCycle.
var openPhases = []review.Phase{review.PhaseEvaluate, review.PhaseUpdate, review.PhaseSignOff, review.PhaseApprove}

var taskKinds = []review.TaskKind{review.KindEvaluate, review.KindConsult, review.KindDraft, review.KindSignOff, review.KindApprove}

// OpenTasks moves a running cycle to the phase and round and records the
// tasks as open, offered to their role's pool, in one transaction, returning
// for each task (in input order) the IDs of the people who hold its role in
// its unit; each of them gets an "assigned" notice. A task nobody can
// complete is refused with ErrNoCandidates. Tasks already recorded are left
// as they are, and no notice is queued for them again.
func (s *Store) OpenTasks(ctx context.Context, in review.OpenTasksInput) ([]review.OpenedTask, error) {
	if err := checkOpenTasks(in); err != nil {
		return nil, fmt.Errorf("opening tasks of cycle %s: %w", in.CycleID, err)
	}
	var out []review.OpenedTask
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		out = make([]review.OpenedTask, 0, len(in.Tasks))
		c, err := lockCycle(ctx, tx, in.CycleID)
		if err != nil {
			return err
		}
		if c.Status != review.CycleRunning {
			return errorf(ErrCycleClosed, "cycle %s has %s and takes no new tasks", c.ID, ended(c.Status))
		}
		if c.Phase != string(in.Phase) || c.Round != in.Round {
			const qPhase = `UPDATE cycles SET phase = $2, round = $3 WHERE id = $1`
			if _, err := tx.ExecContext(ctx, qPhase, c.ID, in.Phase, in.Round); err != nil {
				return fmt.Errorf("moving cycle %s to %s: %w", c.ID, in.Phase, dbError(err))
			}
			payload := map[string]any{"from": c.Phase, "to": in.Phase, "from_round": c.Round, "round": in.Round}
			if err := record(ctx, tx, ActorSystem, ActionPhaseChanged, c.ID, c.ID, payload); err != nil {
				return err
			}
		}
		for _, t := range in.Tasks {
			role := taskRole(t)
			cands, err := candidates(ctx, tx, c.Provider, role, t.Unit)
			if err != nil {
				return err
			}
			if len(cands) == 0 {
				where := "provider-wide"
				if t.Unit != "" {
					where = "in unit " + t.Unit
				}
				return errorf(ErrNoCandidates, "task %s: no one in provider %s holds role %s %s", t.ID, c.Provider, role, where)
			}
			inserted, err := insertTask(ctx, tx, c.ID, t)
			if err != nil {
				return err
			}
			if inserted {
				f := review.NoticeFacts{Kind: review.NoticeAssigned, TaskID: t.ID, TaskKind: t.Kind, Unit: t.Unit, Role: role, DueAt: t.DueAt}
				if err := queueNotices(ctx, tx, f, c.ID, noticeID(f.Kind, t.ID), cands); err != nil {
					return err
				}
			}
			out = append(out, review.OpenedTask{ID: t.ID, Candidates: cands})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("opening tasks of cycle %s: %w", in.CycleID, err)
	}
	return out, nil
}

func checkOpenTasks(in review.OpenTasksInput) error {
	var p []string
	if in.CycleID == "" {
		p = append(p, "cycle_id is required")
	}
	if !slices.Contains(openPhases, in.Phase) {
		p = append(p, fmt.Sprintf("phase %q is not one of evaluate, update, signoff, approve", in.Phase))
	}
	if in.Round < 0 {
		p = append(p, fmt.Sprintf("round %d is negative", in.Round))
	}
	for i, t := range in.Tasks {
		if t.ID == "" {
			p = append(p, fmt.Sprintf("tasks[%d].id is required", i))
		}
		if t.CycleID != "" && t.CycleID != in.CycleID {
			p = append(p, fmt.Sprintf("tasks[%d] belongs to cycle %s, not %s", i, t.CycleID, in.CycleID))
		}
		if t.WorkflowID == "" {
			p = append(p, fmt.Sprintf("tasks[%d].workflow_id is required", i))
		}
		if !slices.Contains(taskKinds, t.Kind) {
			p = append(p, fmt.Sprintf("tasks[%d].kind %q is not a task kind", i, t.Kind))
		}
		if t.DueAt.IsZero() {
			p = append(p, fmt.Sprintf("tasks[%d].due_at is required", i))
		}
	}
	if len(p) > 0 {
		return errorf(ErrInvalid, "%s", strings.Join(p, "; "))
	}
	return nil
}

// taskRole is the role whose holders may complete the task: the one it names,
// or else the one its kind goes to.
func taskRole(t review.TaskSpec) review.Role {
	if t.Role != "" {
		return t.Role
	}
	return t.Kind.AssigneeRole()
}

// candidates lists the people of the provider who hold the role in the unit
// ("" for provider-wide), ordered by ID.
func candidates(ctx context.Context, q sqlx.QueryerContext, provider string, role review.Role, unit string) ([]string, error) {
	const qCands = `
SELECT p.id
FROM people p JOIN person_roles pr ON pr.person_id = p.id
WHERE p.provider_code = $1 AND pr.role = $2 AND pr.unit_code = $3
ORDER BY p.id`
	ids := []string{}
	if err := sqlx.SelectContext(ctx, q, &ids, qCands, provider, role, unit); err != nil {
		return nil, fmt.Errorf("finding who holds %s: %w", review.Pool(role, unit), dbError(err))
	}
	return ids, nil
}

// insertTask records the task unless it is recorded already, and reports
// whether it did.
func insertTask(ctx context.Context, ext sqlx.ExtContext, cycleID string, t review.TaskSpec) (bool, error) {
	input := string(t.Input)
	if len(t.Input) == 0 {
		input = "{}"
	}
	const qInsert = `
INSERT INTO tasks (id, cycle_id, workflow_id, kind, unit_code, round, role, status, due_at, input)
VALUES ($1, $2, $3, $4, $5, $6, $7, 'open', $8, $9)
ON CONFLICT (id) DO NOTHING`
	res, err := ext.ExecContext(ctx, qInsert, t.ID, cycleID, t.WorkflowID, t.Kind, t.Unit, t.Round, taskRole(t), t.DueAt, input)
	if err != nil {
		return false, fmt.Errorf("recording task %s: %w", t.ID, dbError(err))
	}
	n, err := rowsAffected(res)
	if err != nil || n == 0 {
		return false, err
	}
	payload := map[string]any{
		"kind": t.Kind, "unit": t.Unit, "round": t.Round, "role": taskRole(t),
		"due_at": t.DueAt, "workflow_id": t.WorkflowID,
	}
	return true, record(ctx, ext, ActorSystem, ActionTaskOpened, t.ID, cycleID, payload)
}

// taskRow is the part of a tasks row that completing it needs.
type taskRow struct {
	ID      string          `db:"id"`
	CycleID string          `db:"cycle_id"`
	Kind    review.TaskKind `db:"kind"`
	Unit    string          `db:"unit_code"`
	Round   int             `db:"round"`
	Role    review.Role     `db:"role"`
}

// outcomeWriter writes the records an outcome carries, in the transaction
// that completes its task.
type outcomeWriter func(ctx context.Context, tx *sqlx.Tx, t taskRow, actor string) error

// CompleteTask records the outcome of an open task and, in the same
// transaction, the findings, feedback, changes or signature it carries, and
// the audit event. Calling it again with the same actor and outcome after it
// succeeded does nothing; completing a task that is done or superseded is
// refused with ErrTaskClosed, and an outcome that breaks the rules with
// ErrInvalid.
func (s *Store) CompleteTask(ctx context.Context, in review.CompleteTaskInput) error {
	id := in.Task.ID
	if id == "" || in.Actor == "" {
		return errorf(ErrInvalid, "completing a task needs the task's id and the actor (got %q, %q)", id, in.Actor)
	}
	write, err := decodeOutcome(in)
	if err != nil {
		return fmt.Errorf("completing task %s: %w", id, err)
	}
	completed := false // by this call, not a retry of one that did
	err = s.inTx(ctx, func(tx *sqlx.Tx) error {
		completed = false
		const qDone = `
UPDATE tasks SET status = 'done', outcome = $2, completed_by = $3, completed_at = now()
WHERE id = $1 AND status = 'open'
RETURNING id, cycle_id, kind, unit_code, round, role`
		var t taskRow
		err := sqlx.GetContext(ctx, tx, &t, qDone, id, string(in.Outcome), in.Actor)
		if errors.Is(err, sql.ErrNoRows) {
			return alreadyClosed(ctx, tx, in)
		}
		if err != nil {
			return fmt.Errorf("recording the outcome: %w", dbError(err))
		}
		if t.Kind != in.Task.Kind {
			return errorf(ErrInvalid, "task %s is a %s task, not %s", id, t.Kind, in.Task.Kind)
		}
		if err := write(ctx, tx, t, in.Actor); err != nil {
			return err
		}
		completed = true
		return record(ctx, tx, in.Actor, ActionTaskCompleted, id, t.CycleID, json.RawMessage(in.Outcome))
	})
	if err != nil {
		return fmt.Errorf("completing task %s: %w", id, err)
	}
	if completed {
		metrics.TaskCompleted(string(in.Task.Kind), string(in.Via.Channel))
	}
	return nil
}

// alreadyClosed decides what a task that is not open means: a retry of the
// very completion that closed it (nil), or a refusal.
func alreadyClosed(ctx context.Context, q sqlx.QueryerContext, in review.CompleteTaskInput) error {
	var row struct {
		Status      string `db:"status"`
		CompletedBy string `db:"completed_by"`
		Same        bool   `db:"same"`
	}
	const qTask = `
SELECT status, COALESCE(completed_by, '') AS completed_by, COALESCE(outcome = $2::jsonb, false) AS same
FROM tasks WHERE id = $1`
	err := sqlx.GetContext(ctx, q, &row, qTask, in.Task.ID, string(in.Outcome))
	if errors.Is(err, sql.ErrNoRows) {
		return errorf(ErrNotFound, "task %q is not recorded", in.Task.ID)
	}
	if err != nil {
		return fmt.Errorf("reading task: %w", dbError(err))
	}
	switch {
	case row.Status == review.TaskDone && row.CompletedBy == in.Actor && row.Same:
		return nil
	case row.Status == review.TaskDone:
		return errorf(ErrTaskClosed, "task %s is already done (completed by %s)", in.Task.ID, row.CompletedBy)
	default:
		return errorf(ErrTaskClosed, "task %s was %s and takes no outcome", in.Task.ID, row.Status)
	}
}

// decodeOutcome reads the outcome strictly for the task's kind and returns
// the writer of its records.
func decodeOutcome(in review.CompleteTaskInput) (outcomeWriter, error) {
	invalid := func(err error) error {
		return errorf(ErrInvalid, "the %s outcome is not valid: %v", in.Task.Kind, err)
	}
	switch in.Task.Kind {
	case review.KindEvaluate:
		var e review.Evaluation
		if err := review.DecodeOutcome(in.Outcome, &e); err != nil {
			return nil, invalid(err)
		}
		return func(ctx context.Context, tx *sqlx.Tx, t taskRow, actor string) error {
			return insertEvaluation(ctx, tx, t, actor, e)
		}, nil
	case review.KindConsult:
		var c review.Consultation
		if err := review.DecodeOutcome(in.Outcome, &c); err != nil {
			return nil, invalid(err)
		}
		return func(ctx context.Context, tx *sqlx.Tx, t taskRow, actor string) error {
			return insertConsultation(ctx, tx, t, actor, c)
		}, nil
	case review.KindDraft:
		var d review.Draft
		if err := review.DecodeOutcome(in.Outcome, &d); err != nil {
			return nil, invalid(err)
		}
		if in.Draft == nil {
			return nil, errorf(ErrInvalid, "a draft outcome needs the drafted plan content")
		}
		content := *in.Draft
		return func(ctx context.Context, tx *sqlx.Tx, t taskRow, actor string) error {
			return insertDraft(ctx, tx, t, actor, d, content)
		}, nil
	case review.KindSignOff:
		var so review.SignOff
		if err := review.DecodeOutcome(in.Outcome, &so); err != nil {
			return nil, invalid(err)
		}
		return func(ctx context.Context, tx *sqlx.Tx, t taskRow, actor string) error {
			return insertSignOff(ctx, tx, t, actor, so)
		}, nil
	case review.KindApprove:
		var a review.Approval
		if err := review.DecodeOutcome(in.Outcome, &a); err != nil {
			return nil, invalid(err)
		}
		return func(ctx context.Context, tx *sqlx.Tx, t taskRow, actor string) error {
			return insertApproval(ctx, tx, t, actor, a)
		}, nil
	}
	return nil, errorf(ErrInvalid, "task kind %q is not one of %s", in.Task.Kind, joinKinds())
}

func joinKinds() string {
	s := make([]string, len(taskKinds))
	for i, k := range taskKinds {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}

// The record inserts below have no ON CONFLICT: the task's move from open to
// done lets each outcome through once, so a conflict here is a real duplicate
// (an item listed twice) and fails the whole completion. Each record gets its
// own audit event, by the person who completed the task, so an auditor can
// follow one finding, disposition or signature through the trail; the
// task.completed event after them carries the whole outcome.

func insertEvaluation(ctx context.Context, tx *sqlx.Tx, t taskRow, actor string, e review.Evaluation) error {
	if err := insertIndicators(ctx, tx, t, e.Indicators); err != nil {
		return err
	}
	const qFinding = `
INSERT INTO findings (cycle_id, unit_code, item_id, section, severity, text, recommendation, task_id)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`
	for _, f := range e.Findings {
		if _, err := tx.ExecContext(ctx, qFinding, t.CycleID, t.Unit, f.ID, f.Section, f.Severity, f.Text, f.Recommendation, t.ID); err != nil {
			return fmt.Errorf("recording finding %s: %w", f.ID, dbError(err))
		}
		payload := map[string]any{"task": t.ID, "section": f.Section, "severity": f.Severity}
		if err := record(ctx, tx, actor, ActionFindingRecorded, t.Unit+"/"+f.ID, t.CycleID, payload); err != nil {
			return err
		}
	}
	const qRating = `
INSERT INTO effectiveness_ratings (cycle_id, unit_code, change_id, rating, note, task_id)
VALUES ($1, $2, $3, $4, $5, $6)`
	for _, r := range e.Effectiveness {
		if _, err := tx.ExecContext(ctx, qRating, t.CycleID, t.Unit, r.ChangeID, r.Rating, r.Note, t.ID); err != nil {
			return fmt.Errorf("recording the rating of change %s: %w", r.ChangeID, dbError(err))
		}
		payload := map[string]any{"task": t.ID, "unit": t.Unit, "rating": r.Rating}
		if err := record(ctx, tx, actor, ActionEffectivenessRated, r.ChangeID, t.CycleID, payload); err != nil {
			return err
		}
	}
	return nil
}

func insertConsultation(ctx context.Context, tx *sqlx.Tx, t taskRow, actor string, c review.Consultation) error {
	const qConsultation = `
INSERT INTO consultations (cycle_id, unit_code, method, participants, held_on, task_id)
VALUES ($1, $2, $3, $4, $5, $6)`
	if _, err := tx.ExecContext(ctx, qConsultation, t.CycleID, t.Unit, c.Method, c.Participants, c.HeldOn, t.ID); err != nil {
		return fmt.Errorf("recording the consultation: %w", dbError(err))
	}
	payload := map[string]any{"task": t.ID, "method": c.Method, "participants": c.Participants, "held_on": c.HeldOn}
	if err := record(ctx, tx, actor, ActionConsultationRecorded, t.Unit, t.CycleID, payload); err != nil {
		return err
	}
	const qFeedback = `
INSERT INTO feedback_items (cycle_id, unit_code, item_id, section, text, task_id)
VALUES ($1, $2, $3, $4, $5, $6)`
	for _, f := range c.Feedback {
		if _, err := tx.ExecContext(ctx, qFeedback, t.CycleID, t.Unit, f.ID, f.Section, f.Text, t.ID); err != nil {
			return fmt.Errorf("recording feedback item %s: %w", f.ID, dbError(err))
		}
		if err := record(ctx, tx, actor, ActionFeedbackRecorded, t.Unit+"/"+f.ID, t.CycleID, map[string]any{"task": t.ID, "section": f.Section}); err != nil {
			return err
		}
	}
	return nil
}

func insertDraft(ctx context.Context, tx *sqlx.Tx, t taskRow, actor string, d review.Draft, content review.PlanContent) error {
	const qChange = `
INSERT INTO plan_changes (cycle_id, round, change_id, section, text, rationale, addresses, task_id)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`
	for _, c := range d.Changes {
		addresses := c.Addresses
		if addresses == nil {
			addresses = []string{}
		}
		if _, err := tx.ExecContext(ctx, qChange, t.CycleID, t.Round, c.ID, c.Section, c.Text, c.Rationale, pq.Array(addresses), t.ID); err != nil {
			return fmt.Errorf("recording change %s: %w", c.ID, dbError(err))
		}
		payload := map[string]any{"task": t.ID, "round": t.Round, "section": c.Section, "addresses": addresses}
		if err := record(ctx, tx, actor, ActionChangeRecorded, c.ID, t.CycleID, payload); err != nil {
			return err
		}
	}
	const qDisposition = `
INSERT INTO dispositions (cycle_id, round, item_ref, decision, change_id, reason, task_id)
VALUES ($1, $2, $3, $4, $5, $6, $7)`
	for _, ds := range d.Dispositions {
		if _, err := tx.ExecContext(ctx, qDisposition, t.CycleID, t.Round, ds.Item, ds.Decision, ds.Change, ds.Reason, t.ID); err != nil {
			return fmt.Errorf("recording the disposition of %s: %w", ds.Item, dbError(err))
		}
		payload := map[string]any{"task": t.ID, "round": t.Round, "decision": ds.Decision, "change": ds.Change, "reason": ds.Reason}
		if err := record(ctx, tx, actor, ActionDispositionRecorded, ds.Item, t.CycleID, payload); err != nil {
			return err
		}
	}
	b, err := json.Marshal(content)
	if err != nil {
		return fmt.Errorf("encoding the draft: %w", err)
	}
	coverage := d.Coverage
	if coverage == nil {
		coverage = []review.Coverage{}
	}
	cov, err := json.Marshal(coverage)
	if err != nil {
		return fmt.Errorf("encoding the draft's coverage: %w", err)
	}
	const qDraft = `
INSERT INTO plan_drafts (cycle_id, round, content, content_hash, drafted_by, task_id, coverage)
VALUES ($1, $2, $3, $4, $5, $6, $7)`
	if _, err := tx.ExecContext(ctx, qDraft, t.CycleID, t.Round, string(b), content.Hash(), actor, t.ID, string(cov)); err != nil {
		return fmt.Errorf("recording the draft of round %d: %w", t.Round, dbError(err))
	}
	payload := map[string]any{"task": t.ID, "round": t.Round, "content_hash": content.Hash()}
	return record(ctx, tx, actor, ActionDraftRecorded, fmt.Sprintf("r%d", t.Round), t.CycleID, payload)
}

// draftHash is the content hash of the round's draft, which signatures bind.
func draftHash(ctx context.Context, q sqlx.QueryerContext, cycleID string, round int) (string, error) {
	var hash string
	const qHash = `SELECT content_hash FROM plan_drafts WHERE cycle_id = $1 AND round = $2`
	err := sqlx.GetContext(ctx, q, &hash, qHash, cycleID, round)
	if errors.Is(err, sql.ErrNoRows) {
		return "", errorf(ErrInvalid, "round %d of cycle %s has no draft to sign", round, cycleID)
	}
	if err != nil {
		return "", fmt.Errorf("reading the draft of round %d: %w", round, dbError(err))
	}
	return hash, nil
}

func insertSignOff(ctx context.Context, tx *sqlx.Tx, t taskRow, actor string, so review.SignOff) error {
	// The workflow checks the hash before it accepts a sign-off; checking it
	// again here means no signature can be stored against other content.
	hash, err := draftHash(ctx, tx, t.CycleID, t.Round)
	if err != nil {
		return err
	}
	if so.VersionHash != hash {
		return errorf(ErrInvalid, "the sign-off names version_hash %s, but the draft of round %d is %s", so.VersionHash, t.Round, hash)
	}
	draft, err := draftContent(ctx, tx, t.CycleID, t.Round)
	if err != nil {
		return err
	}
	meaning := review.SignOffMeaning(so.Decision, t.Unit, draft)
	const qSignOff = `
INSERT INTO signoffs (cycle_id, round, unit_code, signer, role, decision, comment, version_hash, meaning, task_id)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`
	// The signer signs in the role the task is assigned to, which the
	// assignment in force let them act in.
	if _, err := tx.ExecContext(ctx, qSignOff, t.CycleID, t.Round, t.Unit, actor, t.Role, so.Decision, so.Comment, so.VersionHash, meaning, t.ID); err != nil {
		return fmt.Errorf("recording the sign-off of unit %s: %w", t.Unit, dbError(err))
	}
	payload := map[string]any{"task": t.ID, "round": t.Round, "role": t.Role, "decision": so.Decision, "meaning": meaning, "version_hash": so.VersionHash}
	return record(ctx, tx, actor, ActionSignOffRecorded, fmt.Sprintf("r%d/%s", t.Round, t.Unit), t.CycleID, payload)
}

func insertApproval(ctx context.Context, tx *sqlx.Tx, t taskRow, actor string, a review.Approval) error {
	hash, err := draftHash(ctx, tx, t.CycleID, t.Round)
	if err != nil {
		return err
	}
	meaning := "approved for the provider"
	if a.Decision == review.DecisionReturn {
		meaning = "returned for the provider"
	}
	const qApproval = `
INSERT INTO approvals (cycle_id, round, approver, role, decision, comment, effective_from, version_hash, meaning, task_id)
VALUES ($1, $2, $3, $4, $5, $6, NULLIF($7, '')::date, $8, $9, $10)`
	if _, err := tx.ExecContext(ctx, qApproval, t.CycleID, t.Round, actor, t.Role, a.Decision, a.Comment, a.EffectiveFrom, hash, meaning, t.ID); err != nil {
		return fmt.Errorf("recording the approval of round %d: %w", t.Round, dbError(err))
	}
	payload := map[string]any{"task": t.ID, "round": t.Round, "role": t.Role, "decision": a.Decision, "meaning": meaning, "version_hash": hash}
	return record(ctx, tx, actor, ActionApprovalRecorded, fmt.Sprintf("r%d", t.Round), t.CycleID, payload)
}

// SupersedeTasks closes the open tasks among the IDs as superseded, with one
// audit event for each task it closed. Tasks already closed are left alone; an
// ID that is no task of the cycle is refused with ErrNotFound.
func (s *Store) SupersedeTasks(ctx context.Context, in review.SupersedeTasksInput) error {
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		for _, id := range in.TaskIDs {
			const qSupersede = `
UPDATE tasks SET status = 'superseded', completed_at = now()
WHERE id = $1 AND cycle_id = $2 AND status = 'open'`
			res, err := tx.ExecContext(ctx, qSupersede, id, in.CycleID)
			if err != nil {
				return fmt.Errorf("superseding task %s: %w", id, dbError(err))
			}
			n, err := rowsAffected(res)
			if err != nil {
				return err
			}
			if n == 1 {
				if err := record(ctx, tx, ActorSystem, ActionTaskSuperseded, id, in.CycleID, map[string]any{"reason": in.Reason}); err != nil {
					return err
				}
				continue
			}
			var exists bool
			const qExists = `SELECT EXISTS (SELECT 1 FROM tasks WHERE id = $1 AND cycle_id = $2)`
			if err := sqlx.GetContext(ctx, tx, &exists, qExists, id, in.CycleID); err != nil {
				return fmt.Errorf("reading task %s: %w", id, dbError(err))
			}
			if !exists {
				return errorf(ErrNotFound, "task %q is not a task of cycle %s", id, in.CycleID)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("superseding tasks of cycle %s: %w", in.CycleID, err)
	}
	return nil
}

// Publish records the approved draft as the provider's next plan version and
// completes the cycle; tasks still open are superseded, and the provider's
// managers and unit heads get a "published" notice. The content must be the
// draft the round's approval names. Called again for a cycle that has
// published, it returns the version already written.
func (s *Store) Publish(ctx context.Context, in review.PublishInput) (review.Published, error) {
	if _, err := time.Parse(time.DateOnly, in.EffectiveFrom); err != nil {
		return review.Published{}, errorf(ErrInvalid, "publishing cycle %s: effective_from must be a date written as YYYY-MM-DD (got %q)", in.CycleID, in.EffectiveFrom)
	}
	if in.ApprovedBy == "" {
		return review.Published{}, errorf(ErrInvalid, "publishing cycle %s: approved_by is required", in.CycleID)
	}
	var out review.Published
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		c, err := lockCycle(ctx, tx, in.CycleID)
		if err != nil {
			return err
		}
		const qExisting = `SELECT version, content_hash AS hash FROM plan_versions WHERE cycle_id = $1`
		err = sqlx.GetContext(ctx, tx, &out, qExisting, c.ID)
		if err == nil {
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("reading the published version: %w", dbError(err))
		}
		if c.Status != review.CycleRunning {
			return errorf(ErrCycleClosed, "cycle %s has %s without a published plan", c.ID, ended(c.Status))
		}
		if in.Provider != "" && in.Provider != c.Provider {
			return errorf(ErrInvalid, "cycle %s is of provider %s, not %s", c.ID, c.Provider, in.Provider)
		}
		hash := in.Content.Hash()
		if err := checkApproved(ctx, tx, c.ID, in.Round, hash); err != nil {
			return err
		}

		const qPlan = `INSERT INTO plans (provider_code) VALUES ($1) ON CONFLICT (provider_code) DO NOTHING`
		if _, err := tx.ExecContext(ctx, qPlan, c.Provider); err != nil {
			return fmt.Errorf("recording the plan of %s: %w", c.Provider, dbError(err))
		}
		var planID int64
		const qPlanID = `SELECT id FROM plans WHERE provider_code = $1 FOR UPDATE`
		if err := sqlx.GetContext(ctx, tx, &planID, qPlanID, c.Provider); err != nil {
			return fmt.Errorf("reading the plan of %s: %w", c.Provider, dbError(err))
		}
		const qNext = `SELECT COALESCE(MAX(version), 0) + 1 FROM plan_versions WHERE plan_id = $1`
		if err := sqlx.GetContext(ctx, tx, &out.Version, qNext, planID); err != nil {
			return fmt.Errorf("numbering the version: %w", dbError(err))
		}
		out.Hash = hash
		content, err := json.Marshal(in.Content)
		if err != nil {
			return fmt.Errorf("encoding the plan: %w", err)
		}
		const qVersion = `
INSERT INTO plan_versions (plan_id, version, content, content_hash, effective_from, cycle_id, round, approved_by)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`
		if _, err := tx.ExecContext(ctx, qVersion, planID, out.Version, string(content), hash, in.EffectiveFrom, c.ID, in.Round, in.ApprovedBy); err != nil {
			return fmt.Errorf("recording version %d: %w", out.Version, dbError(err))
		}
		const qComplete = `
UPDATE cycles SET status = 'completed', phase = 'published', completed_at = now()
WHERE id = $1`
		if _, err := tx.ExecContext(ctx, qComplete, c.ID); err != nil {
			return fmt.Errorf("completing the cycle: %w", dbError(err))
		}
		payload := map[string]any{"provider": c.Provider, "version": out.Version, "hash": hash, "effective_from": in.EffectiveFrom, "round": in.Round}
		if err := record(ctx, tx, in.ApprovedBy, ActionPlanPublished, fmt.Sprintf("plan/%s/v%d", c.Provider, out.Version), c.ID, payload); err != nil {
			return err
		}
		told, err := holders(ctx, tx, c.Provider, review.RoleManager, review.RoleUnitHead)
		if err != nil {
			return err
		}
		f := review.NoticeFacts{Kind: review.NoticePublished, Provider: c.Provider, Year: c.Year, Version: out.Version, EffectiveFrom: in.EffectiveFrom}
		if err := queueNotices(ctx, tx, f, c.ID, noticeID(f.Kind, c.ID), told); err != nil {
			return err
		}
		return closeOpenTasks(ctx, tx, c.ID, fmt.Sprintf("the cycle published version %d", out.Version))
	})
	if err != nil {
		return review.Published{}, fmt.Errorf("publishing cycle %s: %w", in.CycleID, err)
	}
	return out, nil
}

// checkApproved makes sure the content to publish is the draft the round's
// approver approved.
func checkApproved(ctx context.Context, q sqlx.QueryerContext, cycleID string, round int, hash string) error {
	var approved string
	const qApproval = `SELECT version_hash FROM approvals WHERE cycle_id = $1 AND round = $2 AND decision = 'approve'`
	err := sqlx.GetContext(ctx, q, &approved, qApproval, cycleID, round)
	if errors.Is(err, sql.ErrNoRows) {
		return errorf(ErrInvalid, "round %d of cycle %s has no approval to publish", round, cycleID)
	}
	if err != nil {
		return fmt.Errorf("reading the approval: %w", dbError(err))
	}
	if approved != hash {
		return errorf(ErrInvalid, "the content to publish (%s) is not the approved draft (%s)", hash, approved)
	}
	return nil
}

// FailCycle records that a running cycle ended without a published plan, and
// supersedes its open tasks so that they leave everyone's task list. A cycle
// that has already failed is left as it is; one that completed or was
// cancelled is refused with ErrCycleClosed.
func (s *Store) FailCycle(ctx context.Context, in review.FailCycleInput) error {
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		c, err := lockCycle(ctx, tx, in.CycleID)
		if errors.Is(err, ErrNotFound) && in.Cycle != nil && in.Cycle.CycleID == in.CycleID {
			// Its set-up was refused: recorded now as started, then failed.
			if err := insertCycle(ctx, tx, *in.Cycle); err != nil {
				return err
			}
			c, err = lockCycle(ctx, tx, in.CycleID)
		}
		if err != nil {
			return err
		}
		switch c.Status {
		case review.CycleFailed:
			return nil
		case review.CycleCompleted, review.CycleCancelled:
			return errorf(ErrCycleClosed, "cycle %s has %s and cannot fail", c.ID, ended(c.Status))
		}
		const qFail = `
UPDATE cycles SET status = 'failed', phase = 'failed', reason = $2, completed_at = now()
WHERE id = $1`
		if _, err := tx.ExecContext(ctx, qFail, c.ID, in.Reason); err != nil {
			return fmt.Errorf("recording the failure: %w", dbError(err))
		}
		if err := record(ctx, tx, ActorSystem, ActionCycleFailed, c.ID, c.ID, map[string]any{"reason": in.Reason, "phase": c.Phase, "round": c.Round}); err != nil {
			return err
		}
		return closeOpenTasks(ctx, tx, c.ID, "the cycle failed: "+in.Reason)
	})
	if err != nil {
		return fmt.Errorf("failing cycle %s: %w", in.CycleID, err)
	}
	return nil
}

// closeOpenTasks supersedes the open tasks of a cycle that has ended, so that
// none stays on anyone's task list, with an audit event for each.
func closeOpenTasks(ctx context.Context, tx *sqlx.Tx, cycleID, reason string) error {
	var closed []string
	const qClose = `
UPDATE tasks SET status = 'superseded', completed_at = now()
WHERE cycle_id = $1 AND status = 'open'
RETURNING id`
	if err := sqlx.SelectContext(ctx, tx, &closed, qClose, cycleID); err != nil {
		return fmt.Errorf("closing open tasks: %w", dbError(err))
	}
	slices.Sort(closed)
	for _, id := range closed {
		if err := record(ctx, tx, ActorSystem, ActionTaskSuperseded, id, cycleID, map[string]any{"reason": reason}); err != nil {
			return err
		}
	}
	return nil
}

// ended words a cycle status after "has": "completed", "failed", "been
// cancelled".
func ended(status string) string {
	if status == review.CycleCancelled {
		return "been cancelled"
	}
	return status
}
