package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/oho-dev/oho/dbtest"
	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/store"
)

// inboxLine is what the tests compare of an inbox entry.
type inboxLine struct {
	ID        string
	Overdue   bool
	Claimable bool
}

func inbox(t *testing.T, s *store.Store, person string, now time.Time) []inboxLine {
	t.Helper()
	tasks, err := s.Inbox(context.Background(), person, now)
	if err != nil {
		t.Fatalf("Inbox(%s): %v", person, err)
	}
	lines := []inboxLine{}
	for _, task := range tasks {
		lines = append(lines, inboxLine{task.ID, task.Overdue, task.Claimable})
	}
	return lines
}

func TestInbox(t *testing.T) {
	ctx := context.Background()
	s, db := imported(t, "BETA")
	addPeople(t, s, "ACME", nurse2)
	now := time.Date(2025, 4, 1, 12, 0, 0, 0, time.UTC)
	day := 24 * time.Hour

	c := newCycle(t, s, db, "ACME", 2025, review.Config{})
	dueIn := func(task review.TaskSpec, d time.Duration) review.TaskSpec {
		task.DueAt = now.Add(d)
		return task
	}
	evalN := dueIn(c.task(review.KindEvaluate, 0, "NORTH"), 10*day)
	evalS := dueIn(c.task(review.KindEvaluate, 0, "SOUTH"), 5*day)
	consultN := dueIn(c.task(review.KindConsult, 0, "NORTH"), -day)
	draft := dueIn(c.task(review.KindDraft, 1, ""), 20*day)
	c.open(review.PhaseEvaluate, 0, evalN, evalS, consultN)
	c.open(review.PhaseUpdate, 1, draft)

	// BETA's units have the same codes and its people the same roles.
	beta := newCycle(t, s, db, "BETA", 2025, review.Config{})
	betaEval := dueIn(beta.task(review.KindEvaluate, 0, "NORTH"), day)
	beta.open(review.PhaseEvaluate, 0, betaEval)

	pool := []inboxLine{{evalN.ID, false, true}}
	for _, person := range []string{"acme.nurse.north", "acme.nurse2.north"} {
		if got := inbox(t, s, person, now); !slices.Equal(got, pool) {
			t.Errorf("%s before any claim: got %v, want %v", person, got, pool)
		}
	}

	// Once claimed, the task leaves the rest of the pool.
	c.taskOp(review.TaskOpInput{Task: evalN, Op: review.OpClaim, Seq: 1, Actor: "acme.nurse2.north", Assignee: "acme.nurse2.north", DueAt: evalN.DueAt})
	// A manager gives the overdue consultation to the same nurse.
	c.taskOp(review.TaskOpInput{Task: consultN, Op: review.OpReassign, Seq: 1, Actor: "acme.manager", Reason: "The rep has left.", Assignee: "acme.nurse2.north", DueAt: consultN.DueAt})

	tests := []struct {
		person string
		want   []inboxLine
	}{
		{"acme.nurse2.north", []inboxLine{{consultN.ID, true, false}, {evalN.ID, false, false}}},
		{"acme.nurse.north", []inboxLine{}},
		{"acme.rep.north", []inboxLine{}},
		{"acme.nurse.south", []inboxLine{{evalS.ID, false, true}}},
		{"acme.editor", []inboxLine{{draft.ID, false, true}}},
		{"acme.manager", []inboxLine{}},
		{"acme.auditor", []inboxLine{}},
		// Another provider's people see their own provider's tasks only.
		{"beta.manager", []inboxLine{}},
		{"beta.nurse.north", []inboxLine{{betaEval.ID, false, true}}},
		{"beta.editor", []inboxLine{}},
	}
	for _, tt := range tests {
		t.Run(tt.person, func(t *testing.T) {
			if got := inbox(t, s, tt.person, now); !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
	// Overdue is relative to the time asked about.
	if got := inbox(t, s, "acme.nurse2.north", now.Add(-2*day)); got[0].Overdue {
		t.Errorf("two days earlier: got %v, want nothing overdue", got)
	}

	tasks, err := s.Inbox(ctx, "acme.nurse2.north", now)
	if err != nil {
		t.Fatal(err)
	}
	got := tasks[0]
	if got.Provider != "ACME" || got.Year != 2025 || got.Assignee != "acme.nurse2.north" || got.Pool != "student_rep@NORTH" ||
		got.WorkflowID != review.UnitReviewID(c.id, "NORTH") || !got.DueAt.Equal(consultN.DueAt) {
		t.Errorf("got inbox task %+v, want the NORTH consultation with its provider, workflow and assignee", got)
	}
	b, _ := json.Marshal(got)
	for _, key := range []string{`"id":"ACME/2025/consult/NORTH"`, `"assignee":"acme.nurse2.north"`, `"overdue":true`, `"claimable":false`} {
		if !strings.Contains(string(b), key) {
			t.Errorf("got JSON %s, want it to contain %s", b, key)
		}
	}

	// task list --assignee follows the assignment in force as well.
	mine, err := s.Tasks(ctx, store.TaskFilter{Assignee: "acme.nurse2.north"})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, task := range mine {
		ids = append(ids, task.ID)
	}
	if want := []string{consultN.ID, evalN.ID}; !slices.Equal(ids, want) {
		t.Errorf("got open tasks of acme.nurse2.north %v, want %v", ids, want)
	}

	_, err = s.Inbox(ctx, "nobody", now)
	wantKind(t, err, store.ErrNotFound, `person "nobody" is not known`)
}

// planNode is a node of a PostgreSQL EXPLAIN (FORMAT JSON) plan.
type planNode struct {
	NodeType  string     `json:"Node Type"`
	Relation  string     `json:"Relation Name"`
	Index     string     `json:"Index Name"`
	IndexCond string     `json:"Index Cond"`
	Filter    string     `json:"Filter"`
	Rows      float64    `json:"Actual Rows"`
	Loops     float64    `json:"Actual Loops"`
	Buffers   float64    `json:"Shared Hit Blocks"`
	Plans     []planNode `json:"Plans"`
}

func (n planNode) walk(f func(planNode)) {
	f(n)
	for _, p := range n.Plans {
		p.walk(f)
	}
}

// TestInboxPlanWithAMillionDoneTasks shows that the inbox reads the partial
// indexes of open tasks, whatever the table holds of past ones.
func TestInboxPlanWithAMillionDoneTasks(t *testing.T) {
	ctx := context.Background()
	s, db := imported(t, "ACME")
	addPeople(t, s, "ACME", nurse2)

	// Years of past work: a million closed tasks of every kind, a third of
	// them once assigned to the nurse whose inbox is read.
	past := newCycle(t, s, db, "ACME", 2015, review.Config{})
	start := time.Now()
	const qPast = `
INSERT INTO tasks (id, cycle_id, workflow_id, kind, unit_code, round, role, status, due_at,
    outcome, completed_by, completed_at, assignee)
SELECT 'ACME/past/' || g, $1, $1,
    (ARRAY['evaluate', 'consult', 'draft', 'signoff', 'approve'])[g % 5 + 1],
    CASE WHEN g % 5 IN (2, 4) THEN '' WHEN g % 2 = 0 THEN 'NORTH' ELSE 'SOUTH' END,
    0,
    (ARRAY['welfare_staff', 'student_rep', 'plan_editor', 'unit_head', 'approver'])[g % 5 + 1],
    'done', timestamptz '2005-01-01 00:00Z' + g * interval '5 minutes',
    '{}', 'acme.nurse.north', now(),
    CASE WHEN g % 3 = 0 THEN 'acme.nurse.north' ELSE '' END
FROM generate_series(1, 1000000) AS g`
	if _, err := db.ExecContext(ctx, qPast, past.id); err != nil {
		t.Fatal(err)
	}
	loaded := time.Since(start)

	// This year's few open tasks: one claimed by the nurse, one in her pool,
	// others for other people.
	c := newCycle(t, s, db, "ACME", 2025, review.Config{})
	evalN, evalS := c.task(review.KindEvaluate, 0, "NORTH"), c.task(review.KindEvaluate, 0, "SOUTH")
	consultN, consultS := c.task(review.KindConsult, 0, "NORTH"), c.task(review.KindConsult, 0, "SOUTH")
	consultN.DueAt = consultN.DueAt.Add(-time.Hour)
	c.open(review.PhaseEvaluate, 0, evalN, evalS, consultN, consultS)
	c.taskOp(review.TaskOpInput{Task: consultN, Op: review.OpReassign, Seq: 1, Actor: "acme.manager", Reason: "Rep away.", Assignee: "acme.nurse.north", DueAt: consultN.DueAt})
	// Another provider of a hundred units is evaluating too: 300 open tasks,
	// a quarter of them claimed; and 300 more in the pool of its own NORTH,
	// whose code is the nurse's unit's too.
	if _, err := s.ImportOrg(ctx, store.ActorOperator, dbtest.Org("BETA")); err != nil {
		t.Fatal(err)
	}
	other := newCycle(t, s, db, "BETA", 2025, review.Config{})
	const qOpen = `
INSERT INTO tasks (id, cycle_id, workflow_id, kind, unit_code, round, role, status, due_at, assignee)
SELECT 'BETA/2025/open/' || g, $1, $1,
    (ARRAY['evaluate', 'consult', 'signoff'])[g % 3 + 1], 'U' || (g / 3), 0,
    (ARRAY['welfare_staff', 'student_rep', 'unit_head'])[g % 3 + 1],
    'open', timestamptz '2025-04-01 00:00Z' + g * interval '1 hour',
    CASE WHEN g % 4 = 0 THEN 'beta.nurse.north' ELSE '' END
FROM generate_series(1, 300) AS g`
	if _, err := db.ExecContext(ctx, qOpen, other.id); err != nil {
		t.Fatal(err)
	}
	const qNorth = `
INSERT INTO tasks (id, cycle_id, workflow_id, kind, unit_code, round, role, status, due_at)
SELECT 'BETA/2025/north/' || g, $1, $1, 'evaluate', 'NORTH', 0, 'welfare_staff', 'open', timestamptz '2025-04-01 00:00Z' + g * interval '1 hour'
FROM generate_series(1, 300) AS g`
	if _, err := db.ExecContext(ctx, qNorth, other.id); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `ANALYZE`); err != nil {
		t.Fatal(err)
	}
	t.Logf("loaded 1,000,000 done tasks in %s, analyzed in %s", loaded.Round(time.Millisecond), (time.Since(start) - loaded).Round(time.Millisecond))

	now := due.Add(-24 * time.Hour)
	if got, want := inbox(t, s, "acme.nurse.north", now), []inboxLine{{consultN.ID, false, false}, {evalN.ID, false, true}}; !slices.Equal(got, want) {
		t.Errorf("got inbox %v, want %v", got, want)
	}
	var timings []time.Duration
	for range 5 {
		start := time.Now()
		if _, err := s.Inbox(ctx, "acme.nurse.north", now); err != nil {
			t.Fatal(err)
		}
		timings = append(timings, time.Since(start))
	}
	sort.Slice(timings, func(i, j int) bool { return timings[i] < timings[j] })
	t.Logf("Inbox over 1,000,604 tasks: median %s of 5 calls", timings[2])

	var raw string
	err := db.GetContext(ctx, &raw, `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) `+store.InboxQuery, "acme.nurse.north", now)
	if err != nil {
		t.Fatal(err)
	}
	var explained []struct {
		Plan          planNode `json:"Plan"`
		PlanningTime  float64  `json:"Planning Time"`
		ExecutionTime float64  `json:"Execution Time"`
	}
	if err := json.Unmarshal([]byte(raw), &explained); err != nil || len(explained) != 1 {
		t.Fatalf("reading the plan: %v\n%s", err, raw)
	}
	ex := explained[0]
	var lines []string
	var depth func(n planNode, d int)
	depth = func(n planNode, d int) {
		line := strings.Repeat("  ", d) + n.NodeType
		if n.Index != "" {
			line += " using " + n.Index
		}
		if n.Relation != "" {
			line += " on " + n.Relation
		}
		line += fmt.Sprintf(" (rows %g, loops %g, buffers hit %g)", n.Rows, n.Loops, n.Buffers)
		if n.IndexCond != "" {
			line += " index cond " + n.IndexCond
		}
		if n.Filter != "" {
			line += " filter " + n.Filter
		}
		lines = append(lines, line)
		for _, p := range n.Plans {
			depth(p, d+1)
		}
	}
	depth(ex.Plan, 0)
	t.Logf("Inbox plan (planning %.3f ms, execution %.3f ms):\n%s", ex.PlanningTime, ex.ExecutionTime, strings.Join(lines, "\n"))

	// Both halves of the query read the partial index of open tasks, and
	// nothing else of tasks.
	var scans []planNode
	ex.Plan.walk(func(n planNode) {
		if n.Relation != "tasks" {
			return
		}
		if n.NodeType != "Index Scan" || n.Index != "tasks_open_idx" {
			t.Errorf("the inbox reads tasks with a %s (index %q), want Index Scans using tasks_open_idx", n.NodeType, n.Index)
			return
		}
		scans = append(scans, n)
	})
	// Each scan is a range of the index: the person's, or a pool's in one
	// cycle of the person's provider, so BETA's NORTH pool is not read.
	if len(scans) != 2 || !strings.Contains(scans[0].IndexCond, "assignee = 'acme.nurse.north'") ||
		!strings.Contains(scans[1].IndexCond, "assignee = ''") || !strings.Contains(scans[1].IndexCond, "role = pr.role") ||
		!strings.Contains(scans[1].IndexCond, "cycle_id = c") || scans[1].Filter != "" {
		t.Fatalf("got scans %+v, want the person's assigned tasks and the pools of their roles, by cycle and with no filter", scans)
	}
	// Reading BETA's 300 tasks in the same pool would touch dozens of
	// buffers; ACME's two cycles are a few index pages and one task.
	if scans[1].Buffers > 20 {
		t.Errorf("the pools' scans touched %g buffers, want at most 20: none of BETA's NORTH read", scans[1].Buffers)
	}
}
