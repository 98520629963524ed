package schema_test

import (
	"context"
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
	if len(ms) == 0 || ms[0].Version != 1 || ms[0].Name != "init" {
		t.Fatalf("got migrations %+v, want 001_init first", ms)
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
	if err := db.GetContext(ctx, &locks, `SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'`); err != nil {
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
