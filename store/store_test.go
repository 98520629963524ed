package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/oho-dev/oho/dbtest"
	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/store"
)

// newStore returns a store over a fresh database.
func newStore(t *testing.T) (*store.Store, *sqlx.DB) {
	t.Helper()
	db, _ := dbtest.New(t)
	return store.New(db), db
}

// imported returns a store over a fresh database with the provider's
// fixture org imported.
func imported(t *testing.T, providers ...string) (*store.Store, *sqlx.DB) {
	t.Helper()
	s, db := newStore(t)
	for _, p := range providers {
		if _, err := s.ImportOrg(context.Background(), store.ActorOperator, dbtest.Org(p)); err != nil {
			t.Fatalf("importing %s: %v", p, err)
		}
	}
	return s, db
}

// rowCounts counts the rows of every table, audit_events included.
func rowCounts(t *testing.T, db *sqlx.DB) map[string]int {
	t.Helper()
	ctx := context.Background()
	var tables []string
	if err := db.SelectContext(ctx, &tables, `SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename`); err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for _, table := range tables {
		var n int
		if err := db.GetContext(ctx, &n, `SELECT count(*) FROM `+pq.QuoteIdentifier(table)); err != nil {
			t.Fatal(err)
		}
		counts[table] = n
	}
	return counts
}

// diff describes how two row counts differ, table by table.
func diff(before, after map[string]int) string {
	var d []string
	for _, table := range slices.Sorted(maps.Keys(after)) {
		if before[table] != after[table] {
			d = append(d, fmt.Sprintf("%s %d→%d", table, before[table], after[table]))
		}
	}
	return strings.Join(d, ", ")
}

// actions counts the audit actions, of one cycle or (cycleID "") of all.
func actions(t *testing.T, s *store.Store, cycleID string) map[string]int {
	t.Helper()
	events, err := s.Events(context.Background(), cycleID)
	if err != nil {
		t.Fatal(err)
	}
	n := map[string]int{}
	for _, e := range events {
		n[e.Action]++
	}
	return n
}

func wantKind(t *testing.T, err, kind error, contains ...string) {
	t.Helper()
	if !errors.Is(err, kind) {
		t.Fatalf("got error %v, want one wrapping %q", err, kind)
	}
	for _, c := range contains {
		if !strings.Contains(err.Error(), c) {
			t.Errorf("got error %q, want it to mention %q", err, c)
		}
	}
}

func TestOpenNamesServerNotPassword(t *testing.T) {
	_, err := store.Open(context.Background(), "postgres://postgres:s3cret@127.0.0.1:1/oho?sslmode=disable&connect_timeout=2")
	if err == nil {
		t.Fatal("got no error opening a server that is not there")
	}
	if want := "cannot reach PostgreSQL at 127.0.0.1:1 (database oho)"; !strings.Contains(err.Error(), want) {
		t.Errorf("got %q, want it to contain %q", err, want)
	}
	if strings.Contains(err.Error(), "s3cret") {
		t.Errorf("got %q, which shows the password", err)
	}
}

func TestTarget(t *testing.T) {
	tests := []struct{ url, want string }{
		{"postgres://postgres:pw@db.example:6543/oho?sslmode=disable", "db.example:6543 (database oho)"},
		{"postgresql://u@127.0.0.1/x", "127.0.0.1:5432 (database x)"},
		{"host=/run/pg port=5433 dbname=oho password=pw", "/run/pg:5433 (database oho)"},
		{"postgres://localhost", "localhost:5432"},
	}
	for _, tt := range tests {
		if got := store.Target(tt.url); got != tt.want {
			t.Errorf("Target(%q) = %q, want %q", tt.url, got, tt.want)
		}
	}
}

// cycle drives one provider's cycle for a year through the store as the
// workflow would, checking on the way that every write is idempotent.
type cycle struct {
	t        *testing.T
	s        *store.Store
	db       *sqlx.DB
	provider string
	year     int
	id       string
	setup    review.CycleSetup
	drafts   map[int]review.PlanContent
}

func newCycle(t *testing.T, s *store.Store, db *sqlx.DB, provider string, year int, config review.Config) *cycle {
	t.Helper()
	c := &cycle{t: t, s: s, db: db, provider: provider, year: year, id: review.CycleID(provider, year), drafts: map[int]review.PlanContent{}}
	in := review.SetupCycleInput{CycleID: c.id, Provider: provider, Year: year, Config: config}
	c.twice("SetupCycle", func() error {
		out, err := s.SetupCycle(context.Background(), in)
		if err == nil && c.setup.Units != nil && !equalJSON(out, c.setup) {
			t.Errorf("SetupCycle again returned %+v, want %+v", out, c.setup)
		}
		c.setup = out
		return err
	})
	return c
}

