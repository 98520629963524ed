package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/lib/pq"

	"github.com/oho-dev/oho/dbtest"
	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/store"
)

// TestAppRoleDoesTheWork runs everything the worker and the command line do
// to the database, connected as the application role oho_app as they are:
// imports (a role removed included), a whole cycle of two rounds to
// publication, task operations and deadline events with their notices, a
// cancelled and a failed cycle, a schedule change, and the reads of reports,
// plans and the audit trail.
func TestAppRoleDoesTheWork(t *testing.T) {
	ctx := context.Background()
	_, app := dbtest.NewWithApp(t)
	s := store.New(app)
	for _, p := range []string{"ACME", "BETA"} {
		if _, err := s.ImportOrg(ctx, store.ActorOperator, dbtest.Org(p)); err != nil {
			t.Fatalf("importing %s as oho_app: %v", p, err)
		}
	}

	c := newCycle(t, s, app, "ACME", 2025, review.Config{})
	pub := c.run(round1Changes, round2Changes)
	if pub.Version != 1 {
		t.Errorf("published version %d, want 1", pub.Version)
	}
	if _, err := s.TraceReport(ctx, "ACME", 2025); err != nil {
		t.Errorf("trace report as oho_app: %v", err)
	}
	if _, err := s.PlanDocument(ctx, "ACME", 1); err != nil {
		t.Errorf("plan document as oho_app: %v", err)
	}

	// The next year: tasks steered, reminded, overdue, then cancelled.
	next := newCycle(t, s, app, "ACME", 2026, review.Config{})
	eval := next.task(review.KindEvaluate, 0, "NORTH")
	next.open(review.PhaseEvaluate, 0, eval, next.task(review.KindEvaluate, 0, "SOUTH"))
	next.taskOp(review.TaskOpInput{Task: eval, Op: review.OpClaim, Seq: 1, Actor: "acme.nurse.north", Assignee: "acme.nurse.north", DueAt: eval.DueAt})
	next.taskOp(review.TaskOpInput{Task: eval, Op: review.OpExtend, Seq: 2, Actor: "acme.manager", Assignee: "acme.nurse.north",
		Reason: "Survey results arrive late.", DueAt: eval.DueAt.Add(7 * 24 * time.Hour)})
	next.deadline(review.DeadlineInput{Task: eval, Event: review.EventReminder, Seq: 1, Assignee: "acme.nurse.north"})
	next.deadline(review.DeadlineInput{Task: eval, Event: review.EventOverdue, Seq: 2, Assignee: "acme.nurse.north"})
	next.twice("CancelCycle", func() error {
		return s.CancelCycle(ctx, review.CancelCycleInput{CycleID: next.id, Actor: "acme.manager", Reason: "The units merge."})
	})

	failed := newCycle(t, s, app, "BETA", 2025, review.Config{})
	failed.open(review.PhaseEvaluate, 0, failed.task(review.KindEvaluate, 0, "NORTH"))
	failed.twice("FailCycle", func() error {
		return s.FailCycle(ctx, review.FailCycleInput{CycleID: failed.id, Reason: "too many rounds"})
	})
	if err := s.RecordScheduleChange(ctx, "acme.manager", store.ActionScheduleSet, "yearly/ACME", map[string]any{"month": 1}); err != nil {
		t.Errorf("recording a schedule change as oho_app: %v", err)
	}

	// An import that takes a role away deletes its row.
	org := dbtest.Org("BETA")
	for i, p := range org.People {
		if p.ID == "beta.auditor" {
			org.People[i].Roles = []store.PersonRole{{Role: review.RoleWelfareStaff, Unit: "NORTH"}}
		}
	}
	if _, err := s.ImportOrg(ctx, store.ActorOperator, org); err != nil {
		t.Fatalf("re-importing BETA with a role changed as oho_app: %v", err)
	}
	var auditors int
	if err := app.GetContext(ctx, &auditors, `SELECT count(*) FROM person_roles WHERE person_id = 'beta.auditor' AND role = 'auditor'`); err != nil || auditors != 0 {
		t.Errorf("got %d auditor roles of beta.auditor (%v), want the role deleted", auditors, err)
	}

	if counts, err := s.NoticeCounts(ctx, next.id); err != nil || len(counts) == 0 {
		t.Errorf("notice counts as oho_app: %v, %v; want the steered cycle's notices", counts, err)
	}
	verified(t, s, -1)
}

