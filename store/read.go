package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/oho-dev/oho/review"
)

// The reads in this file serve the command line, which prints their results
// as text or, with --json, as JSON.

// Cycle is a provider's review cycle for a year.
type Cycle struct {
	ID          string          `db:"id" json:"id"`
	Provider    string          `db:"provider_code" json:"provider"`
	Year        int             `db:"year" json:"year"`
	Status      string          `db:"status" json:"status"`
	Phase       review.Phase    `db:"phase" json:"phase"`
	Round       int             `db:"round" json:"round"`
	Config      json.RawMessage `db:"config" json:"config"`
	Reason      string          `db:"reason" json:"reason,omitempty"`
	StartedAt   time.Time       `db:"started_at" json:"started_at"`
	CompletedAt *time.Time      `db:"completed_at" json:"completed_at,omitempty"`
	// Attempt is 1, or more for a year started again after its cycle
	// failed or was cancelled; RestartOf names the attempt before.
	Attempt   int    `db:"attempt" json:"attempt"`
	RestartOf string `db:"restarted_from" json:"restart_of,omitempty"`
	// SetUpAt is when a worker set the cycle up; nil while it waits for one.
	SetUpAt *time.Time `db:"set_up_at" json:"set_up_at,omitempty"`
}

const cycleColumns = `id, provider_code, year, status, phase, round, config, reason, started_at, completed_at,
    attempt, COALESCE(restarted_from, '') AS restarted_from, set_up_at`

// Cycle returns the provider's cycle for the year — its latest attempt, when
// the year was started again — or ErrNotFound.
func (s *Store) Cycle(ctx context.Context, provider string, year int) (Cycle, error) {
	return cycleOf(ctx, s.db, provider, year)
}

func cycleOf(ctx context.Context, q sqlx.QueryerContext, provider string, year int) (Cycle, error) {
	var c Cycle
	const qCycle = `SELECT ` + cycleColumns + ` FROM cycles WHERE provider_code = $1 AND year = $2 ORDER BY attempt DESC LIMIT 1`
	err := sqlx.GetContext(ctx, q, &c, qCycle, provider, year)
	if errors.Is(err, sql.ErrNoRows) {
		return Cycle{}, errorf(ErrNotFound, "provider %s has no cycle for %d", provider, year)
	}
	if err != nil {
		return Cycle{}, fmt.Errorf("reading the cycle of %s for %d: %w", provider, year, dbError(err))
	}
	return c, nil
}

// Cycles returns the provider's cycles, or every provider's when provider is
// empty, ordered by provider, year and attempt.
func (s *Store) Cycles(ctx context.Context, provider string) ([]Cycle, error) {
	cycles := []Cycle{}
	const q = `SELECT ` + cycleColumns + ` FROM cycles WHERE $1 = '' OR provider_code = $1 ORDER BY provider_code, year, attempt`
	if err := sqlx.SelectContext(ctx, s.db, &cycles, q, provider); err != nil {
		return nil, fmt.Errorf("reading cycles: %w", dbError(err))
	}
	return cycles, nil
}