func equalJSON(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

// twice calls f, then calls it again and checks that the second call wrote
// nothing in any table, audit trail included.
func (c *cycle) twice(what string, f func() error) {
	c.t.Helper()
	if err := f(); err != nil {
		c.t.Fatalf("%s: %v", what, err)
	}
	before := rowCounts(c.t, c.db)
	if err := f(); err != nil {
		c.t.Fatalf("%s again: %v", what, err)
	}
	if d := diff(before, rowCounts(c.t, c.db)); d != "" {
		c.t.Errorf("%s again wrote rows: %s", what, d)
	}
}

var due = time.Date(2025, 4, 30, 12, 0, 0, 0, time.UTC)

func (c *cycle) task(kind review.TaskKind, round int, unit string) review.TaskSpec {
	wf := c.id
	if kind == review.KindEvaluate || kind == review.KindConsult {
		wf = review.UnitReviewID(c.id, unit)
	}
	input := json.RawMessage(`{}`)
	if d, ok := c.drafts[round]; ok && kind == review.KindSignOff {
		input = json.RawMessage(fmt.Sprintf(`{"hash":%q}`, d.Hash()))
	}
	return review.TaskSpec{
		ID: review.TaskID(c.provider, c.year, kind, round, unit), CycleID: c.id, WorkflowID: wf,
		Kind: kind, Unit: unit, Round: round, Role: kind.AssigneeRole(), DueAt: due.AddDate(0, 0, round), Input: input,
	}
}

func (c *cycle) open(phase review.Phase, round int, tasks ...review.TaskSpec) []review.OpenedTask {
	c.t.Helper()
	var out []review.OpenedTask
	c.twice(fmt.Sprintf("OpenTasks %s r%d", phase, round), func() error {
		var err error
		out, err = c.s.OpenTasks(context.Background(), review.OpenTasksInput{CycleID: c.id, Phase: phase, Round: round, Tasks: tasks})
		return err
	})
	return out
}

// person is the fixture person who holds the task's role.
func (c *cycle) person(t review.TaskSpec) string {
	id := strings.ToLower(c.provider)
	switch t.Kind {
	case review.KindEvaluate:
		return id + ".nurse." + strings.ToLower(t.Unit)
	case review.KindConsult:
		return id + ".rep." + strings.ToLower(t.Unit)
	case review.KindSignOff:
		return id + ".head." + strings.ToLower(t.Unit)
	case review.KindDraft:
		return id + ".editor"
	}
	return id + ".approver"
}

func (c *cycle) complete(t review.TaskSpec, outcome string, draft *review.PlanContent) {
	c.t.Helper()
	in := review.CompleteTaskInput{Task: t, Actor: c.person(t), Outcome: json.RawMessage(outcome), Draft: draft}
	c.twice("CompleteTask "+t.ID, func() error { return c.s.CompleteTask(context.Background(), in) })
}

// Realistic outcomes of the fixture's units.

const evaluationNorth = `{
  "indicators": [
    {"name": "Wellbeing survey: feels safe at school", "value": 78.5, "target": 85, "unit": "%"},
    {"name": "Students absent over 10% of lessons", "value": 12, "target": 8, "unit": "%", "better": "lower"}
  ],
  "findings": [
    {"id": "F1", "section": "communal", "severity": "major",
     "text": "Reports of bullying are not followed up the same way on every campus.",
     "recommendation": "One anti-bullying procedure with a named owner on each campus."},
    {"id": "F2", "section": "individual", "severity": "minor",
     "text": "Waiting time for the school nurse exceeds two weeks in the autumn.",
     "recommendation": "Drop-in hours in September and October."}
  ],
  "effectiveness": []
}`

const evaluationSouth = `{
  "indicators": [{"name": "Drop-outs in the first study year", "value": 6.1, "target": 5, "unit": "%"}],
  "findings": [{"id": "F1", "section": "monitoring", "severity": "info",
    "text": "Indicators are collected but not reviewed by the welfare group.", "recommendation": ""}],
  "effectiveness": []
}`

const consultationNorth = `{"method": "council", "participants": 14, "held_on": "2025-03-12",
  "feedback": [{"id": "S1", "section": "cooperation", "text": "Students want to hear how their feedback changed the plan."}]}`

const consultationSouth = `{"method": "survey", "participants": 212, "held_on": "2025-03-20",
  "feedback": [{"id": "S1", "section": "communal", "text": "Quiet spaces for breaks are missing."},
               {"id": "S2", "section": "individual", "text": "Counsellor hours are hard to find on the intranet."}]}`

// change is a plan change as drafts write it.
type change struct{ id, section, text string }

func draftOutcome(changes []change, addressed string) string {
	var cs []string
	for _, ch := range changes {
		cs = append(cs, fmt.Sprintf(`{"id": %q, "section": %q, "text": %q, "rationale": "Answers the evaluation.", "addresses": ["NORTH/F1"]}`, ch.id, ch.section, ch.text))
	}
	return fmt.Sprintf(`{"changes": [%s], "dispositions": [
  {"item": "NORTH/F1", "decision": "addressed", "change": %q},
  {"item": "NORTH/S1", "decision": "deferred", "reason": "Will be handled with the new intranet next year."},
  {"item": "SOUTH/S1", "decision": "rejected", "reason": "Premises are outside the plan's scope; passed to facilities."},
  {"item": "SOUTH/S2", "decision": "addressed", "change": %q}]}`, strings.Join(cs, ", "), addressed, addressed)
}

func (c *cycle) draft(round int, changes []change) {
	c.t.Helper()
	var wc []review.Change
	for _, ch := range changes {
		wc = append(wc, review.Change{ID: ch.id, Section: ch.section, Text: ch.text})
	}
	content := c.setup.Baseline.Apply(wc, c.setup.Units...)
	c.drafts[round] = content
	c.complete(c.task(review.KindDraft, round, ""), draftOutcome(changes, changes[0].id), &content)
}

func (c *cycle) signOff(round int, unit, decision, comment string) {
	c.t.Helper()
	outcome := fmt.Sprintf(`{"decision": %q, "comment": %q, "version_hash": %q}`, decision, comment, c.drafts[round].Hash())
	c.complete(c.task(review.KindSignOff, round, unit), outcome, nil)
}

// run takes the cycle from evaluation to publication in two rounds: NORTH
// sends the first draft back, the second is signed off, approved and
// published. It returns what Publish returned.
func (c *cycle) run(changes1, changes2 []change) review.Published {
	c.t.Helper()
	var evalTasks []review.TaskSpec
	for _, u := range []string{"NORTH", "SOUTH"} {
		evalTasks = append(evalTasks, c.task(review.KindEvaluate, 0, u), c.task(review.KindConsult, 0, u))
	}
	c.open(review.PhaseEvaluate, 0, evalTasks...)
	c.complete(c.task(review.KindEvaluate, 0, "NORTH"), evaluationNorth, nil)
	c.complete(c.task(review.KindConsult, 0, "NORTH"), consultationNorth, nil)
	c.complete(c.task(review.KindEvaluate, 0, "SOUTH"), evaluationSouth, nil)
	c.complete(c.task(review.KindConsult, 0, "SOUTH"), consultationSouth, nil)

	c.open(review.PhaseUpdate, 1, c.task(review.KindDraft, 1, ""))
	c.draft(1, changes1)
	c.open(review.PhaseSignOff, 1, c.task(review.KindSignOff, 1, "NORTH"), c.task(review.KindSignOff, 1, "SOUTH"))
	c.signOff(1, "NORTH", review.DecisionRequestChanges, "Name who owns the procedure on each campus.")
	c.twice("SupersedeTasks", func() error {
		return c.s.SupersedeTasks(context.Background(), review.SupersedeTasksInput{
			CycleID: c.id, TaskIDs: []string{c.task(review.KindSignOff, 1, "SOUTH").ID}, Reason: "NORTH requested changes",
		})
	})

	c.open(review.PhaseUpdate, 2, c.task(review.KindDraft, 2, ""))
	c.draft(2, changes2)
	c.open(review.PhaseSignOff, 2, c.task(review.KindSignOff, 2, "NORTH"), c.task(review.KindSignOff, 2, "SOUTH"))
	c.signOff(2, "NORTH", review.DecisionApprove, "")
	c.signOff(2, "SOUTH", review.DecisionApprove, "Fine for South campus.")
	c.open(review.PhaseApprove, 2, c.task(review.KindApprove, 2, ""))
	effective := fmt.Sprintf("%d-08-01", c.year)
	c.complete(c.task(review.KindApprove, 2, ""),
		fmt.Sprintf(`{"decision": "approve", "comment": "Approved by the board.", "effective_from": %q}`, effective), nil)

	var pub review.Published
	c.twice("Publish", func() error {
		got, err := c.s.Publish(context.Background(), review.PublishInput{
			CycleID: c.id, Provider: c.provider, Round: 2, Content: c.drafts[2], EffectiveFrom: effective, ApprovedBy: strings.ToLower(c.provider) + ".approver",
		})
		if pub.Version != 0 && got != pub {
			c.t.Errorf("Publish again returned %+v, want %+v", got, pub)
		}
		pub = got
		return err
	})
	return pub
}

var (
	round1Changes = []change{{"C1", "communal", "Every campus follows one anti-bullying procedure."}}
	round2Changes = []change{
		{"C1", "communal", "Every campus follows one anti-bullying procedure; the campus head owns it."},
		{"C2", "individual", "Nurse drop-in hours run every school day in September and October."},
	}
)