// TestAppRoleCannotTamper tries, as oho_app, every edit that `audit verify`
// or the signature triggers would only find or refuse because the tables'
// triggers are on: each is refused by privileges before any trigger runs
// (SQLSTATE 42501 with PostgreSQL's own message, never OHO's), and afterwards
// no row has changed and the chain verifies. The same edits made as a
// superuser are TestAuditChainFindsPrivilegedEdits's business.
func TestAppRoleCannotTamper(t *testing.T) {
	ctx := context.Background()
	admin, app := dbtest.NewWithApp(t)
	s := store.New(app)
	if _, err := s.ImportOrg(ctx, store.ActorOperator, dbtest.Org("ACME")); err != nil {
		t.Fatal(err)
	}
	c := newCycle(t, s, app, "ACME", 2025, review.Config{})
	c.run(round1Changes, round2Changes)
	h1 := c.drafts[1].Hash()

	for _, stmt := range []string{
		// The switches a superuser would use to get around the triggers.
		`ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update_delete`,
		`ALTER TABLE audit_events DISABLE TRIGGER ALL`,
		`ALTER TABLE audit_events ENABLE REPLICA TRIGGER audit_events_no_update_delete`,
		`SET session_replication_role = replica`,
		`SET ROLE oho_owner`,
		// The audit trail and its head.
		`UPDATE audit_events SET actor = 'someone.else' WHERE seq = 2`,
		`DELETE FROM audit_events WHERE seq = (SELECT max(seq) FROM audit_events)`,
		`TRUNCATE audit_events`,
		`UPDATE audit_chain_head SET seq = seq - 1`,
		`DELETE FROM audit_chain_head`,
		`INSERT INTO audit_chain_head (one, seq, hash) VALUES (true, 0, '')`,
		`SELECT seq FROM audit_chain_head FOR UPDATE`,
		// Signatures and what they sign.
		`UPDATE signoffs SET version_hash = '` + h1 + `' WHERE round = 2`,
		`DELETE FROM signoffs WHERE round = 1`,
		`UPDATE approvals SET role = 'manager'`,
		`DELETE FROM approvals`,
		`UPDATE plan_versions SET effective_from = '2030-01-01'`,
		`DELETE FROM plan_versions`,
		`UPDATE plan_drafts SET content = '{"sections": []}' WHERE round = 2`,
		`DELETE FROM plan_drafts WHERE round = 1`,
		`TRUNCATE signoffs, approvals, plan_drafts, plan_versions`,
		// The schema: tables, triggers and the functions they run.
		`ALTER TABLE signoffs DROP CONSTRAINT signoffs_draft_fkey`,
		`ALTER TABLE audit_events ADD COLUMN note text`,
		`DROP TABLE audit_events`,
		`DROP TRIGGER audit_events_chain ON audit_events`,
		`CREATE TRIGGER audit_events_quiet BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION audit_events_refuse_rewrite()`,
		`CREATE OR REPLACE FUNCTION audit_events_chain() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END'`,
		`ALTER FUNCTION audit_events_chain() SECURITY INVOKER`,
		`CREATE FUNCTION audit_forge() RETURNS int LANGUAGE sql AS 'SELECT 1'`,
		`CREATE SCHEMA forged`,
		// The pseudonymisations' certificates (018), and the rewriting of
		// events that only pseudonymise_person may do.
		`INSERT INTO audit_redactions (seq, by_seq, hash) VALUES (1, 2, repeat('0', 64))`,
		`DELETE FROM audit_redactions`,
		`ALTER TABLE audit_redactions DISABLE TRIGGER ALL`,
		`ALTER FUNCTION pseudonymise_person(text, text, text, text, text) SECURITY INVOKER`,
		// Which migrations ran.
		`DELETE FROM schema_migrations`,
	} {
		t.Run(stmt, func(t *testing.T) {
			before := rowCounts(t, admin)
			_, err := app.ExecContext(ctx, stmt)
			var pqErr *pq.Error
			switch {
			case err == nil:
				t.Fatal("oho_app was allowed to do it")
			case !errors.As(err, &pqErr) || pqErr.Code != "42501":
				t.Fatalf("got %v, want a permission error (SQLSTATE 42501)", err)
			case !strings.HasPrefix(pqErr.Message, "permission denied") && !strings.HasPrefix(pqErr.Message, "must be owner"):
				// OHO's triggers raise 42501 too; they must not be what stopped it.
				t.Fatalf("got %q, want PostgreSQL's refusal of the privilege, not a trigger's", pqErr.Message)
			}
			if d := diff(before, rowCounts(t, admin)); d != "" {
				t.Errorf("the refused statement changed rows: %s", d)
			}
		})
	}

	var disabled []string
	if err := admin.SelectContext(ctx, &disabled, `SELECT tgname FROM pg_trigger WHERE NOT tgisinternal AND tgenabled <> 'O'`); err != nil {
		t.Fatal(err)
	}
	if len(disabled) != 0 {
		t.Errorf("triggers %v are not enabled, want all of them on", disabled)
	}
	verified(t, s, -1)
}

// TestAppRoleCannotDivertTheChain shadows the chain's head with a temporary
// table of the same name, which oho_app may create and which a session looks
// up before the schema's own: the chain trigger, which runs with its owner's
// rights, still moves the real head, because its search_path is pinned.
func TestAppRoleCannotDivertTheChain(t *testing.T) {
	ctx := context.Background()
	_, app := dbtest.NewWithApp(t)
	s := store.New(app)
	if _, err := s.ImportOrg(ctx, store.ActorOperator, dbtest.Org("ACME")); err != nil {
		t.Fatal(err)
	}
	conn, err := app.Connx(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, q := range []string{
		`CREATE TEMPORARY TABLE audit_chain_head (one boolean PRIMARY KEY DEFAULT true, seq bigint NOT NULL, hash char(64) NOT NULL)`,
		`INSERT INTO audit_chain_head (seq, hash) VALUES (1000, repeat('f', 64))`,
		`INSERT INTO audit_events (actor, action, subject) VALUES ('acme.manager', 'test.event', 'x')`,
	} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	var seq int64
	if err := conn.GetContext(ctx, &seq, `SELECT seq FROM audit_events WHERE action = 'test.event'`); err != nil {
		t.Fatal(err)
	}
	if seq > 1000 {
		t.Fatalf("the event took seq %d from the temporary table, want the real chain's next", seq)
	}
	verified(t, s, seq)
}