// CycleStatus returns where the provider's cycle for the year stands, built
// from the records; it answers the same question as the workflow's status
// query, and still does once the workflow has closed.
func (s *Store) CycleStatus(ctx context.Context, provider string, year int) (review.Progress, error) {
	c, err := s.Cycle(ctx, provider, year)
	if err != nil {
		return review.Progress{}, err
	}
	st := review.Progress{
		Provider: c.Provider, Year: c.Year, WorkflowID: c.ID, Status: c.Status,
		Phase: c.Phase, Round: c.Round, Attempt: c.Attempt, RestartOf: c.RestartOf,
		WaitingForWorker: c.Status == review.CycleRunning && c.SetUpAt == nil,
		Units:            []review.UnitProgress{}, Tasks: []review.TaskProgress{},
	}
	// A unit is still evaluating while it has an open evaluate or consult
	// task, or, during the evaluate phase, until it has done both.
	const qUnits = `
SELECT u.code,
    EXISTS (SELECT 1 FROM tasks t WHERE t.cycle_id = $2 AND t.unit_code = u.code
            AND t.kind IN ('evaluate', 'consult') AND t.status = 'open') AS evaluating,
    (SELECT count(DISTINCT t.kind) FROM tasks t WHERE t.cycle_id = $2 AND t.unit_code = u.code
            AND t.kind IN ('evaluate', 'consult') AND t.status = 'done') = 2 AS evaluated,
    EXISTS (SELECT 1 FROM tasks t WHERE t.cycle_id = $2 AND t.unit_code = u.code
            AND t.kind = 'signoff' AND t.status = 'open') AS signing
FROM units u
WHERE u.provider_code = $1
ORDER BY u.code`
	var units []struct {
		Code       string `db:"code"`
		Evaluating bool   `db:"evaluating"`
		Evaluated  bool   `db:"evaluated"`
		Signing    bool   `db:"signing"`
	}
	if err := sqlx.SelectContext(ctx, s.db, &units, qUnits, c.Provider, c.ID); err != nil {
		return review.Progress{}, fmt.Errorf("reading unit status of cycle %s: %w", c.ID, dbError(err))
	}
	for _, u := range units {
		phase := "waiting"
		switch {
		case c.Status == review.CycleCompleted:
			phase = "done"
		case c.Status == review.CycleFailed:
			phase = "failed"
		case c.Status == review.CycleCancelled:
			phase = "cancelled"
		case u.Evaluating, c.Phase == review.PhaseEvaluate && !u.Evaluated:
			phase = string(review.PhaseEvaluate)
		case u.Signing:
			phase = string(review.PhaseSignOff)
		}
		st.Units = append(st.Units, review.UnitProgress{Unit: u.Code, Phase: phase})
	}
	// As in the workflow's status, the assignee is the person who has the
	// task or else its role, and a task is overdue once its timers found it
	// so, until it closes or its due time moves.
	const qTasks = `
SELECT id, kind, unit_code, role, assignee, status, due_at,
    (status = 'open' AND overdue_at IS NOT NULL) AS overdue
FROM tasks WHERE cycle_id = $1
ORDER BY created_at, id`
	var tasks []struct {
		ID       string          `db:"id"`
		Kind     review.TaskKind `db:"kind"`
		Unit     string          `db:"unit_code"`
		Role     review.Role     `db:"role"`
		Assignee string          `db:"assignee"`
		Status   string          `db:"status"`
		DueAt    time.Time       `db:"due_at"`
		Overdue  bool            `db:"overdue"`
	}
	if err := sqlx.SelectContext(ctx, s.db, &tasks, qTasks, c.ID); err != nil {
		return review.Progress{}, fmt.Errorf("reading tasks of cycle %s: %w", c.ID, dbError(err))
	}
	for _, t := range tasks {
		assignee := t.Assignee
		if assignee == "" {
			assignee = review.Pool(t.Role, t.Unit)
		}
		st.Tasks = append(st.Tasks, review.TaskProgress{
			ID: t.ID, Kind: t.Kind, Unit: t.Unit, Holder: assignee,
			Status: t.Status, DueAt: t.DueAt, Overdue: t.Overdue,
		})
	}
	return st, nil
}

// Task is a human task with everything recorded about it.
type Task struct {
	ID         string          `db:"id" json:"id"`
	CycleID    string          `db:"cycle_id" json:"cycle_id"`
	WorkflowID string          `db:"workflow_id" json:"workflow_id"`
	Provider   string          `db:"provider_code" json:"provider"`
	Year       int             `db:"year" json:"year"`
	Attempt    int             `db:"attempt" json:"attempt"`
	Kind       review.TaskKind `db:"kind" json:"kind"`
	Unit       string          `db:"unit_code" json:"unit"`
	Round      int             `db:"round" json:"round"`
	Role       review.Role     `db:"role" json:"role"`
	// Pool is who the task is offered to: its role in its unit, written
	// "role@UNIT" (review.Pool).
	Pool string `db:"-" json:"pool"`
	// Assignee is the person who has the task (claimed, delegated or
	// reassigned), who alone may complete it; empty while the task is in its
	// pool, where anyone holding the pool's role may.
	Assignee string    `db:"assignee" json:"assignee,omitempty"`
	Status   string    `db:"status" json:"status"`
	DueAt    time.Time `db:"due_at" json:"due_at"`
	// OverdueAt is when the task was found overdue, if it has been since its
	// due time was last set.
	OverdueAt *time.Time `db:"overdue_at" json:"overdue_at,omitempty"`
	CreatedAt time.Time  `db:"created_at" json:"created_at"`
	// Input and Outcome are what the assignee was given and what they
	// answered, as JSON. Tasks leaves them out; Task fills them.
	Input       json.RawMessage `db:"input" json:"input,omitempty"`
	Outcome     json.RawMessage `db:"outcome" json:"outcome,omitempty"`
	CompletedBy string          `db:"completed_by" json:"completed_by,omitempty"`
	CompletedAt *time.Time      `db:"completed_at" json:"completed_at,omitempty"`
	// Candidates are the people who hold the task's role in its unit now;
	// filled by Task.
	Candidates []string `db:"-" json:"candidates,omitempty"`
	// Draft is what a sign-off or approval signs: the round's draft with its
	// changes and the hash the signature is bound to. Filled by Task.
	Draft *RoundDraft `db:"-" json:"draft,omitempty"`
	// Previous is, for a draft task of a later round, the draft of the
	// round before, which was sent back: the editor revises it rather than
	// starting again. Filled by Task.
	Previous *RoundDraft `db:"-" json:"previous,omitempty"`
}

