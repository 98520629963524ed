package schema_test

import (
	"context"
	"testing"

	"github.com/oho-dev/oho/dbtest"
	"github.com/oho-dev/oho/schema"
)

// TestIndicatorCatalogueMigration applies 010_indicator_catalogue to a
// database whose evaluations recorded free indicators, as a deployed one
// has: they read as before, with no code and their value, and from then on a
// row holds a value or the reason a catalogue indicator was not measured.
func TestIndicatorCatalogueMigration(t *testing.T) {
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
	found := false
	for _, m := range ms {
		if m.String() == "010_indicator_catalogue" {
			found = true
		}
		if m.Version >= 10 {
			continue
		}
		if _, err := db.ExecContext(ctx, m.SQL); err != nil {
			t.Fatalf("applying %s: %v", m, err)
		}
		if _, err := db.ExecContext(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, m.Version, m.Name); err != nil {
			t.Fatal(err)
		}
	}
	if !found {
		t.Fatalf("got migrations %v, want 010_indicator_catalogue among them", ms)
	}
	const data = `
INSERT INTO providers VALUES ('ACME', 'Acme College');
INSERT INTO people (id, provider_code, name) VALUES ('acme.nurse', 'ACME', 'Nurse');
INSERT INTO cycles (id, provider_code, year, status, phase, round) VALUES ('c1', 'ACME', 2024, 'running', 'update', 1);
INSERT INTO tasks (id, cycle_id, workflow_id, kind, unit_code, round, role, status, due_at, outcome, completed_by) VALUES
    ('e1', 'c1', 'c1/unit/NORTH', 'evaluate', 'NORTH', 0, 'welfare_staff', 'done', now(), '{}', 'acme.nurse');
INSERT INTO indicators (cycle_id, unit_code, ordinal, name, value, target, unit, better, task_id)
VALUES ('c1', 'NORTH', 0, 'Absences', 9.5, 8, '%', 'lower', 'e1')`
	if _, err := db.ExecContext(ctx, data); err != nil {
		t.Fatalf("recording an indicator before 010: %v", err)
	}

	applied, err := schema.Migrate(ctx, db.DB)
	if err != nil {
		t.Fatal(err)
	}
	if len(applied) == 0 || applied[0] != "010_indicator_catalogue" {
		t.Errorf("got applied %v, want 010_indicator_catalogue first", applied)
	}
	var old struct {
		Code, Name, Unit, Better string
		Value                    *float64
		Target                   float64
		Reason                   *string `db:"not_measured_reason"`
	}
	const qOld = `SELECT code, name, unit, better, value, target, not_measured_reason FROM indicators WHERE ordinal = 0`
	if err := db.GetContext(ctx, &old, qOld); err != nil {
		t.Fatal(err)
	}
	if old.Code != "" || old.Name != "Absences" || old.Value == nil || *old.Value != 9.5 || old.Target != 8 || old.Unit != "%" || old.Better != "lower" || old.Reason != nil {
		t.Errorf("got the indicator recorded before 010 as %+v, want it as it was, with no code and no reason", old)
	}

	for _, tt := range []struct {
		name, values string
		ok           bool
	}{
		{"a free indicator, as before", `'', 'Visits', '', '', 3, NULL`, true},
		{"a catalogue indicator measured", `'SAFE', 'Feels safe', 'Turvallisuus', 'Feels safe', 80, NULL`, true},
		{"a catalogue indicator not measured", `'SAFE', 'Feels safe', 'Turvallisuus', 'Feels safe', NULL, 'The survey moved to autumn.'`, true},
		{"neither value nor reason", `'SAFE', 'Feels safe', 'Turvallisuus', 'Feels safe', NULL, NULL`, false},
		{"value and reason", `'SAFE', 'Feels safe', 'Turvallisuus', 'Feels safe', 80, 'why'`, false},
		{"a blank reason", `'SAFE', 'Feels safe', 'Turvallisuus', 'Feels safe', NULL, '  '`, false},
		{"a free indicator not measured", `'', 'Visits', '', '', NULL, 'no data'`, false},
		{"a catalogue indicator without its names", `'SAFE', 'Feels safe', '', '', 80, NULL`, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tx, err := db.BeginTxx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback()
			_, err = tx.ExecContext(ctx, `INSERT INTO indicators (cycle_id, unit_code, ordinal, code, name, name_fi, name_en, value, not_measured_reason, target, task_id)
VALUES ('c1', 'NORTH', 1, `+tt.values+`, 85, 'e1')`)
			if (err == nil) != tt.ok {
				t.Errorf("got error %v, want ok %v", err, tt.ok)
			}
		})
	}

	// A catalogue indicator is recorded once per unit and cycle.
	const twice = `
INSERT INTO indicators (cycle_id, unit_code, ordinal, code, name, name_fi, name_en, value, target, task_id) VALUES
    ('c1', 'NORTH', 1, 'SAFE', 'Feels safe', 'Turvallisuus', 'Feels safe', 80, 85, 'e1'),
    ('c1', 'NORTH', 2, 'SAFE', 'Feels safe', 'Turvallisuus', 'Feels safe', 81, 85, 'e1')`
	if _, err := db.ExecContext(ctx, twice); err == nil {
		t.Error("got a catalogue indicator recorded twice for one unit and cycle, want it refused")
	}
}
