package schema_test

import (
	"context"
	"testing"

	"github.com/oho-dev/oho/dbtest"
	"github.com/oho-dev/oho/schema"
)

// TestNoticeFactsMigration applies 006_notice_facts to a database whose
// outbox holds notices queued with their text, as a deployed one does: they
// stay as they were, and from then on a notice holds either its facts or,
// as those did, its text.
func TestNoticeFactsMigration(t *testing.T) {
	ctx := context.Background()
	db, _ := dbtest.New(t)
	if _, err := db.ExecContext(ctx, `DROP SCHEMA public CASCADE; CREATE SCHEMA public`); err != nil {
		t.Fatal(err)
	}
	ms, err := schema.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	const create = `CREATE TABLE schema_migrations (version int PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`
	if _, err := db.ExecContext(ctx, create); err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.Version >= 6 {
			break
		}
		if _, err := db.ExecContext(ctx, m.SQL); err != nil {
			t.Fatalf("applying %03d_%s: %v", m.Version, m.Name, err)
		}
		if _, err := db.ExecContext(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, m.Version, m.Name); err != nil {
			t.Fatal(err)
		}
	}
	const data = `
INSERT INTO providers VALUES ('ACME', 'Acme College');
INSERT INTO people (id, provider_code, name, email) VALUES ('acme.nurse', 'ACME', 'Nurse', 'nurse@acme.example');
INSERT INTO notifications (id, provider_code, person_id, email, kind, subject, body)
VALUES ('reminder/t1/1/acme.nurse', 'ACME', 'acme.nurse', 'nurse@acme.example', 'reminder', 'Muistutus / Reminder: t1', 'Katso ja tee: starter task show t1')`
	if _, err := db.ExecContext(ctx, data); err != nil {
		t.Fatalf("queueing a notice before 006: %v", err)
	}

	applied, err := schema.Migrate(ctx, db.DB)
	if err != nil {
		t.Fatal(err)
	}
	if len(applied) == 0 || applied[0] != "006_notice_facts" {
		t.Errorf("got applied %v, want 006_notice_facts first", applied)
	}
	var legacy struct {
		Subject, Body, State string
		NoFacts              bool `db:"no_facts"`
	}
	const qLegacy = `SELECT subject, body, state, facts IS NULL AS no_facts FROM notifications WHERE id = 'reminder/t1/1/acme.nurse'`
	if err := db.GetContext(ctx, &legacy, qLegacy); err != nil {
		t.Fatal(err)
	}
	if legacy.Subject != "Muistutus / Reminder: t1" || legacy.Body != "Katso ja tee: starter task show t1" || legacy.State != "pending" || !legacy.NoFacts {
		t.Errorf("got the queued notice %+v, want its subject, body and state as they were, and no facts", legacy)
	}

	for _, tt := range []struct {
		name, values string
		ok           bool
	}{
		{"facts", `'reminder', '{"kind": "reminder", "task_id": "t1"}', NULL, NULL`, true},
		{"text, as before", `'reminder', NULL, 's', 'b'`, true},
		{"facts and text", `'reminder', '{"kind": "reminder"}', 's', 'b'`, false},
		{"facts and a subject", `'reminder', '{"kind": "reminder"}', 's', NULL`, false},
		{"neither", `'reminder', NULL, NULL, NULL`, false},
		{"a subject without a body", `'reminder', NULL, 's', NULL`, false},
		{"facts of another kind", `'reminder', '{"kind": "overdue"}', NULL, NULL`, false},
		{"facts without a kind", `'reminder', '{"task_id": "t1"}', NULL, NULL`, false},
		{"facts that are not an object", `'reminder', '["reminder"]', NULL, NULL`, false},
		{"a kind the table does not take", `'spam', '{"kind": "spam"}', NULL, NULL`, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tx, err := db.BeginTxx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback()
			_, err = tx.ExecContext(ctx, `INSERT INTO notifications (id, provider_code, person_id, kind, facts, subject, body) VALUES ('n', 'ACME', 'acme.nurse', `+tt.values+`)`)
			if (err == nil) != tt.ok {
				t.Errorf("got error %v, want ok %v", err, tt.ok)
			}
		})
	}
}