// RoundDraft is a round's draft of the plan: the text to be signed and the
// changes that made it.
type RoundDraft struct {
	Round       int                `json:"round"`
	VersionHash string             `json:"version_hash"`
	DraftedBy   string             `json:"drafted_by"`
	Content     review.PlanContent `json:"content"`
	Changes     []review.Change    `json:"changes"`
	// Checklist is the cycle's legal-content checklist with where the
	// draft covers each item; empty for cycles set up before checklists.
	Checklist []review.CoveredItem `json:"checklist,omitempty"`
	// Dispositions are the draft's answers to the cycle's items.
	Dispositions []review.Disposition `json:"dispositions"`
}

// coveredChecklist joins a stored checklist with a stored coverage.
func coveredChecklist(checklist, coverage []byte) ([]review.CoveredItem, error) {
	var items []review.ChecklistItem
	var cov []review.Coverage
	if err := json.Unmarshal(checklist, &items); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(coverage, &cov); err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return nil, nil
	}
	return review.Covered(items, cov), nil
}

// Spec returns the task as the workflows describe it, as CompleteTaskInput
// carries it.
func (t Task) Spec() review.TaskSpec {
	return review.TaskSpec{
		ID: t.ID, CycleID: t.CycleID, WorkflowID: t.WorkflowID, Kind: t.Kind, Unit: t.Unit,
		Round: t.Round, Role: t.Role, DueAt: t.DueAt, Input: t.Input,
	}
}

const taskColumns = `t.id, t.cycle_id, t.workflow_id, c.provider_code, c.year, c.attempt, t.kind, t.unit_code, t.round,
    t.role, t.assignee, t.status, t.due_at, t.overdue_at, t.created_at, COALESCE(t.completed_by, '') AS completed_by,
    t.completed_at`

// TaskFilter selects tasks. Empty fields select everything, except Status,
// which selects open tasks when empty.
type TaskFilter struct {
	Provider string `json:"provider"`
	Year     int    `json:"year"`
	// Assignee is a person ID: the tasks assigned to that person, and those
	// in the pool of a role that person holds in the task's unit.
	Assignee string `json:"assignee"`
	// Status is "open", "done" (done, superseded or cancelled: closed), or
	// "all".
	Status string `json:"status"`
}

