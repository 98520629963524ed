package schema_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/oho-dev/oho/dbtest"
	"github.com/oho-dev/oho/schema"
)

// TestSignaturesMigrationKeepsData applies 004_signatures to a database that
// has signatures made before it, as a deployed one has: approvals get the
// approver role, a returned draft's meaning says for whom, and the rows are
// then bound to their drafts and refuse rewrites.
func TestSignaturesMigrationKeepsData(t *testing.T) {
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
	var names []string
	for _, m := range ms {
		names = append(names, m.Name)
		if m.Version >= 4 {
			continue
		}
		if _, err := db.ExecContext(ctx, m.SQL); err != nil {
			t.Fatalf("applying %03d_%s: %v", m.Version, m.Name, err)
		}
		if _, err := db.ExecContext(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, m.Version, m.Name); err != nil {
			t.Fatal(err)
		}
	}
	if !slices.Contains(names, "signatures") {
		t.Fatalf("got migrations %v, want 004_signatures among them", names)
	}
	h1, h2 := strings.Repeat("a", 64), strings.Repeat("b", 64)
	data := `
INSERT INTO providers VALUES ('ACME', 'Acme College');
INSERT INTO people (id, provider_code, name) VALUES ('acme.editor', 'ACME', 'Editor'), ('acme.head', 'ACME', 'Head'), ('acme.approver', 'ACME', 'Approver');
INSERT INTO cycles (id, provider_code, year, status, phase, round) VALUES ('c1', 'ACME', 2024, 'completed', 'published', 2);
INSERT INTO tasks (id, cycle_id, workflow_id, kind, unit_code, round, role, status, due_at, outcome, completed_by) VALUES
    ('d1', 'c1', 'c1', 'draft', '', 1, 'plan_editor', 'done', now(), '{}', 'acme.editor'),
    ('d2', 'c1', 'c1', 'draft', '', 2, 'plan_editor', 'done', now(), '{}', 'acme.editor'),
    ('s1', 'c1', 'c1', 'signoff', 'NORTH', 1, 'unit_head', 'done', now(), '{}', 'acme.head'),
    ('a1', 'c1', 'c1', 'approve', '', 1, 'approver', 'done', now(), '{}', 'acme.approver'),
    ('s2', 'c1', 'c1', 'signoff', 'NORTH', 2, 'unit_head', 'done', now(), '{}', 'acme.head'),
    ('a2', 'c1', 'c1', 'approve', '', 2, 'approver', 'done', now(), '{}', 'acme.approver');
INSERT INTO plan_drafts (cycle_id, round, content, content_hash, drafted_by, task_id) VALUES
    ('c1', 1, '{}', '` + h1 + `', 'acme.editor', 'd1'), ('c1', 2, '{}', '` + h2 + `', 'acme.editor', 'd2');
INSERT INTO signoffs (cycle_id, round, unit_code, signer, role, decision, version_hash, meaning, task_id) VALUES
    ('c1', 1, 'NORTH', 'acme.head', 'unit_head', 'approve', '` + h1 + `', 'approved for unit NORTH', 's1'),
    ('c1', 2, 'NORTH', 'acme.head', 'unit_head', 'approve', '` + h2 + `', 'approved for unit NORTH', 's2');
INSERT INTO approvals (cycle_id, round, approver, decision, effective_from, version_hash, meaning, task_id) VALUES
    ('c1', 1, 'acme.approver', 'return', NULL, '` + h1 + `', 'returned', 'a1'),
    ('c1', 2, 'acme.approver', 'approve', '2024-08-01', '` + h2 + `', 'approved for the provider', 'a2');
INSERT INTO plans (provider_code) VALUES ('ACME');
INSERT INTO plan_versions (plan_id, version, content, content_hash, effective_from, cycle_id, round, approved_by)
    SELECT id, 1, '{}', '` + h2 + `', '2024-08-01', 'c1', 2, 'acme.approver' FROM plans;
INSERT INTO indicators (cycle_id, unit_code, ordinal, name, value, target, task_id) VALUES ('c1', 'NORTH', 0, 'Feels safe', 80, 85, 's1')`
	if _, err := db.ExecContext(ctx, data); err != nil {
		t.Fatalf("setting up a database with signatures: %v", err)
	}

	applied, err := schema.Migrate(ctx, db.DB)
	if err != nil {
		t.Fatal(err)
	}
	if len(applied) == 0 || applied[0] != "004_signatures" {
		t.Errorf("got applied %v, want 004_signatures onwards", applied)
	}
	var got []string
	if err := db.SelectContext(ctx, &got, `SELECT round || ' ' || role || ' ' || meaning FROM approvals ORDER BY round`); err != nil {
		t.Fatal(err)
	}
	if want := []string{"1 approver returned for the provider", "2 approver approved for the provider"}; !slices.Equal(got, want) {
		t.Errorf("got approvals %q, want %q", got, want)
	}
	var better string
	if err := db.GetContext(ctx, &better, `SELECT better FROM indicators`); err != nil || better != "higher" {
		t.Errorf("got an old indicator's better %q (%v), want higher", better, err)
	}
	for _, tt := range []struct {
		stmt string
		says string
	}{
		{`UPDATE signoffs SET version_hash = '` + h2 + `' WHERE round = 1`, "never changed or removed"},
		{`DELETE FROM approvals WHERE round = 1`, "never changed or removed"},
		{`INSERT INTO approvals (cycle_id, round, approver, role, decision, version_hash, meaning, task_id)
          VALUES ('c1', 3, 'acme.approver', 'approver', 'return', '` + h1 + `', 'returned for the provider', 'a1')`, "approvals_draft_fkey"},
		{`INSERT INTO approvals (cycle_id, round, approver, decision, version_hash, meaning, task_id)
          VALUES ('c1', 3, 'acme.approver', 'return', '` + h1 + `', 'returned for the provider', 'a1')`, `"role"`},
	} {
		_, err := db.ExecContext(ctx, tt.stmt)
		if err == nil || !strings.Contains(err.Error(), tt.says) {
			t.Errorf("%s: got error %v, want one naming %s", tt.stmt, err, tt.says)
		}
	}
}
