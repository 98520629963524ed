package schema_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/oho-dev/oho/dbtest"
	"github.com/oho-dev/oho/schema"
)

func TestMigrations(t *testing.T) {
	ms, err := schema.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) < 2 || ms[0].Version != 1 || ms[0].Name != "init" || ms[1].Version != 2 || ms[1].Name != "tasks" {
		t.Fatalf("got migrations %+v, want 001_init, then 002_tasks", ms)
	}
}

// TestTasksMigrationKeepsData applies 002_tasks to a database that has run
// cycles under 001_init, as a deployed one has.
func TestTasksMigrationKeepsData(t *testing.T) {
	ctx := context.Background()
	db, _ := dbtest.New(t)
	if _, err := db.ExecContext(ctx, `DROP SCHEMA public CASCADE; CREATE SCHEMA public`); err != nil {
		t.Fatal(err)
	}
	ms, err := schema.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	const data = `
CREATE TABLE schema_migrations (version int PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now());
INSERT INTO schema_migrations (version, name) VALUES (1, 'init');
INSERT INTO providers VALUES ('ACME', 'Acme College');
INSERT INTO people (id, provider_code, name) VALUES ('acme.nurse', 'ACME', 'Nurse');
INSERT INTO cycles (id, provider_code, year, status, phase) VALUES ('c1', 'ACME', 2024, 'failed', 'failed'), ('c2', 'ACME', 2025, 'running', 'evaluate');
INSERT INTO tasks (id, cycle_id, workflow_id, kind, unit_code, role, status, due_at, outcome, completed_by)
VALUES ('t1', 'c1', 'c1', 'evaluate', 'N', 'welfare_staff', 'done', now(), '{}', 'acme.nurse'),
       ('t2', 'c1', 'c1', 'consult', 'N', 'student_rep', 'superseded', now(), NULL, NULL),
       ('t3', 'c2', 'c2', 'evaluate', 'N', 'welfare_staff', 'open', now(), NULL, NULL)`
	if _, err := db.ExecContext(ctx, ms[0].SQL+";"+data); err != nil {
		t.Fatalf("setting up a 001_init database: %v", err)
	}
	applied, err := schema.Migrate(ctx, db.DB)
	if err != nil {
		t.Fatal(err)
	}
	if len(applied) != len(ms)-1 || applied[0] != "002_tasks" {
		t.Errorf("got applied %v, want 002_tasks onwards", applied)
	}
	var got []string
	if err := db.SelectContext(ctx, &got, `SELECT id || ' ' || status || ' ' || assignee || op_seq || deadline_seq || (overdue_at IS NULL) FROM tasks ORDER BY id`); err != nil {
		t.Fatal(err)
	}
	if want := []string{"t1 done 00true", "t2 superseded 00true", "t3 open 00true"}; !slices.Equal(got, want) {
		t.Errorf("got tasks %q, want %q", got, want)
	}
	var email string
	if err := db.GetContext(ctx, &email, `SELECT email FROM people WHERE id = 'acme.nurse'`); err != nil || email != "" {
		t.Errorf("got e-mail %q (%v), want empty", email, err)
	}

	// The new states are allowed, and only they.
	for _, tt := range []struct {
		stmt string
		ok   bool
	}{
		{`UPDATE tasks SET status = 'cancelled' WHERE id = 't3'`, true},
		{`UPDATE tasks SET status = 'paused' WHERE id = 't3'`, false},
		{`UPDATE cycles SET status = 'cancelled', phase = 'cancelled' WHERE id = 'c2'`, true},
		{`UPDATE cycles SET phase = 'stopped' WHERE id = 'c2'`, false},
		{`INSERT INTO notifications (id, provider_code, person_id, kind, task_id, subject, body) VALUES ('n1', 'ACME', 'acme.nurse', 'cancelled', 't3', 's', 'b')`, true},
		{`INSERT INTO notifications (id, provider_code, person_id, kind, subject, body) VALUES ('n2', 'ACME', 'acme.nurse', 'spam', 's', 'b')`, false},
		{`INSERT INTO notifications (id, provider_code, person_id, kind, subject, body) VALUES ('n3', 'ACME', 'nobody', 'reminder', 's', 'b')`, false},
	} {
		_, err := db.ExecContext(ctx, tt.stmt)
		if (err == nil) != tt.ok {
			t.Errorf("%s: got error %v, want ok %v", tt.stmt, err, tt.ok)
		}
	}
	var state string
	if err := db.GetContext(ctx, &state, `SELECT state FROM notifications WHERE id = 'n1'`); err != nil || state != "pending" {
		t.Errorf("got a new notice in state %q (%v), want pending", state, err)
	}
}