// Tasks returns the tasks the filter selects, ordered by due date and ID,
// without their input and outcome.
func (s *Store) Tasks(ctx context.Context, f TaskFilter) ([]Task, error) {
	var statuses []string
	switch f.Status {
	case "", review.TaskOpen:
		statuses = []string{review.TaskOpen}
	case review.TaskDone:
		statuses = []string{review.TaskDone, review.TaskSuperseded, review.TaskCancelled}
	case "all":
		statuses = []string{review.TaskOpen, review.TaskDone, review.TaskSuperseded, review.TaskCancelled}
	default:
		return nil, errorf(ErrInvalid, "task status %q is not one of open, done, all", f.Status)
	}
	const q = `
SELECT ` + taskColumns + `
FROM tasks t JOIN cycles c ON c.id = t.cycle_id
WHERE ($1 = '' OR c.provider_code = $1)
  AND ($2 = 0 OR c.year = $2)
  AND t.status = ANY($3)
  AND ($4 = '' OR t.assignee = $4 OR (t.assignee = '' AND EXISTS (
      SELECT 1 FROM people p JOIN person_roles pr ON pr.person_id = p.id
      WHERE p.id = $4 AND p.provider_code = c.provider_code
        AND pr.role = t.role AND pr.unit_code = t.unit_code)))
ORDER BY t.due_at, t.id`
	tasks := []Task{}
	if err := sqlx.SelectContext(ctx, s.db, &tasks, q, f.Provider, f.Year, pq.Array(statuses), f.Assignee); err != nil {
		return nil, fmt.Errorf("reading tasks: %w", dbError(err))
	}
	for i := range tasks {
		tasks[i].Pool = review.Pool(tasks[i].Role, tasks[i].Unit)
	}
	return tasks, nil
}

// TaskState returns one task's record with its outcome, without its input,
// its candidates or the draft it signs: what deciding on a completion
// needs, in one read. ErrNotFound when there is none.
func (s *Store) TaskState(ctx context.Context, id string) (Task, error) {
	return s.taskRecord(ctx, id, "")
}

// taskRecord reads one task's row and its outcome, and the columns extra
// names ("" or ", t.input").
func (s *Store) taskRecord(ctx context.Context, id, extra string) (Task, error) {
	var t Task
	q := `
SELECT ` + taskColumns + extra + `, COALESCE(t.outcome, 'null'::jsonb) AS outcome
FROM tasks t JOIN cycles c ON c.id = t.cycle_id
WHERE t.id = $1`
	err := sqlx.GetContext(ctx, s.db, &t, q, id)
	if errors.Is(err, sql.ErrNoRows) {
		return Task{}, errorf(ErrNotFound, "task %q is not recorded", id)
	}
	if err != nil {
		return Task{}, fmt.Errorf("reading task %s: %w", id, dbError(err))
	}
	if string(t.Outcome) == "null" {
		t.Outcome = nil
	}
	t.Pool = review.Pool(t.Role, t.Unit)
	return t, nil
}

// Task returns one task with its input, outcome and current candidates, or
// ErrNotFound.
func (s *Store) Task(ctx context.Context, id string) (Task, error) {
	t, err := s.taskRecord(ctx, id, ", t.input")
	if err != nil {
		return Task{}, err
	}
	if t.Candidates, err = candidates(ctx, s.db, t.Provider, t.Role, t.Unit); err != nil {
		return Task{}, err
	}
	if t.Kind == review.KindSignOff || t.Kind == review.KindApprove {
		d, err := s.draft(ctx, t.CycleID, t.Round)
		if errors.Is(err, ErrNotFound) {
			// The task exists: a missing draft is a fault, not an unknown task.
			return Task{}, fmt.Errorf("task %s signs the round %d draft, which is not recorded", t.ID, t.Round)
		}
		if err != nil {
			return Task{}, err
		}
		t.Draft = &d
	}
	if t.Kind == review.KindDraft && t.Round > 1 {
		d, err := s.draft(ctx, t.CycleID, t.Round-1)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return Task{}, err
		}
		if err == nil {
			t.Previous = &d
		}
	}
	return t, nil
}

// InboxTask is a task in someone's inbox.
type InboxTask struct {
	Task
	// Overdue is true when the task was due before the inbox was read.
	Overdue bool `db:"overdue" json:"overdue"`
	// Claimable is true for a task in the pool of one of the person's roles,
	// which they may claim; false for a task assigned to them.
	Claimable bool `db:"claimable" json:"claimable"`
}

