package schema_test

import (
	"context"
	"testing"

	"github.com/oho-dev/oho/dbtest"
	"github.com/oho-dev/oho/schema"
	"github.com/oho-dev/oho/store"
)

// TestAuditChainMigrationChainsExistingEvents applies 003_audit_chain to a
// database whose audit trail was written before it, as a deployed one was:
// the events keep their order and content and come out chained, and the
// events written afterwards continue the chain.
func TestAuditChainMigrationChainsExistingEvents(t *testing.T) {
	ctx := context.Background()
	db, _ := dbtest.New(t)
	if _, err := db.ExecContext(ctx, `DROP SCHEMA public CASCADE; CREATE SCHEMA public;
CREATE TABLE schema_migrations (version int PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		t.Fatal(err)
	}
	ms, err := schema.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) < 3 || ms[2].Version != 3 || ms[2].Name != "audit_chain" {
		t.Fatalf("got migrations %+v, want 003_audit_chain third", ms)
	}
	for _, m := range ms[:2] {
		if _, err := db.ExecContext(ctx, m.SQL); err != nil {
			t.Fatalf("applying %03d_%s: %v", m.Version, m.Name, err)
		}
		if _, err := db.ExecContext(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, m.Version, m.Name); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.ExecContext(ctx, `
INSERT INTO audit_events (actor, action, subject, payload) VALUES
    ('system', 'org.imported', 'provider/ACME', '{"units": 2}'),
    ('acme.manager', 'cycle.started', 'c1', '{"reason": "a \"quoted\"\nline"}'),
    ('acme.nurse', 'task.completed', 't1', '{"b": 1, "a": [1, 2]}')`); err != nil {
		t.Fatal(err)
	}
	if _, err := schema.Migrate(ctx, db.DB); err != nil {
		t.Fatal(err)
	}
	s := store.New(db)
	if _, err := db.ExecContext(ctx, `INSERT INTO audit_events (actor, action, subject, payload) VALUES ('x', 'after', 's', '{}')`); err != nil {
		t.Fatal(err)
	}
	events, err := s.Events(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 4 || events[0].Action != "org.imported" || events[1].Actor != "acme.manager" || events[2].Subject != "t1" || events[3].Seq != 4 {
		t.Fatalf("got events %+v, want the three old ones in order, then the new one as seq 4", events)
	}
	v, err := s.VerifyAudit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if v.Broken != nil || v.Events != 4 {
		t.Fatalf("after the migration: %+v, want 4 events chained", v)
	}
}