func TestMigrateTwiceAppliesNothingNew(t *testing.T) {
	ctx := context.Background()
	db, _ := dbtest.New(t) // already migrated once

	applied, err := schema.Migrate(ctx, db.DB)
	if err != nil {
		t.Fatalf("second Migrate: %v", err)
	}
	if len(applied) != 0 {
		t.Errorf("second Migrate applied %v, want nothing", applied)
	}
	var n int
	if err := db.GetContext(ctx, &n, `SELECT count(*) FROM schema_migrations`); err != nil {
		t.Fatal(err)
	}
	ms, _ := schema.Migrations()
	if n != len(ms) {
		t.Errorf("got %d schema_migrations rows, want %d", n, len(ms))
	}
}

func TestMigrateConcurrently(t *testing.T) {
	ctx := context.Background()
	db, _ := dbtest.New(t)
	// Start from an empty database, as two workers starting at once would.
	if _, err := db.ExecContext(ctx, `DROP SCHEMA public CASCADE; CREATE SCHEMA public`); err != nil {
		t.Fatal(err)
	}

	const runs = 3
	var wg sync.WaitGroup
	applied := make([][]string, runs)
	errs := make([]error, runs)
	for i := range runs {
		wg.Go(func() { applied[i], errs[i] = schema.Migrate(ctx, db.DB) })
	}
	wg.Wait()

	total := 0
	for i := range runs {
		if errs[i] != nil {
			t.Errorf("Migrate %d: %v", i, errs[i])
		}
		total += len(applied[i])
	}
	ms, _ := schema.Migrations()
	if total != len(ms) {
		t.Errorf("the runs applied %v in all, want each of %d migrations applied once", applied, len(ms))
	}
	var n int
	if err := db.GetContext(ctx, &n, `SELECT count(*) FROM schema_migrations`); err != nil {
		t.Fatal(err)
	}
	if n != len(ms) {
		t.Errorf("got %d schema_migrations rows, want %d", n, len(ms))
	}
	// The lock is released: a later run gets it at once.
	if _, err := schema.Migrate(ctx, db.DB); err != nil {
		t.Errorf("Migrate after the concurrent runs: %v", err)
	}
	var locks int
	// pg_locks covers the whole server, where other tests migrate at the
	// same time: count this database's locks only.
	const qLocks = `SELECT count(*) FROM pg_locks
WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`
	if err := db.GetContext(ctx, &locks, qLocks); err != nil {
		t.Fatal(err)
	}
	if locks != 0 {
		t.Errorf("got %d advisory locks held after Migrate, want 0", locks)
	}
}

func TestAuditTrailRefusesRewrites(t *testing.T) {
	ctx := context.Background()
	db, _ := dbtest.New(t)
	const insert = `INSERT INTO audit_events (actor, action, subject, payload) VALUES ('system', 'test.event', 'x', '{}')`
	if _, err := db.ExecContext(ctx, insert); err != nil {
		t.Fatalf("inserting an audit event: %v", err)
	}
	for _, stmt := range []string{
		`UPDATE audit_events SET actor = 'someone else'`,
		`DELETE FROM audit_events`,
		`TRUNCATE audit_events`,
	} {
		t.Run(strings.Fields(stmt)[0], func(t *testing.T) {
			_, err := db.ExecContext(ctx, stmt)
			if err == nil || !strings.Contains(err.Error(), "append-only") {
				t.Errorf("%s: got error %v, want the database to refuse it as append-only", stmt, err)
			}
			var n int
			var actor string
			if err := db.QueryRowContext(ctx, `SELECT count(*), max(actor) FROM audit_events`).Scan(&n, &actor); err != nil {
				t.Fatal(err)
			}
			if n != 1 || actor != "system" {
				t.Errorf("after %s: got %d rows with actor %q, want the 1 row unchanged", stmt, n, actor)
			}
		})
	}
}