// inboxQuery reads a person's inbox ($1 the person, $2 now), in their own
// provider, which it looks up itself: one statement, one round trip. Both
// halves read the partial index of open tasks (tasks_open_idx: assignee,
// role, unit_code, cycle_id), so the inbox costs the same with a million
// closed tasks in the table as with none; an OR of the two conditions would
// read every open task instead.
//
// The second half takes a pool (a role in a unit) once per cycle of the
// person's provider, each an exact range of the index: unit codes are each
// provider's own, and a range of the pool alone would hold every provider's
// NORTH, to be dropped after reading (420 tasks read for 20 shown with
// 10,000 open tasks of 100 providers). OFFSET 0 keeps the planner from
// merging the subquery into the join and choosing that range after all,
// which its estimates of a pool's size (a few tasks) make look cheaper.
const inboxQuery = `
WITH person AS MATERIALIZED (SELECT provider_code FROM people WHERE id = $1)
SELECT ` + taskColumns + `, t.due_at < $2 AS overdue, false AS claimable
FROM tasks t JOIN cycles c ON c.id = t.cycle_id
WHERE t.status = 'open' AND t.assignee = $1 AND c.provider_code = (SELECT provider_code FROM person)
UNION ALL
SELECT ` + taskColumns + `, t.due_at < $2 AS overdue, true AS claimable
FROM person_roles pr
JOIN cycles c ON c.provider_code = (SELECT provider_code FROM person)
CROSS JOIN LATERAL (
    SELECT * FROM tasks t
    WHERE t.status = 'open' AND t.assignee = '' AND t.role = pr.role AND t.unit_code = pr.unit_code AND t.cycle_id = c.id
    OFFSET 0) t
WHERE pr.person_id = $1
ORDER BY due_at, id`

// Inbox returns the open tasks the person can act on now, soonest due first:
// those assigned to them, and those in the pool of a role they hold in the
// task's unit (provider-wide roles take the provider-wide tasks), in their
// own provider only. An unknown person is ErrNotFound.
func (s *Store) Inbox(ctx context.Context, person string, now time.Time) ([]InboxTask, error) {
	tasks := []InboxTask{}
	if err := sqlx.SelectContext(ctx, s.db, &tasks, inboxQuery, person, now); err != nil {
		return nil, fmt.Errorf("reading the inbox of %s: %w", person, dbError(err))
	}
	if len(tasks) == 0 {
		// Nothing to do, or nobody to do it: only then is it worth asking.
		var known bool
		if err := sqlx.GetContext(ctx, s.db, &known, `SELECT EXISTS (SELECT 1 FROM people WHERE id = $1)`, person); err != nil {
			return nil, fmt.Errorf("reading person %s: %w", person, dbError(err))
		}
		if !known {
			return nil, errorf(ErrNotFound, "person %q is not known", person)
		}
	}
	for i := range tasks {
		tasks[i].Pool = review.Pool(tasks[i].Role, tasks[i].Unit)
	}
	return tasks, nil
}

// draft reads a round's draft and its changes.
func (s *Store) draft(ctx context.Context, cycleID string, round int) (RoundDraft, error) {
	var row struct {
		Hash      string `db:"content_hash"`
		DraftedBy string `db:"drafted_by"`
		Content   []byte `db:"content"`
		Coverage  []byte `db:"coverage"`
		Checklist []byte `db:"checklist"`
	}
	const qDraft = `
SELECT d.content_hash, d.drafted_by, d.content, d.coverage, c.checklist
FROM plan_drafts d JOIN cycles c ON c.id = d.cycle_id
WHERE d.cycle_id = $1 AND d.round = $2`
	if err := sqlx.GetContext(ctx, s.db, &row, qDraft, cycleID, round); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return RoundDraft{}, errorf(ErrNotFound, "cycle %s has no draft for round %d", cycleID, round)
		}
		return RoundDraft{}, fmt.Errorf("reading the round %d draft of %s: %w", round, cycleID, dbError(err))
	}
	d := RoundDraft{Round: round, VersionHash: row.Hash, DraftedBy: row.DraftedBy, Changes: []review.Change{}}
	if err := json.Unmarshal(row.Content, &d.Content); err != nil {
		return RoundDraft{}, fmt.Errorf("decoding the round %d draft of %s: %w", round, cycleID, err)
	}
	var err error
	if d.Checklist, err = coveredChecklist(row.Checklist, row.Coverage); err != nil {
		return RoundDraft{}, fmt.Errorf("decoding the checklist of the round %d draft of %s: %w", round, cycleID, err)
	}
	var changes []struct {
		ID        string         `db:"change_id"`
		Section   string         `db:"section"`
		Text      string         `db:"text"`
		Rationale string         `db:"rationale"`
		Addresses pq.StringArray `db:"addresses"`
	}
	const qChanges = `
SELECT change_id, section, text, rationale, addresses FROM plan_changes
WHERE cycle_id = $1 AND round = $2 ORDER BY change_id`
	if err := sqlx.SelectContext(ctx, s.db, &changes, qChanges, cycleID, round); err != nil {
		return RoundDraft{}, fmt.Errorf("reading the round %d changes of %s: %w", round, cycleID, dbError(err))
	}
	for _, c := range changes {
		d.Changes = append(d.Changes, review.Change{ID: c.ID, Section: c.Section, Text: c.Text, Rationale: c.Rationale, Addresses: c.Addresses})
	}
	d.Dispositions = []review.Disposition{}
	const qDispositions = `
SELECT item_ref AS item, decision, change_id AS change, reason FROM dispositions
WHERE cycle_id = $1 AND round = $2 ORDER BY item_ref`
	if err := sqlx.SelectContext(ctx, s.db, &d.Dispositions, qDispositions, cycleID, round); err != nil {
		return RoundDraft{}, fmt.Errorf("reading the round %d dispositions of %s: %w", round, cycleID, dbError(err))
	}
	return d, nil
}

// PlanVersion is a published version of a provider's plan: one a cycle
// published (Source "cycle": its cycle, round and approver), or one imported
// from outside OHO (Source "import": who imported it, and no cycle, round or
// approver, which its JSON then leaves out).
type PlanVersion struct {
	Provider      string    `db:"provider_code" json:"provider"`
	Version       int       `db:"version" json:"version"`
	Hash          string    `db:"content_hash" json:"hash"`
	EffectiveFrom string    `db:"effective_from" json:"effective_from"`
	PublishedAt   time.Time `db:"published_at" json:"published_at"`
	// Source is SourceCycle or SourceImport.
	Source     string             `db:"source" json:"source"`
	CycleID    string             `db:"cycle_id" json:"cycle_id,omitempty"`
	Round      int                `db:"round" json:"round,omitempty"`
	ApprovedBy string             `db:"approved_by" json:"approved_by,omitempty"`
	ImportedBy string             `db:"imported_by" json:"imported_by,omitempty"`
	Content    review.PlanContent `db:"-" json:"content"`
}

// Sources of a plan version.
const (
	// SourceCycle: a review cycle drafted, signed, approved and published it.
	SourceCycle = "cycle"
	// SourceImport: it was imported from outside OHO (ImportPlan) and has
	// not been reviewed in OHO.
	SourceImport = "import"
)

// Imported reports whether the version was imported rather than published
// by a cycle.
func (v PlanVersion) Imported() bool { return v.Source == SourceImport }

// PlanVersion returns a published version of the provider's plan, the latest
// when version is 0, or ErrNotFound.
func (s *Store) PlanVersion(ctx context.Context, provider string, version int) (PlanVersion, error) {
	var row struct {
		PlanVersion
		Content []byte `db:"content"`
	}
	const q = `
SELECT p.provider_code, pv.version, pv.content_hash, to_char(pv.effective_from, 'YYYY-MM-DD') AS effective_from,
    pv.published_at, pv.source, COALESCE(pv.cycle_id, '') AS cycle_id, COALESCE(pv.round, 0) AS round,
    COALESCE(pv.approved_by, '') AS approved_by, COALESCE(pv.imported_by, '') AS imported_by, pv.content
FROM plan_versions pv JOIN plans p ON p.id = pv.plan_id
WHERE p.provider_code = $1 AND ($2 = 0 OR pv.version = $2)
ORDER BY pv.version DESC
LIMIT 1`
	err := sqlx.GetContext(ctx, s.db, &row, q, provider, version)
	if errors.Is(err, sql.ErrNoRows) {
		if version == 0 {
			return PlanVersion{}, errorf(ErrNotFound, "provider %s has no published plan", provider)
		}
		return PlanVersion{}, errorf(ErrNotFound, "provider %s has no plan version %d", provider, version)
	}
	if err != nil {
		return PlanVersion{}, fmt.Errorf("reading the plan of %s: %w", provider, dbError(err))
	}
	pv := row.PlanVersion
	if err := json.Unmarshal(row.Content, &pv.Content); err != nil {
		return PlanVersion{}, fmt.Errorf("decoding version %d of the plan of %s: %w", pv.Version, provider, err)
	}
	return pv, nil
}

// Report summarises a cycle for people: what was done, by unit, and what it
// produced. It holds counts, not contents.
type Report struct {
	Cycle Cycle `json:"cycle"`
	// Version is the plan version the cycle published, if it did.
	Version   *ReportVersion `json:"version,omitempty"`
	TasksDone []UnitTasks    `json:"tasks_done"`
	Counts
}

// Counts are the numbers of records a cycle produced.
type Counts struct {
	// Rounds is how many drafts were made.
	Rounds        int `db:"rounds" json:"rounds"`
	Indicators    int `db:"indicators" json:"indicators"`
	Findings      int `db:"findings" json:"findings"`
	MajorFindings int `db:"major_findings" json:"major_findings"`
	Consultations int `db:"consultations" json:"consultations"`
	Participants  int `db:"participants" json:"participants"`
	FeedbackItems int `db:"feedback_items" json:"feedback_items"`
	Changes       int `db:"changes" json:"changes"`
	SignOffs      int `db:"signoffs" json:"signoffs"`
	Approvals     int `db:"approvals" json:"approvals"`
}

// ReportVersion is the plan version a cycle published.
type ReportVersion struct {
	Number        int    `db:"version" json:"number"`
	Hash          string `db:"content_hash" json:"hash"`
	EffectiveFrom string `db:"effective_from" json:"effective_from"`
}

// UnitTasks counts a unit's done tasks; Unit is empty for provider-wide
// tasks (drafts and approvals).
type UnitTasks struct {
	Unit string `db:"unit_code" json:"unit"`
	Done int    `db:"done" json:"done"`
}

// CycleReport returns the report of the provider's cycle for the year.
func (s *Store) CycleReport(ctx context.Context, provider string, year int) (Report, error) {
	c, err := s.Cycle(ctx, provider, year)
	if err != nil {
		return Report{}, err
	}
	r := Report{Cycle: c, TasksDone: []UnitTasks{}}
	var v ReportVersion
	const qVersion = `
SELECT version, content_hash, to_char(effective_from, 'YYYY-MM-DD') AS effective_from
FROM plan_versions WHERE cycle_id = $1`
	err = sqlx.GetContext(ctx, s.db, &v, qVersion, c.ID)
	switch {
	case err == nil:
		r.Version = &v
	case !errors.Is(err, sql.ErrNoRows):
		return Report{}, fmt.Errorf("reading the version of cycle %s: %w", c.ID, dbError(err))
	}
	const qDone = `
SELECT unit_code, count(*) AS done FROM tasks
WHERE cycle_id = $1 AND status = 'done'
GROUP BY unit_code ORDER BY unit_code`
	if err := sqlx.SelectContext(ctx, s.db, &r.TasksDone, qDone, c.ID); err != nil {
		return Report{}, fmt.Errorf("counting tasks of cycle %s: %w", c.ID, dbError(err))
	}
	const qCounts = `
SELECT
    (SELECT count(*) FROM plan_drafts WHERE cycle_id = $1) AS rounds,
    (SELECT count(*) FROM indicators WHERE cycle_id = $1) AS indicators,
    (SELECT count(*) FROM findings WHERE cycle_id = $1) AS findings,
    (SELECT count(*) FROM findings WHERE cycle_id = $1 AND severity = 'major') AS major_findings,
    (SELECT count(*) FROM consultations WHERE cycle_id = $1) AS consultations,
    (SELECT COALESCE(sum(participants), 0) FROM consultations WHERE cycle_id = $1) AS participants,
    (SELECT count(*) FROM feedback_items WHERE cycle_id = $1) AS feedback_items,
    (SELECT count(*) FROM plan_changes WHERE cycle_id = $1) AS changes,
    (SELECT count(*) FROM signoffs WHERE cycle_id = $1) AS signoffs,
    (SELECT count(*) FROM approvals WHERE cycle_id = $1) AS approvals`
	if err := sqlx.GetContext(ctx, s.db, &r.Counts, qCounts, c.ID); err != nil {
		return Report{}, fmt.Errorf("counting records of cycle %s: %w", c.ID, dbError(err))
	}
	return r, nil
}
